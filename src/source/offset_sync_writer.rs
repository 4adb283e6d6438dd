//! MM2's offset-sync emission rules (`OffsetSyncWriter`, Kafka 3.7.0+ behaviour), without I/O.
//!
//! The source task reports every acknowledged record through [`OffsetSyncEmitter::on_ack`]; the
//! emitter decides which (upstream, downstream) pairs must be published to the offset-syncs
//! topic and when. Sending, the in-flight limit (MM2: at most 10 unacknowledged syncs) and the
//! wire format belong to the caller. See `mm2-compat.md` §4.1.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::fast_hash::FastMap;

/// An offset sync ready to be published: upstream `topic`/`partition` at `upstream_offset` was
/// written downstream at `downstream_offset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetSyncRecord {
    /// Upstream (source cluster) topic name, not renamed.
    pub topic: String,
    /// Upstream partition.
    pub partition: i32,
    /// Offset of the record in the upstream partition.
    pub upstream_offset: i64,
    /// Offset the record got in the downstream partition.
    pub downstream_offset: i64,
}

/// An offset sync with Strait's extension: where the contiguous run ending at the sync began.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetSyncWithRun {
    /// The sync as MM2 publishes it.
    pub sync: OffsetSyncRecord,
    /// `(upstream, downstream)` of the first record of the run ending at this sync: every record
    /// from there to the sync was acknowledged in order with both offsets advancing by exactly
    /// one, so any offset in between translates exactly. Published as a record header
    /// ([`crate::wire::run_start::RUN_START_HEADER`]), which MM2 ignores.
    pub run_start: (i64, i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Position {
    upstream: i64,
    downstream: i64,
}

/// A sync waiting to be published, with the start of the contiguous run it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sync {
    at: Position,
    run_start: Position,
}

/// MM2's `PartitionState` plus this partition's queued syncs.
#[derive(Debug)]
struct PartitionState {
    prev_upstream: i64,
    prev_downstream: i64,
    last_sync_downstream: i64,
    /// First record of the current contiguous run (both offsets advancing by one per record).
    run_start: Position,
    /// Sync to send as soon as in-flight capacity allows (MM2's `pendingOffsetSyncs` entry).
    pending: Option<Sync>,
    /// Newest non-urgent sync, published only at the next offset flush (`delayedOffsetSyncs`).
    delayed: Option<Sync>,
    /// Whether this partition has an entry in the emitter's pending queue.
    in_pending_queue: bool,
    /// Whether this partition has an entry in the emitter's delayed queue (may be stale).
    in_delayed_queue: bool,
}

impl PartitionState {
    fn new() -> Self {
        // -1 everywhere is MM2's "nothing seen since task start".
        Self {
            prev_upstream: -1,
            prev_downstream: -1,
            last_sync_downstream: -1,
            run_start: Position {
                upstream: -1,
                downstream: -1,
            },
            pending: None,
            delayed: None,
            in_pending_queue: false,
            in_delayed_queue: false,
        }
    }

    /// MM2's `PartitionState.update`: records the position and says whether the sync is urgent.
    /// The differences are computed in i128 so that extreme offsets cannot overflow; for real
    /// offsets the results equal MM2's `long` arithmetic.
    fn observe(&mut self, upstream: i64, downstream: i64, offset_lag_max: i64) -> bool {
        let (up, down) = (i128::from(upstream), i128::from(downstream));
        // First record since the task started: the store needs a starting point.
        let first = self.last_sync_downstream == -1;
        // Translation answers at most `last sync + 1` downstream (the "+1 rule"), so measure the
        // staleness from there.
        let stale =
            down - (i128::from(self.last_sync_downstream) + 1) >= i128::from(offset_lag_max);
        // A gap upstream (compaction, transaction markers, start not at 0) breaks the 1:1 run.
        let gap = up - i128::from(self.prev_upstream) != 1;
        // Downstream going backwards means the target partition was truncated or recreated.
        let truncated = downstream < self.prev_downstream;
        // Strait: any break in the one-to-one stepping (including downstream gaps, which MM2
        // ignores) starts a new run, so a run's claim holds for every offset inside it.
        let step_down = down - i128::from(self.prev_downstream) != 1;
        if first || gap || step_down {
            self.run_start = Position {
                upstream,
                downstream,
            };
        }
        let urgent = first || stale || gap || truncated;
        if urgent {
            self.last_sync_downstream = downstream;
        }
        self.prev_upstream = upstream;
        self.prev_downstream = downstream;
        urgent
    }
}

