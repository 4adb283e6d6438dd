//! Following the offsets topic: a consumer that reads the partitions holding this flow's keys
//! once from their start and then only what was appended since, so a rebalance costs the
//! records written since the last one, not the whole (possibly shared) topic.
//!
//! "Read to the end" means: the consumer's position reached the partition's last stable
//! offset as it was when the read was asked for. Positions move over transaction markers and
//! aborted records too (librdkafka stores their offsets), so an offsets topic written
//! transactionally (Kafka Connect with exactly-once) ends where it should, and an open
//! transaction ends the read at its first record.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use crate::wire::{parse_source_offset_key, parse_source_offset_value};

/// Why the offsets topic could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The reader could not be made or assigned.
    #[error("{0}")]
    Client(KafkaError),
    /// A partition's end could not be learnt.
    #[error("partition {partition}: {source}")]
    Watermarks {
        /// The offsets topic's partition.
        partition: i32,
        /// librdkafka's error.
        source: KafkaError,
    },
    /// The end was not reached in time.
    #[error("not read to the end within {0:?}")]
    Timeout(Duration),
}

/// Background errors of the reader are librdkafka retrying; they are logged at debug level.
#[derive(Debug, Default)]
pub(super) struct ReaderContext;

impl ClientContext for ReaderContext {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::debug!(%error, reason, "offsets topic reader");
    }
}

impl ConsumerContext for ReaderContext {}

/// The newest progress of one connector and source cluster, from the partitions followed.
pub(super) struct Reader {
    consumer: BaseConsumer<ReaderContext>,
    topic: String,
    connector: String,
    source_alias: String,
    followed: BTreeSet<i32>,
    values: HashMap<(String, i32), i64>,
    records_read: u64,
}

impl Reader {
    pub(super) fn new(
        config: &ClientConfig,
        topic: &str,
        connector: &str,
        source_alias: &str,
    ) -> Result<Self, ReadError> {
        let consumer = config
            .create_with_context(ReaderContext)
            .map_err(ReadError::Client)?;
        Ok(Self {
            consumer,
            topic: topic.to_owned(),
            connector: connector.to_owned(),
            source_alias: source_alias.to_owned(),
            followed: BTreeSet::new(),
            values: HashMap::new(),
            records_read: 0,
        })
    }

    /// Records read from the offsets topic since the reader was made (any connector's).
    pub(super) fn records_read(&self) -> u64 {
        self.records_read
    }

    /// The newest progress of every source partition whose key lives in `partitions` of the
    /// offsets topic, including everything committed there before this call.
    pub(super) fn catch_up(
        &mut self,
        partitions: &BTreeSet<i32>,
        timeout: Duration,
    ) -> Result<&HashMap<(String, i32), i64>, ReadError> {
        let deadline = Instant::now() + timeout;
        let new: Vec<i32> = partitions.difference(&self.followed).copied().collect();
        if !new.is_empty() {
            let mut tpl = TopicPartitionList::new();
            for p in &new {
                tpl.add_partition_offset(&self.topic, *p, Offset::Beginning)
                    .map_err(ReadError::Client)?;
            }
            self.consumer
                .incremental_assign(&tpl)
                .map_err(ReadError::Client)?;
            self.followed.extend(new);
        }
        // The last stable offset of each partition now (the consumer reads read_committed, so
        // its watermark query answers with it).
        let mut ends = HashMap::new();
        for p in partitions {
            let (low, end) = loop {
                match self.consumer.fetch_watermarks(&self.topic, *p, timeout) {
                    Ok(w) => break w,
                    // A topic created a moment ago has no leaders yet; that passes.
                    Err(e) if is_transient(&e) && Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    Err(source) => {
                        return Err(ReadError::Watermarks {
                            partition: *p,
                            source,
                        });
                    }
                }
            };
            if end > low {
                ends.insert(*p, end);
            }
        }
        loop {
            let positions = self.positions();
            ends.retain(|p, end| positions.get(p).is_none_or(|pos| pos < end));
            if ends.is_empty() {
                return Ok(&self.values);
            }
            if Instant::now() > deadline {
                return Err(ReadError::Timeout(timeout));
            }
            match self.consumer.poll(Duration::from_millis(100)) {
                Some(Ok(msg)) => {
                    self.records_read += 1;
                    apply(
                        (&self.connector, &self.source_alias),
                        &mut self.values,
                        msg.key(),
                        msg.payload(),
                    );
                }
                Some(Err(e)) => tracing::debug!(error = %e, "offsets topic reader"),
                None => {}
            }
        }
    }

    /// The consumer's position in each followed partition that has one.
    fn positions(&self) -> HashMap<i32, i64> {
        let Ok(tpl) = self.consumer.position() else {
            return HashMap::new();
        };
        tpl.elements()
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(o) => Some((e.partition(), o)),
                _ => None,
            })
            .collect()
    }
}

/// Applies one offsets-topic record to `values` if it is progress of `(connector, source
/// alias)`: the newest value wins, a tombstone clears it.
fn apply(
    (connector_name, source_alias): (&str, &str),
    values: &mut HashMap<(String, i32), i64>,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
) {
    let Some((connector, sp)) = key.and_then(parse_source_offset_key) else {
        return;
    };
    if connector != connector_name || sp.cluster != source_alias {
        return;
    }
    match parse_source_offset_value(value.unwrap_or_default()) {
        Ok(Some(offset)) => {
            values.insert((sp.topic, sp.partition), offset);
        }
        Ok(None) => {
            values.remove(&(sp.topic, sp.partition));
        }
        Err(e) => {
            tracing::warn!(topic = %sp.topic, partition = sp.partition, error = %e,
                "ignoring an unreadable progress record");
        }
    }
}

/// Errors a new or moving partition leader causes, which retrying resolves.
fn is_transient(e: &KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::NotLeaderForPartition
                | RDKafkaErrorCode::LeaderNotAvailable
                | RDKafkaErrorCode::UnknownTopicOrPartition
                | RDKafkaErrorCode::UnknownPartition
                | RDKafkaErrorCode::UnknownTopic
                | RDKafkaErrorCode::RequestTimedOut
                | RDKafkaErrorCode::OperationTimedOut
        )
    )
}
