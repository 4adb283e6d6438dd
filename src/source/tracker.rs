//! Bookkeeping of records sent to the target and not yet acknowledged, per source partition.
//!
//! Everything that says "replicated" (progress in the offsets topic, offset syncs, the source
//! group's committed offsets) is derived from here, and only ever moves to a record whose
//! delivery report came back successful with every earlier record of its partition.
//!
//! Each delivery report carries the source offset of its record, so a report is matched to
//! the record it is about, not to the oldest one outstanding: progress stays exact even if
//! reports came back out of order. A record the target refuses holds its partition there
//! ([`Blocked`]): nothing after it counts as replicated until a retry gets it written.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::fast_hash::FastMap;
use crate::source::offset_sync_writer::OffsetSyncEmitter;

pub use crate::status::partition::SlotId;

/// The first retry of a blocked partition waits this long; each further one twice as long,
/// up to the configured maximum.
const FIRST_RETRY: Duration = Duration::from_secs(5);

/// What became of a record handed to the producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// No delivery report yet.
    Pending,
    /// On the target at this offset.
    Written(i64),
    /// The target (or the producer) refused it for good.
    Rejected,
}

/// Records in flight a partition's queue keeps room for after draining.
const SENT_KEPT: usize = 1024;

/// One record handed to the producer.
#[derive(Debug, Clone, Copy)]
struct Sent {
    upstream: i64,
    bytes: u32,
    outcome: Outcome,
}

/// Where a blocked partition stands with its retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryState {
    /// Reading is paused; the next retry starts at this instant (once every record sent
    /// before has its delivery report).
    Waiting(Instant),
    /// Replicating again from the refused record.
    Retrying,
}

/// A partition held at a record the target refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// Source offset of the first refused record: progress stays below it.
    pub offset: i64,
    /// Why the target refused it (librdkafka's error).
    pub reason: String,
    /// When the partition first blocked at this offset, epoch milliseconds.
    pub since_ms: u64,
    /// Retries made so far.
    pub attempts: u32,
    /// Waiting for the next retry, or retrying.
    pub state: RetryState,
}

/// How a fetched record's offset relates to the one expected next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Continuity {
    /// The expected offset, or the first record with nothing expected.
    InOrder,
    /// Offsets `expected..offset` were skipped (compaction, transaction markers, aborted
    /// records, or records deleted before they were read).
    Gap {
        /// The offset expected.
        expected: i64,
    },
    /// The record is older than expected: the source partition was recreated or truncated.
    Backwards {
        /// The offset expected.
        expected: i64,
    },
}

/// One source partition this process replicates.
#[derive(Debug)]
pub struct PartitionSlot {
    /// The source topic.
    pub topic: Arc<str>,
    /// The remote topic on the target.
    pub remote_topic: Arc<str>,
    /// The partition number (the same on both sides).
    pub partition: i32,
    /// Records sent and not yet settled, in source order (offsets ascending).
    sent: VecDeque<Sent>,
    /// Records in `sent` still waiting for their delivery report.
    unreported: usize,
    /// Upstream offset of the last record acknowledged with all records before it.
    pub last_acked: Option<i64>,
    /// The last upstream offset written to the offsets topic.
    pub last_written: Option<i64>,
    /// The source offset expected next (last fetched + 1).
    next_expected: Option<i64>,
    /// Downstream offset of the last record settled as written.
    last_downstream: Option<i64>,
    /// Set while the partition is held at a refused record.
    pub blocked: Option<Blocked>,
    /// Exactly-once: the source offsets of the first and last record sent in the open
    /// transaction.
    txn: Option<(i64, i64)>,
    /// Exactly-once: `(upstream, downstream)` of records acknowledged in the open transaction.
    /// Their offset syncs wait for the commit: an aborted record must never be synced.
    uncommitted: Vec<(i64, i64)>,
    /// Exactly-once: where the next retry of a blocked partition reads from (the start of the
    /// aborted transaction, which may be before the refused record).
    retry_from: Option<i64>,
    /// Exactly-once: the open transaction's range names a record the producer never took
    /// (its queue stayed full): it must be aborted, never committed.
    txn_incomplete: bool,
}

/// Exactly-once: how a partition's open transaction may end now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransactionEnd {
    /// Committed, with progress at this source offset (its last record).
    Commit(i64),
    /// Aborted, for this reason: it holds a record that will never be written.
    Abort(&'static str),
}

impl PartitionSlot {
    /// Records sent and not yet settled (acknowledged in order, or refused).
    pub fn inflight(&self) -> usize {
        self.sent.len()
    }

    /// Records sent and still waiting for a delivery report.
    pub fn unreported(&self) -> usize {
        self.unreported
    }

    /// The source offset expected next, when known.
    pub fn next_expected(&self) -> Option<i64> {
        self.next_expected
    }

    /// Whether records fetched for this partition are to be sent now (not while it waits
    /// for a retry).
    pub fn accepts_records(&self) -> bool {
        self.blocked
            .as_ref()
            .is_none_or(|b| b.state == RetryState::Retrying)
    }
}