#[derive(Debug)]
struct TopicState {
    /// Shared with the map key and the queues, so queueing a partition never copies the name.
    name: Arc<str>,
    partitions: FastMap<i32, PartitionState>,
}

/// Decides which offset syncs to publish, following MM2 3.7+ (`OffsetSyncWriter`).
///
/// Per partition a sync is *urgent* when it is the first since start, when the downstream offset
/// has moved `offset_lag_max` or more past the last urgent sync's `+1`, when upstream skipped an
/// offset, or when downstream went backwards. Urgent syncs become pending at once; other syncs
/// are kept as the partition's delayed sync (newest wins) until [`promote_delayed`] runs at the
/// next offset flush (KAFKA-15906), so quiet partitions still publish their latest position.
///
/// [`promote_delayed`]: OffsetSyncEmitter::promote_delayed
#[derive(Debug)]
pub struct OffsetSyncEmitter {
    offset_lag_max: i64,
    /// Keyed by `Arc<str>` so the per-record lookup borrows the topic as `&str` (no allocation).
    topics: FastMap<Arc<str>, TopicState>,
    /// Partitions with a pending sync, oldest first. MM2 keeps pending syncs in a
    /// `LinkedHashMap`, where replacing a partition's sync keeps its place; the per-partition
    /// flag gives the same order. Entries are exactly the partitions whose `pending` is set.
    pending_queue: VecDeque<(Arc<str>, i32)>,
    /// Partitions that got a delayed sync since the last promotion. An urgent sync clears the
    /// delayed one without touching this list, so entries may be stale and are checked on use.
    delayed_queue: Vec<(Arc<str>, i32)>,
}

impl OffsetSyncEmitter {
    /// Creates an emitter with MM2's `offset.lag.max` (default 100).
    pub fn new(offset_lag_max: i64) -> Self {
        Self {
            offset_lag_max,
            topics: FastMap::default(),
            pending_queue: VecDeque::new(),
            delayed_queue: Vec::new(),
        }
    }

    /// Reports one record acknowledged by the target: upstream `topic`/`partition` at `upstream`
    /// was written at `downstream`. Call it per record, in acknowledgement order; records without
    /// a downstream offset (e.g. filtered out) must not be reported, as in MM2.
    pub fn on_ack(&mut self, topic: &str, partition: i32, upstream: i64, downstream: i64) {
        let topic_state = match self.topics.get_mut(topic) {
            Some(state) => state,
            None => {
                let name: Arc<str> = Arc::from(topic);
                self.topics.entry(Arc::clone(&name)).or_insert(TopicState {
                    name,
                    partitions: FastMap::default(),
                })
            }
        };
        let state = topic_state
            .partitions
            .entry(partition)
            .or_insert_with(PartitionState::new);
        let urgent = state.observe(upstream, downstream, self.offset_lag_max);
        let position = Sync {
            at: Position {
                upstream,
                downstream,
            },
            run_start: state.run_start,
        };
        if urgent {
            // The urgent sync supersedes both the unsent pending one and the delayed one.
            state.delayed = None;
            state.pending = Some(position);
            if !state.in_pending_queue {
                state.in_pending_queue = true;
                self.pending_queue
                    .push_back((Arc::clone(&topic_state.name), partition));
            }
        } else {
            state.delayed = Some(position);
            if !state.in_delayed_queue {
                state.in_delayed_queue = true;
                self.delayed_queue
                    .push((Arc::clone(&topic_state.name), partition));
            }
        }
    }

