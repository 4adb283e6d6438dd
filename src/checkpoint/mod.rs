//! Checkpoints: MM2's MirrorCheckpointConnector, plus target group offset sync and the offset
//! translation failover tools use.
//!
//! | file | concept |
//! |---|---|
//! | [`offset_sync_store`] | MM2's `OffsetSyncStore`: sync history and the "+1 rule" translation |
//! | [`sync_runs`] | Strait's exact translation from the run-start header its offset syncs carry |
//! | [`translator`] | both together: the best safe translation of a committed offset |
//! | [`sync_follower`] | a thread following the offset-syncs topic into the translator |
//! | [`checkpoint_store`] | newest checkpoint per group partition; MM2's never-backwards rules |
//! | [`checkpoints_topic`] | reading `<source>.checkpoints.internal` |
//! | [`planner`] | which groups and partitions get which checkpoints (filters, renaming) |
//! | [`group_offsets`] | the consumer-group admin operations, as a trait |
//! | [`kafka_groups`] | that trait on a real cluster (librdkafka admin calls) |
//! | [`group_sync`] | what to write to a target group, or why not |
//! | [`status`] | the per-group status other parts read (HTTP, CLI) |
//! | [`task`] / `session` / `sync_round` | the running checkpointer of a flow |
//! | `emit_schedule` | when group offsets are read: on the interval, and once when the syncs have loaded |
//! | [`companions`] | checkpointer and heartbeat emitter started beside a flow's replication |
//! | [`failover`] | `strait offsets translate/apply`: what a group should use on the target |
//! | [`log_reader`], [`internal_topic`] | reading and creating MM2's single-partition topics |
//!
//! **Exact translation.** MM2 translates a committed offset to "one record after the nearest
//! offset sync below it", so consumers that fail over re-read up to `offset.lag.max` records
//! (more for lagging groups, whose nearby syncs the store thinned out). Strait's source side
//! adds a header to each offset sync saying where the contiguous run of records ending at it
//! began; inside a run the mapping is exact, so a failed-over consumer re-reads nothing. The
//! topic stays MM2's format: MM2 ignores headers, and syncs without one fall back to MM2's rule.

pub mod checkpoint_store;
pub mod checkpoints_topic;
mod emit_schedule;
pub mod error;
pub mod failover;
pub mod group_offsets;
pub mod group_sync;
pub mod kafka_groups;
pub mod log_reader;
pub mod offset_sync_store;
pub mod planner;
mod session;
mod setup;
pub mod sync_follower;
mod sync_round;
pub mod sync_runs;
pub mod task;
pub mod translator;

pub use crate::status::checkpoint::{CheckpointStatus, CheckpointStatusHandle};
pub use error::CheckpointError;
pub use sync_runs::{RUN_START_HEADER, RunStart, run_start_headers};
pub use task::run_checkpointer;
