//! Source replication: MM2's MirrorSourceConnector.
//!
//! Not built yet (issue "Source replication").
