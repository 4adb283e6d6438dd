//! A fetched batch written to the target as it came: compressed batch passthrough (issue 15).
//!
//! Re-encoding a replicated batch costs its decompression and, above all, its compression
//! again (a fifth of a catch-up's CPU with LZ4). A batch that would come out the same can be
//! sent as it is, with only what belongs to the writer rewritten: the producer id, epoch and
//! base sequence (Strait's idempotent producer), the transactional flag (Strait writes
//! outside transactions), and the base offset and leader epoch, which the target broker sets
//! and wants from a client as 0 and -1. The CRC-32C
//! covers the rewritten fields, so it is computed again; the records' part of it is computed
//! once, when the batch is taken, and checked against the source's CRC at the same time.
//!
//! What cannot pass, and is re-encoded record by record instead ([`NotPassable`]):
//! transaction markers; batches whose timestamps are the source broker's append time (the
//! records would keep the producer's create times, where MM2 writes the append time); batches
//! with gaps in their offsets (compacted: the target broker would renumber and recompress
//! them); batches carrying a compaction delete horizon; batches in a codec other than the
//! writer's `compression.type`; batches with records lacking a timestamp, as far as the header
//! shows (a batch whose first and largest timestamps are set may still hold a record at -1,
//! which the target broker then keeps as -1 where MM2 would stamp it); and batches starting
//! before the position read from.

use bytes::{BufMut, Bytes, BytesMut};

use super::batch::{Codec, Producer};
use crate::kafka::record_batch::{
    ATTRIBUTES_AT, CRC_AT, CRC_START, LEADER_EPOCH_AT, LENGTH_AT, LOG_APPEND_TIME, PRODUCER_ID_AT,
    RawBatch, TRANSACTIONAL, split,
};

/// Set when a compacted batch's base timestamp holds its delete horizon.
const DELETE_HORIZON: i16 = 0x40;
/// Where the part of the CRC'd bytes that passthrough never changes starts (the record
/// count, then the records).
const UNCHANGED_FROM: usize = 57;

/// Why a fetched batch is re-encoded rather than written as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotPassable {
    /// A transaction marker: never replicated.
    #[error("a transaction marker")]
    Control,
    /// Timestamps are the source broker's append time.
    #[error("its timestamps are the source's log append time")]
    LogAppendTime,
    /// Its offsets have gaps (compaction removed records).
    #[error("its offsets have gaps ({records} records over {span} offsets)")]
    Gaps {
        /// Records held.
        records: i32,
        /// Offsets spanned.
        span: i64,
    },
    /// Compaction set a delete horizon in it.
    #[error("it carries a compaction delete horizon")]
    DeleteHorizon,
    /// Compressed otherwise than the writer compresses.
    #[error("its codec (id {batch}) is not the writer's ({writer})")]
    Codec {
        /// The batch's codec id.
        batch: i16,
        /// The writer's codec.
        writer: &'static str,
    },
    /// Its CRC-32C does not match its bytes, or they are too short for a batch: corrupted on
    /// the way or on the source.
    #[error("its CRC-32C does not match its bytes")]
    Corrupt,
    /// It starts before the position read from: its first records were replicated already.
    #[error("it starts at offset {base_offset}, before the position {position}")]
    BeforePosition {
        /// The batch's base offset.
        base_offset: i64,
        /// The next offset to replicate.
        position: i64,
    },
    /// Records without a timestamp (-1): MM2's producer stamps them with the time they are
    /// written, which only re-encoding can do.
    #[error("records in it have no timestamp")]
    NoTimestamp,
}

/// A fetched batch checked for passthrough, ready to be sealed for the target.
#[derive(Debug, Clone)]
pub struct PassedBatch {
    bytes: Bytes,
    codec: Codec,
    records: usize,
    /// CRC-32C of the bytes from [`UNCHANGED_FROM`] on.
    tail_crc: u32,
}

