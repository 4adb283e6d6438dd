//! Batching in front of a [`WireProducer`]: the caller queues records per partition, and a
//! thread of the sender's own writes each partition's oldest batch, one request per leader,
//! each leader's request on a [`Link`] of its own.
//!
//! - A round starts when the oldest queued record of a partition free to send has waited
//!   `linger`, or when enough bytes are queued for a full request. A partition is free when
//!   none of its batches is out: so while a leader's request is out, the next one fills, and
//!   under load batches grow by themselves and nothing waits for the linger.
//! - A leader slow to answer, or frozen, holds only the partitions it leads: the others go on
//!   in rounds of their own. The thread itself waits on no broker; metadata and new producer
//!   ids, too, are asked on a link.
//! - A batch whose write failed in a way that may pass (a leader moved, a broker restarted)
//!   is written again, the same records in the same batch, before anything after it in its
//!   partition: ordering holds, and the broker recognises a batch it already has.
//! - A batch not written within `delivery_timeout` of its first record is reported as not
//!   written, as librdkafka reports a message timeout; so is one the broker refuses.
//!
//! Outcomes go to a [`Deliver`] on the sender's thread, one call per batch.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::config::ClusterConnection;
use crate::fast_hash::{FastMap, FastSet};

use kafka_protocol::messages::ProduceRequest;

use super::batch::Records;
use super::error::WriterError;
use super::link::{Answer, Hub, Job, Link};
use super::passthrough::PassedBatch;
use super::producer::{
    Dialer, Leaders, PartitionWrite, Payload, UNKNOWN_TOPIC_OR_PARTITION, WireProducer,
    WriterSettings,
};

/// How the sender batches and retries; defaults as the Java producer's where it has them.
#[derive(Debug, Clone)]
pub struct SenderSettings {
    /// The producer's settings.
    pub writer: WriterSettings,
    /// `linger.ms`: how long a record may wait for more to join its round (default 5 ms).
    pub linger: Duration,
    /// `delivery.timeout.ms`: how long a record may take to be written (default 120 s).
    pub delivery_timeout: Duration,
    /// `batch.size`: the most uncompressed bytes of records in one partition's batch
    /// (default 1000000, librdkafka's; a broker takes 1048588 by default, batch header and
    /// compression framing included). A record larger than this goes in a batch of its own.
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
            batch_max_bytes: 1_000_000,
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

/// What a queued batch holds.
#[derive(Debug)]
enum Content {
    /// Records encoded as they were queued; more may join.
    Encoded(Records),
    /// A fetched batch written as it came; nothing joins it.
    Passed(PassedBatch),
}

impl Content {
    /// Its bytes: the records' uncompressed, or the passed batch's as fetched.
    fn size(&self) -> usize {
        match self {
            Self::Encoded(r) => r.size(),
            Self::Passed(b) => b.size(),
        }
    }

    fn len(&self) -> usize {
        match self {
            Self::Encoded(r) => r.len(),
            Self::Passed(b) => b.len(),
        }
    }

    fn payload(&self) -> Payload<'_> {
        match self {
            Self::Encoded(r) => Payload::Encoded(r),
            Self::Passed(b) => Payload::Passed(b),
        }
    }
}

/// Why a passed batch was not queued.
#[derive(Debug)]
pub enum PassRefused {
    /// The sender was stopped.
    Stopped,
    /// It is larger than the partition's batches may be now (`batch.size`, or less after the
    /// broker refused a batch as too large): its records are to be queued one by one, so
    /// that batches can be made smaller. The batch is given back.
    TooLarge(PassedBatch),
}

/// Records queued for one batch.
#[derive(Debug)]
struct Batch {
    records: Content,
    /// The caller's tag and the timestamp of each record, in order.
    tags: Vec<(i64, i64)>,
    /// When its first record was queued: its delivery timeout runs from here.
    first_at: Instant,
    /// An attempt to write it ended without an answer: it may be on the target.
    maybe_written: bool,
}

