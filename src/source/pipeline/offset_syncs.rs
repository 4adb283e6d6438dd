//! Publishing offset syncs (MM2's `mm2-offset-syncs.<alias>.internal`) from the delivery path.

use std::sync::atomic::{AtomicU64, Ordering};

use rdkafka::producer::{BaseRecord, Producer};

use crate::kafka::CountingContext;
use crate::kafka::polled_producer::PolledProducer;
use crate::source::tracker::Tracker;
use crate::wire::OffsetSync;

/// MM2 keeps at most this many offset syncs unacknowledged.
const MAX_OUTSTANDING_OFFSET_SYNCS: u64 = 10;

/// Where offset syncs go: a producer on the right cluster and the topic name.
pub struct OffsetSyncTarget {
    /// The producer (source or target cluster, per `offset-syncs.topic.location`). It must be
    /// idempotent: a retried sync overtaken by a newer one would look like an upstream rewind
    /// to every reader's `OffsetSyncStore` and wipe its translation history.
    pub producer: PolledProducer<CountingContext>,
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

impl OffsetSyncTarget {
    /// Offset syncs to `topic` through `producer`.
    pub fn new(producer: PolledProducer<CountingContext>, topic: String) -> Self {
        Self {
            producer,
            topic,
            sent: AtomicU64::new(0),
        }
    }

    /// Offset syncs handed to the producer and not yet reported on.
    pub(super) fn outstanding(&self) -> u64 {
        let ctx = self.producer.context();
        self.sent
            .load(Ordering::Acquire)
            .saturating_sub(ctx.acked() + ctx.failed())
    }

    /// Sends pending offset syncs, keeping at most MM2's limit unacknowledged. Called from the
    /// delivery callback right after an urgent sync is queued, as MM2 does after each
    /// acknowledged record, so a burst of acknowledgements does not collapse into one sync.
    pub(super) fn send_pending(&self, tracker: &mut Tracker) {
        if tracker.offset_syncs.pending_len() == 0 {
            return;
        }
        let outstanding = self.outstanding();
        if outstanding >= MAX_OUTSTANDING_OFFSET_SYNCS {
            return;
        }
        let pending = tracker
            .offset_syncs
            .take_pending_with_runs((MAX_OUTSTANDING_OFFSET_SYNCS - outstanding) as usize);
        for with_run in pending {
            // Strait's exact-translation claim rides in a header, which MM2's readers ignore.
            let run = crate::wire::run_start::RunStart::from(with_run.run_start).encode();
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
                .headers(crate::wire::run_start::run_start_headers(&run));
            match self.producer.send(record) {
                Ok(()) => {
                    self.sent.fetch_add(1, Ordering::AcqRel);
                }
                Err((e, _)) => tracing::warn!(error = %e, "offset sync not sent"),
            }
        }
    }
}
