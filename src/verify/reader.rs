//! Reading one partition, from an offset to an end offset, as record fingerprints. One reader
//! (one consumer) serves many partitions one after the other.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use super::VerifyError;
use super::compare::DigestStream;
use super::digest::{Fingerprint, RecordDigest};

/// How long a metadata, watermark or time-index request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A consumer on one cluster reading one partition range at a time.
pub struct PartitionReader {
    consumer: BaseConsumer,
    cluster: &'static str,
    with_timestamp: bool,
    idle_timeout: Duration,
    topic: String,
    partition: i32,
    next: i64,
    end: i64,
    done: bool,
}

impl std::fmt::Debug for PartitionReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionReader")
            .field("cluster", &self.cluster)
            .field("topic", &self.topic)
            .field("partition", &self.partition)
            .field("next", &self.next)
            .field("end", &self.end)
            .finish_non_exhaustive()
    }
}

/// The consumer settings of a verify reader, on top of the cluster's connection settings.
pub fn reader_config(base: &ClientConfig, flow: &str) -> ClientConfig {
    let mut cfg = base.clone();
    cfg.set("client.id", format!("{flow}|verify"))
        // Partitions are assigned, never subscribed: no group is joined and nothing committed.
        .set("group.id", "strait-verify")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "true")
        // An offset deleted by retention meanwhile: read on from the log start, never skip to
        // the end (which would read as an empty range).
        .set("auto.offset.reset", "earliest")
        // Replicators read committed records only, so only those are expected on the target.
        .set("isolation.level", "read_committed")
        // Bounds the prefetch queue: memory stays small whatever the partition's size.
        .set("queued.max.messages.kbytes", "8192")
        .set("fetch.max.bytes", "8388608")
        // A reader moves from range to range; a broker holding an empty fetch open would
        // delay every move by the default 500 ms.
        .set("fetch.wait.max.ms", "10")
        // When the prefetch queue is full, fetch again as soon as it drains, not after the
        // default 1 s pause: reading is all this consumer does.
        .set("fetch.queue.backoff.ms", "5");
    cfg
}

impl PartitionReader {
    /// A reader on `cluster` (`source` or `target`).
    pub fn new(
        config: &ClientConfig,
        cluster: &'static str,
        with_timestamp: bool,
        idle_timeout: Duration,
    ) -> Result<Self, VerifyError> {
        let consumer: BaseConsumer = config
            .create()
            .map_err(|source| VerifyError::Client { cluster, source })?;
        Ok(Self {
            consumer,
            cluster,
            with_timestamp,
            idle_timeout,
            topic: String::new(),
            partition: 0,
            next: 0,
            end: 0,
            done: true,
        })
    }

    fn err(&self, what: String, e: impl std::fmt::Display) -> VerifyError {
        VerifyError::Kafka {
            cluster: self.cluster,
            what,
            detail: e.to_string(),
        }
    }

