//! Source replication: MM2's MirrorSourceConnector.
//!
//! - [`topics`]: which topics are replicated and keeping their remote topics in step;
//! - [`pipeline`]: the consumer → producer path of one process, with clean rebalances;
//! - [`tracker`]: what was sent and what the target acknowledged, per partition;
//! - [`progress`]: replication progress in Kafka Connect's offsets-topic format;
//! - [`offset_sync_writer`]: when to emit offset syncs (MM2's rules).

pub mod acl_sync;
pub mod error;
pub mod offset_sync_writer;
pub mod pipeline;
pub mod progress;
pub mod topic_configs;
pub mod topics;
pub mod tracker;

pub use error::SourceError;
