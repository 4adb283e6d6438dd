//! Reading partition 0 of a single-partition internal topic (offset syncs, checkpoints) from
//! its beginning, as MM2's `KafkaBasedLog` does: once to the end, then optionally following.
//! The consumer never joins a group or commits: nothing is left behind on the broker.

use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::BorrowedMessage;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// Why a topic could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The topic does not exist (yet).
    #[error("topic '{0}' does not exist")]
    Missing(String),
    /// The end was not reached in time.
    #[error("topic '{topic}' not read to its end within {timeout:?}")]
    Timeout {
        /// The topic.
        topic: String,
        /// How long was waited.
        timeout: Duration,
    },
    /// The client failed (authorization, connection, ...).
    #[error("reading topic '{topic}': {detail}")]
    Kafka {
        /// The topic.
        topic: String,
        /// librdkafka's error.
        detail: String,
    },
}

/// Errors that retrying cannot fix: missing permissions, or the topic gone.
fn is_fatal(e: &KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::TopicAuthorizationFailed
                | RDKafkaErrorCode::ClusterAuthorizationFailed
                | RDKafkaErrorCode::UnknownTopicOrPartition
                | RDKafkaErrorCode::UnknownTopic
                | RDKafkaErrorCode::Authentication
        )
    )
}

/// Keeps end-of-partition events (which rdkafka also reports as "global errors") out of the
/// error log; other background errors are logged at debug level, as librdkafka retries them.
#[derive(Debug, Default)]
pub struct QuietContext;

impl ClientContext for QuietContext {
    fn error(&self, error: KafkaError, reason: &str) {
        if error.rdkafka_error_code() != Some(RDKafkaErrorCode::PartitionEOF) {
            tracing::debug!(%error, reason, "internal topic reader");
        }
    }
}

impl ConsumerContext for QuietContext {}

/// A consumer of partition 0 of one topic, from its first record.
pub struct PartitionZeroReader {
    consumer: BaseConsumer<QuietContext>,
    topic: String,
    reached_end: bool,
}

impl std::fmt::Debug for PartitionZeroReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionZeroReader")
            .field("topic", &self.topic)
            .field("reached_end", &self.reached_end)
            .finish_non_exhaustive()
    }
}

impl PartitionZeroReader {
    /// Opens a reader with the client settings `config` (bootstrap, security); fails with
    /// [`ReadError::Missing`] when the topic does not exist.
    pub fn open(config: &ClientConfig, topic: &str) -> Result<Self, ReadError> {
        Self::open_at(config, topic, Offset::Beginning)
    }

    /// [`open`](Self::open), starting at `from` instead of the first record (to resume after
    /// the last record already handled).
    pub fn open_at(config: &ClientConfig, topic: &str, from: Offset) -> Result<Self, ReadError> {
        let kafka = |e: KafkaError| ReadError::Kafka {
            topic: topic.to_owned(),
            detail: e.to_string(),
        };
        let mut cfg = config.clone();
        // librdkafka wants a group id even for assign(); nothing joins or commits under it, so
        // the broker never learns of the group.
        cfg.set("group.id", "strait-internal-reader")
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "true")
            // Control records of transactional writers are skipped either way; aborted
            // checkpoints of an exactly-once MM2 must not count.
            .set("isolation.level", "read_committed");
        let consumer: BaseConsumer<QuietContext> =
            cfg.create_with_context(QuietContext).map_err(kafka)?;
        let md = consumer
            .fetch_metadata(Some(topic), Duration::from_secs(30))
            .map_err(kafka)?;
        let exists = md
            .topics()
            .iter()
            .any(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty());
        if !exists {
            return Err(ReadError::Missing(topic.to_owned()));
        }
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, 0, from).map_err(kafka)?;
        consumer.assign(&tpl).map_err(kafka)?;
        Ok(Self {
            consumer,
            topic: topic.to_owned(),
            reached_end: false,
        })
    }

    /// Whether the end of the partition has been reached at least once.
    pub fn reached_end(&self) -> bool {
        self.reached_end
    }

    /// Waits up to `timeout` for records and hands each to `f`; returns how many were read.
    /// Reaching the end of the partition sets [`reached_end`](Self::reached_end).
    pub fn poll(
        &mut self,
        timeout: Duration,
        mut f: impl FnMut(&BorrowedMessage<'_>),
    ) -> Result<usize, ReadError> {
        let mut n = 0;
        let mut wait = timeout;
        // After the first record, drain what is already fetched without waiting.
        while let Some(r) = self.consumer.poll(wait) {
            wait = Duration::ZERO;
            match r {
                Ok(m) => {
                    f(&m);
                    n += 1;
                }
                Err(KafkaError::PartitionEOF(_)) => {
                    self.reached_end = true;
                    break;
                }
                Err(e) if is_fatal(&e) => {
                    return Err(ReadError::Kafka {
                        topic: self.topic.clone(),
                        detail: e.to_string(),
                    });
                }
                Err(e) => {
                    // librdkafka retries connection problems by itself; they only delay.
                    tracing::debug!(topic = %self.topic, error = %e, "reading internal topic");
                }
            }
            if n >= 10_000 {
                break;
            }
        }
        Ok(n)
    }

    /// Reads every record up to the end of the partition (as it was when reading began or
    /// later), handing each to `f`.
    pub fn read_to_end(
        &mut self,
        timeout: Duration,
        mut f: impl FnMut(&BorrowedMessage<'_>),
    ) -> Result<usize, ReadError> {
        let deadline = Instant::now() + timeout;
        let mut n = 0;
        while !self.reached_end {
            if Instant::now() >= deadline {
                return Err(ReadError::Timeout {
                    topic: self.topic.clone(),
                    timeout,
                });
            }
            n += self.poll(Duration::from_millis(200), &mut f)?;
        }
        Ok(n)
    }
}