/// One partition's queue.
#[derive(Debug)]
struct PartitionQueue {
    batches: VecDeque<Batch>,
    /// The most bytes a new batch may take: `batch_max_bytes`, halved each time the broker
    /// refuses a batch of several records as too large.
    max_bytes: usize,
    /// Bytes of the partition's last batch taken by a round: the room a new batch gets when
    /// none is queued (behind a queued one, it gets that one's size), so that under load a
    /// batch is not copied as it grows and at rest it takes no more than its few records.
    recent_bytes: usize,
}

#[derive(Debug, Default)]
struct State {
    /// Per topic and partition, the batches not yet taken by a round, oldest first.
    queues: FastMap<Arc<str>, FastMap<i32, PartitionQueue>>,
    queued_bytes: usize,
    /// Of those, the bytes in partitions not held: what can go in the next round.
    free_bytes: usize,
    /// When the oldest queued record was queued, of the partitions not held.
    oldest: Option<Instant>,
    /// Partitions whose queue waits behind a batch being written again.
    held: FastSet<(Arc<str>, i32)>,
    stop: bool,
    /// The sender's thread, or a link's, ended without being asked to (a panic).
    dead: bool,
    /// Answers from the links, not yet taken by the sender's thread.
    answers: Vec<Answer>,
}

#[derive(Debug, Default)]
struct Inner {
    state: Mutex<State>,
    wake: Condvar,
}

impl Hub for Inner {
    fn post(&self, answer: Answer) {
        self.lock().answers.push(answer);
        self.wake.notify_all();
    }

