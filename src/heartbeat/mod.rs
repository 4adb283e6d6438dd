//! Heartbeats: MM2's MirrorHeartbeatConnector.
//!
//! Not built yet (issue "Checkpoints, consumer-group offset sync, heartbeats and failover tooling").
