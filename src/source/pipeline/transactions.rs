//! Exactly-once replication (what KIP-618 gives MM2 on Connect): every replicated partition
//! writes through a transactional producer of its own, and its records and its progress (the
//! Connect-format offsets record) are committed in one target transaction per commit interval.
//!
//! - **Transactional ids** are `<prefix>-<source topic>-<partition>`: stable for a partition
//!   whoever owns it. Taking a partition on starts with `init_transactions`, which aborts what
//!   an earlier owner left open and bars that owner (a zombie: frozen, cut off, or late to
//!   notice it lost the partition) from ever committing again. Only then is progress read.
//! - **Progress** is the offsets record written inside the transaction, so a read_committed
//!   reader of the remote topic sees each source record exactly once: records of an aborted
//!   transaction and their progress vanish together, and the partition is read again from the
//!   transaction's first record.
//! - **Offset syncs** of a transaction's records are published only after it commits.
//!
//! A producer per partition costs a connection per broker and a thread per partition; the
//! partition is the unit that moves between processes, so it is the unit that can be fenced.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

use crate::kafka::polled_producer::PolledProducer;
use crate::source::SourceError;
use crate::source::progress::ProgressStore;
use crate::source::tracker::{SlotId, Tracker, TransactionEnd};
use crate::status::FlowStatus;

use super::delivery::{ReplicationProducerContext, Room};
use super::offset_syncs::OffsetSyncTarget;
use super::{Shared, lock};

/// How long a periodic commit may take before the transaction is aborted and its records read
/// again. Below Kafka's default transaction timeout, and short enough that a stop asked for
/// during a commit still ends within the pod's grace period.
pub(super) const COMMIT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long fencing earlier owners may take when partitions are assigned.
const FENCE_TIMEOUT: Duration = Duration::from_secs(60);

/// A partition's producer replaced less than this long ago that fails for good again stops
/// the flow: the cause is not passing.
const RENEW_AGAIN_AFTER: Duration = Duration::from_secs(60);

/// How long an abort waits for the producer to hand back the reports of the records it purged,
/// so that none of them is taken for a record of the next transaction.
const PURGED_REPORTS_WAIT: Duration = Duration::from_secs(10);

/// Settings of exactly-once replication.
#[derive(Debug, Clone)]
pub struct TransactionSettings {
    /// Start of every transactional id: `<prefix>-<topic>-<partition>`.
    pub transactional_id_prefix: String,
    /// How often each partition's transaction is committed.
    pub commit_interval: Duration,
    /// The producers' `transaction.timeout.ms`.
    pub transaction_timeout: Duration,
}

/// A partition's producer, fenced in and ready for its first transaction.
pub(super) struct Fenced {
    topic: String,
    partition: i32,
    id: String,
    producer: PolledProducer<ReplicationProducerContext>,
}

impl Fenced {
    /// The source partition.
    pub(super) fn key(&self) -> (String, i32) {
        (self.topic.clone(), self.partition)
    }
}

/// A partition's producer with its open transaction.
struct Open {
    topic: String,
    partition: i32,
    id: String,
    producer: PolledProducer<ReplicationProducerContext>,
    began: Instant,
    /// When this producer replaced one that librdkafka gave up on.
    renewed_at: Option<Instant>,
}