    fn panicked(&self) {
        self.lock().dead = true;
        self.wake.notify_all();
        tracing::error!("a thread of the target writer ended unexpectedly");
    }
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
        Self::with_producer(producer, settings, deliver)
    }

    /// Starts the sender's thread with a producer already connected.
    pub fn with_producer(
        producer: WireProducer,
        settings: SenderSettings,
        deliver: Arc<dyn Deliver>,
    ) -> Result<Self, WriterError> {
        let inner = Arc::new(Inner::default());
        let thread = {
            let (inner, settings) = (inner.clone(), settings.clone());
            std::thread::Builder::new()
                .name("strait-writer".to_owned())
                .spawn(move || Writer::new(inner, producer, settings, deliver).run())
                .map_err(|e| WriterError::Connection {
                    broker: "(writer)".to_owned(),
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
        headers: impl ExactSizeIterator<Item = (&'h [u8], Option<&'h [u8]>)> + Clone,
        timestamp: i64,
        tag: i64,
    ) -> Result<(), SenderStopped> {
        // The record's size in its batch, near enough to keep batches under their limit.
        let size = RECORD_OVERHEAD
            + key.map_or(0, <[u8]>::len)
            + value.map_or(0, <[u8]>::len)
            + headers
                .clone()
                .map(|(k, v)| k.len() + v.map_or(0, <[u8]>::len) + 10)
                .sum::<usize>();
        let mut st = self.inner.lock();
        if st.stop || st.dead {
            return Err(SenderStopped);
        }
        let Some(queue) = queue_of(&mut st, topic, partition, self.settings.batch_max_bytes) else {
            return Err(SenderStopped);
        };
        let max_bytes = queue.max_bytes;
        let fits = |b: &Batch| match &b.records {
            Content::Encoded(r) => r.is_empty() || r.size() + size <= max_bytes,
            Content::Passed(_) => false,
        };
        if !queue.batches.back().is_some_and(fits) {
            let recent = queue
                .batches
                .back()
                .map_or(queue.recent_bytes, |full| full.records.size());
            let room = recent.min(max_bytes).max(size);
            queue.batches.push_back(Batch {
                records: Content::Encoded(Records::with_capacity(room)),
                tags: Vec::new(),
                first_at: Instant::now(),
                maybe_written: false,
            });
        }
        let Some(batch) = queue.batches.back_mut() else {
            return Err(SenderStopped);
        };
        // The batch at the back takes records: one was just pushed unless it did.
        let Content::Encoded(records) = &mut batch.records else {
            return Err(SenderStopped);
        };
        let before = records.size();
        records.push_parts(key, value, headers, timestamp);
        let added = records.size() - before;
        batch.tags.push((tag, timestamp));
        let first_at = batch.first_at;
        self.queued(st, topic, partition, added, first_at);
        Ok(())
    }

    /// Queues `batch`, fetched and checked for passthrough, as a batch of its own for
    /// `topic`-`partition`, after what is queued there. Its records are tagged `first_tag`,
    /// `first_tag + 1`, ... in its outcome (offsets of a batch that passes have no gaps),
    /// each with `timestamp` (the records' own are inside the compressed bytes).
    pub fn send_passed(
        &self,
        topic: &Arc<str>,
        partition: i32,
        batch: PassedBatch,
        first_tag: i64,
        timestamp: i64,
    ) -> Result<(), PassRefused> {
        let mut st = self.inner.lock();
        if st.stop || st.dead {
            return Err(PassRefused::Stopped);
        }
        let Some(queue) = queue_of(&mut st, topic, partition, self.settings.batch_max_bytes) else {
            return Err(PassRefused::Stopped);
        };
        if batch.size() > queue.max_bytes {
            return Err(PassRefused::TooLarge(batch));
        }
        let added = batch.size();
        let first_at = Instant::now();
        let tags = (0..batch.len())
            .map(|i| {
                (
                    first_tag.saturating_add(i64::try_from(i).unwrap_or(i64::MAX)),
                    timestamp,
                )
            })
            .collect();
        queue.batches.push_back(Batch {
            records: Content::Passed(batch),
            tags,
            first_at,
            maybe_written: false,
        });
        self.queued(st, topic, partition, added, first_at);
        Ok(())
    }

    /// Counts `added` bytes just queued for `topic`-`partition` in a batch begun at
    /// `first_at`, and wakes the sender's thread when a round may start sooner for them.
    fn queued(
        &self,
        mut st: MutexGuard<'_, State>,
        topic: &Arc<str>,
        partition: i32,
        added: usize,
        first_at: Instant,
    ) {
        st.queued_bytes += added;
        let free = st.held.is_empty() || !st.held.contains(&(topic.clone(), partition));
        let mut wake = false;
        if free {
            let was_short = st.free_bytes < self.settings.batch_max_bytes;
            st.free_bytes += added;
            wake = was_short && st.free_bytes >= self.settings.batch_max_bytes;
            if st.oldest.is_none() {
                st.oldest = Some(first_at);
                wake = true;
            }
        }
        drop(st);
        // Only when a round's start moves (a linger begins, or a full request's worth is
        // ready): a wake-up per record would cost a system call per record.
        if wake {
            self.inner.wake.notify_one();
        }
    }

    /// Whether the sender's thread ended on its own (a bug): nothing queued gets an outcome.
    pub fn failed(&self) -> bool {
        self.inner.lock().dead
    }
}

/// Bytes a record's framing takes beyond its key, value and headers, at most.
const RECORD_OVERHEAD: usize = 32;

/// The queue of `topic`-`partition`, made (new batches up to `max_bytes`) if there is none.
/// (Always some; an `Option` because the map is looked up again after the insert.)
fn queue_of<'s>(
    st: &'s mut State,
    topic: &Arc<str>,
    partition: i32,
    max_bytes: usize,
) -> Option<&'s mut PartitionQueue> {
    if !st.queues.contains_key(&**topic) {
        st.queues.insert(topic.clone(), FastMap::default());
    }
    let partitions = st.queues.get_mut(&**topic)?;
    Some(
        partitions
            .entry(partition)
            .or_insert_with(|| PartitionQueue {
                batches: VecDeque::new(),
                max_bytes,
                recent_bytes: 0,
            }),
    )
}

/// Marks the sender dead if its thread ends without a stop (a panic unwinding it), so the
/// caller stops queueing and fails instead of waiting for outcomes that never come.
struct DeathNotice(Arc<Inner>);