    /// Moves every delayed sync to pending; call it at each offset flush (MM2's `commit()`,
    /// every `offset.flush.interval.ms`). Like MM2 this does not count as a sync for the
    /// staleness rule, and a promoted sync replaces an older unsent pending one.
    pub fn promote_delayed(&mut self) {
        for (topic, partition) in self.delayed_queue.drain(..) {
            let Some(state) = self
                .topics
                .get_mut(&*topic)
                .and_then(|t| t.partitions.get_mut(&partition))
            else {
                continue;
            };
            state.in_delayed_queue = false;
            if let Some(position) = state.delayed.take() {
                state.pending = Some(position);
                if !state.in_pending_queue {
                    state.in_pending_queue = true;
                    self.pending_queue.push_back((topic, partition));
                }
            }
        }
    }

    /// Removes and returns up to `max` pending syncs, oldest partition first. The caller passes
    /// its free in-flight capacity (MM2 allows 10 unacknowledged syncs); the rest stay pending.
    pub fn take_pending(&mut self, max: usize) -> Vec<OffsetSyncRecord> {
        self.take_pending_with_runs(max)
            .into_iter()
            .map(|s| s.sync)
            .collect()
    }

    /// [`take_pending`](Self::take_pending) with each sync's run start (Strait's extension).
    pub fn take_pending_with_runs(&mut self, max: usize) -> Vec<OffsetSyncWithRun> {
        let mut out = Vec::with_capacity(max.min(self.pending_queue.len()));
        while out.len() < max {
            let Some((topic, partition)) = self.pending_queue.pop_front() else {
                break;
            };
            let Some(state) = self
                .topics
                .get_mut(&*topic)
                .and_then(|t| t.partitions.get_mut(&partition))
            else {
                continue;
            };
            state.in_pending_queue = false;
            if let Some(position) = state.pending.take() {
                out.push(OffsetSyncWithRun {
                    sync: OffsetSyncRecord {
                        topic: topic.to_string(),
                        partition,
                        upstream_offset: position.at.upstream,
                        downstream_offset: position.at.downstream,
                    },
                    run_start: (position.run_start.upstream, position.run_start.downstream),
                });
            }
        }
        out
    }

    /// Number of partitions with a sync waiting to be sent.
    pub fn pending_len(&self) -> usize {
        self.pending_queue.len()
    }

