//! Replication progress, kept where MM2 keeps it: a Kafka Connect offsets topic on the target,
//! key `["<connector>",{"cluster":..,"partition":..,"topic":..}]`, value `{"offset":N}` with N the
//! last upstream offset written. Strait reads what MM2 wrote and MM2 reads what Strait writes,
//! so a flow moves between them without replicating again.

mod reader;

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::producer::{BaseRecord, Producer};

use reader::{ReadError, Reader};

use crate::kafka::CountingContext;
use crate::kafka::polled_producer::PolledProducer;
use crate::source::SourceError;
use crate::source::tracker::DueProgress;
use crate::wire::{
    SourcePartition, offsets_topic_partition, source_offset_key, source_offset_value,
};

/// Reads and writes one flow's progress in the offsets topic.
pub struct ProgressStore {
    topic: String,
    partitions: i32,
    connector: String,
    source_alias: String,
    reader_config: ClientConfig,
    to_high_watermark: bool,
    reader: Mutex<Option<Reader>>,
    producer: PolledProducer<CountingContext>,
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
        let producer =
            PolledProducer::create(&pcfg, CountingContext::default()).map_err(|source| {
                SourceError::Client {
                    what: "offsets-topic producer",
                    source,
                }
            })?;
        let mut reader_config = target.clone();
        reader_config
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "false")
            // Positions only: the reader is assigned partitions and never commits.
            .set("group.id", "strait-progress-reader")
            // Connect writes the offsets topic transactionally when exactly-once is on.
            .set("isolation.level", "read_committed");
        Ok(Self {
            topic: topic.to_owned(),
            partitions: partitions.max(1),
            connector: connector.to_owned(),
            source_alias: source_alias.to_owned(),
            reader_config,
            to_high_watermark: false,
            reader: Mutex::new(None),
            producer,
        })
    }

    /// Reads end at each partition's high watermark instead of its last stable offset, so
    /// they wait for transactions open there (exactly-once: progress committed after another
    /// writer's open transaction must not be missed). Without it a read ends promptly at the
    /// first open transaction, which at-least-once can afford: older progress only means
    /// records written again.
    #[must_use]
    pub fn reading_to_high_watermark(mut self, on: bool) -> Self {
        self.to_high_watermark = on;
        self
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

    /// The last upstream offset replicated for each of `partitions` (source topic and
    /// partition) that has progress, including every write to the offsets topic committed
    /// before this call (another process's, when it handed the partition over). Only the
    /// offsets-topic partitions that can hold their keys are read, each once from its start
    /// and afterwards only from where the last read ended.
    pub fn read_for(
        &self,
        partitions: &[(String, i32)],
        timeout: Duration,
    ) -> Result<HashMap<(String, i32), i64>, SourceError> {
        let needed: BTreeSet<i32> = partitions
            .iter()
            .map(|(topic, partition)| self.partition_of(topic, *partition))
            .collect();
        self.with_reader(|r| {
            let values = r.catch_up(&needed, timeout)?;
            Ok(partitions
                .iter()
                .filter_map(|k| values.get(k).map(|o| (k.clone(), *o)))
                .collect())
        })
    }

    /// Every partition of this flow with progress (reads all of the offsets topic).
    pub fn read_all(&self, timeout: Duration) -> Result<HashMap<(String, i32), i64>, SourceError> {
        let all: BTreeSet<i32> = (0..self.partitions).collect();
        self.with_reader(|r| r.catch_up(&all, timeout).cloned())
    }

    /// Records read from the offsets topic so far, any connector's (how much following it
    /// cost).
    pub fn records_read(&self) -> u64 {
        self.reader
            .lock()
            .map_or(0, |r| r.as_ref().map_or(0, Reader::records_read))
    }

    /// A source partition's key in the offsets topic.
    fn key_of(&self, topic: &str, partition: i32) -> Vec<u8> {
        source_offset_key(
            &self.connector,
            &SourcePartition {
                cluster: self.source_alias.clone(),
                topic: topic.to_owned(),
                partition,
            },
        )
    }

    /// The offsets-topic partition holding a source partition's key.
    fn partition_of(&self, topic: &str, partition: i32) -> i32 {
        offsets_topic_partition(&self.key_of(topic, partition), self.partitions)
    }

    /// The offsets-topic record saying that `topic`-`partition` is replicated up to `offset`:
    /// key, value and the offsets-topic partition it belongs in.
    pub fn record_of(&self, topic: &str, partition: i32, offset: i64) -> (Vec<u8>, Vec<u8>, i32) {
        let key = self.key_of(topic, partition);
        // Connect's own producer picks the partition with Kafka's default partitioner;
        // doing the same keeps one key in one partition whoever writes it.
        let at = offsets_topic_partition(&key, self.partitions);
        (key, source_offset_value(offset), at)
    }

    /// Runs `f` on the reader, made on first use.
    fn with_reader<T>(
        &self,
        f: impl FnOnce(&mut Reader) -> Result<T, ReadError>,
    ) -> Result<T, SourceError> {
        // A poisoned lock means a panic elsewhere; the reader's state is still consistent
        // (each record is applied whole).
        let mut guard = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            let reader = Reader::new(
                &self.reader_config,
                &self.topic,
                &self.connector,
                &self.source_alias,
                self.to_high_watermark,
            )
            .map_err(|e| self.err(format!("cannot create reader: {e}")))?;
            *guard = Some(reader);
        }
        match guard.as_mut() {
            Some(r) => f(r).map_err(|e| self.err(e)),
            None => Err(self.err("no reader")),
        }
    }

    /// The producer that writes progress (its fatal error is the flow's).
    pub(crate) fn producer(&self) -> &PolledProducer<CountingContext> {
        &self.producer
    }

    /// Writes progress for the given partitions and waits until the target acknowledged it.
    pub fn write(&self, due: &[DueProgress], timeout: Duration) -> Result<(), SourceError> {
        if due.is_empty() {
            return Ok(());
        }
        let failed_before = self.producer.context().failed();
        for d in due {
            let (key, value, partition) = self.record_of(&d.topic, d.partition, d.offset);
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
