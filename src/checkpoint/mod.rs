//! Checkpoints: MM2's MirrorCheckpointConnector.
//!
//! Not built yet (issue "Checkpoints, consumer-group offset sync, heartbeats and failover tooling").
//! This part will hold the OffsetSyncStore, offset translation, the checkpoint emitter and the
//! target group offset sync.

pub mod offset_sync_store;
