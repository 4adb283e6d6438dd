//! MM2's byte formats: offset syncs, checkpoints, heartbeats and Kafka Connect offsets.
//!
//! Not built yet (issue "Source replication").