/// Which transactions [`Transactions::settle`] ends.
pub(super) enum Which<'a> {
    /// Those whose commit interval is over, and those of blocked partitions (aborted).
    Due,
    /// The given slots', which go on with a new transaction (a retry about to resend a
    /// refused record commits what came before it first).
    Now(&'a [SlotId]),
    /// The given slots' (a hand-over).
    Slots(&'a [SlotId]),
    /// Every one (stopping).
    All,
}

/// How a transaction ended.
enum Ended {
    /// Committed with progress at this source offset.
    Committed(i64),
    /// Aborted, for this reason.
    Aborted(String),
    /// Neither committed nor aborted: the producer is unusable.
    Failed(SourceError),
}

/// The transactional producers of this process's partitions.
pub(super) struct Transactions {
    settings: TransactionSettings,
    config: ClientConfig,
    tracker: Arc<Mutex<Tracker>>,
    offset_syncs: Option<Arc<OffsetSyncTarget>>,
    status: Arc<FlowStatus>,
    errored: Arc<AtomicBool>,
    room: Arc<Room>,
    open: Mutex<HashMap<SlotId, Open>>,
}

impl Transactions {
    /// Transactional producers made from `producer_config` (the replication producer's).
    pub(super) fn new(
        settings: TransactionSettings,
        producer_config: &ClientConfig,
        tracker: Arc<Mutex<Tracker>>,
        offset_syncs: Option<Arc<OffsetSyncTarget>>,
        status: Arc<FlowStatus>,
        errored: Arc<AtomicBool>,
        room: Arc<Room>,
    ) -> Self {
        let mut config = producer_config.clone();
        let timeout_ms = settings.transaction_timeout.as_millis();
        config.set("transaction.timeout.ms", timeout_ms.to_string());
        // librdkafka refuses a delivery timeout longer than the transaction timeout: a record
        // cannot outlive the transaction it belongs to.
        let delivery_ms = config
            .get("message.timeout.ms")
            .and_then(|v| v.parse::<u128>().ok())
            .unwrap_or(300_000);
        if delivery_ms > timeout_ms {
            config.set("message.timeout.ms", timeout_ms.to_string());
        }
        Self {
            settings,
            config,
            tracker,
            offset_syncs,
            status,
            errored,
            room,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// How long a read of progress may wait for a transaction left open in the offsets topic
    /// (another partition's commit, or another process's): it ends at the latest when the
    /// broker aborts it, one transaction timeout after it began (checked every 10 s by
    /// default).
    pub(super) fn progress_read_timeout(&self) -> Duration {
        self.settings.transaction_timeout + Duration::from_secs(30)
    }

    /// The transactional id of a source partition.
    pub(super) fn transactional_id(&self, topic: &str, partition: i32) -> String {
        format!(
            "{}-{topic}-{partition}",
            self.settings.transactional_id_prefix
        )
    }

    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<SlotId, Open>> {
        // A poisoned lock means a panic elsewhere; the map itself is always consistent.
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes a producer per partition and initialises its transactions, all at once: any
    /// earlier owner of a partition is fenced off and its open transaction aborted.
    pub(super) fn fence(&self, partitions: &[(String, i32)]) -> Result<Vec<Fenced>, SourceError> {
        let made: Vec<Result<Fenced, SourceError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = partitions
                .iter()
                .map(|(topic, partition)| scope.spawn(move || self.fence_one(topic, *partition)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(SourceError::Panicked("fencing a partition".into()))
                    })
                })
                .collect()
        });
        made.into_iter().collect()
    }

    fn fence_one(&self, topic: &str, partition: i32) -> Result<Fenced, SourceError> {
        let id = self.transactional_id(topic, partition);
        let mut config = self.config.clone();
        config.set("transactional.id", &id);
        let producer = PolledProducer::create(
            &config,
            ReplicationProducerContext {
                tracker: self.tracker.clone(),
                offset_syncs: self.offset_syncs.clone(),
                status: self.status.clone(),
                stats: None,
                errored: self.errored.clone(),
                room: self.room.clone(),
            },
        )
        .map_err(|source| SourceError::Client {
            what: "transactional target producer",
            source,
        })?;
        producer
            .init_transactions(FENCE_TIMEOUT)
            .map_err(|e| transaction_error(&id, "starting transactions", &e))?;
        tracing::debug!(transactional_id = %id, "transactions initialised; earlier owners fenced");
        Ok(Fenced {
            topic: topic.to_owned(),
            partition,
            id,
            producer,
        })
    }

    /// Opens the first transaction of a fenced partition, now tracked as `slot`.
    pub(super) fn begin(&self, slot: SlotId, fenced: Fenced) -> Result<(), SourceError> {
        fenced
            .producer
            .begin_transaction()
            .map_err(|e| transaction_error(&fenced.id, "beginning a transaction", &e))?;
        self.open().insert(
            slot,
            Open {
                topic: fenced.topic,
                partition: fenced.partition,
                id: fenced.id,
                producer: fenced.producer,
                began: Instant::now(),
                renewed_at: None,
            },
        );
        Ok(())
    }

    /// Replaces the producers librdkafka gave up on for a reason a new producer does not share
    /// (its sequence numbers out of step with a broker after requests timed out, say), doing
    /// for their partitions what a restart of the process would: each failed producer is
    /// dropped, a new one with the same transactional id fences it (the coordinator aborts its
    /// open transaction), and the partition is read again from its committed progress. New
    /// producers are fenced all at once, as on an assignment: a target-wide stall fails many.
    ///
    /// A producer fenced off is replaced the same way while this process still holds its
    /// partition in the group: the target aborts a transaction left open past its timeout by
    /// fencing its producer, and only the progress committed on the target tells that apart
    /// from another process having taken the partition over. So once the new producer has
    /// fenced every earlier one, progress is read again from the offsets topic, and the flow
    /// goes on only where it is what this process had committed; otherwise it stops. A producer
    /// refused by the target's ACLs stops the flow, as does one failing again soon after being
    /// replaced.
    pub(super) fn renew_failed<C: ConsumerContext>(
        &self,
        shared: &Shared,
        consumer: &BaseConsumer<C>,
    ) -> Result<(), SourceError> {
        let mut renewing: Vec<(SlotId, String, i32, String)> = Vec::new();
        let mut fenced_off: Vec<(SlotId, String, i32, String)> = Vec::new();
        for (slot, o) in self.open().iter() {
            let Some((code, detail)) = o.producer.client().fatal_error() else {
                continue;
            };
            let again = o
                .renewed_at
                .is_some_and(|at| at.elapsed() < RENEW_AGAIN_AFTER);
            // A consumer that knows it lost its partitions is a zombie: the next owner fenced it.
            let fenced = fencing(code) && !consumer.assignment_lost();
            if again || !(renewable(code) || fenced) {
                return Err(SourceError::Transaction {
                    transactional_id: o.id.clone(),
                    detail: explain(code, &detail),
                });
            }
            let which = (*slot, o.topic.clone(), o.partition, o.id.clone());
            if fenced {
                tracing::warn!(
                    topic = %o.topic, partition = o.partition, transactional_id = %o.id,
                    error = %detail,
                    "the partition's producer was fenced off (the target timed its transaction \
                     out, or another process took the partition over); replacing it, and going \
                     on only if the partition's committed progress is still this process's"
                );
                fenced_off.push(which);
            } else {
                tracing::warn!(
                    topic = %o.topic, partition = o.partition, transactional_id = %o.id,
                    error = %detail,
                    "the partition's producer failed for good; replacing it and reading the \
                     partition again from its committed progress"
                );
                renewing.push(which);
            }
        }
        for (slot, ..) in renewing.iter().chain(&fenced_off) {
            self.status.transaction_ended(*slot, None);
        }
        if !renewing.is_empty() {
            self.replace(consumer, &renewing, Replacing::Renewed, None)?;
        }
        if !fenced_off.is_empty() {
            self.replace(
                consumer,
                &fenced_off,
                Replacing::Renewed,
                Some(&shared.progress),
            )?;
        }
        Ok(())
    }

    /// Gives each of `slots` (slot, topic, partition, transactional id) a new producer in
    /// place of its current one, whose transaction is over or abandoned: the old producers
    /// are dropped, the new ones fenced in all at once (the coordinator aborts whatever an
    /// old one left open), and each partition is read again from its committed progress.
    /// A new producer starts a new epoch with its sequence numbers from zero, so nothing an
    /// old one sent can be taken for what it sends. With `check`, the old producers were
    /// fenced off: the progress committed on the target must still be this process's.
    fn replace<C: ConsumerContext>(
        &self,
        consumer: &BaseConsumer<C>,
        slots: &[(SlotId, String, i32, String)],
        why: Replacing,
        check: Option<&ProgressStore>,
    ) -> Result<(), SourceError> {
        // Dropping joins each producer's thread, so no report of theirs comes after the resets
        // below. Outside the lock, which sending records takes.
        let old: Vec<Open> = {
            let mut open = self.open();
            slots.iter().filter_map(|(s, ..)| open.remove(s)).collect()
        };
        // A producer replaced after an abort keeps its partition's last renewal: failing for
        // good soon after one still stops the flow.
        let renewals: HashMap<(String, i32), Instant> = old
            .iter()
            .filter_map(|o| Some(((o.topic.clone(), o.partition), o.renewed_at?)))
            .collect();
        drop(old);
        let (froms, committed): (Vec<Option<i64>>, Vec<Option<i64>>) = {
            let mut t = lock(&self.tracker);
            slots
                .iter()
                .map(|(s, ..)| {
                    let committed = t.slot(*s).and_then(|slot| slot.last_written);
                    (t.on_abort(*s), committed)
                })
                .unzip()
        };
        let partitions: Vec<(String, i32)> =
            slots.iter().map(|(_, t, p, _)| (t.clone(), *p)).collect();
        let fenced = self.fence(&partitions)?;
        if let Some(progress) = check {
            self.check_progress(progress, &partitions, slots, &committed)?;
        }
        let renewed = why == Replacing::Renewed;
        let now = Instant::now();
        for ((slot, topic, partition, id), (fenced, from)) in
            slots.iter().zip(fenced.into_iter().zip(froms))
        {
            self.begin(*slot, fenced)?;
            if let Some(o) = self.open().get_mut(slot) {
                o.renewed_at = if renewed {
                    Some(now)
                } else {
                    renewals.get(&(topic.clone(), *partition)).copied()
                };
            }
            self.read_again(consumer, *slot, (topic, *partition), id, from, why.as_str())?;
        }
        Ok(())
    }

    /// After producers fenced off were replaced (every earlier producer of their transactional
    /// ids is fenced now, so nothing more can be committed under them): whether the progress
    /// on the target is still what this process committed (`committed`, per slot; `partitions`
    /// are the slots' source partitions). If another process committed since, it owns the
    /// partition and this one must not write it again.
    fn check_progress(
        &self,
        progress: &ProgressStore,
        partitions: &[(String, i32)],
        slots: &[(SlotId, String, i32, String)],
        committed: &[Option<i64>],
    ) -> Result<(), SourceError> {
        let on_target = progress.read_for(partitions, self.progress_read_timeout())?;
        for ((_, topic, partition, id), ours) in slots.iter().zip(committed) {
            let theirs = on_target.get(&(topic.clone(), *partition)).copied();
            if theirs != *ours {
                return Err(SourceError::Transaction {
                    transactional_id: id.clone(),
                    detail: format!(
                        "fenced off, and progress on the target for {topic}-{partition} is now \
                         {theirs:?} where this process had committed {ours:?}: another process \
                         took the partition over; stopping, so that the group hands it over \
                         cleanly"
                    ),
                });
            }
            tracing::info!(
                %topic, partition, transactional_id = %id, committed = ?ours,
                "the fenced-off producer's progress is still this process's: the target timed \
                 its transaction out; going on from the last commit"
            );
        }
        Ok(())
    }

    /// Seeks a partition whose transaction was dropped back to `from`, its first record not
    /// committed; a blocked partition is paused, and its retry seeks by itself.
    fn read_again<C: ConsumerContext>(
        &self,
        consumer: &BaseConsumer<C>,
        slot: SlotId,
        (topic, partition): (&str, i32),
        id: &str,
        from: Option<i64>,
        after: &str,
    ) -> Result<(), SourceError> {
        let blocked = lock(&self.tracker)
            .slot(slot)
            .is_some_and(|s| s.blocked.is_some());
        let Some(from) = from.filter(|_| !blocked) else {
            return Ok(());
        };
        consumer
            .seek(
                topic,
                partition,
                Offset::Offset(from),
                Duration::from_secs(10),
            )
            .map_err(|e| SourceError::Transaction {
                transactional_id: id.to_owned(),
                detail: format!("{after}, and seeking back to offset {from} failed: {e}"),
            })
    }

    /// Runs `f` with the producer of `slot`, if it has one.
    pub(super) fn with_producer<R>(
        &self,
        slot: SlotId,
        f: impl FnOnce(&PolledProducer<ReplicationProducerContext>) -> R,
    ) -> Option<R> {
        self.open().get(&slot).map(|o| f(&o.producer))
    }

    /// Ends the chosen transactions that hold records: each commits with its progress, or is
    /// aborted when its partition is blocked at a refused record or the commit failed (its
    /// partition is then read again from the transaction's first record). With `abort`, every
    /// chosen transaction is aborted (partitions lost without a hand-over). Transactions then
    /// begin again (an aborted one's on a new producer), except with `Which::All` or on a
    /// hand-over, where the producers are released after.
    pub(super) fn settle<C: ConsumerContext>(
        &self,
        shared: &Shared,
        consumer: &BaseConsumer<C>,
        which: Which<'_>,
        abort: bool,
        timeout: Duration,
    ) -> Result<(), SourceError> {
        let interval = self.settings.commit_interval;
        let reopen = matches!(which, Which::Due | Which::Now(_));
        // What to do with each transaction, decided with both locks and done with neither:
        // committing waits for delivery reports, which take the tracker's lock.
        let work: Vec<(SlotId, Job, Handle)> = {
            let mut open = self.open();
            let t = lock(&self.tracker);
            open.iter_mut()
                .filter_map(|(slot, o)| {
                    let chosen = match &which {
                        Which::Due | Which::All => true,
                        Which::Slots(ids) | Which::Now(ids) => ids.contains(slot),
                    };
                    if !chosen {
                        return None;
                    }
                    let Some(end) = t.transaction_end(*slot) else {
                        // Nothing sent since the last commit: an empty transaction costs nothing
                        // to keep open.
                        o.began = Instant::now();
                        return None;
                    };
                    let doomed = matches!(end, TransactionEnd::Abort(_));
                    if matches!(which, Which::Due) && !doomed && o.began.elapsed() < interval {
                        return None;
                    }
                    let job = match end {
                        _ if abort => Job::Abort("partition lost without a hand-over".to_owned()),
                        TransactionEnd::Abort(reason) => Job::Abort(reason.to_owned()),
                        TransactionEnd::Commit(last) => Job::Commit(last),
                    };
                    let handle = Handle {
                        topic: o.topic.clone(),
                        partition: o.partition,
                        id: o.id.clone(),
                        producer: o.producer.clone(),
                    };
                    Some((*slot, job, handle))
                })
                .collect()
        };
        if work.is_empty() {
            return Ok(());
        }
        // A commit or abort that outlasts `timeout` goes on in librdkafka's background and is
        // waited for again. Going on with the flow (`reopen`) it may take until the broker
        // would have timed the transaction out itself; a hand-over or a stop keeps to its own
        // time.
        let until = Instant::now()
            + if reopen {
                timeout + self.settings.transaction_timeout
            } else {
                timeout
            };
        let ended: Vec<(SlotId, Handle, Ended)> = std::thread::scope(|scope| {
            let handles: Vec<_> = work
                .into_iter()
                .map(|(slot, job, h)| {
                    scope.spawn(move || {
                        let ended = self.end(shared, &h, job, (timeout, until), reopen);
                        (slot, h, ended)
                    })
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });

        let mut committed = TopicPartitionList::new();
        let mut failure = None;
        let mut renew = false;
        let mut aborted = Vec::new();
        let now = Instant::now();
        for (slot, h, ended) in ended {
            match ended {
                Ended::Committed(offset) => {
                    lock(&self.tracker).on_commit(slot, offset);
                    self.status.transaction_ended(slot, Some(offset));
                    let _ = committed.add_partition_offset(
                        &h.topic,
                        h.partition,
                        Offset::Offset(offset + 1),
                    );
                }
                Ended::Aborted(reason) => {
                    self.status.transaction_ended(slot, None);
                    let from = lock(&self.tracker)
                        .open_transaction(slot)
                        .map(|(first, _)| first);
                    tracing::warn!(
                        topic = %h.topic, partition = h.partition, transactional_id = %h.id,
                        reason = %reason, read_again_from = ?from,
                        "transaction aborted: its records are read again"
                    );
                    if reopen {
                        // Not with the same producer: librdkafka gives the records an abort
                        // purges back their sequence numbers, and a purged retry of a request
                        // that timed out may have been written all the same. The next
                        // transaction's first record would then reuse its number, be taken by
                        // the broker for a duplicate of it and acknowledged without being
                        // written (seen: progress committed nowhere after a target outage).
                        // A new producer starts a new epoch. A partition handed over is read
                        // by its next owner, with a producer of its own.
                        aborted.push((slot, h.topic.clone(), h.partition, h.id.clone()));
                    } else {
                        lock(&self.tracker).on_abort(slot);
                    }
                }
                // Going on, a producer librdkafka gave up on is replaced below.
                Ended::Failed(_) if reopen && h.producer.client().fatal_error().is_some() => {
                    renew = true;
                }
                Ended::Failed(e) => {
                    failure.get_or_insert(e);
                }
            }
            if let Some(o) = self.open().get_mut(&slot) {
                o.began = now;
            }
        }
        if !aborted.is_empty()
            && let Err(e) = self.replace(consumer, &aborted, Replacing::Aborted, None)
        {
            failure.get_or_insert(e);
        }
        if renew && let Err(e) = self.renew_failed(shared, consumer) {
            failure.get_or_insert(e);
        }
        if committed.count() > 0 {
            // The group's committed offsets only mirror progress, so that standard lag tools
            // read replication lag; a failed commit loses nothing.
            if let Err(e) = consumer.commit(&committed, CommitMode::Async) {
                tracing::warn!(error = %e, "committing the source group's offsets failed");
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Commits (with the progress record) or aborts one transaction, then begins the next on
    /// the same producer when `reopen` and it committed. Each call to librdkafka waits up to
    /// the first of `time`, and calls that time out are made again until its second.
    fn end(
        &self,
        shared: &Shared,
        h: &Handle,
        job: Job,
        time: (Duration, Instant),
        reopen: bool,
    ) -> Ended {
        // librdkafka refuses transactional calls on a producer it gave up on; not relying on
        // it: a record it refused with `Fatal` is counted in the transaction, unwritten.
        if let Some((code, detail)) = h.producer.client().fatal_error() {
            return Ended::Failed(SourceError::Transaction {
                transactional_id: h.id.clone(),
                detail: explain(code, &detail),
            });
        }
        let ended = match job {
            Job::Commit(last) => match self.commit(shared, h, last, time) {
                Ok(()) => Ended::Committed(last),
                // Still under way (librdkafka refuses an abort until it ends), or over for good:
                // either way this producer cannot go on, and the partition's next owner fences
                // it and aborts what is left. A commit that never got past its flush is
                // aborted, below.
                Err(e) if is_fatal(&e) || is_retriable(&e) => {
                    Ended::Failed(transaction_error(&h.id, "committing", &e))
                }
                Err(e) => self.abort(shared, h, format!("commit failed: {e}"), time),
            },
            Job::Abort(reason) => self.abort(shared, h, reason, time),
        };
        // An aborted one's partition gets a new producer (`settle`).
        if reopen
            && matches!(ended, Ended::Committed(_))
            && let Err(e) = h.producer.begin_transaction()
        {
            return Ended::Failed(transaction_error(&h.id, "beginning a transaction", &e));
        }
        ended
    }

    fn commit(
        &self,
        shared: &Shared,
        h: &Handle,
        last: i64,
        time: (Duration, Instant),
    ) -> Result<(), KafkaError> {
        let (key, value, at) = shared.progress.record_of(&h.topic, h.partition, last);
        // Its delivery report names the offsets topic, which no slot writes to: the tracker
        // ignores it, and a failure fails the commit.
        let record = BaseRecord::<[u8], [u8], usize>::with_opaque_to(shared.progress.topic(), 0)
            .key(&key)
            .payload(&value)
            .partition(at);
        h.producer.send(record).map_err(|(e, _)| e)?;
        until_done(shared, h, "committing", time, |t| {
            h.producer.commit_transaction(t)
        })
    }

    fn abort(
        &self,
        shared: &Shared,
        h: &Handle,
        reason: String,
        time: (Duration, Instant),
    ) -> Ended {
        if let Err(e) = until_done(shared, h, "aborting", time, |t| {
            h.producer.abort_transaction(t)
        }) {
            return Ended::Failed(transaction_error(&h.id, "aborting", &e));
        }
        // Reports of purged records are served on the producer's thread; wait for them, so
        // none is matched to a record of the next transaction.
        let until = Instant::now() + PURGED_REPORTS_WAIT;
        while h.producer.in_flight_count() > 0 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(2));
        }
        Ended::Aborted(reason)
    }

    /// Drops the producers of `slots` (a hand-over, or stopping), after [`Self::settle`].
    pub(super) fn release(&self, slots: &[SlotId]) {
        let released: Vec<Open> = {
            let mut open = self.open();
            slots.iter().filter_map(|s| open.remove(s)).collect()
        };
        // Dropping joins each producer's thread: outside the lock.
        drop(released);
    }

    /// Every slot with a producer.
    pub(super) fn slots(&self) -> Vec<SlotId> {
        self.open().keys().copied().collect()
    }
}

/// What to do with one transaction.
enum Job {
    /// Commit, with progress at this source offset.
    Commit(i64),
    /// Abort, for this reason.
    Abort(String),
}

/// What ending a transaction needs, taken out of the lock.
struct Handle {
    topic: String,
    partition: i32,
    id: String,
    producer: PolledProducer<ReplicationProducerContext>,
}

/// Why a partition's producer is replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Replacing {
    /// Its transaction was aborted.
    Aborted,
    /// librdkafka gave up on it, or it was fenced off.
    Renewed,
}

impl Replacing {
    fn as_str(self) -> &'static str {
        match self {
            Self::Aborted => "transaction aborted",
            Self::Renewed => "its producer was replaced",
        }
    }
}

/// Whether a producer's fatal error says it was fenced off: by a newer producer with its
/// transactional id (another process's), or by the target aborting a transaction it left
/// open past its timeout, which bumps the epoch the same way.
fn fencing(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::ProducerFenced
            | RDKafkaErrorCode::Fenced
            | RDKafkaErrorCode::InvalidProducerEpoch
    )
}

