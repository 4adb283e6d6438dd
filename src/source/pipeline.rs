//! The replication pipeline of one process: one source consumer (a member of the flow's
//! consumer group), one idempotent target producer, and the bookkeeping that turns delivery
//! reports into progress, offset syncs and group commits.
//!
//! It runs on a thread of its own: librdkafka does the network work on its threads, and this
//! thread only moves borrowed records from the consumer to the producer and serves callbacks,
//! so rebalance callbacks (which run inside `poll`) see the same state without contention.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Headers};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use tokio::sync::watch;

use crate::kafka::CountingContext;
use crate::kafka::stats::StatsSink;
use crate::source::SourceError;
use crate::source::progress::ProgressStore;
use crate::source::topics::{ReplicatedTopic, TopicAdmin, TopicSelector};
use crate::source::tracker::{SlotId, Tracker};
use crate::status::{Component, FlowStatus};
use crate::wire::OffsetSync;

/// MM2 keeps at most this many offset syncs unacknowledged.
const MAX_OUTSTANDING_OFFSET_SYNCS: u64 = 10;

/// Settings of a pipeline, derived from the flow's configuration.
#[derive(Debug, Clone)]
pub struct PipelineSettings {
    /// How often progress is written and delayed offset syncs are published
    /// (Connect's `offset.flush.interval.ms`).
    pub flush_interval: Duration,
    /// Bytes in flight to the target before reading pauses.
    pub max_in_flight_bytes: u64,
    /// Where to start a partition without recorded progress (`auto.offset.reset`).
    pub start_without_progress: Offset,
    /// How long a revoked partition may take to drain before the flow fails.
    pub drain_timeout: Duration,
    /// Target producers working side by side; a partition always uses the same one.
    pub producer_lanes: usize,
}

/// Where offset syncs go: a producer on the right cluster and the topic name.
pub struct OffsetSyncTarget {
    /// The producer (source or target cluster, per `offset-syncs.topic.location`).
    pub producer: ThreadedProducer<CountingContext>,
    /// `mm2-offset-syncs.<alias>.internal`.
    pub topic: String,
    /// Offset syncs handed to the producer so far.
    sent: AtomicU64,
}

impl std::fmt::Debug for OffsetSyncTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OffsetSyncTarget")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

/// Delivery reports of replicated records feed the tracker.
struct ReplicationProducerContext {
    tracker: Arc<Mutex<Tracker>>,
    offset_syncs: Option<Arc<OffsetSyncTarget>>,
    status: Arc<FlowStatus>,
    stats: Option<StatsSink>,
}

fn lock(tracker: &Mutex<Tracker>) -> MutexGuard<'_, Tracker> {
    // A poisoned lock means a panic elsewhere; the data is still the best we have.
    tracker.lock().unwrap_or_else(|e| e.into_inner())
}

impl ClientContext for ReplicationProducerContext {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(%error, reason, "target producer");
        self.status
            .error(Component::Source, &format_args!("target producer: {error}"));
    }

    fn stats_raw(&self, statistics: &[u8]) {
        if let Some(s) = &self.stats {
            s.write(statistics);
        }
    }
}

impl ProducerContext for ReplicationProducerContext {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, slot: SlotId) {
        let mut t = lock(&self.tracker);
        match result {
            Ok(m) => {
                t.on_ack(slot, m.offset());
                self.status.acked(slot, &t, m.timestamp().to_millis());
            }
            Err((e, _)) => t.on_failure(slot, e.to_string()),
        }
        if let Some(os) = &self.offset_syncs {
            os.send_pending(&mut t);
        }
    }
}

/// What the rebalance callback and the loop share.
struct Shared {
    tracker: Arc<Mutex<Tracker>>,
    /// The target producers ("lanes"); partition slot `s` uses `lanes[s % lanes.len()]`.
    lanes: Vec<ThreadedProducer<ReplicationProducerContext>>,
    progress: ProgressStore,
    selector: Arc<TopicSelector>,
    admin: Arc<TopicAdmin>,
    runtime: tokio::runtime::Handle,
    settings: PipelineSettings,
    fatal: Mutex<Option<SourceError>>,
    status: Arc<FlowStatus>,
}

