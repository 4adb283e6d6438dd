//! Strait: Kafka cross-cluster replication, compatible with Apache Kafka MirrorMaker 2.
//!
//! The library is laid out by architectural part; each folder is one part:
//!
//! | module | part |
//! |---|---|
//! | [`config`] | the one resolved configuration model, and the readers that feed it |
//! | [`policy`] | replication policies (topic renaming) and topic/group/config filters |
//! | [`wire`] | MM2's byte formats: offset syncs, checkpoints, heartbeats, Connect offsets |
//! | [`kafka`] | talking to Kafka: librdkafka clients built from the model, and the protocol spoken directly (the target writer, the source read as stored batches) |
//! | [`source`] | source replication (MM2's MirrorSourceConnector) |
//! | [`checkpoint`] | offset translation and checkpoints (MirrorCheckpointConnector) |
//! | [`heartbeat`] | heartbeats (MirrorHeartbeatConnector) |
//! | [`flow`] | wiring the parts of one replication flow together |
//! | [`status`] | what the process is doing: the registry the parts update, snapshots of it |
//! | [`http`] | health, metrics and status endpoints |

pub mod checkpoint;
pub mod config;
pub mod fast_hash;
pub mod flow;
pub mod heartbeat;
pub mod http;
pub mod kafka;
pub mod permissions;
pub mod policy;
pub mod source;
pub mod status;
pub mod verify;
pub mod wire;
