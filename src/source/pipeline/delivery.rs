//! The replication producers' context: delivery reports feed the tracker.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use rdkafka::Message;
use rdkafka::client::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryResult, ProducerContext};

use crate::kafka::stats::StatsSink;
use crate::source::tracker::Tracker;
use crate::status::{Component, FlowStatus};

use super::lock;
use super::offset_syncs::OffsetSyncTarget;

/// What every record carries through librdkafka: its source offset. The partition's slot is
/// found from the remote topic and partition the report names.
pub(super) type Opaque = usize;

/// The source offset as a delivery opaque (source offsets are never negative).
pub(super) fn opaque(offset: i64) -> Opaque {
    usize::try_from(offset).unwrap_or(0)
}

/// Wakes the replication loop, waiting on the tracker's lock, when acknowledgements bring the
/// bytes in flight back under the budget: no polling sleep between a full budget and reading
/// again.
pub(super) struct Room {
    pub(super) freed: Condvar,
    pub(super) budget: u64,
}

/// Delivery reports of replicated records feed the tracker.
pub(super) struct ReplicationProducerContext {
    pub(super) tracker: Arc<Mutex<Tracker>>,
    pub(super) offset_syncs: Option<Arc<OffsetSyncTarget>>,
    pub(super) status: Arc<FlowStatus>,
    pub(super) stats: Option<StatsSink>,
    /// Set on every error the producer reports. A fatal one comes with the code of its cause
    /// (rdkafka hands events on as librdkafka translates them), not as `Fatal`, so the loop
    /// asks the producers whether one is: [`rdkafka::client::Client::fatal_error`].
    pub(super) errored: Arc<AtomicBool>,
    pub(super) room: Arc<Room>,
}

impl ClientContext for ReplicationProducerContext {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(%error, reason, "target producer");
        self.errored.store(true, Ordering::Release);
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
    type DeliveryOpaque = Opaque;

    fn delivery(&self, result: &DeliveryResult<'_>, upstream: Opaque) {
        let upstream = i64::try_from(upstream).unwrap_or(i64::MAX);
        if let Err((e, _)) = result
            && purged(e)
        {
            // Purged by an abort of Strait's own (or a producer dropped at shutdown), not
            // refused by the target: the abort forgets the transaction's records and reads
            // them again. Counted as a refusal, it moved a partition blocked at a refused record
            // back to the transaction's first record, so its retry never committed the records
            // before the refused one (tests/exactly_once.rs, 2 runs in 8).
            return;
        }
        let mut t = lock(&self.tracker);
        let (message, outcome) = match result {
            Ok(m) => (m, Ok(m.offset())),
            Err((e, m)) => (m, Err(explain_refusal(e, m))),
        };
        let Some(slot) = t.slot_of_remote(message.topic(), message.partition()) else {
            // The partition was handed over before its report came; the new owner replays it.
            return;
        };
        let rejected = outcome.is_err();
        let full = t.inflight_bytes >= self.room.budget;
        t.on_delivery(slot, upstream, outcome);
        if full && t.inflight_bytes < self.room.budget {
            // Only on crossing: a wake-up per report would cost a system call per record.
            self.room.freed.notify_all();
        }
        if rejected {
            self.status.rejected(slot);
        } else {
            super::report::acked(&self.status, &t, slot, message.timestamp().to_millis());
        }
        if let Some(os) = &self.offset_syncs {
            os.send_pending(&mut t);
        }
    }
}

/// Whether a delivery error is librdkafka purging the record (an aborted transaction, a
/// producer dropped), rather than a failure to write it.
fn purged(e: &KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(RDKafkaErrorCode::PurgeQueue | RDKafkaErrorCode::PurgeInflight)
    )
}

/// librdkafka's error, with what it means for a replicated record where that is not obvious.
pub(super) fn explain_refusal(e: &KafkaError, m: &impl Message) -> String {
    let bytes = m.key().map_or(0, <[u8]>::len) + m.payload().map_or(0, <[u8]>::len);
    let hint = match e.rdkafka_error_code() {
        Some(RDKafkaErrorCode::MessageSizeTooLarge) => format!(
            "the record ({bytes} bytes) is larger than the remote topic or the target broker \
             accepts (max.message.bytes / message.max.bytes)"
        ),
        Some(RDKafkaErrorCode::TopicAuthorizationFailed) => {
            "writing is denied by the target's ACLs (the user needs Write on the remote topic)"
                .to_owned()
        }
        Some(
            RDKafkaErrorCode::UnknownTopic
            | RDKafkaErrorCode::UnknownPartition
            | RDKafkaErrorCode::UnknownTopicOrPartition,
        ) => "the remote topic or partition does not exist on the target (deleted?)".to_owned(),
        Some(RDKafkaErrorCode::MessageTimedOut) => {
            "not acknowledged within the delivery timeout (target unreachable or too slow)"
                .to_owned()
        }
        Some(RDKafkaErrorCode::PolicyViolation | RDKafkaErrorCode::InvalidRecord) => {
            "the target's policy refused the record".to_owned()
        }
        _ => return e.to_string(),
    };
    format!("{e}: {hint}")
}
