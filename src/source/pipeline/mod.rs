//! The replication pipeline of one process: one source consumer (a member of the flow's
//! consumer group), idempotent target producers, and the bookkeeping that turns delivery
//! reports into progress, offset syncs and group commits.
//!
//! It runs on a thread of its own: librdkafka does the network work on its threads, and this
//! thread only moves borrowed records from the consumer to the producer and serves callbacks,
//! so rebalance callbacks (which run inside `poll`) see the same state without contention.
//!
//! - [`delivery`]: delivery reports, matched to records by their source offset;
//! - [`replicate`]: one record from consumer to producer, and gaps in the source;
//! - [`rebalance`]: taking partitions on and handing them over;
//! - [`blocked`]: partitions held at a record the target refused, and their retries;
//! - [`offset_syncs`]: publishing offset syncs;
//! - [`transactions`]: exactly-once, one transactional producer per partition;
//! - [`wire`]: Strait's own target writer instead of the producers (`strait.target.writer`);
//! - [`reader`]: Strait's own source reader instead of the consumer's fetches
//!   (`strait.source.reader`), batches passed to the writer whole where they can be;
//! - [`report`]: what the status registry is told, read from the tracker;
//! - [`fault_injection`]: producers failed on purpose, for tests.

mod blocked;
mod delivery;
mod fault_injection;
mod offset_syncs;
mod reader;
mod rebalance;
mod replicate;
mod report;
mod transactions;
mod wire;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::Producer;
use rdkafka::{ClientConfig, Offset};
use tokio::sync::watch;

use crate::kafka::polled_producer::PolledProducer;
use crate::kafka::stats::StatsSink;
use crate::source::SourceError;
use crate::source::progress::ProgressStore;
use crate::source::topics::{ReplicatedTopic, TopicAdmin, TopicSelector};
use crate::source::tracker::{SlotId, Tracker};
use crate::status::{Component, FlowStatus};

use delivery::{ReplicationProducerContext, Room};
pub use offset_syncs::OffsetSyncTarget;
pub use reader::WireReaderSettings;
use rebalance::RebalanceContext;
pub use transactions::TransactionSettings;
use transactions::{Transactions, Which};
pub use wire::WireWriterSettings;

/// How long a periodic progress write may take before the loop goes on without it.
const PROGRESS_WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// How often transactions are checked for a due commit (exactly-once).
const TRANSACTION_CHECK_EVERY: Duration = Duration::from_millis(5);

/// The longest the loop waits for room in the in-flight budget before its own checks.
const BACKPRESSURE_WAIT: Duration = Duration::from_millis(20);

/// How often blocked partitions are checked for a due retry.
const RETRY_CHECK_EVERY: Duration = Duration::from_millis(200);

/// Where a partition without recorded progress starts (`auto.offset.reset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartWithoutProgress {
    /// At the log start (`earliest`, MM2's default).
    Earliest,
    /// At the log end (`latest`).
    Latest,
    /// Nowhere: the flow fails (`none`).
    Fail,
}

impl StartWithoutProgress {
    /// From librdkafka's `auto.offset.reset` value (Java's `none` is librdkafka's `error`).
    pub fn from_reset(value: Option<&str>) -> Self {
        match value {
            Some("latest" | "largest" | "end") => Self::Latest,
            Some("error" | "none") => Self::Fail,
            _ => Self::Earliest,
        }
    }

    fn offset(self) -> Offset {
        match self {
            Self::Latest => Offset::End,
            Self::Earliest | Self::Fail => Offset::Beginning,
        }
    }
}