/// A partition whose progress should be written: `offset` is the upstream offset of the last
/// record safely on the target (what MM2 stores).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueProgress {
    /// The slot.
    pub slot: SlotId,
    /// The source topic.
    pub topic: Arc<str>,
    /// The partition.
    pub partition: i32,
    /// The last upstream offset replicated.
    pub offset: i64,
}

/// Something the replication loop must act on or report, noted on the delivery path where
/// no consumer is at hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackerEvent {
    /// The partition just blocked (or failed again while retrying): pause reading it.
    Blocked(SlotId),
    /// The partition's refused record is now on the target: the block is over.
    Unblocked(SlotId),
    /// The target partition's offsets went backwards: the remote topic was deleted and
    /// recreated, or truncated.
    TargetRewound {
        /// The slot.
        slot: SlotId,
        /// The last downstream offset before.
        from: i64,
        /// The downstream offset now.
        to: i64,
    },
}

/// All partitions of this process, with totals for backpressure and metrics.
#[derive(Debug)]
pub struct Tracker {
    slots: Vec<Option<PartitionSlot>>,
    free: Vec<SlotId>,
    index: FastMap<Arc<str>, FastMap<i32, SlotId>>,
    /// The same slots by remote topic, which is what a delivery report names.
    remote_index: FastMap<Arc<str>, FastMap<i32, SlotId>>,
    /// Bytes sent and not yet reported on (keys + values).
    pub inflight_bytes: u64,
    /// Offset-sync emission state (MM2's rules).
    pub offset_syncs: OffsetSyncEmitter,
    /// Events for the replication loop, oldest first.
    events: Vec<TrackerEvent>,
    /// Partitions blocked now.
    blocked: usize,
    /// The longest wait between two retries of a blocked partition.
    retry_max: Duration,
    /// Exactly-once: offset syncs wait for commits, and aborts rewind (see [`Tracker::on_abort`]).
    transactional: bool,
    /// Records acknowledged since start.
    pub acked_records: u64,
    /// Bytes acknowledged since start.
    pub acked_bytes: u64,
    /// Records the target refused since start.
    pub rejected_records: u64,
}