    /// Positions the reader at `from` in `topic`/`partition`; reading stops before `end`.
    pub fn start(
        &mut self,
        topic: &str,
        partition: i32,
        from: i64,
        end: i64,
    ) -> Result<(), VerifyError> {
        if self.topic != topic {
            // Assigning a topic the client has no metadata for waits for the next periodic
            // refresh (up to a second); asking for it first makes the move immediate.
            let _ = self.consumer.fetch_metadata(Some(topic), REQUEST_TIMEOUT);
        }
        self.topic = topic.to_owned();
        self.partition = partition;
        self.next = from;
        self.end = end;
        self.done = from >= end;
        if self.done {
            return Ok(());
        }
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, partition, Offset::Offset(from))
            .map_err(|e| self.err(format!("{topic} partition {partition}"), e))?;
        self.consumer
            .assign(&tpl)
            .map_err(|e| self.err(format!("assigning {topic} partition {partition}"), e))
    }

    /// The first record at or after `from` (before `end`) whose fingerprint is `fp`, and how
    /// many records came before it.
    pub fn find(
        &mut self,
        fp: &Fingerprint,
        topic: &str,
        partition: i32,
        from: i64,
        end: i64,
    ) -> Result<Option<(RecordDigest, u64)>, VerifyError> {
        self.start(topic, partition, from, end)?;
        let mut skipped = 0;
        while let Some(d) = self.next_digest()? {
            if d.fingerprint == *fp {
                return Ok(Some((d, skipped)));
            }
            skipped += 1;
        }
        Ok(None)
    }

    /// The first record at or after `from`, before `end`.
    pub fn first(
        &mut self,
        topic: &str,
        partition: i32,
        from: i64,
        end: i64,
    ) -> Result<Option<RecordDigest>, VerifyError> {
        self.start(topic, partition, from, end)?;
        self.next_digest()
    }

    /// The low and high watermarks of a partition.
    pub fn watermarks(&self, topic: &str, partition: i32) -> Result<(i64, i64), VerifyError> {
        self.consumer
            .fetch_watermarks(topic, partition, REQUEST_TIMEOUT)
            .map_err(|e| self.err(format!("watermarks of {topic} partition {partition}"), e))
    }

    /// The earliest offset whose timestamp is at or after `timestamp`; `None` when there is
    /// none.
    pub fn offset_for_time(
        &self,
        topic: &str,
        partition: i32,
        timestamp: i64,
    ) -> Result<Option<i64>, VerifyError> {
        let what = || format!("offset for time in {topic} partition {partition}");
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, partition, Offset::Offset(timestamp))
            .map_err(|e| self.err(what(), e))?;
        let found = self
            .consumer
            .offsets_for_times(tpl, REQUEST_TIMEOUT)
            .map_err(|e| self.err(what(), e))?;
        Ok(found
            .find_partition(topic, partition)
            .and_then(|e| match e.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            }))
    }

    /// Topic name → partition count of every topic on the cluster.
    pub fn topics(&self) -> Result<Vec<(String, i32)>, VerifyError> {
        let md = self
            .consumer
            .fetch_metadata(None, REQUEST_TIMEOUT)
            .map_err(|e| self.err("listing topics".to_owned(), e))?;
        Ok(md
            .topics()
            .iter()
            .filter(|t| t.error().is_none())
            .map(|t| (t.name().to_owned(), t.partitions().len() as i32))
            .collect())
    }

    /// The underlying consumer, for reading other topics (offset syncs).
    pub fn consumer(&self) -> &BaseConsumer {
        &self.consumer
    }
}

impl DigestStream for PartitionReader {
    fn next_digest(&mut self) -> Result<Option<RecordDigest>, VerifyError> {
        if self.done {
            return Ok(None);
        }
        let mut last_record = Instant::now();
        loop {
            match self.consumer.poll(Duration::from_millis(200)) {
                Some(Ok(m)) => {
                    // Anything not of the current range is left over from an earlier one.
                    if m.partition() != self.partition
                        || m.topic() != self.topic
                        || m.offset() < self.next
                    {
                        continue;
                    }
                    if m.offset() >= self.end {
                        self.done = true;
                        return Ok(None);
                    }
                    self.next = m.offset() + 1;
                    self.done = self.next >= self.end;
                    let bytes = m.key().map_or(0, <[u8]>::len) + m.payload().map_or(0, <[u8]>::len);
                    return Ok(Some(RecordDigest {
                        offset: m.offset(),
                        fingerprint: Fingerprint::of_message(&m, self.with_timestamp),
                        bytes: bytes as u64,
                    }));
                }
                // The end of what can be read (the high watermark, or the last stable offset
                // under an open transaction): transaction markers may fill the rest.
                Some(Err(KafkaError::PartitionEOF(p))) if p == self.partition => {
                    self.done = true;
                    return Ok(None);
                }
                Some(Err(KafkaError::PartitionEOF(_))) => {}
                Some(Err(e)) => {
                    return Err(self.err(
                        format!("reading {} partition {}", self.topic, self.partition),
                        e,
                    ));
                }
                None => {
                    if last_record.elapsed() > self.idle_timeout {
                        return Err(VerifyError::Stalled {
                            cluster: self.cluster,
                            topic: self.topic.clone(),
                            partition: self.partition,
                            at: self.next,
                            end: self.end,
                            idle: self.idle_timeout,
                        });
                    }
                    continue;
                }
            }
            // A record of another range or an unrelated event is not progress, but not a
            // stall either: only silence counts.
            last_record = Instant::now();
        }
    }
}