/// Settings of a pipeline, derived from the flow's configuration.
#[derive(Debug, Clone)]
pub struct PipelineSettings {
    /// How often progress is written and delayed offset syncs are published
    /// (Connect's `offset.flush.interval.ms`).
    pub flush_interval: Duration,
    /// Bytes in flight to the target before reading pauses.
    pub max_in_flight_bytes: u64,
    /// Where to start a partition without recorded progress (`auto.offset.reset`).
    pub start_without_progress: StartWithoutProgress,
    /// How long a revoked partition may take to drain: the producer's delivery timeout and
    /// a margin, since librdkafka reports every record within its delivery timeout.
    pub drain_timeout: Duration,
    /// How long stopping may take in all: everything sent acknowledged, progress and the last
    /// offset syncs written. Below the pod's termination grace period.
    pub shutdown_timeout: Duration,
    /// The longest wait between two retries of a partition blocked at a refused record.
    pub retry_backoff_max: Duration,
    /// Target producers working side by side; a partition always uses the same one.
    pub producer_lanes: usize,
    /// Exactly-once: a transactional producer per partition instead of the lanes.
    pub transactions: Option<TransactionSettings>,
    /// Strait's own target writer instead of the lanes (never with exactly-once).
    pub wire_writer: Option<WireWriterSettings>,
    /// Strait's own source reader instead of the consumer's fetches (only with the wire
    /// writer).
    pub wire_reader: Option<WireReaderSettings>,
}

fn lock(tracker: &Mutex<Tracker>) -> MutexGuard<'_, Tracker> {
    // A poisoned lock means a panic elsewhere; the data is still the best we have.
    tracker.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the rebalance callback, the delivery callbacks and the loop share.
struct Shared {
    tracker: Arc<Mutex<Tracker>>,
    /// The target producers ("lanes"); partition slot `s` uses `lanes[s % lanes.len()]`.
    /// None with exactly-once, where each partition has a transactional producer of its own.
    lanes: Vec<PolledProducer<ReplicationProducerContext>>,
    /// Exactly-once: the partitions' transactional producers.
    txns: Option<Transactions>,
    /// Strait's own target writer, when it replaces the lanes.
    wire: Option<crate::kafka::writer::Sender>,
    /// Strait's own source reader, when it reads for the consumer (only with `wire`).
    reader: Option<reader::Reader>,
    progress: ProgressStore,
    selector: Arc<TopicSelector>,
    admin: Arc<TopicAdmin>,
    runtime: tokio::runtime::Handle,
    settings: PipelineSettings,
    fatal: Mutex<Option<SourceError>>,
    /// Set by a producer's context on any error it reports: whether one is fatal is asked of
    /// the producers.
    producer_errored: Arc<AtomicBool>,
    /// When stopping must be done by, once a stop was asked for.
    stop_by: std::sync::OnceLock<Instant>,
    /// Set when a stop is asked for, before the loop sees it.
    stop: Arc<AtomicBool>,
    status: Arc<FlowStatus>,
    /// Producers to fail on purpose (tests only).
    faults: Option<fault_injection::ProducerFaults>,
    /// Where offset syncs go, if they are written.
    offset_syncs: Option<Arc<OffsetSyncTarget>>,
}

impl Shared {
    fn fail(&self, e: SourceError) {
        tracing::error!(error = %e, "source replication failed");
        self.status.failed(Component::Source, &e);
        if let Ok(mut f) = self.fatal.lock() {
            f.get_or_insert(e);
        }
    }

    /// When stopping must be done by, once a stop was asked for.
    fn stopping_deadline(&self) -> Option<Instant> {
        self.stop_by.get().copied()
    }