impl PassedBatch {
    /// Takes `batch`, read from `position` on, for a writer that compresses with `codec`, or
    /// says why it cannot be written as it is. Only the batch's bytes are trusted, not the
    /// fields read from them.
    pub fn new(batch: &RawBatch, position: i64, codec: Codec) -> Result<Self, NotPassable> {
        let b = &batch.bytes;
        // Read again from the bytes, which are what `seal` sends: exactly one whole batch.
        let batch = match split(b) {
            Ok(mut set) if set.batches.len() == 1 && set.truncated == 0 => set.batches.remove(0),
            _ => return Err(NotPassable::Corrupt),
        };
        let attributes = batch.attributes;
        if batch.base_offset < position {
            return Err(NotPassable::BeforePosition {
                base_offset: batch.base_offset,
                position,
            });
        }
        if batch.is_control() {
            return Err(NotPassable::Control);
        }
        if attributes & LOG_APPEND_TIME != 0 {
            return Err(NotPassable::LogAppendTime);
        }
        if attributes & DELETE_HORIZON != 0 {
            return Err(NotPassable::DeleteHorizon);
        }
        if !batch.is_dense() || batch.record_count < 1 {
            return Err(NotPassable::Gaps {
                records: batch.record_count,
                span: i64::from(batch.last_offset_delta) + 1,
            });
        }
        if batch.base_timestamp < 0 || batch.max_timestamp < 0 {
            return Err(NotPassable::NoTimestamp);
        }
        if batch.codec_id() != codec.attribute() {
            return Err(NotPassable::Codec {
                batch: batch.codec_id(),
                writer: codec.name(),
            });
        }
        let tail = &b[UNCHANGED_FROM..];
        let tail_crc = crc32c::crc32c(tail);
        let whole = crc32c::crc32c_combine(
            crc32c::crc32c(&b[CRC_START..UNCHANGED_FROM]),
            tail_crc,
            tail.len(),
        );
        if whole.to_be_bytes() != b[CRC_AT..CRC_AT + 4] {
            return Err(NotPassable::Corrupt);
        }
        Ok(Self {
            bytes: b.clone(),
            codec,
            records: usize::try_from(batch.record_count).unwrap_or(0),
            tail_crc,
        })
    }

    /// The same batch with its bytes copied out of the fetch answer they share: a small
    /// batch waiting for a slow partition would otherwise hold the whole answer's memory.
    #[must_use]
    pub fn detached(self) -> Self {
        Self {
            bytes: Bytes::copy_from_slice(&self.bytes),
            ..self
        }
    }

    /// The records it holds.
    pub fn len(&self) -> usize {
        self.records
    }

    /// Whether it holds no records (never: such a batch does not pass).
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// Its size in bytes.
    pub fn size(&self) -> usize {
        self.bytes.len()
    }