    /// Drops all state and unsent syncs of a partition that is no longer replicated here.
    ///
    /// Unsent syncs are discarded, as when MM2 stops a task: the partition's new owner starts with
    /// an urgent sync of its own, and a stale sync from this owner arriving after it would look
    /// like an upstream rewind to the `OffsetSyncStore` and wipe its history.
    pub fn forget_partition(&mut self, topic: &str, partition: i32) {
        let Some(topic_state) = self.topics.get_mut(topic) else {
            return;
        };
        if topic_state.partitions.remove(&partition).is_none() {
            return;
        }
        if topic_state.partitions.is_empty() {
            self.topics.remove(topic);
        }
        let other = |entry: &(Arc<str>, i32)| !(entry.1 == partition && &*entry.0 == topic);
        self.pending_queue.retain(other);
        self.delayed_queue.retain(other);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "orders";

    fn rec(topic: &str, partition: i32, up: i64, down: i64) -> OffsetSyncRecord {
        OffsetSyncRecord {
            topic: topic.to_owned(),
            partition,
            upstream_offset: up,
            downstream_offset: down,
        }
    }

    fn downs(records: &[OffsetSyncRecord]) -> Vec<i64> {
        records.iter().map(|r| r.downstream_offset).collect()
    }

    #[test]
    fn one_to_one_offsets_sync_every_101() {
        let mut emitter = OffsetSyncEmitter::new(100);
        let mut sent = Vec::new();
        for offset in 0..=1000 {
            emitter.on_ack(T, 0, offset, offset);
            sent.extend(emitter.take_pending(10));
        }
        let expected: Vec<i64> = (0..10).map(|k| k * 101).collect();
        assert_eq!(downs(&sent), expected);
        assert!(
            sent.iter()
                .all(|r| r.upstream_offset == r.downstream_offset)
        );

        // The tail since the last urgent sync is published at the next flush.
        emitter.promote_delayed();
        assert_eq!(emitter.take_pending(10), vec![rec(T, 0, 1000, 1000)]);
    }

    #[test]
    fn first_record_is_urgent_even_when_not_at_zero() {
        let mut emitter = OffsetSyncEmitter::new(100);
        emitter.on_ack(T, 0, 5, 0);
        assert_eq!(emitter.take_pending(10), vec![rec(T, 0, 5, 0)]);
        emitter.on_ack(T, 0, 6, 1);
        assert!(emitter.take_pending(10).is_empty());
    }

    #[test]
    fn upstream_gap_is_urgent() {
        let mut emitter = OffsetSyncEmitter::new(100);
        for offset in 0..3 {
            emitter.on_ack(T, 0, offset, offset);
        }
        assert_eq!(downs(&emitter.take_pending(10)), vec![0]);
        // A compaction hole / transaction marker: 3..9 never arrive.
        emitter.on_ack(T, 0, 10, 3);
        assert_eq!(emitter.take_pending(10), vec![rec(T, 0, 10, 3)]);
        emitter.on_ack(T, 0, 11, 4);
        assert!(emitter.take_pending(10).is_empty());
    }

    #[test]
    fn downstream_going_backwards_is_urgent() {
        let mut emitter = OffsetSyncEmitter::new(100);
        for offset in 0..5 {
            emitter.on_ack(T, 0, offset, 50 + offset);
        }
        assert_eq!(downs(&emitter.take_pending(10)), vec![50]);
        // Target partition recreated: downstream restarts from 0.
        emitter.on_ack(T, 0, 5, 0);
        assert_eq!(emitter.take_pending(10), vec![rec(T, 0, 5, 0)]);
    }

    #[test]
    fn delayed_sync_is_promoted_at_flush_without_resetting_staleness() {
        let mut emitter = OffsetSyncEmitter::new(100);
        for offset in 0..=50 {
            emitter.on_ack(T, 0, offset, offset);
        }
        assert_eq!(downs(&emitter.take_pending(10)), vec![0]);
        assert_eq!(emitter.pending_len(), 0);

        emitter.promote_delayed();
        assert_eq!(emitter.pending_len(), 1);
        assert_eq!(emitter.take_pending(10), vec![rec(T, 0, 50, 50)]);
        // Nothing new since: the next flush publishes nothing.
        emitter.promote_delayed();
        assert!(emitter.take_pending(10).is_empty());

        // Promotion did not move lastSyncDown: the next urgent sync is still at 101.
        let mut sent = Vec::new();
        for offset in 51..=101 {
            emitter.on_ack(T, 0, offset, offset);
            sent.extend(emitter.take_pending(10));
        }
        assert_eq!(downs(&sent), vec![101]);
    }

    #[test]
    fn urgent_sync_drops_delayed_one() {
        let mut emitter = OffsetSyncEmitter::new(100);
        emitter.on_ack(T, 0, 0, 0);
        assert_eq!(downs(&emitter.take_pending(10)), vec![0]);
        for offset in 1..=101 {
            emitter.on_ack(T, 0, offset, offset);
        }
        assert_eq!(downs(&emitter.take_pending(10)), vec![101]);
        emitter.promote_delayed();
        assert!(emitter.take_pending(10).is_empty());
    }

    #[test]
    fn pending_sync_is_replaced_and_promotion_overwrites_it() {
        let mut emitter = OffsetSyncEmitter::new(100);
        emitter.on_ack(T, 0, 0, 0);
        emitter.on_ack(T, 0, 10, 1); // gap: urgent, replaces the unsent sync at 0
        assert_eq!(emitter.pending_len(), 1);
        emitter.on_ack(T, 0, 11, 2); // delayed
        // MM2's putAll: the newer delayed sync replaces the unsent pending one.
        emitter.promote_delayed();
        assert_eq!(emitter.take_pending(10), vec![rec(T, 0, 11, 2)]);
    }

    #[test]
    fn take_pending_respects_max_and_keeps_first_queued_order() {
        let mut emitter = OffsetSyncEmitter::new(100);
        for partition in 0..5 {
            emitter.on_ack(T, partition, 0, 0);
        }
        emitter.on_ack("other", 0, 7, 7);
        // Replacing partition 0's sync keeps its place at the front (LinkedHashMap order).
        emitter.on_ack(T, 0, 5, 5);
        assert_eq!(emitter.pending_len(), 6);

        let first = emitter.take_pending(2);
        assert_eq!(first, vec![rec(T, 0, 5, 5), rec(T, 1, 0, 0)]);
        assert!(emitter.take_pending(0).is_empty());
        let rest = emitter.take_pending(10);
        assert_eq!(
            rest,
            vec![
                rec(T, 2, 0, 0),
                rec(T, 3, 0, 0),
                rec(T, 4, 0, 0),
                rec("other", 0, 7, 7)
            ]
        );
        assert_eq!(emitter.pending_len(), 0);
    }

    #[test]
    fn forget_partition_drops_state_and_queued_syncs() {
        let mut emitter = OffsetSyncEmitter::new(100);
        emitter.on_ack(T, 0, 0, 0);
        emitter.on_ack(T, 1, 0, 0);
        emitter.on_ack(T, 1, 1, 1); // delayed
        emitter.forget_partition(T, 1);
        emitter.forget_partition(T, 9);
        emitter.forget_partition("unknown", 0);
        emitter.promote_delayed();
        assert_eq!(emitter.take_pending(10), vec![rec(T, 0, 0, 0)]);

        // Reassigned later: starts afresh with an urgent sync.
        emitter.on_ack(T, 1, 2, 2);
        assert_eq!(emitter.take_pending(10), vec![rec(T, 1, 2, 2)]);

        // Forgetting the last partition of a topic and coming back works too.
        emitter.forget_partition(T, 0);
        emitter.forget_partition(T, 1);
        emitter.on_ack(T, 0, 1, 1);
        assert_eq!(emitter.take_pending(10), vec![rec(T, 0, 1, 1)]);
    }

    #[test]
    fn extreme_offsets_do_not_panic() {
        let mut emitter = OffsetSyncEmitter::new(i64::MAX);
        for (up, down) in [
            (i64::MAX, i64::MAX),
            (i64::MIN, i64::MIN),
            (i64::MAX, i64::MIN),
            (i64::MIN, i64::MAX),
            (-1, -1),
            (0, 0),
        ] {
            emitter.on_ack(T, 0, up, down);
        }
        let mut emitter = OffsetSyncEmitter::new(i64::MIN);
        emitter.on_ack(T, i32::MIN, i64::MAX, i64::MAX);
        emitter.on_ack(T, i32::MIN, i64::MAX, i64::MAX);
        emitter.promote_delayed();
        assert_eq!(emitter.take_pending(usize::MAX).len(), 1);
    }

    #[test]
    fn syncs_carry_the_start_of_their_contiguous_run() {
        let mut emitter = OffsetSyncEmitter::new(100);
        let mut sent = Vec::new();
        for offset in 5..=210 {
            emitter.on_ack(T, 0, offset, offset - 5);
            sent.extend(emitter.take_pending_with_runs(10));
        }
        // Urgent syncs at downstream 0, 101, 202, all in the run that began at (5, 0).
        let runs: Vec<(i64, (i64, i64))> = sent
            .iter()
            .map(|s| (s.sync.downstream_offset, s.run_start))
            .collect();
        assert_eq!(runs, vec![(0, (5, 0)), (101, (5, 0)), (202, (5, 0))]);

        // An upstream gap starts a new run; so does a downstream gap (which MM2 ignores).
        emitter.on_ack(T, 0, 215, 206);
        let s = emitter.take_pending_with_runs(10);
        assert_eq!(s[0].run_start, (215, 206));
        emitter.on_ack(T, 0, 216, 209); // downstream skipped 207, 208: not urgent for MM2
        assert!(emitter.take_pending_with_runs(10).is_empty());
        emitter.on_ack(T, 0, 217, 210);
        emitter.promote_delayed();
        let s = emitter.take_pending_with_runs(10);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].sync, rec(T, 0, 217, 210));
        assert_eq!(s[0].run_start, (216, 209));
    }
}
