//! Batching in front of a [`WireProducer`]: the caller queues records per partition, and a
//! thread of the sender's own writes every partition's oldest batch in one round, one
//! request per leader.
//!
//! - A round starts when the oldest queued record has waited `linger`, or when enough bytes
//!   are queued for a full request. While a round is being written, the next one fills, so
//!   under load batches grow by themselves and nothing waits for the linger.
//! - A batch whose write failed in a way that may pass (a leader moved, a broker restarted)
//!   is written again, the same records in the same batch, before anything after it in its
//!   partition: ordering holds, and the broker recognises a batch it already has.
//! - A batch not written within `delivery_timeout` of its first record is reported as not
//!   written, as librdkafka reports a message timeout; so is one the broker refuses.
//!
//! Outcomes go to a [`Deliver`] on the sender's thread, one call per batch.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::config::ClusterConnection;

use super::batch::Records;
use super::error::WriterError;
use super::producer::{PartitionWrite, WireProducer, WriterSettings};

/// How the sender batches and retries; defaults as the Java producer's where it has them.
#[derive(Debug, Clone)]
pub struct SenderSettings {
    /// The producer's settings.
    pub writer: WriterSettings,
    /// `linger.ms`: how long a record may wait for more to join its round (default 5 ms).
    pub linger: Duration,
    /// `delivery.timeout.ms`: how long a record may take to be written (default 120 s).
    pub delivery_timeout: Duration,
    /// The most uncompressed bytes in one partition's batch (default 1 MiB); a record larger
    /// than this goes in a batch of its own.
    pub batch_max_bytes: usize,
    /// The most uncompressed bytes written in one round, over all partitions (default 8 MiB).
    pub round_max_bytes: usize,
    /// `retry.backoff.ms`: the wait before a failed batch is written again (default 100 ms).
    pub retry_backoff: Duration,
}

impl Default for SenderSettings {
    fn default() -> Self {
        Self {
            writer: WriterSettings::default(),
            linger: Duration::from_millis(5),
            delivery_timeout: Duration::from_secs(120),
            batch_max_bytes: 1024 * 1024,
            round_max_bytes: 8 * 1024 * 1024,
            retry_backoff: Duration::from_millis(100),
        }
    }
}

/// Takes the outcome of each batch.
pub trait Deliver: Send + Sync {
    /// The records given as `(tag, timestamp)`, in order, were written to
    /// `topic`-`partition` from offset `Ok(base)` on (the i-th at `base + i`), or were not
    /// written, for `Err`'s reason.
    fn delivered(
        &self,
        topic: &str,
        partition: i32,
        records: &[(i64, i64)],
        outcome: Result<i64, &WriterError>,
    );
}

/// Records queued for one batch.
#[derive(Debug)]
struct Batch {
    records: Records,
    /// The caller's tag and the timestamp of each record, in order.
    tags: Vec<(i64, i64)>,
    /// When its first record was queued: its delivery timeout runs from here.
    first_at: Instant,
}

#[derive(Debug, Default)]
struct State {
    /// Per topic and partition, the batches not yet taken by a round, oldest first.
    queues: HashMap<Arc<str>, HashMap<i32, VecDeque<Batch>>>,
    queued_bytes: usize,
    /// When the oldest queued record was queued, of the partitions not held.
    oldest: Option<Instant>,
    /// Partitions whose queue waits behind a batch being written again.
    held: HashSet<(Arc<str>, i32)>,
    stop: bool,
}

