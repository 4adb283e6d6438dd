//! Following the offsets topic: a consumer that reads the partitions holding this flow's keys
//! once from their start and then only what was appended since, so a rebalance costs the
//! records written since the last one, not the whole (possibly shared) topic.
//!
//! "Read to the end" means: the consumer reads read_committed, and its position reached the
//! partition's end as it was when the read was asked for. Positions move over transaction
//! markers and aborted records too (librdkafka stores their offsets), so an offsets topic
//! written transactionally (exactly-once, Strait's or Kafka Connect's) ends where it should.
//!
//! The end is the high watermark with exactly-once, not the last stable offset: progress of
//! one source partition can be committed after another partition's transaction began in the
//! same offsets-topic partition (another process's commit under way, or a process killed
//! between writing its progress and committing). The last
//! stable offset stays at that open transaction's first record until it ends, and a read that
//! stopped there would miss the newer progress and replicate its records a second time. Such
//! a transaction ends soon: its partition's next owner fences it off, or the broker aborts it
//! after its `transaction.timeout.ms`. At-least-once ends at the last stable offset, promptly
//! whatever is open: older progress there only means records written twice.

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
    #[error(
        "partition {partition} not read to its end (offset {end}) within {waited:?}: read up to \
         {read_to}; with exactly-once, an open transaction of another writer holds the rest \
         back until it commits or is aborted (by the broker, after that writer's \
         transaction.timeout.ms)"
    )]
    Timeout {
        /// The offsets topic's partition.
        partition: i32,
        /// Where the read stopped (`none` before the first fetch answered).
        read_to: String,
        /// The partition's end when the read began.
        end: i64,
        /// How long the read waited.
        waited: Duration,
    },
}

/// How long a read may wait on a partition before saying why it waits.
const SLOW_READ: Duration = Duration::from_secs(5);

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
    /// Asks for high watermarks, when reads end there: the read_committed consumer's own
    /// watermark query answers with the last stable offset, which an open transaction holds
    /// back.
    watermarks: Option<BaseConsumer<ReaderContext>>,
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
        to_high_watermark: bool,
    ) -> Result<Self, ReadError> {
        let consumer = config
            .create_with_context(ReaderContext)
            .map_err(ReadError::Client)?;
        let watermarks = if to_high_watermark {
            let mut uncommitted = config.clone();
            uncommitted.set("isolation.level", "read_uncommitted");
            Some(
                uncommitted
                    .create_with_context(ReaderContext)
                    .map_err(ReadError::Client)?,
            )
        } else {
            None
        };
        Ok(Self {
            consumer,
            watermarks,
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
        // Each partition's end now: the high watermark (everything committed before this call
        // is below it), or the last stable offset.
        let ends_from = self.watermarks.as_ref().unwrap_or(&self.consumer);
        let mut ends = HashMap::new();
        for p in partitions {
            let (low, end) = loop {
                match ends_from.fetch_watermarks(&self.topic, *p, timeout) {
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
        let started = Instant::now();
        let mut said_slow = false;
        loop {
            let positions = self.positions();
            ends.retain(|p, end| positions.get(p).is_none_or(|pos| pos < end));
            let Some((&partition, &end)) = ends.iter().next() else {
                return Ok(&self.values);
            };
            let read_to = || {
                positions
                    .get(&partition)
                    .map_or_else(|| "none".to_owned(), i64::to_string)
            };
            if Instant::now() > deadline {
                return Err(ReadError::Timeout {
                    partition,
                    read_to: read_to(),
                    end,
                    waited: started.elapsed(),
                });
            }
            if !said_slow && started.elapsed() > SLOW_READ {
                said_slow = true;
                tracing::warn!(
                    topic = %self.topic, partition, read_to = %read_to(), end,
                    "offsets topic not read to its end yet; most likely an open transaction of \
                     another writer holds it back (a process stopped mid-commit is fenced by the \
                     partition's next owner or aborted by the broker after its \
                     transaction.timeout.ms); waiting, so that no newer progress is missed"
                );
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
