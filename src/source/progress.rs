//! Replication progress, kept where MM2 keeps it: a Kafka Connect offsets topic on the target,
//! key `["<connector>",{"cluster":..,"partition":..,"topic":..}]`, value `{"offset":N}` with N the
//! last upstream offset written. Strait reads what MM2 wrote and MM2 reads what Strait writes,
//! so a flow moves between them without replicating again.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use crate::kafka::CountingContext;
use crate::source::SourceError;
use crate::source::tracker::DueProgress;
use crate::wire::{
    SourcePartition, offsets_topic_partition, parse_source_offset_key, parse_source_offset_value,
    source_offset_key, source_offset_value,
};

/// Reads and writes one flow's progress in the offsets topic.
pub struct ProgressStore {
    topic: String,
    partitions: i32,
    connector: String,
    source_alias: String,
    reader_config: ClientConfig,
    producer: ThreadedProducer<CountingContext>,
}

impl std::fmt::Debug for ProgressStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgressStore")
            .field("topic", &self.topic)
            .field("partitions", &self.partitions)
            .field("connector", &self.connector)
            .finish_non_exhaustive()
    }
}

impl ProgressStore {
    /// A store over `topic` (which has `partitions` partitions) on the target, for the given
    /// connector name and source alias. `target` is a client configuration for the target.
    pub fn new(
        target: &ClientConfig,
        topic: &str,
        partitions: i32,
        connector: &str,
        source_alias: &str,
    ) -> Result<Self, SourceError> {
        let mut pcfg = target.clone();
        pcfg.set("acks", "all")
            .set("enable.idempotence", "true")
            .set("linger.ms", "0");
        let producer = pcfg
            .create_with_context(CountingContext::default())
            .map_err(|source| SourceError::Client {
                what: "offsets-topic producer",
                source,
            })?;
        let mut reader_config = target.clone();
        reader_config
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "false")
            .set("group.id", "strait-progress-reader")
            // Connect writes the offsets topic transactionally when exactly-once is on.
            .set("isolation.level", "read_committed");
        Ok(Self {
            topic: topic.to_owned(),
            partitions: partitions.max(1),
            connector: connector.to_owned(),
            source_alias: source_alias.to_owned(),
            reader_config,
            producer,
        })
    }

    /// The offsets topic's name.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    fn err(&self, detail: impl std::fmt::Display) -> SourceError {
        SourceError::Progress {
            topic: self.topic.clone(),
            detail: detail.to_string(),
        }
    }

    /// Reads the whole offsets topic and returns the last upstream offset replicated for every
    /// partition of this flow (the newest record per key wins; tombstones clear it).
    pub fn read_all(&self, timeout: Duration) -> Result<HashMap<(String, i32), i64>, SourceError> {
        let consumer: BaseConsumer = self
            .reader_config
            .create()
            .map_err(|e| self.err(format!("cannot create reader: {e}")))?;
        let mut tpl = TopicPartitionList::new();
        let mut ends = HashMap::new();
        let deadline = Instant::now() + timeout;
        for p in 0..self.partitions {
            let (low, high) = loop {
                match consumer.fetch_watermarks(&self.topic, p, timeout) {
                    Ok(w) => break w,
                    // A topic created a moment ago has no leaders yet; that passes.
                    Err(e) if is_transient(&e) && Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    Err(e) => return Err(self.err(format!("partition {p}: {e}"))),
                }
            };
            if high > low {
                ends.insert(p, high);
                tpl.add_partition_offset(&self.topic, p, Offset::Offset(low))
                    .map_err(|e| self.err(e))?;
            }
        }
        let mut out = HashMap::new();
        if ends.is_empty() {
            return Ok(out);
        }
        consumer.assign(&tpl).map_err(|e| self.err(e))?;
        while !ends.is_empty() {
            if Instant::now() > deadline {
                return Err(self.err(format!("not read to the end within {timeout:?}")));
            }
            let Some(msg) = consumer.poll(Duration::from_millis(200)) else {
                continue;
            };
            let msg = msg.map_err(|e| self.err(e))?;
            if ends
                .get(&msg.partition())
                .is_some_and(|end| msg.offset() + 1 >= *end)
            {
                ends.remove(&msg.partition());
            }
            let Some((connector, sp)) = msg.key().and_then(parse_source_offset_key) else {
                continue;
            };
            if connector != self.connector || sp.cluster != self.source_alias {
                continue;
            }
            match parse_source_offset_value(msg.payload().unwrap_or_default()) {
                Ok(Some(offset)) => {
                    out.insert((sp.topic, sp.partition), offset);
                }
                Ok(None) => {
                    out.remove(&(sp.topic, sp.partition));
                }
                Err(e) => {
                    tracing::warn!(topic = %sp.topic, partition = sp.partition, error = %e,
                        "ignoring an unreadable progress record");
                }
            }
        }
        Ok(out)
    }

    /// Writes progress for the given partitions and waits until the target acknowledged it.
    pub fn write(&self, due: &[DueProgress], timeout: Duration) -> Result<(), SourceError> {
        if due.is_empty() {
            return Ok(());
        }
        let failed_before = self.producer.context().failed();
        for d in due {
            let key = source_offset_key(
                &self.connector,
                &SourcePartition {
                    cluster: self.source_alias.clone(),
                    topic: d.topic.to_string(),
                    partition: d.partition,
                },
            );
            let value = source_offset_value(d.offset);
            // Connect's own producer picks the partition with Kafka's default partitioner;
            // doing the same keeps one key in one partition whoever writes it.
            let partition = offsets_topic_partition(&key, self.partitions);
            let record = BaseRecord::<[u8], [u8]>::to(&self.topic)
                .key(&key)
                .payload(&value)
                .partition(partition);
            self.producer
                .send(record)
                .map_err(|(e, _)| self.err(format!("cannot queue progress: {e}")))?;
        }
        self.producer
            .flush(timeout)
            .map_err(|e| self.err(format!("progress not acknowledged: {e}")))?;
        if self.producer.context().failed() != failed_before {
            let detail = self.producer.context().last_error().unwrap_or_default();
            return Err(self.err(format!("progress not written: {detail}")));
        }
        Ok(())
    }
}

/// Errors a new or moving partition leader causes, which retrying resolves.
fn is_transient(e: &rdkafka::error::KafkaError) -> bool {
    use rdkafka::error::RDKafkaErrorCode as C;
    matches!(
        e.rdkafka_error_code(),
        Some(
            C::NotLeaderForPartition
                | C::LeaderNotAvailable
                | C::UnknownTopicOrPartition
                | C::UnknownPartition
                | C::UnknownTopic
                | C::RequestTimedOut
                | C::OperationTimedOut
        )
    )
}
