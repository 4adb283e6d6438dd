//! What the status registry knows about each source partition this process replicates.
//!
//! Cells live in a table indexed by the pipeline's [`SlotId`], so a delivery report reaches its
//! partition's counters without a lookup, a lock or an allocation: the table grows in
//! fixed-size segments created once and never moved, and every counter is an atomic.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};

use crate::status::snapshot::BlockedSnapshot;
use crate::status::window::WindowedStat;

/// Index of a partition's slot: the replication pipeline's tracker hands these out (and
/// re-uses them), and the status table is indexed by them.
pub type SlotId = usize;

/// Cells per segment.
const SEGMENT_LEN: usize = 64;
/// Segments per table: at most `SEGMENT_LEN * SEGMENTS` partitions per flow and process.
const SEGMENTS: usize = 1024;

/// "Unknown" for the offset and timestamp fields.
pub(crate) const UNKNOWN: i64 = i64::MIN;

/// Which partition a cell describes (set when the partition is assigned).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionId {
    /// The source topic.
    pub topic: Arc<str>,
    /// Its name on the target (MM2's metrics label `topic`).
    pub remote_topic: Arc<str>,
    /// The partition number (the same on both clusters).
    pub partition: i32,
}

/// Live counters of one assigned partition.
#[derive(Debug)]
pub struct PartitionCell {
    /// Who this cell describes; only written on assignment.
    identity: Mutex<Option<Arc<PartitionId>>>,
    /// Whether the partition is assigned to this process now.
    pub(crate) active: AtomicBool,
    /// Whether it is a heartbeats topic (its latency is the flow's heartbeat latency).
    pub(crate) heartbeats: AtomicBool,
    /// Records acknowledged by the target since assignment (MM2 `record-count`).
    pub(crate) records: AtomicU64,
    /// Value bytes read from the source since assignment (MM2 `byte-count`, counted at poll).
    pub(crate) bytes: AtomicU64,
    /// The next upstream offset to replicate: last acknowledged + 1 ([`UNKNOWN`] before any).
    pub(crate) next_offset: AtomicI64,
    /// When `next_offset` last moved (or the partition was assigned), epoch milliseconds.
    pub(crate) progress_at_ms: AtomicU64,
    /// Timestamp of the last record acknowledged ([`UNKNOWN`] before any).
    pub(crate) last_record_ts: AtomicI64,
    /// Wall-clock age of records when polled (MM2 `record-age-ms`).
    pub(crate) record_age: WindowedStat,
    /// Ack time minus record timestamp (MM2 `replication-latency-ms`).
    pub(crate) latency: WindowedStat,
    /// Sampled by the status sampler: the source's last stable offset (high watermark under
    /// `read_committed`), its log start offset, and rates and lag derived from them.
    pub(crate) high_watermark: AtomicI64,
    pub(crate) log_start: AtomicI64,
    pub(crate) sampled_at_ms: AtomicU64,
    /// f64 bits.
    pub(crate) record_rate: AtomicU64,
    /// f64 bits.
    pub(crate) byte_rate: AtomicU64,
    /// f64 bits; NaN when unknown.
    pub(crate) lag_seconds: AtomicU64,
    /// Records the target refused since assignment.
    pub(crate) rejected: AtomicU64,
    /// Exactly-once: transactions committed and aborted since assignment.
    pub(crate) txn_committed: AtomicU64,
    pub(crate) txn_aborted: AtomicU64,
    /// Source batches written to the target as they were stored (`strait.source.reader=wire`).
    pub(crate) batches_passed: AtomicU64,
    /// Set while the partition is held at a refused record (rare path: a lock is fine).
    pub(crate) blocked: Mutex<Option<BlockedSnapshot>>,
}

impl Default for PartitionCell {
    fn default() -> Self {
        Self {
            identity: Mutex::new(None),
            active: AtomicBool::new(false),
            heartbeats: AtomicBool::new(false),
            records: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            next_offset: AtomicI64::new(UNKNOWN),
            progress_at_ms: AtomicU64::new(0),
            last_record_ts: AtomicI64::new(UNKNOWN),
            record_age: WindowedStat::default(),
            latency: WindowedStat::default(),
            high_watermark: AtomicI64::new(UNKNOWN),
            log_start: AtomicI64::new(UNKNOWN),
            sampled_at_ms: AtomicU64::new(0),
            record_rate: AtomicU64::new(0f64.to_bits()),
            byte_rate: AtomicU64::new(0f64.to_bits()),
            lag_seconds: AtomicU64::new(f64::NAN.to_bits()),
            rejected: AtomicU64::new(0),
            txn_committed: AtomicU64::new(0),
            txn_aborted: AtomicU64::new(0),
            batches_passed: AtomicU64::new(0),
            blocked: Mutex::new(None),
        }
    }
}