#[derive(Debug, Default)]
struct Inner {
    state: Mutex<State>,
    wake: Condvar,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock means a panic on the other side; the queues are still consistent
        // (every change to them is a single push or pop).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The sender was stopped: nothing more can be queued.
#[derive(Debug, thiserror::Error)]
#[error("the target writer has stopped")]
pub struct SenderStopped;

/// A batching sender with a thread of its own; stops (dropping what is queued) when dropped.
#[derive(Debug)]
pub struct Sender {
    inner: Arc<Inner>,
    settings: SenderSettings,
    thread: Option<JoinHandle<()>>,
}

impl Sender {
    /// Connects to the target (failing now on bad addresses, TLS or credentials) and starts
    /// the sender's thread.
    pub fn start(
        cluster: &ClusterConnection,
        settings: SenderSettings,
        deliver: Arc<dyn Deliver>,
    ) -> Result<Self, WriterError> {
        let producer = WireProducer::connect(cluster, settings.writer.clone())?;
        let (producer_id, epoch) = producer.producer_id();
        tracing::info!(
            bootstrap = %cluster.bootstrap_servers, producer_id, epoch,
            codec = settings.writer.codec.name(), linger = ?settings.linger,
            "target writer (strait.target.writer=wire) connected"
        );
        let inner = Arc::new(Inner::default());
        let thread = {
            let (inner, settings) = (inner.clone(), settings.clone());
            std::thread::Builder::new()
                .name("strait-writer".to_owned())
                .spawn(move || Writer::new(inner, producer, settings, deliver).run())
                .map_err(|e| WriterError::Connection {
                    broker: cluster.bootstrap_servers.clone(),
                    detail: format!("cannot start the writer thread: {e}"),
                })?
        };
        Ok(Self {
            inner,
            settings,
            thread: Some(thread),
        })
    }