impl Drop for DeathNotice {
    fn drop(&mut self) {
        let mut st = self.0.lock();
        if !st.stop {
            st.dead = true;
            tracing::error!("the target writer's thread ended unexpectedly");
        }
    }
}

/// How long dropping a sender waits for its thread: one blocked on a frozen broker would
/// hold a stopping process for up to `request.timeout.ms`.
const STOP_WAIT: Duration = Duration::from_secs(2);

impl Drop for Sender {
    fn drop(&mut self) {
        self.inner.lock().stop = true;
        self.inner.wake.notify_all();
        let Some(t) = self.thread.take() else {
            return;
        };
        let give_up = Instant::now() + STOP_WAIT;
        while !t.is_finished() && Instant::now() < give_up {
            std::thread::sleep(Duration::from_millis(10));
        }
        if t.is_finished() {
            let _ = t.join();
        } else {
            // Left to end with the process: what it still writes has no outcome anyone
            // waits for, and progress never covers it.
            tracing::warn!("target writer still waiting on a broker at stop; not waited for");
        }
    }
}

/// A batch taken for a round.
struct Taken {
    topic: Arc<str>,
    partition: i32,
    batch: Batch,
}

impl Taken {
    fn key(&self) -> (Arc<str>, i32) {
        (self.topic.clone(), self.partition)
    }

    fn write(&self) -> PartitionWrite<'_> {
        PartitionWrite {
            topic: &self.topic,
            partition: self.partition,
            records: self.batch.records.payload(),
        }
    }
}

/// A produce request out on a link.
struct InFlight {
    leader: i32,
    /// The producer id and epoch its batches were sealed with.
    identity: (i64, i16),
    batches: Vec<Taken>,
}

