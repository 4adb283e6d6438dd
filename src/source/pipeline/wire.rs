//! Strait's own target writer in the pipeline (`strait.target.writer=wire`): records are
//! queued on a [`Sender`] instead of librdkafka's producers, and its outcomes feed the
//! tracker as delivery reports do.

use std::sync::{Arc, Mutex};

use rdkafka::message::BorrowedMessage;

use crate::config::ClusterConnection;
use crate::kafka::ffi::MessageHeaders;
use crate::kafka::writer::{Deliver, SenderSettings, WriterError};
use crate::source::tracker::Tracker;
use crate::status::FlowStatus;

use super::delivery::Room;
use super::lock;
use super::offset_syncs::OffsetSyncTarget;

/// Where and how the writer writes.
#[derive(Debug, Clone)]
pub struct WireWriterSettings {
    /// The target cluster.
    pub target: ClusterConnection,
    /// Batching, retries and the producer's settings.
    pub sender: SenderSettings,
}

/// The writer's outcomes feed the tracker, one lock per batch.
pub(super) struct WireDeliveries {
    pub(super) tracker: Arc<Mutex<Tracker>>,
    pub(super) offset_syncs: Option<Arc<OffsetSyncTarget>>,
    pub(super) status: Arc<FlowStatus>,
    pub(super) room: Arc<Room>,
}

impl Deliver for WireDeliveries {
    fn delivered(
        &self,
        topic: &str,
        partition: i32,
        records: &[(i64, i64)],
        outcome: Result<i64, &WriterError>,
    ) {
        let mut t = lock(&self.tracker);
        let Some(slot) = t.slot_of_remote(topic, partition) else {
            // The partition was handed over before its outcome came; the new owner replays it.
            return;
        };
        let full = t.inflight_bytes >= self.room.budget;
        match outcome {
            Ok(base) => {
                for (i, (upstream, timestamp)) in records.iter().enumerate() {
                    let offset = base.saturating_add(i64::try_from(i).unwrap_or(i64::MAX));
                    t.on_delivery(slot, *upstream, Ok(offset));
                    super::report::acked(&self.status, &t, slot, Some(*timestamp));
                }
            }
            Err(e) => {
                let reason = explain(e);
                for (upstream, _) in records {
                    t.on_delivery(slot, *upstream, Err(reason.clone()));
                    self.status.rejected(slot);
                }
            }
        }
        if full && t.inflight_bytes < self.room.budget {
            self.room.freed.notify_all();
        }
        if let Some(os) = &self.offset_syncs {
            os.send_pending(&mut t);
        }
    }
}

/// The writer's error, with what it means for a replicated record where that is not obvious
/// (the same hints as librdkafka's refusals get in `delivery.rs`).
fn explain(e: &WriterError) -> String {
    // The writer's errors name a broker, not the cluster it belongs to.
    let text = match e {
        WriterError::Partition { .. } => e.to_string(),
        _ => format!("on the target: {e}"),
    };
    let hint = match e.code() {
        Some(10 | 18) => {
            "the batch or record is larger than the remote topic or the target broker accepts \
             (max.message.bytes / message.max.bytes); batches for the partition are made \
             smaller, down to one record, so a record too large on its own stays refused"
        }
        Some(29) => {
            "writing is denied by the target's ACLs (the user needs Write on the remote topic)"
        }
        Some(3) => "the remote topic or partition does not exist on the target (deleted?)",
        Some(44 | 87) => "the target's policy refused the record",
        _ => return text,
    };
    format!("{text}: {hint}")
}

/// The record's headers in order, as the writer takes them: names as bytes, so a name that is
/// not UTF-8 is replicated as it is.
pub(super) fn headers<'m>(
    msg: &'m BorrowedMessage<'_>,
) -> impl ExactSizeIterator<Item = (&'m [u8], Option<&'m [u8]>)> + Clone {
    let headers = MessageHeaders::of(msg);
    // Every index below the count holds a header.
    (0..headers.len()).map(move |i| headers.get(i).unwrap_or((&b""[..], None)))
}