impl Shared {
    fn fail(&self, e: SourceError) {
        tracing::error!(error = %e, "source replication failed");
        self.status.failed(Component::Source, &e);
        if let Ok(mut f) = self.fatal.lock() {
            f.get_or_insert(e);
        }
    }

    /// Drains the producer until the given partitions have nothing in flight.
    fn drain(&self, ids: &[SlotId]) -> Result<(), SourceError> {
        let deadline = Instant::now() + self.settings.drain_timeout;
        while lock(&self.tracker).inflight_of(ids) > 0 {
            if Instant::now() > deadline {
                return Err(SourceError::Produce {
                    topic: "(revoked partitions)".to_owned(),
                    partition: -1,
                    detail: format!(
                        "records still unacknowledged after {:?}",
                        self.settings.drain_timeout
                    ),
                });
            }
            // Delivery reports are served on each producer's own thread.
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }

    /// The producer that carries partition slot `slot`.
    fn lane(&self, slot: SlotId) -> &ThreadedProducer<ReplicationProducerContext> {
        &self.lanes[slot % self.lanes.len()]
    }

    /// Writes progress for `only` (or every partition) and commits the source group to match.
    fn write_progress(
        &self,
        consumer: &BaseConsumer<RebalanceContext>,
        only: Option<&[SlotId]>,
        mode: CommitMode,
    ) -> Result<(), SourceError> {
        let due = lock(&self.tracker).due_progress(only);
        if due.is_empty() {
            return Ok(());
        }
        self.progress.write(&due, Duration::from_secs(30))?;
        let mut tpl = TopicPartitionList::new();
        {
            let mut t = lock(&self.tracker);
            for d in &due {
                t.mark_written(d.slot, d.offset);
                let _ =
                    tpl.add_partition_offset(&d.topic, d.partition, Offset::Offset(d.offset + 1));
            }
        }
        // The group's committed offsets only mirror progress, so that standard lag tools read
        // replication lag; a failed commit loses nothing.
        if let Err(e) = consumer.commit(&tpl, mode) {
            tracing::warn!(error = %e, "committing the source group's offsets failed");
        }
        Ok(())
    }

    fn on_assign(
        &self,
        consumer: &BaseConsumer<RebalanceContext>,
        tpl: &mut TopicPartitionList,
    ) -> Result<(), SourceError> {
        let mut topics: HashMap<String, i32> = HashMap::new();
        for e in tpl.elements() {
            let n = topics.entry(e.topic().to_owned()).or_default();
            *n = (*n).max(e.partition() + 1);
        }
        // Remote topics must have every assigned partition before records arrive.
        let wanted: Vec<ReplicatedTopic> = topics
            .iter()
            .map(|(t, n)| ReplicatedTopic {
                source: t.as_str().into(),
                remote: self.selector.remote_name(t).into(),
                partitions: *n,
            })
            .collect();
        self.runtime
            .block_on(self.admin.ensure_remote_topics(&wanted))?;
        let progress = self.progress.read_all(Duration::from_secs(60))?;
        // The group's committed offsets only mirror progress; where they exist without progress
        // the target (or its offsets topic) was rebuilt or replaced, and the user must know.
        let committed: HashMap<(String, i32), i64> = consumer
            .committed_offsets(tpl.clone(), Duration::from_secs(30))
            .map(|c| {
                c.elements()
                    .iter()
                    .filter_map(|e| match e.offset() {
                        Offset::Offset(o) => Some(((e.topic().to_owned(), e.partition()), o)),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut t = lock(&self.tracker);
        let elements: Vec<(String, i32)> = tpl
            .elements()
            .iter()
            .map(|e| (e.topic().to_owned(), e.partition()))
            .collect();
        for (topic, partition) in elements {
            let done = progress.get(&(topic.clone(), partition)).copied();
            let remote = self.selector.remote_name(&topic);
            let slot = t.open(topic.as_str().into(), remote.into(), partition, done);
            self.status.partition_assigned(slot, t.slot(slot));
            let start = match done {
                Some(o) => Offset::Offset(o + 1),
                None => self.settings.start_without_progress,
            };
            if let (None, Some(c)) = (done, committed.get(&(topic.clone(), partition))) {
                tracing::warn!(
                    %topic, partition, group_committed = c, offsets_topic = %self.progress.topic(),
                    "no replication progress on the target, but this flow's group had replicated \
                     up to the committed offset: the target was rebuilt or its offsets topic \
                     replaced; replicating again from {start:?} (auto.offset.reset) so that \
                     nothing is skipped"
                );
            }
            tracing::info!(%topic, partition, ?start, "replicating partition");
            tpl.set_partition_offset(&topic, partition, start)
                .map_err(SourceError::Consume)?;
        }
        Ok(())
    }

    fn on_revoke(
        &self,
        consumer: &BaseConsumer<RebalanceContext>,
        tpl: &TopicPartitionList,
    ) -> Result<(), SourceError> {
        let ids: Vec<SlotId> = {
            let t = lock(&self.tracker);
            tpl.elements()
                .iter()
                .filter_map(|e| t.slot_of(e.topic(), e.partition()))
                .collect()
        };
        self.drain(&ids)?;
        if consumer.assignment_lost() {
            // Another member may already own these partitions; its progress wins.
            tracing::warn!("partitions lost without a clean hand-over; progress not written");
        } else {
            self.write_progress(consumer, Some(&ids), CommitMode::Sync)?;
        }
        let mut t = lock(&self.tracker);
        for id in ids {
            self.status.partition_released(id);
            if let Some(s) = t.close(id) {
                tracing::info!(topic = %s.topic, partition = s.partition, "partition handed over");
            }
        }
        Ok(())
    }
}

/// The consumer's context: rebalances hand partitions over cleanly.
struct RebalanceContext {
    shared: Arc<Shared>,
    stats: Option<StatsSink>,
}

impl ClientContext for RebalanceContext {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(%error, reason, "source consumer");
        self.shared
            .status
            .error(Component::Source, &format_args!("source consumer: {error}"));
    }

    fn stats_raw(&self, statistics: &[u8]) {
        if let Some(s) = &self.stats {
            s.write(statistics);
        }
    }
}

impl ConsumerContext for RebalanceContext {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                self.shared.status.rebalanced();
                if let Err(e) = self.shared.on_assign(consumer, tpl) {
                    self.shared.fail(e);
                    return;
                }
                let r = if cooperative {
                    consumer.incremental_assign(tpl)
                } else {
                    consumer.assign(tpl)
                };
                if let Err(e) = r {
                    self.shared.fail(SourceError::Consume(e));
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                if let Err(e) = self.shared.on_revoke(consumer, tpl) {
                    self.shared.fail(e);
                }
                let r = if cooperative {
                    consumer.incremental_unassign(tpl)
                } else {
                    consumer.unassign()
                };
                if let Err(e) = r {
                    tracing::warn!(error = %e, "unassigning revoked partitions");
                }
            }
            other => {
                let code: RDKafkaErrorCode = other.into();
                tracing::error!(error = %code, "rebalance failed");
                if !cooperative {
                    let _ = consumer.unassign();
                }
            }
        }
    }
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
    let tracker = Arc::new(Mutex::new(Tracker::new(offset_lag_max)));
    let offset_syncs = offset_syncs.map(Arc::new);
    let mut lanes = Vec::with_capacity(settings.producer_lanes.max(1));
    for lane in 0..settings.producer_lanes.max(1) {
        let mut producer_config = producer_config.clone();
        let stats = StatsSink::from_env(&mut producer_config, &format!("producer{lane}"));
        let producer: ThreadedProducer<ReplicationProducerContext> = producer_config
            .create_with_context(ReplicationProducerContext {
                tracker: tracker.clone(),
                offset_syncs: offset_syncs.clone(),
                status: status.clone(),
                stats,
            })
            .map_err(|source| SourceError::Client {
                what: "target producer",
                source,
            })?;
        lanes.push(producer);
    }
    let shared = Arc::new(Shared {
        tracker: tracker.clone(),
        lanes,
        progress,
        selector,
        admin,
        runtime,
        settings: settings.clone(),
        fatal: Mutex::new(None),
        status,
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
    let mut subscribed: Vec<String> = Vec::new();
    let result = loop {
        shared.status.tick(&consumer, &tracker);
        if stop.load(Ordering::Acquire) {
            break Ok(());
        }
        if let Some(e) = shared.fatal.lock().ok().and_then(|mut f| f.take()) {
            break Err(e);
        }
        if let Some((topic, partition, detail)) = lock(&tracker).failure.clone() {
            break Err(SourceError::Produce {
                topic,
                partition,
                detail,
            });
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

        let inflight = lock(&tracker).inflight_bytes;
        if inflight >= settings.max_in_flight_bytes {
            // Backpressure: let the target catch up before reading more. Acknowledgements
            // arrive on the producers' threads.
            std::thread::sleep(Duration::from_millis(1));
        } else {
            match consumer.poll(Duration::from_millis(100)) {
                Some(Ok(msg)) => {
                    if let Err(e) = replicate(&shared, &msg) {
                        break Err(e);
                    }
                }
                Some(Err(KafkaError::PartitionEOF(_))) | None => {}
                Some(Err(e)) => tracing::warn!(error = %e, "source consumer"),
            }
        }

        if let Some(os) = &offset_syncs {
            // Syncs left waiting for in-flight capacity go out as it frees up.
            os.send_pending(&mut lock(&tracker));
        }
        if last_flush.elapsed() >= settings.flush_interval {
            if let Err(e) = shared.write_progress(&consumer, None, CommitMode::Async) {
                break Err(e);
            }
            lock(&tracker).offset_syncs.promote_delayed();
            last_flush = Instant::now();
        }
    };

    // Shut down: everything sent is acknowledged and its progress written before we go.
    let mut drained = Ok(());
    for lane in &shared.lanes {
        if let Err(e) = lane.flush(settings.drain_timeout) {
            tracing::error!(error = %e, "records still unacknowledged at shutdown");
            drained = Err(e);
        }
    }
    if drained.is_ok() && lock(&tracker).failure.is_none() {
        shared.write_progress(&consumer, None, CommitMode::Sync)?;
    }
    if let Some(os) = &offset_syncs {
        // Publish every partition's latest position, as Connect's final offset commit does,
        // within MM2's in-flight limit.
        lock(&tracker).offset_syncs.promote_delayed();
        for _ in 0..100 {
            os.send_pending(&mut lock(&tracker));
            if os.producer.flush(Duration::from_secs(10)).is_err()
                || lock(&tracker).offset_syncs.pending_len() == 0
            {
                break;
            }
        }
    }
    consumer.unsubscribe();
    result
}

/// Hands one source record to the producer: same partition, key, value, headers, timestamp.
fn replicate(shared: &Shared, msg: &BorrowedMessage<'_>) -> Result<(), SourceError> {
    let (slot, remote) = {
        let t = lock(&shared.tracker);
        let Some(id) = t.slot_of(msg.topic(), msg.partition()) else {
            // A record fetched before its partition was revoked; its new owner replicates it.
            return Ok(());
        };
        let Some(remote) = t.slot(id).map(|s| s.remote_topic.clone()) else {
            return Ok(());
        };
        (id, remote)
    };
    let key = msg.key();
    let payload = msg.payload();
    let size = key.map_or(0, <[u8]>::len) + payload.map_or(0, <[u8]>::len);
    let mut record: BaseRecord<'_, [u8], [u8], SlotId> =
        BaseRecord::with_opaque_to(&remote, slot).partition(msg.partition());
    if let Some(ts) = msg.timestamp().to_millis() {
        record = record.timestamp(ts);
    }
    if let Some(k) = key {
        record = record.key(k);
    }
    if let Some(p) = payload {
        record = record.payload(p);
    }
    if let Some(h) = msg.headers().filter(|h| h.count() > 0) {
        record = record.headers(h.detach());
    }
    lock(&shared.tracker).on_send(slot, msg.offset(), u32::try_from(size).unwrap_or(u32::MAX));
    shared.status.polled(
        slot,
        payload.map_or(0, <[u8]>::len),
        msg.timestamp().to_millis(),
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let lane = shared.lane(slot);
        match lane.send(record) {
            Ok(()) => return Ok(()),
            Err((e, r)) => {
                let retry = matches!(
                    e.rdkafka_error_code(),
                    Some(RDKafkaErrorCode::QueueFull | RDKafkaErrorCode::UnknownPartition)
                );
                if !retry || Instant::now() > deadline {
                    lock(&shared.tracker).on_send_refused(slot);
                    return Err(SourceError::Produce {
                        topic: remote.to_string(),
                        partition: msg.partition(),
                        detail: e.to_string(),
                    });
                }
                if e.rdkafka_error_code() == Some(RDKafkaErrorCode::UnknownPartition) {
                    // The remote topic was just grown: refresh the producer's metadata.
                    let _ = lane
                        .client()
                        .fetch_metadata(Some(&remote), Duration::from_secs(5));
                }
                // The producer's queue is full: its thread drains it as acknowledgements come.
                std::thread::sleep(Duration::from_millis(10));
                record = r;
            }
        }
    }
}

impl OffsetSyncTarget {
    /// Offset syncs to `topic` through `producer`.
    pub fn new(producer: ThreadedProducer<CountingContext>, topic: String) -> Self {
        Self {
            producer,
            topic,
            sent: AtomicU64::new(0),
        }
    }

    /// Sends pending offset syncs, keeping at most MM2's limit unacknowledged. Called from the
    /// delivery callback right after an urgent sync is queued, as MM2 does after each
    /// acknowledged record, so a burst of acknowledgements does not collapse into one sync.
    fn send_pending(&self, tracker: &mut Tracker) {
        if tracker.offset_syncs.pending_len() == 0 {
            return;
        }
        let ctx = self.producer.context();
        let sent = self.sent.load(Ordering::Acquire);
        let outstanding = sent.saturating_sub(ctx.acked() + ctx.failed());
        if outstanding >= MAX_OUTSTANDING_OFFSET_SYNCS {
            return;
        }
        let pending = tracker
            .offset_syncs
            .take_pending_with_runs((MAX_OUTSTANDING_OFFSET_SYNCS - outstanding) as usize);
        for with_run in pending {
            // Strait's exact-translation claim rides in a header, which MM2's readers ignore.
            let run = crate::checkpoint::RunStart::from(with_run.run_start).encode();
            let s = with_run.sync;
            let sync = OffsetSync {
                topic: s.topic,
                partition: s.partition,
                upstream_offset: s.upstream_offset,
                downstream_offset: s.downstream_offset,
            };
            let Ok(key) = sync.encode_key() else {
                continue;
            };
            let value = sync.encode_value();
            let record = BaseRecord::<[u8], [u8]>::to(&self.topic)
                .key(&key)
                .payload(&value)
                .partition(0)
                .headers(crate::checkpoint::run_start_headers(&run));
            match self.producer.send(record) {
                Ok(()) => {
                    self.sent.fetch_add(1, Ordering::AcqRel);
                }
                Err((e, _)) => tracing::warn!(error = %e, "offset sync not sent"),
            }
        }
    }
}