    /// Queues a record for `topic`-`partition`, tagged `tag` in its outcome.
    #[allow(clippy::too_many_arguments)]
    pub fn send<'h>(
        &self,
        topic: &Arc<str>,
        partition: i32,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: impl ExactSizeIterator<Item = (&'h [u8], Option<&'h [u8]>)>,
        timestamp: i64,
        tag: i64,
    ) -> Result<(), SenderStopped> {
        let mut st = self.inner.lock();
        if st.stop {
            return Err(SenderStopped);
        }
        let queue = match st.queues.get_mut(&**topic) {
            Some(partitions) => partitions.entry(partition).or_default(),
            None => st
                .queues
                .entry(topic.clone())
                .or_default()
                .entry(partition)
                .or_default(),
        };
        let batch = match queue.back_mut() {
            Some(b) if b.records.size() < self.settings.batch_max_bytes => b,
            _ => {
                queue.push_back(Batch {
                    records: Records::new(),
                    tags: Vec::new(),
                    first_at: Instant::now(),
                });
                let Some(b) = queue.back_mut() else {
                    return Err(SenderStopped);
                };
                b
            }
        };
        let before = batch.records.size();
        batch.records.push_parts(key, value, headers, timestamp);
        batch.tags.push((tag, timestamp));
        let added = batch.records.size() - before;
        let first_at = batch.first_at;
        let was_empty = st.queued_bytes == 0;
        let was_short = st.queued_bytes < self.settings.batch_max_bytes;
        st.queued_bytes += added;
        if st.oldest.is_none() && !st.held.contains(&(topic.clone(), partition)) {
            st.oldest = Some(first_at);
        }
        // Only on crossing: a wake-up per record would cost a system call per record.
        if was_empty || (was_short && st.queued_bytes >= self.settings.batch_max_bytes) {
            self.inner.wake.notify_one();
        }
        Ok(())
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        self.inner.lock().stop = true;
        self.inner.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A batch taken for a round.
struct Taken {
    topic: Arc<str>,
    partition: i32,
    batch: Batch,
}

/// The sender's thread.
struct Writer {
    inner: Arc<Inner>,
    producer: WireProducer,
    settings: SenderSettings,
    deliver: Arc<dyn Deliver>,
    /// Batches to write again, by partition; their partitions' queues wait behind them.
    retries: HashMap<(Arc<str>, i32), Batch>,
    retry_at: Option<Instant>,
}

impl Writer {
    fn new(
        inner: Arc<Inner>,
        producer: WireProducer,
        settings: SenderSettings,
        deliver: Arc<dyn Deliver>,
    ) -> Self {
        Self {
            inner,
            producer,
            settings,
            deliver,
            retries: HashMap::new(),
            retry_at: None,
        }
    }

    fn run(mut self) {
        while let Some(round) = self.next_round() {
            self.write(round);
        }
    }

    /// Waits until a round is due and takes it; `None` once stopped.
    fn next_round(&mut self) -> Option<Vec<Taken>> {
        let mut st = self.inner.lock();
        loop {
            if st.stop {
                return None;
            }
            let now = Instant::now();
            let retry_due = self.retry_at.is_some_and(|t| t <= now);
            let linger_end = st.oldest.map(|o| o + self.settings.linger);
            // Bytes count only when some partition can send (`oldest` is of those).
            let queue_due = linger_end
                .is_some_and(|t| t <= now || st.queued_bytes >= self.settings.batch_max_bytes);
            if retry_due || queue_due {
                break;
            }
            let until = [linger_end, self.retry_at].into_iter().flatten().min();
            let wait = until.map_or(Duration::from_millis(100), |t| {
                t.saturating_duration_since(now)
            });
            st = self
                .inner
                .wake
                .wait_timeout(st, wait)
                .map_or_else(|e| e.into_inner().0, |r| r.0);
        }
        let now = Instant::now();
        let mut round = Vec::new();
        let mut bytes = 0;
        if self.retry_at.is_some_and(|t| t <= now) {
            for ((topic, partition), batch) in self.retries.drain() {
                bytes += batch.records.size();
                round.push(Taken {
                    topic,
                    partition,
                    batch,
                });
            }
            self.retry_at = None;
        }
        // A partition with a batch being written again (in this round or later) sends
        // nothing after it until it is written.
        let held: HashSet<(Arc<str>, i32)> = round
            .iter()
            .map(|t| (t.topic.clone(), t.partition))
            .chain(self.retries.keys().cloned())
            .collect();
        let mut taken_bytes = 0;
        for (topic, partitions) in &mut st.queues {
            for (partition, queue) in partitions.iter_mut() {
                if bytes >= self.settings.round_max_bytes {
                    break;
                }
                if !held.is_empty() && held.contains(&(topic.clone(), *partition)) {
                    continue;
                }
                if let Some(batch) = queue.pop_front() {
                    bytes += batch.records.size();
                    taken_bytes += batch.records.size();
                    round.push(Taken {
                        topic: topic.clone(),
                        partition: *partition,
                        batch,
                    });
                }
            }
        }
        st.queued_bytes -= taken_bytes;
        Self::settle_queues(&mut st, held);
        Some(round)
    }

    /// Records which partitions are `held` and when the oldest record of the others was
    /// queued: what the next round waits for.
    fn settle_queues(st: &mut State, held: HashSet<(Arc<str>, i32)>) {
        let mut oldest: Option<Instant> = None;
        for (topic, partitions) in &st.queues {
            for (partition, queue) in partitions {
                let Some(front) = queue.front() else {
                    continue;
                };
                if !held.is_empty() && held.contains(&(topic.clone(), *partition)) {
                    continue;
                }
                oldest = Some(oldest.map_or(front.first_at, |o| o.min(front.first_at)));
            }
        }
        st.oldest = oldest;
        st.held = held;
    }

    fn write(&mut self, round: Vec<Taken>) {
        if round.is_empty() {
            return;
        }
        let outcomes = {
            let writes: Vec<PartitionWrite<'_>> = round
                .iter()
                .map(|t| PartitionWrite {
                    topic: &t.topic,
                    partition: t.partition,
                    records: &t.batch.records,
                })
                .collect();
            self.producer.write(&writes)
        };
        for (taken, outcome) in round.into_iter().zip(outcomes) {
            let Taken {
                topic,
                partition,
                batch,
            } = taken;
            match outcome {
                Ok(base) => self
                    .deliver
                    .delivered(&topic, partition, &batch.tags, Ok(base)),
                Err(e)
                    if e.is_retriable()
                        && batch.first_at.elapsed() < self.settings.delivery_timeout =>
                {
                    tracing::debug!(error = %e, "target writer: writing the batch again");
                    self.retries.insert((topic, partition), batch);
                }
                Err(e) => {
                    let e = if e.is_retriable() {
                        // Given up with its outcome unknown: later batches must not be
                        // refused as out of order behind it.
                        self.producer.abandon_sequences();
                        WriterError::Partition {
                            topic: topic.to_string(),
                            partition,
                            reason: format!(
                                "not written within the delivery timeout ({:?}): {e}",
                                self.settings.delivery_timeout
                            ),
                            retriable: false,
                        }
                    } else {
                        e
                    };
                    self.deliver
                        .delivered(&topic, partition, &batch.tags, Err(&e));
                }
            }
        }
        if !self.retries.is_empty() && self.retry_at.is_none() {
            self.retry_at = Some(Instant::now() + self.settings.retry_backoff);
        }
        // Partitions written again in this round send their queues from now on.
        let held = self.retries.keys().cloned().collect();
        Self::settle_queues(&mut self.inner.lock(), held);
    }
}