/// Whether a producer's fatal error is its own, so that a new producer with the same
/// transactional id starts clean: not when it was fenced off (see [`fencing`]), nor when the
/// target refuses this id or these transactions.
fn renewable(code: RDKafkaErrorCode) -> bool {
    !fencing(code)
        && !matches!(
            code,
            RDKafkaErrorCode::TransactionalIdAuthorizationFailed
                | RDKafkaErrorCode::ClusterAuthorizationFailed
                | RDKafkaErrorCode::InvalidTransactionTimeout
                | RDKafkaErrorCode::UnsupportedVersion
                | RDKafkaErrorCode::UnsupportedForMessageFormat
        )
}

fn is_fatal(e: &KafkaError) -> bool {
    match e {
        KafkaError::Transaction(t) => t.is_fatal(),
        _ => false,
    }
}

/// Whether librdkafka goes on with the call in the background, to be called again: a commit
/// or an abort that timed out waiting for its records' acknowledgements or the coordinator.
fn is_retriable(e: &KafkaError) -> bool {
    match e {
        KafkaError::Transaction(t) => t.is_retriable(),
        _ => false,
    }
}

/// Whether a commit stopped short of librdkafka's commit call: rdkafka flushes the producer
/// first, and gives up with a flush error when records are still unacknowledged at the
/// timeout. The transaction is untouched then, so the commit can be made again (a target
/// slow to acknowledge is no reason to abort what it will take), or aborted.
fn flush_timed_out(e: &KafkaError) -> bool {
    matches!(e, KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut))
}