impl PartitionCell {
    /// Starts describing `id`, clearing what an earlier owner of the slot left.
    pub(crate) fn assign(
        &self,
        id: PartitionId,
        next_offset: Option<i64>,
        heartbeats: bool,
        now_ms: u64,
    ) {
        // Counters restart with the new ownership, as MM2's do with a new task.
        self.records.store(0, Relaxed);
        self.bytes.store(0, Relaxed);
        self.next_offset
            .store(next_offset.unwrap_or(UNKNOWN), Relaxed);
        self.progress_at_ms.store(now_ms, Relaxed);
        self.last_record_ts.store(UNKNOWN, Relaxed);
        self.record_age.reset();
        self.latency.reset();
        self.high_watermark.store(UNKNOWN, Relaxed);
        self.log_start.store(UNKNOWN, Relaxed);
        self.sampled_at_ms.store(0, Relaxed);
        self.record_rate.store(0f64.to_bits(), Relaxed);
        self.byte_rate.store(0f64.to_bits(), Relaxed);
        self.lag_seconds.store(f64::NAN.to_bits(), Relaxed);
        self.rejected.store(0, Relaxed);
        self.txn_committed.store(0, Relaxed);
        self.txn_aborted.store(0, Relaxed);
        self.batches_passed.store(0, Relaxed);
        *self.blocked.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.heartbeats.store(heartbeats, Relaxed);
        *self.identity.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(id));
        self.active.store(true, Relaxed);
    }

    /// The partition's identity while assigned.
    pub(crate) fn identity(&self) -> Option<Arc<PartitionId>> {
        if !self.active.load(Relaxed) {
            return None;
        }
        self.identity
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The partition's block, if it is held at a refused record.
    pub(crate) fn blocked(&self) -> Option<BlockedSnapshot> {
        self.blocked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reads an f64 stored as bits.
    pub(crate) fn float(cell: &AtomicU64) -> f64 {
        f64::from_bits(cell.load(Relaxed))
    }
}

/// Cells indexed by slot id.
#[derive(Debug)]
pub struct PartitionTable {
    segments: Box<[OnceLock<Box<[PartitionCell]>>]>,
}

impl Default for PartitionTable {
    fn default() -> Self {
        Self {
            segments: (0..SEGMENTS).map(|_| OnceLock::new()).collect(),
        }
    }
}

impl PartitionTable {
    /// The cell of `slot` if it was ever used; never allocates.
    pub fn get(&self, slot: SlotId) -> Option<&PartitionCell> {
        self.segments
            .get(slot / SEGMENT_LEN)?
            .get()?
            .get(slot % SEGMENT_LEN)
    }

    /// The cell of `slot`, creating its segment on first use (on assignment, not per record);
    /// `None` beyond the table's capacity.
    pub fn get_or_create(&self, slot: SlotId) -> Option<&PartitionCell> {
        self.segments
            .get(slot / SEGMENT_LEN)?
            .get_or_init(|| (0..SEGMENT_LEN).map(|_| PartitionCell::default()).collect())
            .get(slot % SEGMENT_LEN)
    }

    /// Every assigned partition's cell, with its identity.
    pub fn active(&self) -> impl Iterator<Item = (Arc<PartitionId>, &PartitionCell)> {
        self.segments
            .iter()
            .filter_map(OnceLock::get)
            .flat_map(|seg| seg.iter())
            .filter_map(|c| c.identity().map(|id| (id, c)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(topic: &str, partition: i32) -> PartitionId {
        PartitionId {
            topic: topic.into(),
            remote_topic: format!("src.{topic}").into(),
            partition,
        }
    }

    #[test]
    fn cells_are_found_by_slot_and_listed_while_assigned() {
        let t = PartitionTable::default();
        assert!(t.get(3).is_none());
        let c = t.get_or_create(70).unwrap();
        c.assign(id("a", 1), Some(9), false, 5);
        assert_eq!(t.get(70).unwrap().next_offset.load(Relaxed), 9);
        let listed: Vec<_> = t.active().map(|(id, _)| id.partition).collect();
        assert_eq!(listed, vec![1]);
        c.active.store(false, Relaxed);
        assert_eq!(t.active().count(), 0);
        assert!(t.get_or_create(SEGMENT_LEN * SEGMENTS).is_none());
    }

    #[test]
    fn reassignment_clears_the_counters() {
        let t = PartitionTable::default();
        let c = t.get_or_create(0).unwrap();
        c.assign(id("a", 0), None, false, 1);
        c.records.store(5, Relaxed);
        c.latency.record(1, 3);
        c.assign(id("b", 2), Some(4), true, 2);
        assert_eq!(c.records.load(Relaxed), 0);
        assert_eq!(c.latency.last(), None);
        assert_eq!(c.identity().unwrap().topic.as_ref(), "b");
    }
}
