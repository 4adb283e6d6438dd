//! Why a checkpointer (or a failover command) could not run.

use rdkafka::error::KafkaError;

use crate::config::truststore::TruststoreError;
use crate::policy::PolicyError;

use super::group_offsets::GroupOpError;
use super::log_reader::ReadError;
use crate::kafka::internal_topic::TopicCreateError;

/// Everything that can stop the checkpointer or a failover command.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// A filter or policy in the configuration is invalid.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// A truststore could not be read.
    #[error(transparent)]
    Truststore(#[from] TruststoreError),
    /// A client could not be created.
    #[error("cannot create the {what}: {source}")]
    Client {
        /// Which client.
        what: &'static str,
        /// librdkafka's error.
        source: KafkaError,
    },
    /// An internal topic could not be created.
    #[error(transparent)]
    Topic(#[from] TopicCreateError),
    /// An internal topic could not be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// A consumer-group operation failed.
    #[error(transparent)]
    Group(#[from] GroupOpError),
    /// A checkpoint could not be written.
    #[error("writing checkpoints to '{topic}': {detail}")]
    Produce {
        /// The checkpoints topic.
        topic: String,
        /// Why.
        detail: String,
    },
    /// A background task failed unexpectedly.
    #[error("internal task failed: {0}")]
    Task(String),
}