    /// Whether a stop was asked for (the loop may not have seen it yet).
    fn stop_asked(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// Runs `f` with the producer that carries partition slot `slot`; `None` when the slot has
    /// none (exactly-once, a partition not taken on).
    fn with_producer<R>(
        &self,
        slot: usize,
        f: impl FnOnce(&PolledProducer<ReplicationProducerContext>) -> R,
    ) -> Option<R> {
        match &self.txns {
            Some(t) => t.with_producer(slot, f),
            None if self.lanes.is_empty() => None,
            None => Some(f(&self.lanes[slot % self.lanes.len()])),
        }
    }

    /// The first fatal error of a producer, if any: such a producer sends nothing more. The
    /// lanes are asked only when one reported an error since the last call (`errored`).
    fn producer_fatal_error(&self, errored: bool) -> Option<SourceError> {
        if self.wire.as_ref().is_some_and(|w| w.failed()) {
            return Some(SourceError::ProducerFatal {
                what: "target writer",
                detail: "its thread ended unexpectedly".to_owned(),
            });
        }
        if !errored {
            return None;
        }
        self.lanes
            .iter()
            .find_map(|l| fatal_of("target producer", l.client()))
    }

    /// Records of `only` (or of every partition) still to be reported on by a producer that
    /// can report: one that failed for good never reports on its records again, and waiting
    /// for them would only use up a hand-over's or a stop's time. Progress stays before them.
    fn unreported(&self, only: Option<&[SlotId]>) -> usize {
        let failed: Vec<bool> = self
            .lanes
            .iter()
            .map(|l| l.client().fatal_error().is_some())
            .collect();
        lock(&self.tracker)
            .slots()
            .filter(|(id, _)| only.is_none_or(|o| o.contains(id)))
            .filter(|(id, _)| failed.is_empty() || !failed[id % failed.len()])
            .map(|(_, s)| s.unreported())
            .sum()
    }

    /// The fatal error of the offsets-topic or the offset-syncs producer, if any. Neither can
    /// write again: progress would stay where it is (everything since read again after a
    /// restart) and offset syncs would be dropped. A new process starts clean.
    fn auxiliary_fatal_error(&self) -> Option<SourceError> {
        fatal_of("offsets-topic producer", self.progress.producer().client()).or_else(|| {
            let os = self.offset_syncs.as_ref()?;
            fatal_of("offset-syncs producer", os.producer.client())
        })
    }
}

/// The fatal error of producer `what`, if librdkafka gave up on it.
fn fatal_of<C: rdkafka::client::ClientContext>(
    what: &'static str,
    client: &rdkafka::client::Client<C>,
) -> Option<SourceError> {
    let (code, detail) = client.fatal_error()?;
    Some(SourceError::ProducerFatal {
        what,
        detail: format!("{code}: {detail}"),
    })
}

/// Runs the pipeline until `stop` is set or a fatal error occurs. `topics` carries the set of
/// replicated topics; a change re-subscribes.
#[allow(clippy::too_many_arguments)]
pub fn run(
    consumer_config: &ClientConfig,
    producer_config: &ClientConfig,
    progress: ProgressStore,
    offset_syncs: Option<OffsetSyncTarget>,
    selector: Arc<TopicSelector>,
    admin: Arc<TopicAdmin>,
    runtime: tokio::runtime::Handle,
    settings: PipelineSettings,
    offset_lag_max: i64,
    mut topics: watch::Receiver<Vec<ReplicatedTopic>>,
    stop: Arc<AtomicBool>,
    status: Arc<FlowStatus>,
) -> Result<(), SourceError> {
    let tracker = Arc::new(Mutex::new(Tracker::new(
        offset_lag_max,
        settings.retry_backoff_max,
    )));
    if settings.transactions.is_some() {
        lock(&tracker).set_transactional();
    }
    let offset_syncs = offset_syncs.map(Arc::new);
    let faults = fault_injection::ProducerFaults::from_env()?;
    let producer_errored = Arc::new(AtomicBool::new(false));
    let room = Arc::new(Room {
        freed: std::sync::Condvar::new(),
        budget: settings.max_in_flight_bytes,
    });
    let txns = settings.transactions.clone().map(|t| {
        Transactions::new(
            t,
            producer_config,
            tracker.clone(),
            offset_syncs.clone(),
            status.clone(),
            producer_errored.clone(),
            room.clone(),
        )
    });
    let wire = match (&settings.wire_writer, &txns) {
        (Some(w), None) => Some(crate::kafka::writer::Sender::start(
            &w.target,
            w.sender.clone(),
            Arc::new(wire::WireDeliveries {
                tracker: tracker.clone(),
                offset_syncs: offset_syncs.clone(),
                status: status.clone(),
                room: room.clone(),
            }),
        )?),
        _ => None,
    };
    let reader = match (&settings.wire_reader, &settings.wire_writer, &wire) {
        (Some(r), Some(w), Some(_)) => Some(reader::Reader::new(
            r,
            w.sender.writer.codec,
            settings.max_in_flight_bytes,
        )?),
        (Some(_), _, _) => {
            return Err(SourceError::Reader(
                crate::kafka::writer::WriterError::Settings {
                    key: "strait.source.reader".to_owned(),
                    detail: "'wire' needs Strait's own target writer, which this flow does not use"
                        .to_owned(),
                },
            ));
        }
        (None, _, _) => None,
    };
    let lane_count = if txns.is_some() || wire.is_some() {
        0
    } else {
        settings.producer_lanes.max(1)
    };
    let mut lanes = Vec::with_capacity(lane_count);
    for lane in 0..lane_count {
        let mut producer_config = producer_config.clone();
        let stats = StatsSink::from_env(&mut producer_config, &format!("producer{lane}"));
        let producer = PolledProducer::create(
            &producer_config,
            ReplicationProducerContext {
                tracker: tracker.clone(),
                offset_syncs: offset_syncs.clone(),
                status: status.clone(),
                stats,
                errored: producer_errored.clone(),
                room: room.clone(),
            },
        )
        .map_err(|source| SourceError::Client {
            what: "target producer",
            source,
        })?;
        lanes.push(producer);
    }
    let shared = Arc::new(Shared {
        tracker: tracker.clone(),
        lanes,
        txns,
        wire,
        reader,
        progress,
        selector,
        admin,
        runtime,
        settings: settings.clone(),
        fatal: Mutex::new(None),
        producer_errored,
        stop_by: std::sync::OnceLock::new(),
        stop: stop.clone(),
        status,
        faults,
        offset_syncs,
    });
    let mut consumer_config = consumer_config.clone();
    let consumer_stats = StatsSink::from_env(&mut consumer_config, "consumer");
    let consumer: BaseConsumer<RebalanceContext> = consumer_config
        .create_with_context(RebalanceContext {
            shared: shared.clone(),
            stats: consumer_stats,
        })
        .map_err(|source| SourceError::Client {
            what: "source consumer",
            source,
        })?;

    // The initial topic set counts as a change, so the first iteration subscribes.
    topics.mark_changed();
    let mut last_flush = Instant::now();
    let mut last_retry_check = Instant::now();
    let mut last_transaction_check = Instant::now();
    let mut subscribed: Vec<String> = Vec::new();
    let result = loop {
        report::loop_turned(&shared.status, &consumer, shared.reader.as_ref(), &tracker);
        if stop.load(Ordering::Acquire) {
            break Ok(());
        }
        if let Some(e) = shared.fatal.lock().ok().and_then(|mut f| f.take()) {
            break Err(e);
        }
        let errored = shared.producer_errored.swap(false, Ordering::AcqRel);
        if let Some(txns) = &shared.txns {
            // Exactly-once: a partition's producer that failed for good is replaced where a
            // new one starts clean.
            if errored && let Err(e) = txns.renew_failed(&shared, &consumer) {
                break Err(e);
            }
        } else if let Some(e) = shared.producer_fatal_error(errored) {
            break Err(e);
        }
        if topics.has_changed().unwrap_or(false) {
            let mut wanted: Vec<String> = topics
                .borrow_and_update()
                .iter()
                .map(|t| t.source.to_string())
                .collect();
            wanted.sort();
            if wanted != subscribed {
                let names: Vec<&str> = wanted.iter().map(String::as_str).collect();
                if names.is_empty() {
                    consumer.unsubscribe();
                } else if let Err(e) = consumer.subscribe(&names) {
                    break Err(SourceError::Consume(e));
                }
                tracing::info!(topics = ?wanted, "subscribed");
                subscribed = wanted;
            }
        }

        let (inflight, has_events, blocked) = {
            let t = lock(&tracker);
            (t.inflight_bytes, t.has_events(), t.blocked_count())
        };
        if has_events {
            blocked::handle_events(&shared, &consumer);
        }
        if blocked > 0 && last_retry_check.elapsed() >= RETRY_CHECK_EVERY {
            blocked::start_due_retries(&shared, &consumer);
            last_retry_check = Instant::now();
        }
        if inflight >= settings.max_in_flight_bytes {
            // Backpressure: let the target catch up before reading more. Acknowledgements
            // arrive on the producers' threads, which wake this one when there is room; the
            // timeout only bounds how long the loop's own checks wait.
            let t = lock(&tracker);
            drop(room.freed.wait_timeout_while(t, BACKPRESSURE_WAIT, |t| {
                t.inflight_bytes >= settings.max_in_flight_bytes
            }));
        } else if let (Some(reader), Some(writer)) = (&shared.reader, &shared.wire) {
            if let Err(e) = reader::replicate_round(&shared, &consumer, reader, writer) {
                break Err(e);
            }
        } else if let Err(e) = replicate_fetched(&shared, &consumer, settings.max_in_flight_bytes) {
            break Err(e);
        }

        if let Some(txns) = &shared.txns
            && last_transaction_check.elapsed() >= TRANSACTION_CHECK_EVERY
        {
            if let Err(e) = txns.settle(
                &shared,
                &consumer,
                Which::Due,
                false,
                transactions::COMMIT_TIMEOUT,
            ) {
                break Err(e);
            }
            last_transaction_check = Instant::now();
        }
        if let Some(os) = &shared.offset_syncs {
            // Syncs left waiting for in-flight capacity go out as it frees up.
            os.send_pending(&mut lock(&tracker));
        }
        if last_flush.elapsed() >= settings.flush_interval {
            // A target that cannot take progress now (unreachable, leaderless) is no reason
            // to stop: progress stays where it was and the next flush tries again. With
            // exactly-once, progress is committed with the records instead. A producer that
            // failed for good is (checked below): it never writes again.
            if shared.txns.is_none()
                && let Err(e) = shared.write_progress(
                    &consumer,
                    None,
                    CommitMode::Async,
                    PROGRESS_WRITE_TIMEOUT,
                )
            {
                tracing::warn!(error = %e, "writing progress failed; retrying at the next flush");
                shared.status.error(Component::Source, &e);
            }
            lock(&tracker).offset_syncs.promote_delayed();
            last_flush = Instant::now();
            if let Some(e) = shared.auxiliary_fatal_error() {
                break Err(e);
            }
        }
    };

    let _ = shared
        .stop_by
        .set(Instant::now() + settings.shutdown_timeout);
    shut_down(&shared, &consumer, &settings);
    consumer.unsubscribe();
    result
}

/// Records replicated in one turn of the loop at most, when they are already fetched: the
/// loop's own checks (stop, events, retries, transactions, flushes) run between turns, and
/// once per record they cost more than the record (issue 15's profile of 100-byte records).
const RECORDS_PER_TURN: usize = 512;

/// Waits up to 100 ms for a fetched record, then replicates it and the records already
/// fetched after it, up to [`RECORDS_PER_TURN`] and while the in-flight budget has room.
fn replicate_fetched(
    shared: &Shared,
    consumer: &BaseConsumer<RebalanceContext>,
    max_in_flight_bytes: u64,
) -> Result<(), SourceError> {
    let mut wait = Duration::from_millis(100);
    for _ in 0..RECORDS_PER_TURN {
        match consumer.poll(wait) {
            Some(Ok(msg)) => {
                if replicate::replicate(shared, consumer, &msg)? >= max_in_flight_bytes {
                    return Ok(());
                }
            }
            Some(Err(KafkaError::PartitionEOF(_))) => {}
            Some(Err(e)) => consumer_error(shared, consumer, e)?,
            None => return Ok(()),
        }
        wait = Duration::ZERO;
    }
    Ok(())
}

/// Stops within `settings.shutdown_timeout` in all: waits for every record sent (all lanes
/// at once), then writes progress and the last offset syncs with what time is left.
fn shut_down(
    shared: &Shared,
    consumer: &BaseConsumer<RebalanceContext>,
    settings: &PipelineSettings,
) {
    let deadline = shared
        .stopping_deadline()
        .unwrap_or_else(|| Instant::now() + settings.shutdown_timeout);
    let left = || deadline.saturating_duration_since(Instant::now());
    if let Some(txns) = &shared.txns {
        // Committing waits for every record of the transaction; what cannot commit in time
        // is aborted and read again by the partition's next owner.
        if let Err(e) = txns.settle(shared, consumer, Which::All, false, left()) {
            tracing::error!(error = %e, "committing transactions at shutdown failed");
        }
        txns.release(&txns.slots());
    }
    while shared.txns.is_none() && shared.unreported(None) > 0 && !left().is_zero() {
        std::thread::sleep(Duration::from_millis(5));
    }
    let unsettled = lock(&shared.tracker).inflight_of_all();
    if unsettled > 0 {
        tracing::error!(
            records = unsettled,
            "records still unacknowledged at shutdown; progress stays before them"
        );
    }
    // Progress only ever covers acknowledged records, so writing it is right even when some
    // are still out.
    if shared.txns.is_none()
        && let Err(e) = shared.write_progress(
            consumer,
            None,
            CommitMode::Sync,
            left().max(Duration::from_secs(1)),
        )
    {
        tracing::error!(error = %e, "writing progress at shutdown failed");
    }
    if let Some(os) = &shared.offset_syncs {
        // Publish every partition's latest position, as Connect's final offset commit does,
        // within MM2's in-flight limit.
        lock(&shared.tracker).offset_syncs.promote_delayed();
        loop {
            os.send_pending(&mut lock(&shared.tracker));
            let pending = lock(&shared.tracker).offset_syncs.pending_len();
            if (pending == 0 && os.outstanding() == 0) || left().is_zero() {
                break;
            }
            let _ = os.producer.flush(left().min(Duration::from_millis(100)));
        }
    }
}

/// A consumer error: recorded on the status; the flow fails on those retrying cannot fix.
fn consumer_error(
    shared: &Shared,
    consumer: &BaseConsumer<RebalanceContext>,
    e: KafkaError,
) -> Result<(), SourceError> {
    let code = e.rdkafka_error_code();
    if code == Some(RDKafkaErrorCode::AutoOffsetReset) {
        // `auto.offset.reset=none` and a position out of range: name the partitions.
        return Err(SourceError::OffsetOutOfRange {
            partitions: out_of_range_partitions(shared, consumer),
            detail: e.to_string(),
        });
    }
    let fatal = matches!(e, KafkaError::MessageConsumptionFatal(_))
        || matches!(
            code,
            Some(
                RDKafkaErrorCode::TopicAuthorizationFailed
                    | RDKafkaErrorCode::GroupAuthorizationFailed
                    | RDKafkaErrorCode::ClusterAuthorizationFailed
                    | RDKafkaErrorCode::SaslAuthenticationFailed
                    | RDKafkaErrorCode::Authentication
                    | RDKafkaErrorCode::Fatal
            )
        );
    shared
        .status
        .error(Component::Source, &format_args!("source consumer: {e}"));
    if fatal {
        Err(SourceError::ConsumerFatal(e))
    } else {
        tracing::warn!(error = %e, "source consumer");
        Ok(())
    }
}

/// Partitions whose next offset is outside the source log, as `topic-partition (next N,
/// log LOW..HIGH)`.
fn out_of_range_partitions(shared: &Shared, consumer: &BaseConsumer<RebalanceContext>) -> String {
    let wanted: Vec<(String, i32, i64)> = lock(&shared.tracker)
        .slots()
        .filter_map(|(_, s)| Some((s.topic.to_string(), s.partition, s.next_expected()?)))
        .collect();
    let found: Vec<String> = wanted
        .into_iter()
        .filter_map(|(topic, partition, next)| {
            let (low, high) = consumer
                .fetch_watermarks(&topic, partition, Duration::from_secs(5))
                .ok()?;
            (next < low || next > high)
                .then(|| format!("{topic}-{partition} (next offset {next}, log {low}..{high})"))
        })
        .collect();
    if found.is_empty() {
        "(partition not identified)".to_owned()
    } else {
        found.join(", ")
    }
}