impl Tracker {
    /// An empty tracker; `offset_lag_max` is MM2's `offset.lag.max`, `retry_max` the longest
    /// wait between retries of a blocked partition.
    pub fn new(offset_lag_max: i64, retry_max: Duration) -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            index: FastMap::default(),
            remote_index: FastMap::default(),
            inflight_bytes: 0,
            offset_syncs: OffsetSyncEmitter::new(offset_lag_max),
            events: Vec::new(),
            blocked: 0,
            retry_max,
            transactional: false,
            acked_records: 0,
            acked_bytes: 0,
            rejected_records: 0,
        }
    }

    /// Exactly-once mode: records count as replicated only once their transaction commits.
    pub fn set_transactional(&mut self) {
        self.transactional = true;
    }

    /// Whether records count as replicated only once their transaction commits.
    pub fn is_transactional(&self) -> bool {
        self.transactional
    }

    /// Starts tracking a partition; `progress` is the last upstream offset already replicated.
    pub fn open(
        &mut self,
        topic: Arc<str>,
        remote_topic: Arc<str>,
        partition: i32,
        progress: Option<i64>,
    ) -> SlotId {
        if let Some(id) = self.slot_of(&topic, partition) {
            return id;
        }
        let slot = PartitionSlot {
            topic: topic.clone(),
            remote_topic: remote_topic.clone(),
            partition,
            sent: VecDeque::new(),
            unreported: 0,
            last_acked: progress,
            last_written: progress,
            next_expected: progress.map(|p| p + 1),
            last_downstream: None,
            blocked: None,
            txn: None,
            uncommitted: Vec::new(),
            retry_from: None,
            txn_incomplete: false,
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[id] = Some(slot);
                id
            }
            None => {
                self.slots.push(Some(slot));
                self.slots.len() - 1
            }
        };
        self.index.entry(topic).or_default().insert(partition, id);
        self.remote_index
            .entry(remote_topic)
            .or_default()
            .insert(partition, id);
        id
    }

    /// Stops tracking a partition. Records still unreported stop counting against the
    /// in-flight budget; their reports, if they come, find no slot and change nothing.
    pub fn close(&mut self, id: SlotId) -> Option<PartitionSlot> {
        let slot = self.slots.get_mut(id)?.take()?;
        for (index, name) in [
            (&mut self.index, &slot.topic),
            (&mut self.remote_index, &slot.remote_topic),
        ] {
            if let Some(parts) = index.get_mut(name) {
                parts.remove(&slot.partition);
                if parts.is_empty() {
                    index.remove(name);
                }
            }
        }
        let unreported: u64 = slot
            .sent
            .iter()
            .filter(|s| s.outcome == Outcome::Pending)
            .map(|s| u64::from(s.bytes))
            .sum();
        self.inflight_bytes = self.inflight_bytes.saturating_sub(unreported);
        if slot.blocked.is_some() {
            self.blocked -= 1;
        }
        self.events.retain(|e| event_slot(e) != id);
        self.offset_syncs
            .forget_partition(&slot.topic, slot.partition);
        self.free.push(id);
        Some(slot)
    }

    /// The slot of a partition, if this process replicates it.
    pub fn slot_of(&self, topic: &str, partition: i32) -> Option<SlotId> {
        self.index.get(topic)?.get(&partition).copied()
    }

    /// The slot writing to a remote topic's partition.
    pub fn slot_of_remote(&self, remote_topic: &str, partition: i32) -> Option<SlotId> {
        self.remote_index
            .get(remote_topic)?
            .get(&partition)
            .copied()
    }

    /// A slot by id.
    pub fn slot(&self, id: SlotId) -> Option<&PartitionSlot> {
        self.slots.get(id)?.as_ref()
    }

    fn slot_mut(&mut self, id: SlotId) -> Option<&mut PartitionSlot> {
        self.slots.get_mut(id)?.as_mut()
    }

    /// Every tracked slot.
    pub fn slots(&self) -> impl Iterator<Item = (SlotId, &PartitionSlot)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|s| (i, s)))
    }

    /// Notes the offset of a record fetched for slot `id` and says how it follows the one
    /// before. Call it for every fetched record, before [`Tracker::on_send`].
    pub fn on_fetch(&mut self, id: SlotId, offset: i64) -> Continuity {
        let Some(slot) = self.slot_mut(id) else {
            return Continuity::InOrder;
        };
        let continuity = match slot.next_expected {
            Some(expected) if offset > expected => Continuity::Gap { expected },
            Some(expected) if offset < expected => Continuity::Backwards { expected },
            _ => Continuity::InOrder,
        };
        slot.next_expected = Some(offset + 1);
        continuity
    }

    /// Notes the offsets `first..=last` of one batch fetched for slot `id`, which has no gaps,
    /// as [`Tracker::on_fetch`] of each would.
    pub fn on_fetch_range(&mut self, id: SlotId, first: i64, last: i64) -> Continuity {
        let continuity = self.on_fetch(id, first);
        if let Some(slot) = self.slot_mut(id) {
            slot.next_expected = Some(last.max(first) + 1);
        }
        continuity
    }

    /// Notes a record handed to the producer.
    pub fn on_send(&mut self, id: SlotId, upstream: i64, bytes: u32) {
        let transactional = self.transactional;
        if let Some(slot) = self.slot_mut(id) {
            if transactional {
                slot.txn = Some(
                    slot.txn
                        .map_or((upstream, upstream), |(first, _)| (first, upstream)),
                );
            }
            slot.sent.push_back(Sent {
                upstream,
                bytes,
                outcome: Outcome::Pending,
            });
            slot.unreported += 1;
            self.inflight_bytes += u64::from(bytes);
        }
    }

    /// Takes back the last record handed to the producer, which refused to queue it for a
    /// reason that passes (its queue was full).
    pub fn on_send_refused(&mut self, id: SlotId) {
        let Some(slot) = self.slots.get_mut(id).and_then(Option::as_mut) else {
            return;
        };
        if slot
            .sent
            .back()
            .is_some_and(|s| s.outcome == Outcome::Pending)
            && let Some(s) = slot.sent.pop_back()
        {
            slot.unreported -= 1;
            self.inflight_bytes -= u64::from(s.bytes);
            // The transaction's range ends at this record, which librdkafka never took:
            // committing it would record progress past a record not written.
            match slot.txn {
                Some((first, _)) if first == s.upstream => slot.txn = None,
                Some((_, last)) if last == s.upstream => slot.txn_incomplete = true,
                _ => {}
            }
        }
    }

    /// The delivery report of the record of slot `id` at source offset `upstream`: written
    /// at a downstream offset, or refused for the given reason.
    pub fn on_delivery(&mut self, id: SlotId, upstream: i64, result: Result<i64, String>) {
        let Some(slot) = self.slots.get_mut(id).and_then(Option::as_mut) else {
            return;
        };
        // Reports come in send order with the idempotent producer, so the record is nearly
        // always the oldest unreported one; search only when it is not.
        let at = match slot.sent.iter().position(|s| s.outcome == Outcome::Pending) {
            Some(i) if slot.sent[i].upstream == upstream => Some(i),
            _ => slot
                .sent
                .binary_search_by_key(&upstream, |s| s.upstream)
                .ok()
                .filter(|i| slot.sent[*i].outcome == Outcome::Pending),
        };
        let Some(at) = at else {
            // A report for a record no longer tracked (sent before a retry reset); the
            // retry sent it again.
            return;
        };
        let entry = &mut slot.sent[at];
        slot.unreported -= 1;
        self.inflight_bytes -= u64::from(entry.bytes);
        match result {
            Ok(downstream) => {
                entry.outcome = Outcome::Written(downstream);
                self.acked_records += 1;
                self.acked_bytes += u64::from(entry.bytes);
            }
            Err(reason) => {
                entry.outcome = Outcome::Rejected;
                self.rejected_records += 1;
                let now = Instant::now();
                let first_rejected = slot
                    .sent
                    .iter()
                    .find(|s| s.outcome == Outcome::Rejected)
                    .map_or(upstream, |s| s.upstream);
                match &mut slot.blocked {
                    Some(b) => {
                        if b.state == RetryState::Retrying {
                            b.state =
                                RetryState::Waiting(now + backoff(b.attempts, self.retry_max));
                            self.events.push(TrackerEvent::Blocked(id));
                        }
                        b.offset = first_rejected;
                        b.reason = reason;
                    }
                    None => {
                        slot.blocked = Some(Blocked {
                            offset: first_rejected,
                            reason,
                            since_ms: epoch_ms(),
                            attempts: 0,
                            state: RetryState::Waiting(now + backoff(0, self.retry_max)),
                        });
                        self.blocked += 1;
                        self.events.push(TrackerEvent::Blocked(id));
                    }
                }
            }
        }
        self.settle(id);
    }

    /// Moves the partition's acknowledged position over every written record at the front:
    /// a refused record stops it.
    fn settle(&mut self, id: SlotId) {
        let Some(slot) = self.slots.get_mut(id).and_then(Option::as_mut) else {
            return;
        };
        while let Some(&Sent {
            upstream,
            outcome: Outcome::Written(downstream),
            ..
        }) = slot.sent.front()
        {
            slot.sent.pop_front();
            slot.last_acked = Some(upstream);
            if downstream >= 0 {
                if let Some(prev) = slot.last_downstream
                    && downstream < prev
                {
                    self.events.push(TrackerEvent::TargetRewound {
                        slot: id,
                        from: prev,
                        to: downstream,
                    });
                }
                slot.last_downstream = Some(downstream);
                if self.transactional {
                    slot.uncommitted.push((upstream, downstream));
                } else {
                    self.offset_syncs
                        .on_ack(&slot.topic, slot.partition, upstream, downstream);
                }
            }
            if slot.blocked.as_ref().is_some_and(|b| upstream >= b.offset) {
                slot.blocked = None;
                self.blocked -= 1;
                self.events.push(TrackerEvent::Unblocked(id));
            }
        }
        // A partition's queue grows to the most records it ever had in flight; with small
        // records that is tens of thousands per partition, and across many partitions it was
        // a third of a catch-up's peak heap. Given back once mostly drained.
        let cap = slot.sent.capacity();
        if cap > SENT_KEPT && slot.sent.len() < cap / 4 {
            slot.sent.shrink_to((cap / 2).max(SENT_KEPT));
        }
    }

    /// Takes the events noted since the last call.
    pub fn take_events(&mut self) -> Vec<TrackerEvent> {
        std::mem::take(&mut self.events)
    }

    /// Whether events wait for the loop (cheap enough to ask every turn).
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// Partitions blocked now.
    pub fn blocked_count(&self) -> usize {
        self.blocked
    }

    /// Blocked partitions whose retry is due at `now`: waited long enough, every record sent
    /// before has its report (so none can still land behind the retry), and, with
    /// exactly-once, the transaction holding the refused record was aborted (a retry started
    /// before would let that transaction commit progress past the refused record, when the
    /// producer refused it before the target could: librdkafka then knows of no failure).
    pub fn due_retries(&self, now: Instant) -> Vec<SlotId> {
        if self.blocked == 0 {
            return Vec::new();
        }
        self.slots()
            .filter(|(_, s)| s.unreported == 0)
            .filter(|(_, s)| !self.transactional || s.txn.is_none())
            .filter(|(_, s)| {
                matches!(&s.blocked, Some(Blocked { state: RetryState::Waiting(at), .. }) if *at <= now)
            })
            .map(|(id, _)| id)
            .collect()
    }

    /// Starts a retry of a blocked partition: forgets what was sent after the refused record
    /// (it will be sent again) and returns the offset to read from.
    pub fn start_retry(&mut self, id: SlotId) -> Option<i64> {
        let slot = self.slots.get_mut(id).and_then(Option::as_mut)?;
        let b = slot.blocked.as_mut()?;
        b.attempts += 1;
        b.state = RetryState::Retrying;
        let offset = slot.retry_from.take().unwrap_or(b.offset);
        slot.sent.clear();
        slot.unreported = 0;
        slot.next_expected = Some(offset);
        Some(offset)
    }

    /// A retry that could not start (reading from `from`, which [`Tracker::start_retry`]
    /// returned): wait for the next one, which reads from there too.
    pub fn postpone_retry(&mut self, id: SlotId, from: i64, reason: String) {
        let retry_max = self.retry_max;
        let Some(slot) = self.slot_mut(id) else {
            return;
        };
        if let Some(b) = slot.blocked.as_mut() {
            b.state = RetryState::Waiting(Instant::now() + backoff(b.attempts, retry_max));
            b.reason = reason;
            // An aborted transaction's records before the refused one must not be skipped.
            slot.retry_from = Some(slot.retry_from.map_or(from, |r| r.min(from)));
        }
    }

    /// Records in flight for the given slots.
    pub fn inflight_of(&self, ids: &[SlotId]) -> usize {
        ids.iter()
            .filter_map(|id| self.slot(*id))
            .map(PartitionSlot::unreported)
            .sum()
    }

    /// Records in flight over every slot.
    pub fn inflight_of_all(&self) -> usize {
        self.slots().map(|(_, s)| s.unreported).sum()
    }

    /// Partitions whose acknowledged position moved past what was last written, restricted to
    /// `only` when given.
    pub fn due_progress(&self, only: Option<&[SlotId]>) -> Vec<DueProgress> {
        self.slots()
            .filter(|(id, _)| only.is_none_or(|o| o.contains(id)))
            .filter_map(|(id, s)| {
                let acked = s.last_acked?;
                (s.last_written != Some(acked)).then(|| DueProgress {
                    slot: id,
                    topic: s.topic.clone(),
                    partition: s.partition,
                    offset: acked,
                })
            })
            .collect()
    }

    /// Exactly-once: the first and last source offset sent in slot `id`'s open transaction,
    /// if it has records.
    pub fn open_transaction(&self, id: SlotId) -> Option<(i64, i64)> {
        self.slot(id)?.txn
    }

    /// Exactly-once: how slot `id`'s open transaction may end now; `None` when it holds no
    /// record. Progress committed with it names its last record, so it commits only when
    /// every record in it was handed to the producer and none is refused: librdkafka fails a
    /// commit for a record the target refuses (a retry's resent one included), but knows
    /// nothing of one it never took. (Waiting for a resent record's report instead hangs: a
    /// failed transaction purges it, and purged reports are not counted.)
    pub fn transaction_end(&self, id: SlotId) -> Option<TransactionEnd> {
        let slot = self.slot(id)?;
        let (_, last) = slot.txn?;
        if slot.txn_incomplete {
            return Some(TransactionEnd::Abort(
                "a record in it was never handed to the producer",
            ));
        }
        Some(match &slot.blocked {
            Some(b) if b.state != RetryState::Retrying => {
                TransactionEnd::Abort("the target refused a record")
            }
            _ => TransactionEnd::Commit(last),
        })
    }

    /// Exactly-once: slot `id`'s transaction committed with progress at `offset` (its last
    /// record). Its records are replicated now: their offset syncs go out.
    pub fn on_commit(&mut self, id: SlotId, offset: i64) {
        let Some(slot) = self.slots.get_mut(id).and_then(Option::as_mut) else {
            return;
        };
        slot.txn = None;
        slot.txn_incomplete = false;
        slot.last_written = Some(offset);
        for (upstream, downstream) in slot.uncommitted.drain(..) {
            self.offset_syncs
                .on_ack(&slot.topic, slot.partition, upstream, downstream);
        }
    }

    /// Exactly-once: slot `id`'s transaction was aborted. Everything sent in it is forgotten
    /// (readers never see it) and the partition goes back to its committed progress. Returns
    /// the source offset to read again from; a blocked partition keeps it for its retry.
    /// Call it only once the producer has reported on every record it was given.
    pub fn on_abort(&mut self, id: SlotId) -> Option<i64> {
        let slot = self.slots.get_mut(id).and_then(Option::as_mut)?;
        slot.txn_incomplete = false;
        let from = slot
            .txn
            .take()
            .map(|(first, _)| first)
            .or_else(|| slot.last_written.map(|w| w + 1));
        let pending: u64 = slot
            .sent
            .iter()
            .filter(|s| s.outcome == Outcome::Pending)
            .map(|s| u64::from(s.bytes))
            .sum();
        self.inflight_bytes = self.inflight_bytes.saturating_sub(pending);
        slot.sent.clear();
        slot.unreported = 0;
        slot.uncommitted.clear();
        slot.last_acked = slot.last_written;
        slot.next_expected = from;
        if let Some(b) = slot.blocked.as_mut() {
            // The retry must read again from the earliest record not committed: an abort of a
            // later transaction (the refused record alone) must not skip an earlier one's.
            slot.retry_from = match (slot.retry_from, from) {
                (Some(earlier), Some(f)) => Some(earlier.min(f)),
                (earlier, f) => earlier.or(f),
            };
            if b.state == RetryState::Retrying {
                // A retry's transaction failed (its commit, say): the retry failed. Hold the
                // partition again and retry from the start, or the records sent after the
                // abort would follow a gap.
                b.state = RetryState::Waiting(Instant::now() + backoff(b.attempts, self.retry_max));
                self.events.push(TrackerEvent::Blocked(id));
            }
        }
        from
    }

    /// Notes that progress was written.
    pub fn mark_written(&mut self, id: SlotId, offset: i64) {
        if let Some(slot) = self.slot_mut(id) {
            slot.last_written = Some(offset);
        }
    }
}

