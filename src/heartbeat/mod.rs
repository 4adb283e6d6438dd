//! Heartbeats: MM2's MirrorHeartbeatConnector.
//!
//! - [`emitter`]: writes a heartbeat (key: source and target alias; value: version 0 and the
//!   emit time) to the `heartbeats` topic of the cluster the configuration names, every
//!   `emit.heartbeats.interval.seconds`. When that cluster is the source (the seed's set-up),
//!   the source replication carries them to the target as `<source>.heartbeats`.
//! - [`latency`]: replication latency derived from heartbeats seen on the target.

pub mod emitter;
pub mod latency;

pub use emitter::{HeartbeatError, run_heartbeats};
pub use latency::{HeartbeatLatency, replication_latency};