/// The sender's thread. It never waits on a broker itself: requests go out on links, and
/// their answers come back as events.
struct Writer {
    inner: Arc<Inner>,
    producer: WireProducer,
    dialer: Dialer,
    settings: SenderSettings,
    deliver: Arc<dyn Deliver>,
    /// A link per broker, by node id.
    links: HashMap<i32, Link>,
    /// The link that asks for metadata, once needed.
    metadata_link: Option<Link>,
    /// The topics of the metadata request out, if one is.
    metadata_asked: Option<Vec<String>>,
    /// Whether a new producer id is being asked for.
    id_asked: bool,
    /// Batches waiting for the new producer id.
    awaiting_id: Vec<Taken>,
    /// Requests out, by token.
    in_flight: HashMap<u64, InFlight>,
    next_token: u64,
    /// Batches whose partition's leader the metadata is being asked for.
    awaiting: Vec<Taken>,
    /// Batches to write again, by partition; their partitions' queues wait behind them.
    retries: HashMap<(Arc<str>, i32), Batch>,
    retry_at: Option<Instant>,
    /// Rounds so far: where the next round's walk over the partitions starts.
    rounds: usize,
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
            dialer: producer.dialer(),
            producer,
            settings,
            deliver,
            links: HashMap::new(),
            metadata_link: None,
            metadata_asked: None,
            id_asked: false,
            awaiting_id: Vec::new(),
            in_flight: HashMap::new(),
            next_token: 0,
            awaiting: Vec::new(),
            retries: HashMap::new(),
            retry_at: None,
            rounds: 0,
        }
    }

    fn run(mut self) {
        let _notice = DeathNotice(self.inner.clone());
        while let Some(answers) = self.wait() {
            for answer in answers {
                self.on_answer(answer);
            }
            self.settle();
            let round = self.take_round();
            if !round.is_empty() {
                self.dispatch(round, Leaders::Ask);
                self.settle();
            }
        }
    }

    /// Whether a round is due at `now`, and when the next one will be.
    fn due(&self, st: &State, now: Instant) -> (bool, Option<Instant>) {
        let retry_due = self.retry_at.is_some_and(|t| t <= now);
        let linger_end = st.oldest.map(|o| o + self.settings.linger);
        // Only bytes that can go count: partitions waiting behind a batch out fill up
        // routinely, and must not cut every other partition's linger short.
        let queue_due =
            linger_end.is_some_and(|t| t <= now || st.free_bytes >= self.settings.batch_max_bytes);
        let next = [linger_end, self.retry_at].into_iter().flatten().min();
        (retry_due || queue_due, next)
    }

    /// Waits until links have answered or a round is due; `None` once stopped.
    fn wait(&mut self) -> Option<Vec<Answer>> {
        let mut st = self.inner.lock();
        loop {
            if st.stop {
                return None;
            }
            if !st.answers.is_empty() {
                return Some(std::mem::take(&mut st.answers));
            }
            let now = Instant::now();
            let (due, next) = self.due(&st, now);
            if due {
                return Some(Vec::new());
            }
            let wait = next.map_or(Duration::from_millis(100), |t| {
                t.saturating_duration_since(now)
            });
            st = self
                .inner
                .wake
                .wait_timeout(st, wait)
                .map_or_else(|e| e.into_inner().0, |r| r.0);
        }
    }

    /// The partitions with a batch outside their queue (out, awaiting a leader, or to be
    /// written again): nothing after it in the partition is sent until it is written.
    fn held(&self) -> FastSet<(Arc<str>, i32)> {
        self.retries
            .keys()
            .cloned()
            .chain(self.awaiting.iter().map(Taken::key))
            .chain(self.awaiting_id.iter().map(Taken::key))
            .chain(
                self.in_flight
                    .values()
                    .flat_map(|f| f.batches.iter().map(Taken::key)),
            )
            .collect()
    }

    fn settle(&self) {
        let held = self.held();
        Self::settle_queues(&mut self.inner.lock(), held);
    }

    /// Takes a round if one is due: the batches to write again, if their wait is over, and
    /// the oldest batch of every partition not held.
    fn take_round(&mut self) -> Vec<Taken> {
        let held = self.held();
        let mut st = self.inner.lock();
        let now = Instant::now();
        if !self.due(&st, now).0 {
            return Vec::new();
        }
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
        let mut taken_bytes = 0;
        // Where the walk starts moves each round, so that with more full batches than a
        // round takes, the same partitions do not always go first.
        let keys: Vec<(Arc<str>, i32)> = st
            .queues
            .iter()
            .flat_map(|(t, ps)| {
                ps.iter()
                    .filter(|(_, q)| !q.batches.is_empty())
                    .map(move |(p, _)| (t.clone(), *p))
            })
            .collect();
        self.rounds = self.rounds.wrapping_add(1);
        let start = if keys.is_empty() {
            0
        } else {
            self.rounds % keys.len()
        };
        for (topic, partition) in keys[start..].iter().chain(&keys[..start]) {
            if bytes >= self.settings.round_max_bytes {
                break;
            }
            if !held.is_empty() && held.contains(&(topic.clone(), *partition)) {
                continue;
            }
            let batch = st
                .queues
                .get_mut(&**topic)
                .and_then(|ps| ps.get_mut(partition))
                .and_then(|q| {
                    let batch = q.batches.pop_front()?;
                    q.recent_bytes = batch.records.size();
                    Some(batch)
                });
            if let Some(batch) = batch {
                bytes += batch.records.size();
                taken_bytes += batch.records.size();
                round.push(Taken {
                    topic: topic.clone(),
                    partition: *partition,
                    batch,
                });
            }
        }
        st.queued_bytes -= taken_bytes;
        st.free_bytes = st.free_bytes.saturating_sub(taken_bytes);
        round
    }

    /// Records which partitions are `held` and when the oldest record of the others was
    /// queued: what the next round waits for.
    fn settle_queues(st: &mut State, held: FastSet<(Arc<str>, i32)>) {
        let mut oldest: Option<Instant> = None;
        let mut free_bytes = 0;
        for (topic, partitions) in &st.queues {
            for (partition, queue) in partitions {
                let Some(front) = queue.batches.front() else {
                    continue;
                };
                if !held.is_empty() && held.contains(&(topic.clone(), *partition)) {
                    continue;
                }
                oldest = Some(oldest.map_or(front.first_at, |o| o.min(front.first_at)));
                free_bytes += queue
                    .batches
                    .iter()
                    .map(|b| b.records.size())
                    .sum::<usize>();
            }
        }
        st.oldest = oldest;
        st.free_bytes = free_bytes;
        st.held = held;
    }

    /// Plans `round` as a request per leader and sends each on its broker's link.
    fn dispatch(&mut self, round: Vec<Taken>, leaders: Leaders) {
        if self.producer.needs_new_id() {
            // Asked for on the metadata link: the broker that answers may be slow or frozen,
            // and every partition would wait for it here.
            self.awaiting_id.extend(round);
            self.ask_producer_id();
            return;
        }
        let mut results: Vec<Option<Result<i64, WriterError>>> =
            round.iter().map(|_| None).collect();
        let (outgoing, awaiting) = {
            let writes: Vec<PartitionWrite<'_>> = round.iter().map(Taken::write).collect();
            self.producer.prepare(&writes, &mut results, leaders)
        };
        let mut slots: Vec<Option<Taken>> = round.into_iter().map(Some).collect();
        for i in awaiting {
            if let Some(t) = slots.get_mut(i).and_then(Option::take) {
                self.awaiting.push(t);
            }
        }
        for o in outgoing {
            let batches: Vec<Taken> = o
                .batches
                .iter()
                .filter_map(|&i| slots.get_mut(i).and_then(Option::take))
                .collect();
            self.send(o.leader, o.identity, o.request, batches);
        }
        for (slot, result) in slots.into_iter().zip(results) {
            let Some(taken) = slot else {
                continue;
            };
            let result = result
                .unwrap_or_else(|| Err(partition_error(&taken, "no outcome (a bug in Strait)")));
            self.outcome(taken, result, false);
        }
        self.ask_metadata();
    }

    /// Sends a request on `leader`'s link, opening the link if needed.
    fn send(
        &mut self,
        leader: i32,
        identity: (i64, i16),
        request: ProduceRequest,
        batches: Vec<Taken>,
    ) {
        self.next_token = self.next_token.wrapping_add(1);
        let token = self.next_token;
        let sent = self.link(leader).and_then(|link| {
            link.send(Job::Produce { token, request })
                .map_err(|_| WriterError::Connection {
                    broker: link.address().unwrap_or_default().to_owned(),
                    detail: "the broker's writer thread has ended".to_owned(),
                })
        });
        match sent {
            Ok(()) => {
                self.in_flight.insert(
                    token,
                    InFlight {
                        leader,
                        identity,
                        batches,
                    },
                );
            }
            Err(e) => {
                self.links.remove(&leader);
                let writes: Vec<PartitionWrite<'_>> = batches.iter().map(Taken::write).collect();
                let outcomes = self.producer.complete(leader, identity, Err(e), &writes);
                for (taken, outcome) in batches.into_iter().zip(outcomes) {
                    self.outcome(taken, outcome, false);
                }
            }
        }
    }

    /// `leader`'s link, opened (again) when there is none or the broker's address changed.
    fn link(&mut self, leader: i32) -> Result<&Link, WriterError> {
        let Some(address) = self.producer.broker_address(leader) else {
            return Err(WriterError::Connection {
                broker: format!("node {leader}"),
                detail: "not in the cluster's metadata".to_owned(),
            });
        };
        let current = self
            .links
            .get(&leader)
            .is_some_and(|l| l.address() == Some(address));
        if !current {
            let link = Link::broker(leader, address, self.dialer.clone(), self.inner.clone())?;
            self.links.insert(leader, link);
        }
        self.links
            .get(&leader)
            .ok_or_else(|| WriterError::Connection {
                broker: format!("node {leader}"),
                detail: "no link".to_owned(),
            })
    }

    /// Asks the metadata of the topics found without leaders, unless a request is out.
    fn ask_metadata(&mut self) {
        if self.metadata_asked.is_some() {
            return;
        }
        let topics = self.producer.wanted_topics();
        if topics.is_empty() {
            return;
        }
        let job = Job::Metadata {
            topics: topics.clone(),
            known: self.producer.known_brokers(),
        };
        match self.queue_on_metadata_link(job) {
            Ok(()) => self.metadata_asked = Some(topics),
            Err(e) => self.metadata_failed(&topics, &e),
        }
    }

    /// Asks for a new producer id, unless a request is out.
    fn ask_producer_id(&mut self) {
        if self.id_asked {
            return;
        }
        let job = Job::ProducerId {
            known: self.producer.known_brokers(),
        };
        match self.queue_on_metadata_link(job) {
            Ok(()) => self.id_asked = true,
            Err(e) => self.producer_id_failed(&e),
        }
    }

    /// Queues `job` on the metadata link, opening it if needed.
    fn queue_on_metadata_link(&mut self, job: Job) -> Result<(), WriterError> {
        let link = match &self.metadata_link {
            Some(link) => link,
            None => self
                .metadata_link
                .insert(Link::any(self.dialer.clone(), self.inner.clone())?),
        };
        link.send(job).map_err(|_| {
            self.metadata_link = None;
            WriterError::Connection {
                broker: "(metadata)".to_owned(),
                detail: "the metadata thread has ended".to_owned(),
            }
        })
    }

    /// No new producer id: the batches waiting for it are written again after the backoff
    /// (or refused, if the broker refused for good).
    fn producer_id_failed(&mut self, e: &WriterError) {
        tracing::debug!(error = %e, "target writer: no new producer id");
        for taken in std::mem::take(&mut self.awaiting_id) {
            let error = WriterError::Partition {
                topic: taken.topic.to_string(),
                partition: taken.partition,
                reason: format!("a new producer id is needed: {e}"),
                retriable: e.is_retriable(),
                code: None,
            };
            self.outcome(taken, Err(error), false);
        }
    }

    /// No metadata for `topics`: their batches are written again after the backoff.
    fn metadata_failed(&mut self, topics: &[String], e: &WriterError) {
        tracing::debug!(error = %e, "target writer: no metadata");
        let (failed, rest): (Vec<Taken>, Vec<Taken>) = std::mem::take(&mut self.awaiting)
            .into_iter()
            .partition(|t| topics.iter().any(|n| **n == *t.topic));
        self.awaiting = rest;
        for taken in failed {
            let error = partition_error(&taken, &format!("no metadata from the target: {e}"));
            self.outcome(taken, Err(error), false);
        }
    }

    fn on_answer(&mut self, answer: Answer) {
        match answer {
            Answer::Produce { token, answer } => {
                let Some(f) = self.in_flight.remove(&token) else {
                    return;
                };
                let outcomes = {
                    let writes: Vec<PartitionWrite<'_>> =
                        f.batches.iter().map(Taken::write).collect();
                    self.producer
                        .complete(f.leader, f.identity, answer, &writes)
                };
                for (taken, outcome) in f.batches.into_iter().zip(outcomes) {
                    self.outcome(taken, outcome, true);
                }
            }
            Answer::Metadata(answer) => {
                let topics = self.metadata_asked.take().unwrap_or_default();
                match answer {
                    Ok(m) => {
                        self.producer.apply_metadata(&m);
                        // Batches of the topics asked go out with what the metadata says
                        // now; others wait for the next request.
                        let (fresh, rest): (Vec<Taken>, Vec<Taken>) =
                            std::mem::take(&mut self.awaiting)
                                .into_iter()
                                .partition(|t| topics.iter().any(|n| **n == *t.topic));
                        self.awaiting = rest;
                        if !fresh.is_empty() {
                            self.dispatch(fresh, Leaders::Fresh);
                        }
                    }
                    Err(e) => self.metadata_failed(&topics, &e),
                }
                self.ask_metadata();
            }
            Answer::ProducerId(answer) => {
                self.id_asked = false;
                match answer {
                    Ok((id, epoch)) => {
                        self.producer.apply_producer_id(id, epoch);
                        let waiting = std::mem::take(&mut self.awaiting_id);
                        if !waiting.is_empty() {
                            self.dispatch(waiting, Leaders::Ask);
                        }
                    }
                    Err(e) => self.producer_id_failed(&e),
                }
            }
        }
    }

    /// Acts on a batch's outcome: reported, kept to be written again, or reported refused.
    /// `sent`: the batch may have reached the broker.
    fn outcome(&mut self, taken: Taken, outcome: Result<i64, WriterError>, sent: bool) {
        let Taken {
            topic,
            partition,
            mut batch,
        } = taken;
        match outcome {
            Ok(base) => self
                .deliver
                .delivered(&topic, partition, &batch.tags, Ok(base)),
            Err(e)
                if (e.is_retriable() || waits_for_topic(&e, batch.first_at))
                    && batch.first_at.elapsed() < self.settings.delivery_timeout =>
            {
                tracing::debug!(error = %e, "target writer: writing the batch again");
                batch.maybe_written |= sent;
                self.retries.insert((topic, partition), batch);
                if self.retry_at.is_none() {
                    self.retry_at = Some(Instant::now() + self.settings.retry_backoff);
                }
            }
            Err(e) => self.refused(&topic, partition, &batch, e),
        }
    }

    /// `batch` is not written, for good: its records are reported refused.
    fn refused(&mut self, topic: &Arc<str>, partition: i32, batch: &Batch, e: WriterError) {
        let timed_out = e.is_retriable();
        if timed_out || batch.maybe_written {
            // It may be on the target after all: later batches of the partition must not
            // take its sequence numbers, or the broker would answer them as duplicates of it.
            self.producer.abandon_sequences();
        }
        if e.is_too_large() && batch.records.len() > 1 {
            // Over the remote topic's limit as a batch: later batches of the partition are
            // made smaller, down to one record each, until they fit.
            let mut st = self.inner.lock();
            if let Some(q) = st
                .queues
                .get_mut(&**topic)
                .and_then(|ps| ps.get_mut(&partition))
            {
                q.max_bytes = (batch.records.size() / 2).max(1);
                tracing::info!(
                    %topic, partition, max_bytes = q.max_bytes,
                    "target writer: a batch was too large for the remote topic; smaller batches from now on"
                );
            }
        }
        let e = if timed_out {
            WriterError::Partition {
                topic: topic.to_string(),
                partition,
                reason: format!(
                    "not written within the delivery timeout ({:?}): {e}",
                    self.settings.delivery_timeout
                ),
                retriable: false,
                code: None,
            }
        } else {
            e
        };
        self.deliver
            .delivered(topic, partition, &batch.tags, Err(&e));
    }
}

/// How long a batch is written again while the target's metadata does not know its topic,
/// before it counts as refused (a deleted remote topic). A remote topic Strait has just
/// created shows in the metadata a moment later; refusing at once would send the batches
/// after it ahead of its retry (CI saw 617 records written twice so). librdkafka's producer
/// gets the same time (`UNKNOWN_PARTITION_LIMIT` in `source/pipeline/replicate.rs`).
const UNKNOWN_TOPIC_GRACE: Duration = Duration::from_secs(30);

/// Whether `e` says the topic is unknown, for a batch begun at `first_at` still within
/// [`UNKNOWN_TOPIC_GRACE`].
fn waits_for_topic(e: &WriterError, first_at: Instant) -> bool {
    e.code() == Some(UNKNOWN_TOPIC_OR_PARTITION) && first_at.elapsed() < UNKNOWN_TOPIC_GRACE
}

/// A retriable error for `taken`'s partition.
fn partition_error(taken: &Taken, reason: &str) -> WriterError {
    WriterError::Partition {
        topic: taken.topic.to_string(),
        partition: taken.partition,
        reason: reason.to_owned(),
        retriable: true,
        code: None,
    }
}
