//! Handing one source record to the producer: same partition, key, value, headers, timestamp.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use std::ffi::CString;

use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::BorrowedMessage;
use rdkafka::producer::Producer;

use crate::kafka::ffi::Outgoing;

use crate::source::tracker::{Continuity, PartitionSlot, RetryState, SlotId};
use crate::status::Component;

use crate::kafka::ffi::raise_fatal_error;

use super::delivery::{self, opaque};
use super::fault_injection::{CODE, VAR, Victim};
use super::rebalance::RebalanceContext;
use super::transactions::{COMMIT_TIMEOUT, Which};
use super::{Shared, lock};

/// How long a record may wait for room in the producer's queue before the flow fails.
const QUEUE_FULL_LIMIT: Duration = Duration::from_secs(120);

/// What a record costs the in-flight budget beyond its key and value: librdkafka's message
/// and header structures. Without it, 16 MiB of 100-byte records held 186 MiB (issue 15).
const RECORD_OVERHEAD: usize = 256;

/// How long a partition the producer does not know yet may take to appear (a remote topic
/// just grown) before the record counts as refused (the remote topic was deleted).
const UNKNOWN_PARTITION_LIMIT: Duration = Duration::from_secs(30);

/// Replicates `msg` and says how many bytes are in flight after it. A record the producer
/// refuses for good blocks its partition, as a refusal by the target does; only a producer
/// that stays full fails the flow.
pub(super) fn replicate(
    shared: &Shared,
    consumer: &BaseConsumer<RebalanceContext>,
    msg: &BorrowedMessage<'_>,
) -> Result<u64, crate::source::SourceError> {
    let offset = msg.offset();
    let key = msg.key();
    let payload = msg.payload();
    let size = key.map_or(0, <[u8]>::len) + payload.map_or(0, <[u8]>::len) + RECORD_OVERHEAD;
    let (slot, remote, continuity, inflight) = loop {
        let mut t = lock(&shared.tracker);
        let Some(id) = t.slot_of(msg.topic(), msg.partition()) else {
            // A record fetched before its partition was revoked; its new owner replicates it.
            return Ok(t.inflight_bytes);
        };
        let Some(s) = t.slot(id) else {
            return Ok(t.inflight_bytes);
        };
        if !s.accepts_records() {
            // Fetched before the partition was paused at a refused record; the retry reads
            // it again.
            return Ok(t.inflight_bytes);
        }
        if let Some(txns) = &shared.txns
            && retry_reaches_refused_record(s, offset)
            && t.open_transaction(id).is_some()
        {
            // Exactly-once: commit what the retry resent before the refused record, so those
            // records are not held back with it if it is refused again. The transaction is
            // then empty, so this happens once.
            drop(t);
            txns.settle(shared, consumer, Which::Now(&[id]), false, COMMIT_TIMEOUT)?;
            continue;
        }
        let remote = s.remote_topic.clone();
        let continuity = t.on_fetch(id, offset);
        t.on_send(id, offset, u32::try_from(size).unwrap_or(u32::MAX));
        break (id, remote, continuity, t.inflight_bytes);
    };
    if continuity != Continuity::InOrder {
        report_discontinuity(shared, consumer, msg, &remote, continuity);
    }
    shared.status.polled(
        slot,
        payload.map_or(0, <[u8]>::len),
        msg.timestamp().to_millis(),
    );
    if let Some(writer) = &shared.wire {
        // librdkafka stamps a record without a timestamp with the time it is produced.
        let timestamp = msg
            .timestamp()
            .to_millis()
            .unwrap_or_else(crate::status::checkpoint::now_ms);
        let queued = writer.send(
            &remote,
            msg.partition(),
            key,
            payload,
            super::wire::headers(msg),
            timestamp,
            offset,
        );
        if let Err(e) = queued {
            lock(&shared.tracker).on_send_refused(slot);
            return Err(crate::source::SourceError::Produce {
                topic: remote.to_string(),
                partition: msg.partition(),
                detail: e.to_string(),
            });
        }
        return Ok(inflight);
    }
    let Ok(remote_c) = CString::new(remote.as_bytes()) else {
        // No such name reaches here (topic names are checked when chosen and renamed); were
        // one to, it is refused like a record the target refuses.
        let reason = format!("the remote topic name {remote:?} contains a NUL byte");
        refuse(shared, slot, offset, reason);
        return Ok(inflight);
    };
    let mut record = Outgoing::take_from(msg, &remote_c, msg.partition(), opaque(offset));
    // Set at the first refusal only: reading the clock per record shows in profiles.
    let mut since: Option<Instant> = None;
    loop {
        let Some(sent) = shared.with_producer(slot, |p| record.send(p.client())) else {
            lock(&shared.tracker).on_send_refused(slot);
            return Err(crate::source::SourceError::Produce {
                topic: remote.to_string(),
                partition: msg.partition(),
                detail: "no producer for this partition (its transactions never started)"
                    .to_owned(),
            });
        };
        let Err(code) = sent else {
            if let Some(victim) = shared
                .faults
                .as_ref()
                .and_then(|f| f.due(msg.topic(), msg.partition(), offset))
            {
                fail_producer_on_purpose(shared, slot, victim, msg);
            }
            return Ok(inflight);
        };
        if code == RDKafkaErrorCode::Fatal {
            // The producer failed for good, not the record: it stays unacknowledged in its
            // partition's open transaction, which the producer's replacement drops to read the
            // partition again from committed progress (exactly-once), or holds progress until
            // the flow stops (at-least-once). Its error event may still be on its way.
            shared.producer_errored.store(true, Ordering::Release);
            return Ok(inflight);
        }
        let e = KafkaError::MessageProduction(code);
        let waited = since.get_or_insert_with(Instant::now).elapsed();
        let passes = matches!(
            code,
            RDKafkaErrorCode::QueueFull | RDKafkaErrorCode::UnknownPartition
        );
        let unknown_for_long =
            code == RDKafkaErrorCode::UnknownPartition && waited > UNKNOWN_PARTITION_LIMIT;
        // Earlier records of this partition still unreported were queued before the producer
        // knew the topic, and fail with this same error once it learns the partition count:
        // this one, sent after waiting for the partition, would land before them.
        let behind_refused =
            code == RDKafkaErrorCode::UnknownPartition && earlier_unreported(shared, slot);
        if !passes || unknown_for_long || behind_refused {
            // Refused for good (unknown topic, record too large, ...): the same as a refusal
            // by the target.
            refuse(shared, slot, offset, delivery::explain_refusal(&e, msg));
            return Ok(inflight);
        }
        if waited > QUEUE_FULL_LIMIT {
            lock(&shared.tracker).on_send_refused(slot);
            return Err(crate::source::SourceError::Produce {
                topic: remote.to_string(),
                partition: msg.partition(),
                detail: format!("the producer's queue stayed full for {QUEUE_FULL_LIMIT:?}: {e}"),
            });
        }
        if code == RDKafkaErrorCode::UnknownPartition {
            // The remote topic was just grown: refresh the producer's metadata.
            let _ = shared.with_producer(slot, |p| {
                p.client()
                    .fetch_metadata(Some(&remote), Duration::from_secs(5))
            });
        }
        // The producer's queue is full: its thread drains it as acknowledgements come.
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `STRAIT_TEST_FAIL_PRODUCER`: librdkafka gives up on `victim`, the producer that just took
/// `msg` or one of the auxiliary producers.
fn fail_producer_on_purpose(
    shared: &Shared,
    slot: SlotId,
    victim: Victim,
    msg: &BorrowedMessage<'_>,
) {
    let reason = format!(
        "{VAR} asked for it at {}-{} offset {}",
        msg.topic(),
        msg.partition(),
        msg.offset()
    );
    tracing::warn!(?victim, %reason, "failing a producer on purpose");
    match victim {
        Victim::Replication => {
            shared.with_producer(slot, |p| raise_fatal_error(p.client(), CODE, &reason));
        }
        Victim::Progress => {
            raise_fatal_error(shared.progress.producer().client(), CODE, &reason);
        }
        Victim::OffsetSyncs => {
            if let Some(os) = &shared.offset_syncs {
                raise_fatal_error(os.producer.client(), CODE, &reason);
            }
        }
    }
}

/// A record refused before it reached the target: recorded as a refusal by the target would
/// be, so its partition blocks and retries the same way.
pub(super) fn refuse(shared: &Shared, slot: SlotId, offset: i64, reason: String) {
    lock(&shared.tracker).on_delivery(slot, offset, Err(reason));
    shared.status.rejected(slot);
}

/// Whether records sent before the last one of slot `slot` still wait for their reports.
fn earlier_unreported(shared: &Shared, slot: SlotId) -> bool {
    lock(&shared.tracker)
        .slot(slot)
        .is_some_and(|s| s.unreported() > 1)
}

/// Whether `offset` is the refused record a retry of its partition is about to resend.
fn retry_reaches_refused_record(s: &PartitionSlot, offset: i64) -> bool {
    s.blocked
        .as_ref()
        .is_some_and(|b| b.state == RetryState::Retrying && b.offset == offset)
}

/// A fetched record that does not follow the previous one: find out whether records were
/// deleted on the source before they could be read, and say so.
fn report_discontinuity(
    shared: &Shared,
    consumer: &BaseConsumer<RebalanceContext>,
    msg: &BorrowedMessage<'_>,
    remote: &str,
    continuity: Continuity,
) {
    let (topic, partition) = (msg.topic(), msg.partition());
    note_discontinuity(
        shared,
        topic,
        remote,
        partition,
        msg.offset(),
        continuity,
        || {
            // The consumer's cached log start comes with every fetch, so asking costs nothing.
            let cached = crate::kafka::ffi::cached_watermarks(consumer.client(), topic, partition);
            match cached {
                Some((low, _)) if low >= 0 => Some(low),
                _ => consumer
                    .fetch_watermarks(topic, partition, Duration::from_secs(5))
                    .ok()
                    .map(|(low, _)| low),
            }
        },
    );
}

/// Record `offset` of `topic`-`partition` does not follow the one before (`continuity`):
/// a gap is reported as records deleted unread only when the log start (`log_start`, asked
/// only for a gap) is past the offset expected, and a step back is reported as the partition
/// recreated or truncated.
pub(super) fn note_discontinuity(
    shared: &Shared,
    topic: &str,
    remote: &str,
    partition: i32,
    offset: i64,
    continuity: Continuity,
    log_start: impl FnOnce() -> Option<i64>,
) {
    match continuity {
        Continuity::InOrder => {}
        Continuity::Gap { expected } => {
            // Gaps are normal (compaction, transaction markers, aborted records); only a log
            // start past the expected offset means records were deleted unread.
            let Some(log_start) = log_start().filter(|low| *low > expected) else {
                return;
            };
            let last = log_start.min(offset) - 1;
            tracing::warn!(
                %topic, partition, first = expected, last, records = last - expected + 1,
                log_start,
                "records deleted on the source before they were replicated (retention or \
                 delete-records ran while they were unread): source offsets {expected}..={last} \
                 are not on the target"
            );
            shared
                .status
                .records_expired(topic, remote, partition, expected, last);
        }
        Continuity::Backwards { expected } => {
            tracing::warn!(
                %topic, partition, expected, got = offset,
                "the source partition went back from offset {expected} to {offset}: it was \
                 deleted and recreated, or truncated; replicating it from {offset}"
            );
            shared.status.error(
                Component::Source,
                &format_args!(
                    "source partition {topic}-{partition} went back from offset {expected} to \
                     {offset} (recreated or truncated)"
                ),
            );
        }
    }
}
