//! Bookkeeping of records sent to the target and not yet acknowledged, per source partition.
//!
//! Everything that says "replicated" (progress in the offsets topic, offset syncs, the source
//! group's committed offsets) is derived from here, and only ever moves to a record whose
//! delivery report came back successful with every earlier record of its partition.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use crate::source::offset_sync_writer::OffsetSyncEmitter;

/// Index of a partition's slot; it travels with each record as librdkafka's delivery opaque,
/// so a delivery report finds its partition without a lookup or an allocation.
pub type SlotId = usize;

/// One source partition this process replicates.
#[derive(Debug)]
pub struct PartitionSlot {
    /// The source topic.
    pub topic: Arc<str>,
    /// The remote topic on the target.
    pub remote_topic: Arc<str>,
    /// The partition number (the same on both sides).
    pub partition: i32,
    /// Upstream offset and size of each record sent and not yet acknowledged, oldest first.
    /// With the idempotent producer, reports for one partition come back in send order.
    inflight: VecDeque<(i64, u32)>,
    /// Upstream offset of the last record acknowledged with all records before it.
    pub last_acked: Option<i64>,
    /// The last upstream offset written to the offsets topic.
    pub last_written: Option<i64>,
}

impl PartitionSlot {
    /// Records sent and not yet acknowledged.
    pub fn inflight(&self) -> usize {
        self.inflight.len()
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

/// All partitions of this process, with totals for backpressure and metrics.
#[derive(Debug)]
pub struct Tracker {
    slots: Vec<Option<PartitionSlot>>,
    free: Vec<SlotId>,
    index: HashMap<Arc<str>, HashMap<i32, SlotId>>,
    /// Bytes sent and not yet acknowledged (keys + values).
    pub inflight_bytes: u64,
    /// Offset-sync emission state (MM2's rules).
    pub offset_syncs: OffsetSyncEmitter,
    /// The first delivery failure; once set, the flow stops and nothing moves past it.
    pub failure: Option<(String, i32, String)>,
    /// Records acknowledged since start.
    pub acked_records: u64,
    /// Bytes acknowledged since start.
    pub acked_bytes: u64,
}

impl Tracker {
    /// An empty tracker; `offset_lag_max` is MM2's `offset.lag.max`.
    pub fn new(offset_lag_max: i64) -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            index: HashMap::new(),
            inflight_bytes: 0,
            offset_syncs: OffsetSyncEmitter::new(offset_lag_max),
            failure: None,
            acked_records: 0,
            acked_bytes: 0,
        }
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
            remote_topic,
            partition,
            inflight: VecDeque::new(),
            last_acked: progress,
            last_written: progress,
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
        id
    }

    /// Stops tracking a partition (after its in-flight records were acknowledged).
    pub fn close(&mut self, id: SlotId) -> Option<PartitionSlot> {
        let slot = self.slots.get_mut(id)?.take()?;
        if let Some(parts) = self.index.get_mut(&slot.topic) {
            parts.remove(&slot.partition);
            if parts.is_empty() {
                self.index.remove(&slot.topic);
            }
        }
        self.offset_syncs
            .forget_partition(&slot.topic, slot.partition);
        self.free.push(id);
        Some(slot)
    }

    /// The slot of a partition, if this process replicates it.
    pub fn slot_of(&self, topic: &str, partition: i32) -> Option<SlotId> {
        self.index.get(topic)?.get(&partition).copied()
    }

    /// A slot by id.
    pub fn slot(&self, id: SlotId) -> Option<&PartitionSlot> {
        self.slots.get(id)?.as_ref()
    }

    /// Every tracked slot.
    pub fn slots(&self) -> impl Iterator<Item = (SlotId, &PartitionSlot)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|s| (i, s)))
    }

    /// Notes a record handed to the producer.
    pub fn on_send(&mut self, id: SlotId, upstream: i64, bytes: u32) {
        if let Some(slot) = self.slots.get_mut(id).and_then(Option::as_mut) {
            slot.inflight.push_back((upstream, bytes));
            self.inflight_bytes += u64::from(bytes);
        }
    }

    /// Takes back a record the producer refused before queueing it.
    pub fn on_send_refused(&mut self, id: SlotId) {
        let slot = self.slots.get_mut(id).and_then(Option::as_mut);
        if let Some((_, bytes)) = slot.and_then(|s| s.inflight.pop_back()) {
            self.inflight_bytes -= u64::from(bytes);
        }
    }

    /// A record of slot `id` is on the target at `downstream`.
    pub fn on_ack(&mut self, id: SlotId, downstream: i64) {
        let Some(slot) = self.slots.get_mut(id).and_then(Option::as_mut) else {
            return;
        };
        let Some((upstream, bytes)) = slot.inflight.pop_front() else {
            return;
        };
        self.inflight_bytes -= u64::from(bytes);
        self.acked_records += 1;
        self.acked_bytes += u64::from(bytes);
        if self.failure.is_some() {
            // After a failure nothing may move forward: an earlier record is missing.
            return;
        }
        slot.last_acked = Some(upstream);
        if downstream >= 0 {
            self.offset_syncs
                .on_ack(&slot.topic, slot.partition, upstream, downstream);
        }
    }

    /// A record of slot `id` could not be written.
    pub fn on_failure(&mut self, id: SlotId, detail: String) {
        let Some(slot) = self.slots.get_mut(id).and_then(Option::as_mut) else {
            return;
        };
        if let Some((_, bytes)) = slot.inflight.pop_front() {
            self.inflight_bytes -= u64::from(bytes);
        }
        if self.failure.is_none() {
            self.failure = Some((slot.remote_topic.to_string(), slot.partition, detail));
        }
    }

    /// Records in flight for the given slots.
    pub fn inflight_of(&self, ids: &[SlotId]) -> usize {
        ids.iter()
            .filter_map(|id| self.slot(*id))
            .map(PartitionSlot::inflight)
            .sum()
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

    /// Notes that progress was written.
    pub fn mark_written(&mut self, id: SlotId, offset: i64) {
        if let Some(slot) = self.slots.get_mut(id).and_then(Option::as_mut) {
            slot.last_written = Some(offset);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracker_with_one() -> (Tracker, SlotId) {
        let mut t = Tracker::new(100);
        let id = t.open("t".into(), "src.t".into(), 0, None);
        (t, id)
    }

    #[test]
    fn acknowledged_position_follows_delivery_reports_in_order() {
        let (mut t, id) = tracker_with_one();
        for up in 10..15 {
            t.on_send(id, up, 100);
        }
        assert_eq!(t.inflight_bytes, 500);
        t.on_ack(id, 0);
        t.on_ack(id, 1);
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
    fn a_failure_freezes_the_position() {
        let (mut t, id) = tracker_with_one();
        t.on_send(id, 1, 10);
        t.on_send(id, 2, 10);
        t.on_send(id, 3, 10);
        t.on_ack(id, 0);
        t.on_failure(id, "boom".into());
        t.on_ack(id, 2);
        assert_eq!(t.slot(id).unwrap().last_acked, Some(1));
        assert_eq!(t.inflight_bytes, 0);
        assert!(t.failure.is_some());
    }

    #[test]
    fn slots_are_reused_after_close() {
        let (mut t, id) = tracker_with_one();
        assert!(t.close(id).is_some());
        assert_eq!(t.slot_of("t", 0), None);
        let id2 = t.open("u".into(), "src.u".into(), 3, Some(41));
        assert_eq!(id2, id);
        assert_eq!(t.slot(id2).unwrap().last_acked, Some(41));
        assert!(t.due_progress(None).is_empty());
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