/// Calls `call` (a commit or an abort, given how long it may wait) again while it times out
/// and `time`'s deadline, or a stop's if sooner, is not reached: librdkafka resumes the same
/// commit or abort where it was, and calling anything else meanwhile is refused. A stop asked
/// for while the flow goes on ends the waiting: stopping has a time of its own to keep.
fn until_done(
    shared: &Shared,
    h: &Handle,
    doing: &str,
    (timeout, until): (Duration, Instant),
    call: impl Fn(Duration) -> Result<(), KafkaError>,
) -> Result<(), KafkaError> {
    let mut wait = timeout;
    loop {
        let e = match call(wait) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        let by = shared.stopping_deadline().map_or(until, |s| s.min(until));
        let left = by.saturating_duration_since(Instant::now());
        let stop_unplanned = shared.stop_asked() && shared.stopping_deadline().is_none();
        if !(is_retriable(&e) || flush_timed_out(&e)) || left.is_zero() || stop_unplanned {
            return Err(e);
        }
        tracing::warn!(
            transactional_id = %h.id, topic = %h.topic, partition = h.partition, error = %e,
            "{doing} the transaction did not end within {wait:?}; waiting for it again"
        );
        wait = timeout.min(left);
    }
}

/// A transaction error with the transactional id and what it means.
fn transaction_error(id: &str, doing: &str, e: &KafkaError) -> SourceError {
    let code = e.rdkafka_error_code().unwrap_or(RDKafkaErrorCode::Fail);
    SourceError::Transaction {
        transactional_id: id.to_owned(),
        detail: format!("{doing}: {}", explain(code, &e.to_string())),
    }
}

