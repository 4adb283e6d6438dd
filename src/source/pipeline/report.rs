//! What the replication pipeline tells the status registry ([`crate::status`]), read from its
//! tracker: the status hooks take plain values and know nothing of the tracker.

use std::sync::Mutex;

use rdkafka::Offset;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};

use super::lock;
use super::reader::Reader;
use crate::source::tracker::{Blocked, RetryState, SlotId, Tracker};
use crate::status::FlowStatus;
use crate::status::partition::PartitionId;
use crate::status::snapshot::BlockedSnapshot;

/// `slot` was just opened in `tracker` for a newly assigned partition.
pub(super) fn assigned(status: &FlowStatus, tracker: &Tracker, slot: SlotId) {
    if let Some(p) = tracker.slot(slot) {
        let id = PartitionId {
            topic: p.topic.clone(),
            remote_topic: p.remote_topic.clone(),
            partition: p.partition,
        };
        status.partition_assigned(slot, id, p.last_acked.map(|o| o + 1));
    }
}

/// A record of `slot` was acknowledged (the tracker already knows, and is still locked).
pub(super) fn acked(status: &FlowStatus, tracker: &Tracker, slot: SlotId, timestamp: Option<i64>) {
    // Exactly-once: progress is what committed, which `transaction_ended` reports; what is
    // written but not committed is the most a status can show before that.
    let next = tracker
        .slot(slot)
        .and_then(|s| {
            if tracker.is_transactional() {
                s.last_written
            } else {
                s.last_acked
            }
        })
        .map(|o| o + 1);
    status.acked(slot, next, timestamp);
}

/// `slot` is held at a refused record (or its retry state changed).
pub(super) fn blocked(status: &FlowStatus, slot: SlotId, blocked: &Blocked) {
    status.partition_blocked(
        slot,
        BlockedSnapshot {
            offset: blocked.offset,
            reason: blocked.reason.clone(),
            since_ms: blocked.since_ms,
            attempts: blocked.attempts,
            retrying: blocked.state == RetryState::Retrying,
        },
    );
}

/// One turn of the replication loop; once a second, the consumer's positions of partitions
/// with nothing in flight and nothing blocked count as progress (the consumer skips
/// transaction markers and aborted records without returning them).
pub(super) fn loop_turned<C: ConsumerContext>(
    status: &FlowStatus,
    consumer: &BaseConsumer<C>,
    reader: Option<&Reader>,
    tracker: &Mutex<Tracker>,
) {
    if !status.loop_turned() {
        return;
    }
    let Ok(positions) = consumer.position() else {
        return;
    };
    let t = lock(tracker);
    for e in positions.elements() {
        // With the wire reader the consumer reads nothing: the fetcher's position counts.
        let position = match (reader, e.offset()) {
            (Some(r), _) => r.position(e.topic(), e.partition()),
            (None, Offset::Offset(o)) => Some(o),
            (None, _) => None,
        };
        let Some(position) = position else {
            continue;
        };
        let Some(slot) = t.slot_of(e.topic(), e.partition()) else {
            continue;
        };
        // Only with nothing in flight is everything before the position on the target; a
        // blocked partition's position may be past records that are not, and with
        // exactly-once records written in an open transaction are not replicated until it
        // commits.
        if t.slot(slot)
            .is_some_and(|s| s.inflight() == 0 && s.blocked.is_none())
            && t.open_transaction(slot).is_none()
        {
            status.progress_at_least(slot, position);
        }
    }
}
