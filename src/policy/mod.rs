//! Replication policies (how topics are renamed on the target) and the topic, group and
//! topic-config filters, with MM2's semantics.
//!
//! Not built yet (issue "Source replication").