    /// The codec it was checked for: only a writer compressing so may send it.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// The batch as `producer` writes it: a copy with the producer fields, the attributes
    /// and the CRC rewritten, every record byte as fetched.
    pub fn seal(&self, producer: Producer) -> Bytes {
        let b = &self.bytes;
        let mut out = BytesMut::with_capacity(b.len());
        // Brokers refuse a client's batch whose base offset is not 0; the leader epoch is
        // theirs to set. The magic and CRC follow, the CRC rewritten below.
        out.put_i64(0);
        out.put_slice(&b[LENGTH_AT..LEADER_EPOCH_AT]);
        out.put_i32(-1);
        out.put_slice(&b[LEADER_EPOCH_AT + 4..ATTRIBUTES_AT]);
        let attributes = i16::from_be_bytes([b[ATTRIBUTES_AT], b[ATTRIBUTES_AT + 1]]);
        out.put_i16(attributes & !TRANSACTIONAL);
        out.put_slice(&b[ATTRIBUTES_AT + 2..PRODUCER_ID_AT]);
        out.put_i64(producer.id);
        out.put_i16(producer.epoch);
        out.put_i32(producer.base_sequence);
        out.put_slice(&b[UNCHANGED_FROM..]);
        let crc = crc32c::crc32c_combine(
            crc32c::crc32c(&out[CRC_START..UNCHANGED_FROM]),
            self.tail_crc,
            b.len() - UNCHANGED_FROM,
        );
        out[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
        out.freeze()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use bytes::BytesMut;

    use super::*;
    use crate::kafka::record_batch::test_batches::{batch, fix_crc, marker, records_of};
    use crate::kafka::record_batch::{CONTROL, split};

    const PRODUCER: Producer = Producer {
        id: 4242,
        epoch: 1,
        base_sequence: 100,
    };

    fn raw(b: &bytes::Bytes) -> RawBatch {
        split(b).unwrap().batches.remove(0)
    }

    /// What the writer itself seals for the same records.
    fn encoded(codec: Codec, records: &[(&[u8], &[u8])]) -> bytes::Bytes {
        let r = records_of(records);
        r.seal(codec, PRODUCER, "t", 0).unwrap()
    }

    #[test]
    fn a_passed_batch_is_sealed_as_the_writer_seals_the_same_records() {
        let records: [(&[u8], &[u8]); 3] = [(b"k1", b"one"), (b"k2", b"two"), (b"k3", b"three")];
        for codec in Codec::ALL {
            for extra in [0, TRANSACTIONAL] {
                let fetched = batch(5_000, 77, codec, extra, &records);
                let passed = PassedBatch::new(&raw(&fetched), 5_000, codec).unwrap();
                assert_eq!(passed.len(), 3);
                assert_eq!(passed.size(), fetched.len());
                let sealed = passed.seal(PRODUCER);
                let want = encoded(codec, &records);
                assert_eq!(&sealed[..], &want[..], "{codec:?}, attributes +{extra}");
                assert!(raw(&sealed).crc_ok());
            }
        }
    }

    #[test]
    fn batches_that_would_not_come_out_the_same_do_not_pass() {
        let r: [(&[u8], &[u8]); 1] = [(b"k", b"v")];
        let lz4 = |extra| raw(&batch(0, 1, Codec::Lz4, extra, &r));
        assert_eq!(
            PassedBatch::new(&lz4(0), 0, Codec::Zstd).unwrap_err(),
            NotPassable::Codec {
                batch: 3,
                writer: "zstd"
            }
        );
        assert_eq!(
            PassedBatch::new(&lz4(LOG_APPEND_TIME), 0, Codec::Lz4).unwrap_err(),
            NotPassable::LogAppendTime
        );
        assert_eq!(
            PassedBatch::new(&lz4(DELETE_HORIZON), 0, Codec::Lz4).unwrap_err(),
            NotPassable::DeleteHorizon
        );
        assert_eq!(
            PassedBatch::new(&lz4(CONTROL), 0, Codec::Lz4).unwrap_err(),
            NotPassable::Control
        );
        assert_eq!(
            PassedBatch::new(&raw(&marker(3, 1, true)), 0, Codec::None).unwrap_err(),
            NotPassable::Control
        );

        // Compacted: two records left of offsets 0..=2.
        let two: [(&[u8], &[u8]); 2] = [(b"a", b"1"), (b"b", b"2")];
        let mut gaps = BytesMut::from(&batch(0, 1, Codec::None, 0, &two)[..]);
        gaps[23..27].copy_from_slice(&2i32.to_be_bytes());
        fix_crc(&mut gaps);
        assert_eq!(
            PassedBatch::new(&raw(&gaps.freeze()), 0, Codec::None).unwrap_err(),
            NotPassable::Gaps {
                records: 2,
                span: 3
            }
        );

        let mut corrupt = BytesMut::from(&batch(0, 1, Codec::Lz4, 0, &r)[..]);
        let last = corrupt.len() - 2;
        corrupt[last] ^= 0x10;
        assert_eq!(
            PassedBatch::new(&raw(&corrupt.freeze()), 0, Codec::Lz4).unwrap_err(),
            NotPassable::Corrupt
        );
    }

    #[test]
    fn a_batch_from_before_the_position_or_without_timestamps_does_not_pass() {
        let r: [(&[u8], &[u8]); 2] = [(b"k", b"v"), (b"k2", b"v2")];
        let at_10 = raw(&batch(10, 1, Codec::Lz4, 0, &r));
        assert!(PassedBatch::new(&at_10, 10, Codec::Lz4).is_ok());
        assert_eq!(
            PassedBatch::new(&at_10, 11, Codec::Lz4).unwrap_err(),
            NotPassable::BeforePosition {
                base_offset: 10,
                position: 11
            }
        );
        let mut none = BytesMut::from(&batch(0, 1, Codec::Lz4, 0, &r)[..]);
        none[27..35].copy_from_slice(&(-1i64).to_be_bytes());
        fix_crc(&mut none);
        assert_eq!(
            PassedBatch::new(&raw(&none.freeze()), 0, Codec::Lz4).unwrap_err(),
            NotPassable::NoTimestamp
        );
    }

    #[test]
    fn fields_that_disagree_with_the_bytes_are_not_trusted() {
        let r: [(&[u8], &[u8]); 1] = [(b"k", b"v")];
        let mut b = raw(&batch(0, 1, Codec::Lz4, 0, &r));
        b.attributes = 0; // claims uncompressed; the bytes say lz4
        assert_eq!(
            PassedBatch::new(&b, 0, Codec::None).unwrap_err(),
            NotPassable::Codec {
                batch: 3,
                writer: "none"
            }
        );
        b.bytes = b.bytes.slice(..40);
        assert_eq!(
            PassedBatch::new(&b, 0, Codec::None).unwrap_err(),
            NotPassable::Corrupt
        );
    }
}
