//! Which fetched batches a `read_committed` consumer sees: not transaction markers, and not
//! batches of transactions that were aborted.
//!
//! A fetch response lists, per partition, the aborted transactions that overlap what it
//! returns (producer id and first offset). Going through the batches in order, a producer
//! joins the aborted set once its aborted transaction's first offset is reached, and leaves it
//! at its abort marker; its transactional batches in between are dropped. This is how Kafka's
//! own consumer reads them (`CompletedFetch`), per response.

use std::collections::HashSet;

use crate::kafka::record_batch::RawBatch;

/// The aborted transactions of one partition of one fetch response, applied in order.
#[derive(Debug, Clone, Default)]
pub struct ReadCommitted {
    /// (first offset, producer id), latest first, so the next due is popped from the end.
    pending: Vec<(i64, i64)>,
    aborted: HashSet<i64>,
}

impl ReadCommitted {
    /// From the response's aborted transactions, as (producer id, first offset) pairs.
    pub fn new(aborted: impl IntoIterator<Item = (i64, i64)>) -> Self {
        let mut pending: Vec<(i64, i64)> = aborted
            .into_iter()
            .map(|(producer, first)| (first, producer))
            .collect();
        pending.sort_unstable_by(|a, b| b.cmp(a));
        Self {
            pending,
            aborted: HashSet::new(),
        }
    }

    /// Whether `batch`, the next one of the partition in offset order, holds records to
    /// deliver. Markers and aborted batches do not; every batch must be passed through
    /// here, in order, for the markers to be seen.
    pub fn keep(&mut self, batch: &RawBatch) -> bool {
        if batch.producer_id >= 0 {
            while let Some(&(first, producer)) = self.pending.last() {
                if first > batch.last_offset() {
                    break;
                }
                self.aborted.insert(producer);
                self.pending.pop();
            }
            if batch.is_control() {
                if batch.is_abort_marker() {
                    self.aborted.remove(&batch.producer_id);
                }
                return false;
            }
            if batch.is_transactional() && self.aborted.contains(&batch.producer_id) {
                return false;
            }
        }
        !batch.is_control()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::kafka::record_batch::test_batches::{batch, marker};
    use crate::kafka::record_batch::{TRANSACTIONAL, split};
    use crate::kafka::writer::Codec;

    fn raw(b: bytes::Bytes) -> RawBatch {
        split(&b).unwrap().batches.remove(0)
    }

    #[test]
    fn aborted_batches_and_markers_are_left_out_in_offset_order() {
        let (p1, p2, plain) = (11, 12, -1);
        let batches = [
            raw(batch(
                0,
                p1,
                Codec::Lz4,
                TRANSACTIONAL,
                &[(b"a", b"x"), (b"b", b"x")],
            )), // aborted
            raw(batch(2, p2, Codec::Lz4, TRANSACTIONAL, &[(b"c", b"x")])), // committed
            raw(batch(3, plain, Codec::Lz4, 0, &[(b"d", b"x")])),          // no transaction
            raw(marker(4, p1, true)),
            raw(marker(5, p2, false)),
            raw(batch(6, p1, Codec::Lz4, TRANSACTIONAL, &[(b"e", b"x")])), // a later transaction
            raw(batch(7, p2, Codec::Lz4, TRANSACTIONAL, &[(b"f", b"x")])), // aborted again
            raw(marker(8, p2, true)),
        ];
        let mut filter = ReadCommitted::new([(p1, 0), (p2, 7)]);
        let kept: Vec<i64> = batches
            .iter()
            .filter(|b| filter.keep(b))
            .map(|b| b.base_offset)
            .collect();
        assert_eq!(kept, vec![2, 3, 6]);
    }

    #[test]
    fn with_no_aborted_transactions_only_markers_are_left_out() {
        let mut filter = ReadCommitted::new([]);
        assert!(filter.keep(&raw(batch(
            0,
            3,
            Codec::None,
            TRANSACTIONAL,
            &[(b"a", b"x")]
        ))));
        assert!(!filter.keep(&raw(marker(1, 3, false))));
    }
}