fn event_slot(e: &TrackerEvent) -> SlotId {
    match e {
        TrackerEvent::Blocked(s) | TrackerEvent::Unblocked(s) => *s,
        TrackerEvent::TargetRewound { slot, .. } => *slot,
    }
}

/// The wait before retry number `attempts + 1`.
fn backoff(attempts: u32, max: Duration) -> Duration {
    FIRST_RETRY
        .saturating_mul(1u32 << attempts.min(16))
        .min(max.max(FIRST_RETRY))
}

fn epoch_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracker_with_one() -> (Tracker, SlotId) {
        let mut t = Tracker::new(100, Duration::from_secs(60));
        let id = t.open("t".into(), "src.t".into(), 0, None);
        (t, id)
    }

    fn transactional_with_one(progress: Option<i64>) -> (Tracker, SlotId) {
        let mut t = Tracker::new(100, Duration::from_secs(60));
        t.set_transactional();
        let id = t.open("t".into(), "src.t".into(), 0, progress);
        (t, id)
    }

    #[test]
    fn a_drained_partition_gives_back_the_room_its_records_in_flight_took() {
        let (mut t, id) = tracker_with_one();
        for up in 0..100_000 {
            t.on_send(id, up, 100);
        }
        assert!(t.slot(id).unwrap().sent.capacity() >= 100_000);
        for up in 0..100_000 {
            t.on_delivery(id, up, Ok(up));
        }
        assert_eq!(t.inflight_bytes, 0);
        assert_eq!(t.slot(id).unwrap().last_acked, Some(99_999));
        assert!(
            t.slot(id).unwrap().sent.capacity() <= 2 * SENT_KEPT,
            "{} kept",
            t.slot(id).unwrap().sent.capacity()
        );
    }

    #[test]
    fn exactly_once_offset_syncs_wait_for_the_commit() {
        let (mut t, id) = transactional_with_one(Some(9));
        for up in 10..13 {
            t.on_send(id, up, 10);
        }
        assert_eq!(t.open_transaction(id), Some((10, 12)));
        for (up, down) in [(10, 100), (11, 101), (12, 102)] {
            t.on_delivery(id, up, Ok(down));
        }
        // Acknowledged inside an open transaction: nothing is synced yet.
        assert_eq!(t.offset_syncs.pending_len(), 0);
        t.on_commit(id, 12);
        assert_eq!(t.open_transaction(id), None);
        assert_eq!(t.slot(id).unwrap().last_written, Some(12));
        let syncs = t.offset_syncs.take_pending(10);
        assert_eq!(
            syncs
                .iter()
                .map(|s| (s.upstream_offset, s.downstream_offset))
                .collect::<Vec<_>>(),
            vec![(10, 100)],
            "the first record after start is synced at once (MM2's rule)"
        );
    }

    #[test]
    fn exactly_once_abort_forgets_the_transaction_and_rewinds() {
        let (mut t, id) = transactional_with_one(Some(9));
        for up in 10..14 {
            t.on_send(id, up, 10);
        }
        t.on_delivery(id, 10, Ok(100));
        t.on_delivery(id, 11, Ok(101));
        assert_eq!(t.inflight_bytes, 20);
        assert_eq!(t.on_abort(id), Some(10), "read again from the first record");
        let s = t.slot(id).unwrap();
        assert_eq!(
            (
                s.last_acked,
                s.last_written,
                s.inflight(),
                s.next_expected()
            ),
            (Some(9), Some(9), 0, Some(10))
        );
        assert_eq!(t.inflight_bytes, 0);
        // Reports of the purged records find nothing to change.
        t.on_delivery(id, 12, Err("purged".into()));
        assert_eq!(t.rejected_records, 0);
        t.on_commit(id, 9);
        assert_eq!(
            t.offset_syncs.pending_len(),
            0,
            "no sync for aborted records"
        );
        // Read again, the records commit normally.
        for up in 10..12 {
            assert_eq!(t.on_fetch(id, up), Continuity::InOrder);
            t.on_send(id, up, 10);
            t.on_delivery(id, up, Ok(up + 95));
        }
        t.on_commit(id, 11);
        assert_eq!(t.slot(id).unwrap().last_written, Some(11));
        assert_eq!(t.offset_syncs.take_pending(10)[0].downstream_offset, 105);
    }

    #[test]
    fn exactly_once_failed_retry_reads_again_from_the_first_uncommitted_record() {
        let (mut t, id) = transactional_with_one(None);
        for up in 0..3 {
            t.on_send(id, up, 10);
        }
        t.on_delivery(id, 0, Ok(0));
        t.on_delivery(id, 1, Ok(1));
        t.on_delivery(id, 2, Err("too large".into()));
        assert_eq!(t.on_abort(id), Some(0));
        let later = Instant::now() + Duration::from_secs(60);
        assert_eq!(t.start_retry(id), Some(0));
        // The retry resends 0 and 1; their commit fails and the transaction is aborted.
        for up in 0..2 {
            t.on_send(id, up, 10);
            t.on_delivery(id, up, Ok(up + 10));
        }
        assert_eq!(t.on_abort(id), Some(0));
        assert!(
            !t.slot(id).unwrap().accepts_records(),
            "a failed retry holds the partition again"
        );
        // Records fetched meanwhile (the refused one) are sent and aborted on their own.
        t.slot_mut(id).unwrap().txn = Some((2, 2));
        assert_eq!(t.on_abort(id), Some(2));
        assert_eq!(t.due_retries(later), vec![id]);
        assert_eq!(
            t.start_retry(id),
            Some(0),
            "the next retry starts at the first record not committed, not at the refused one"
        );
    }

    #[test]
    fn exactly_once_retry_waits_until_the_refused_records_transaction_is_aborted() {
        let (mut t, id) = transactional_with_one(Some(9));
        for up in 10..13 {
            t.on_send(id, up, 10);
        }
        t.on_delivery(id, 10, Ok(100));
        t.on_delivery(id, 11, Ok(101));
        // Refused by the producer itself (too large for it): librdkafka never took it, so a
        // commit of this transaction would succeed with progress at 12.
        t.on_delivery(id, 12, Err("too large".into()));
        assert_eq!(
            t.transaction_end(id),
            Some(TransactionEnd::Abort("the target refused a record"))
        );
        let later = Instant::now() + Duration::from_secs(600);
        assert!(
            t.due_retries(later).is_empty(),
            "a retry must not start while the transaction holding the refused record is open"
        );
        assert_eq!(t.on_abort(id), Some(10));
        assert_eq!(t.due_retries(later), vec![id]);
        assert_eq!(t.start_retry(id), Some(10));
        // The retry resends 10 and 11, which commit on their own, then the refused record.
        for up in 10..12 {
            t.on_send(id, up, 10);
            t.on_delivery(id, up, Ok(up + 100));
        }
        assert_eq!(t.transaction_end(id), Some(TransactionEnd::Commit(11)));
        t.on_commit(id, 11);
        t.on_send(id, 12, 10);
        t.on_delivery(id, 12, Ok(112));
        assert_eq!(t.transaction_end(id), Some(TransactionEnd::Commit(12)));
        assert!(t.slot(id).unwrap().blocked.is_none());
    }

    #[test]
    fn a_retry_that_could_not_start_keeps_where_it_reads_from() {
        let (mut t, id) = transactional_with_one(None);
        for up in 0..3 {
            t.on_send(id, up, 10);
        }
        t.on_delivery(id, 0, Ok(0));
        t.on_delivery(id, 1, Ok(1));
        t.on_delivery(id, 2, Err("too large".into()));
        assert_eq!(t.on_abort(id), Some(0));
        let later = Instant::now() + Duration::from_secs(600);
        assert_eq!(t.start_retry(id), Some(0));
        t.postpone_retry(id, 0, "seek failed".into());
        assert_eq!(t.due_retries(later), vec![id]);
        assert_eq!(
            t.start_retry(id),
            Some(0),
            "the aborted records before the refused one are read again, not skipped"
        );
    }

    #[test]
    fn exactly_once_a_record_the_producer_never_took_dooms_its_transaction() {
        let (mut t, id) = transactional_with_one(Some(9));
        t.on_send(id, 10, 10);
        t.on_send_refused(id);
        assert_eq!(t.transaction_end(id), None, "nothing in the transaction");
        for up in 10..12 {
            t.on_send(id, up, 10);
        }
        t.on_send_refused(id);
        assert!(
            matches!(t.transaction_end(id), Some(TransactionEnd::Abort(_))),
            "progress at 11 would name a record never written"
        );
        assert_eq!(t.on_abort(id), Some(10));
        t.on_send(id, 10, 10);
        assert_eq!(t.transaction_end(id), Some(TransactionEnd::Commit(10)));
    }

    #[test]
    fn exactly_once_refusal_retries_from_the_aborted_transaction_start() {
        let (mut t, id) = transactional_with_one(None);
        for up in 0..5 {
            t.on_send(id, up, 10);
        }
        t.on_delivery(id, 0, Ok(0));
        t.on_delivery(id, 1, Ok(1));
        t.on_delivery(id, 2, Err("too large".into()));
        assert_eq!(t.slot(id).unwrap().blocked.as_ref().unwrap().offset, 2);
        t.on_delivery(id, 3, Err("purged".into()));
        t.on_delivery(id, 4, Err("purged".into()));
        assert_eq!(t.on_abort(id), Some(0));
        // The block stays (the status shows the refused record) until the retry writes it.
        assert_eq!(t.slot(id).unwrap().blocked.as_ref().unwrap().offset, 2);
        let due = t.due_retries(Instant::now() + Duration::from_secs(10));
        assert_eq!(due, vec![id]);
        assert_eq!(
            t.start_retry(id),
            Some(0),
            "the retry reads the whole transaction again"
        );
    }

    #[test]
    fn acknowledged_position_follows_delivery_reports_in_order() {
        let (mut t, id) = tracker_with_one();
        for up in 10..15 {
            t.on_send(id, up, 100);
        }
        assert_eq!(t.inflight_bytes, 500);
        t.on_delivery(id, 10, Ok(0));
        t.on_delivery(id, 11, Ok(1));
        assert_eq!(t.slot(id).unwrap().last_acked, Some(11));
        assert_eq!(t.inflight_of(&[id]), 3);
        assert_eq!(
            t.due_progress(None),
            vec![DueProgress {
                slot: id,
                topic: "t".into(),
                partition: 0,
                offset: 11
            }]
        );
        t.mark_written(id, 11);
        assert!(t.due_progress(None).is_empty());
    }

    #[test]
    fn reports_out_of_order_never_move_past_an_unwritten_record() {
        let (mut t, id) = tracker_with_one();
        for up in 0..4 {
            t.on_send(id, up, 10);
        }
        // 2 and 3 come back before 1 (a retried batch overtaken by a later one).
        t.on_delivery(id, 0, Ok(0));
        t.on_delivery(id, 2, Ok(1));
        t.on_delivery(id, 3, Ok(2));
        assert_eq!(t.slot(id).unwrap().last_acked, Some(0));
        assert_eq!(
            t.offset_syncs.pending_len(),
            1,
            "only the first record synced"
        );
        t.on_delivery(id, 1, Ok(3));
        assert_eq!(t.slot(id).unwrap().last_acked, Some(3));
        assert_eq!(t.inflight_bytes, 0);
    }

    #[test]
    fn a_refused_record_blocks_its_partition_until_a_retry_writes_it() {
        let (mut t, id) = tracker_with_one();
        for up in 1..=4 {
            t.on_send(id, up, 10);
        }
        t.on_delivery(id, 1, Ok(0));
        t.on_delivery(id, 2, Err("too large".into()));
        t.on_delivery(id, 3, Ok(1));
        t.on_delivery(id, 4, Ok(2));
        let slot = t.slot(id).unwrap();
        assert_eq!(
            slot.last_acked,
            Some(1),
            "nothing after the refused record counts"
        );
        assert_eq!(slot.blocked.as_ref().unwrap().offset, 2);
        assert!(!slot.accepts_records());
        assert_eq!(t.inflight_bytes, 0);
        assert_eq!(t.take_events(), vec![TrackerEvent::Blocked(id)]);
        assert_eq!(t.blocked_count(), 1);

        assert!(
            t.due_retries(Instant::now()).is_empty(),
            "not before the backoff"
        );
        let later = Instant::now() + Duration::from_secs(6);
        assert_eq!(t.due_retries(later), vec![id]);
        assert_eq!(t.start_retry(id), Some(2));
        assert!(t.slot(id).unwrap().accepts_records());
        assert_eq!(t.on_fetch(id, 2), Continuity::InOrder);
        t.on_send(id, 2, 10);
        t.on_delivery(id, 2, Ok(3));
        assert_eq!(t.slot(id).unwrap().last_acked, Some(2));
        assert!(t.slot(id).unwrap().blocked.is_none());
        assert_eq!(t.take_events(), vec![TrackerEvent::Unblocked(id)]);
        assert_eq!(t.blocked_count(), 0);
    }

    #[test]
    fn a_failed_retry_waits_longer() {
        let (mut t, id) = tracker_with_one();
        t.on_send(id, 7, 10);
        t.on_delivery(id, 7, Err("denied".into()));
        t.start_retry(id);
        t.on_send(id, 7, 10);
        t.on_delivery(id, 7, Err("still denied".into()));
        let b = t.slot(id).unwrap().blocked.clone().unwrap();
        assert_eq!(b.attempts, 1);
        assert_eq!(b.reason, "still denied");
        let RetryState::Waiting(at) = b.state else {
            panic!("expected a wait: {b:?}");
        };
        assert!(at > Instant::now() + Duration::from_secs(8));
        assert_eq!(
            backoff(20, Duration::from_secs(60)),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn retries_wait_for_every_report() {
        let (mut t, id) = tracker_with_one();
        t.on_send(id, 1, 10);
        t.on_send(id, 2, 10);
        t.on_delivery(id, 1, Err("x".into()));
        let later = Instant::now() + Duration::from_secs(600);
        assert!(t.due_retries(later).is_empty(), "record 2 is still out");
        t.on_delivery(id, 2, Ok(5));
        assert_eq!(t.due_retries(later), vec![id]);
    }

    #[test]
    fn fetch_continuity_is_reported() {
        let mut t = Tracker::new(100, Duration::from_secs(60));
        let id = t.open("t".into(), "src.t".into(), 0, Some(9));
        assert_eq!(t.on_fetch(id, 10), Continuity::InOrder);
        assert_eq!(t.on_fetch(id, 15), Continuity::Gap { expected: 11 });
        assert_eq!(t.on_fetch(id, 3), Continuity::Backwards { expected: 16 });
        let fresh = t.open("u".into(), "src.u".into(), 0, None);
        assert_eq!(t.on_fetch(fresh, 500), Continuity::InOrder);
    }

    #[test]
    fn the_target_going_backwards_is_noticed() {
        let (mut t, id) = tracker_with_one();
        t.on_send(id, 1, 1);
        t.on_send(id, 2, 1);
        t.on_delivery(id, 1, Ok(40));
        t.on_delivery(id, 2, Ok(0));
        assert_eq!(
            t.take_events(),
            vec![TrackerEvent::TargetRewound {
                slot: id,
                from: 40,
                to: 0
            }]
        );
    }

    #[test]
    fn slots_are_reused_after_close_and_found_by_remote_name() {
        let (mut t, id) = tracker_with_one();
        t.on_send(id, 1, 10);
        assert!(t.close(id).is_some());
        assert_eq!(t.inflight_bytes, 0, "a closed slot frees its budget");
        assert_eq!(t.slot_of("t", 0), None);
        assert_eq!(t.slot_of_remote("src.t", 0), None);
        let id2 = t.open("u".into(), "src.u".into(), 3, Some(41));
        assert_eq!(id2, id);
        assert_eq!(t.slot(id2).unwrap().last_acked, Some(41));
        assert_eq!(t.slot_of_remote("src.u", 3), Some(id2));
        assert!(t.due_progress(None).is_empty());
        // A late report for the closed partition's record changes nothing.
        t.on_delivery(id2, 1, Ok(0));
        assert_eq!(t.slot(id2).unwrap().last_acked, Some(41));
    }

    #[test]
    fn refused_sends_are_taken_back() {
        let (mut t, id) = tracker_with_one();
        t.on_send(id, 1, 10);
        t.on_send_refused(id);
        assert_eq!(t.inflight_bytes, 0);
        assert_eq!(t.inflight_of(&[id]), 0);
    }
}
