//! Errors of source replication.

use rdkafka::error::KafkaError;

use crate::config::truststore::TruststoreError;
use crate::kafka::ConnectError;
use crate::policy::PolicyError;

/// Why source replication stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A cluster could not be reached.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// A truststore could not be read.
    #[error(transparent)]
    Truststore(#[from] TruststoreError),
    /// The topic filter or policy is invalid.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// A client could not be created.
    #[error("cannot create the {what}: {source}")]
    Client {
        /// Which client.
        what: &'static str,
        /// librdkafka's error.
        source: KafkaError,
    },
    /// An admin operation on a topic failed.
    #[error("{operation} topic '{topic}' on the {cluster} cluster failed: {detail}")]
    Topic {
        /// What was attempted (create, grow, describe).
        operation: &'static str,
        /// The topic.
        topic: String,
        /// `source` or `target`.
        cluster: &'static str,
        /// The broker's or librdkafka's explanation.
        detail: String,
    },
    /// A record could not be written to the target; nothing after it is counted as replicated.
    #[error("writing to '{topic}' partition {partition} on the target failed: {detail}")]
    Produce {
        /// The remote topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// librdkafka's explanation.
        detail: String,
    },
    /// Replication progress could not be read or written.
    #[error("replication progress in '{topic}' on the target: {detail}")]
    Progress {
        /// The offsets topic.
        topic: String,
        /// What went wrong.
        detail: String,
    },
    /// Reading from the source failed.
    #[error("reading from the source cluster failed: {0}")]
    Consume(KafkaError),
    /// The source consumer hit an error retrying cannot fix (authorization, a fatal error).
    #[error("reading from the source cluster failed for good: {0}")]
    ConsumerFatal(KafkaError),
    /// Strait's own target writer could not start (address, TLS, credentials).
    #[error("the target writer (strait.target.writer=wire) could not start: {0}")]
    Writer(#[from] crate::kafka::writer::WriterError),
    /// Strait's own source reader (`strait.source.reader=wire`) could not start.
    #[error("the source reader (strait.source.reader=wire) could not start: {0}")]
    Reader(crate::kafka::writer::WriterError),
    /// A source partition cannot be read, and retrying cannot fix it.
    #[error(
        "reading from the source cluster failed for good: partition {topic}-{partition}: {detail}"
    )]
    SourcePartition {
        /// The source topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The broker's answer.
        detail: String,
    },
    /// A producer hit a fatal error and can send nothing more.
    #[error("the {what} failed for good: {detail}")]
    ProducerFatal {
        /// Which producer: the target producer, the offsets-topic or the offset-syncs one.
        what: &'static str,
        /// librdkafka's fatal error.
        detail: String,
    },
    /// Partitions were to be handed over with records still unacknowledged.
    #[error(
        "{records} record(s) of revoked partitions still unacknowledged after {waited:?}; \
         their progress was not written"
    )]
    Drain {
        /// Records without a delivery report.
        records: usize,
        /// How long was waited.
        waited: std::time::Duration,
    },
    /// `auto.offset.reset=none` and a partition has no recorded progress.
    #[error(
        "no replication progress for source partition {topic}-{partition} and \
         auto.offset.reset is none: set progress (or another auto.offset.reset) to start it"
    )]
    NoStartingOffset {
        /// The source topic.
        topic: String,
        /// The partition.
        partition: i32,
    },
    /// `auto.offset.reset=none` and a position fell outside the source log.
    #[error("source position out of range and auto.offset.reset is none: {partitions} ({detail})")]
    OffsetOutOfRange {
        /// The partitions concerned, with their positions and logs.
        partitions: String,
        /// librdkafka's explanation.
        detail: String,
    },
    /// Exactly-once: a partition's transaction could not be started, committed or aborted.
    #[error("transactions on the target (transactional id '{transactional_id}'): {detail}")]
    Transaction {
        /// The partition's transactional id.
        transactional_id: String,
        /// librdkafka's error, and what it means where that is not obvious.
        detail: String,
    },
    /// `STRAIT_TEST_FAIL_PRODUCER` (fault injection for tests) is malformed.
    #[error("{0}")]
    FaultInjection(String),
    /// The replication thread could not be started.
    #[error("cannot start the replication thread: {0}")]
    Thread(std::io::Error),
    /// The replication thread panicked (a bug): the flow stops rather than pretend.
    #[error("the replication thread panicked: {0}")]
    Panicked(String),
}