/// librdkafka's error, with a hint where the cause is not obvious.
fn explain(code: RDKafkaErrorCode, detail: &str) -> String {
    let hint = match code {
        RDKafkaErrorCode::TransactionalIdAuthorizationFailed => {
            "the target's ACLs deny this transactional id: the user needs Write and Describe on \
             TransactionalId (a PREFIXED ACL on the transactional id prefix)"
        }
        RDKafkaErrorCode::ClusterAuthorizationFailed => {
            "the target's ACLs deny transactions (IdempotentWrite on the cluster, or Write on \
             the TransactionalId)"
        }
        RDKafkaErrorCode::ProducerFenced | RDKafkaErrorCode::Fenced => {
            "another process took this partition over and fenced this one off, or the target \
             aborted a transaction left open past transaction.timeout.ms (unreachable that \
             long), which fences its producer too; the partition is replicated again from its \
             last commit"
        }
        RDKafkaErrorCode::CoordinatorNotAvailable
        | RDKafkaErrorCode::NotCoordinator
        | RDKafkaErrorCode::CoordinatorLoadInProgress => {
            "the target's transaction coordinator is not available (its __transaction_state \
             topic needs transaction.state.log.min.isr replicas in sync)"
        }
        RDKafkaErrorCode::InvalidTransactionTimeout => {
            "transaction.timeout.ms is above the target broker's transaction.max.timeout.ms"
        }
        RDKafkaErrorCode::UnsupportedVersion | RDKafkaErrorCode::UnsupportedForMessageFormat => {
            "the target does not support transactions (Kafka 0.11 or later is needed)"
        }
        _ => return detail.to_owned(),
    };
    format!("{detail}: {hint}")
}

impl std::fmt::Debug for Transactions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transactions")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}
