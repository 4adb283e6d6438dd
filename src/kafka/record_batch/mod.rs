//! Kafka's record batch format v2 (magic 2) as it comes in a fetch response: where each
//! header field is, and a record set split into its batches without copying or decompressing.
//!
//! The writer (`writer/batch.rs`) builds batches in the same layout; a batch read here can be
//! written to the target again as it is, with its producer fields rewritten
//! (`writer/passthrough.rs`), which is what compressed batch passthrough is (issue 15).

use bytes::Bytes;

pub mod decode;

pub use decode::{DecodeError, Decoded, Record, decode};

/// Bytes of a batch's header before its records.
pub const HEADER_SIZE: usize = 61;
/// Where the batch length is, and the bytes it does not count (base offset and itself).
pub const LENGTH_AT: usize = 8;
/// The bytes before the part the batch length counts.
pub const LENGTH_UNCOUNTED: usize = 12;
/// Where the partition leader epoch is.
pub const LEADER_EPOCH_AT: usize = 12;
/// Where the magic byte is.
const MAGIC_AT: usize = 16;
/// Where the CRC-32C is.
pub const CRC_AT: usize = 17;
/// Where the CRC-32C'd part starts (the attributes).
pub const CRC_START: usize = 21;
/// Where the attributes are.
pub const ATTRIBUTES_AT: usize = 21;
const LAST_OFFSET_DELTA_AT: usize = 23;
const BASE_TIMESTAMP_AT: usize = 27;
const MAX_TIMESTAMP_AT: usize = 35;
/// Where the producer id is, then its epoch and the base sequence.
pub const PRODUCER_ID_AT: usize = 43;
/// Where the producer epoch is.
pub const PRODUCER_EPOCH_AT: usize = 51;
/// Where the base sequence is.
pub const BASE_SEQUENCE_AT: usize = 53;
const RECORD_COUNT_AT: usize = 57;

/// Attribute bits: the codec (bits 0-2), log append time, transactional, control.
pub const CODEC_MASK: i16 = 0x07;
/// Set when the batch's timestamps are the broker's append time.
pub const LOG_APPEND_TIME: i16 = 0x08;
/// Set when the batch was written in a transaction.
pub const TRANSACTIONAL: i16 = 0x10;
/// Set when the batch is a transaction marker, not data.
pub const CONTROL: i16 = 0x20;

/// A record set could not be read as batches.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordSetError {
    /// A batch's length is impossible: the bytes are not a record set.
    #[error("a record batch at offset {base_offset} gives a length of {length} bytes")]
    BadLength {
        /// The batch's base offset.
        base_offset: i64,
        /// The length it gives.
        length: i32,
    },
    /// A batch in an older format (magic 0 or 1, from brokers or producers before Kafka 0.11).
    #[error("a record batch at offset {base_offset} is in format v{magic}; only v2 is read")]
    OldFormat {
        /// The batch's base offset.
        base_offset: i64,
        /// Its magic byte.
        magic: i8,
    },
}

/// One batch of a fetch response, its header read, its bytes shared with the response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawBatch {
    /// The whole batch, header included.
    pub bytes: Bytes,
    /// The offset of its first record on the source.
    pub base_offset: i64,
    /// The attributes (codec, timestamp type, transactional, control).
    pub attributes: i16,
    /// The offset of its last record, relative to the base offset.
    pub last_offset_delta: i32,
    /// The first record's timestamp.
    pub base_timestamp: i64,
    /// The largest timestamp (the append time with [`LOG_APPEND_TIME`]).
    pub max_timestamp: i64,
    /// The producer that wrote it (-1 for none).
    pub producer_id: i64,
    /// The number of records it holds.
    pub record_count: i32,
}

impl RawBatch {
    /// The offset of its last record on the source.
    pub fn last_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_offset_delta)
    }

    /// The offset a consumer reads next after this batch.
    pub fn next_offset(&self) -> i64 {
        self.last_offset() + 1
    }

    /// Whether it is a transaction marker rather than data.
    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL != 0
    }

    /// Whether it was written in a transaction.
    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL != 0
    }

    /// The codec id in its attributes (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).
    pub fn codec_id(&self) -> i16 {
        self.attributes & CODEC_MASK
    }

    /// Whether its stored CRC-32C matches its bytes.
    pub fn crc_ok(&self) -> bool {
        let stored = u32::from_be_bytes(array(&self.bytes, CRC_AT));
        self.bytes
            .get(CRC_START..)
            .is_some_and(|checked| crc32c::crc32c(checked) == stored)
    }

    /// Whether its offsets have no gaps (every offset from base to last holds a record), as
    /// a batch a producer wrote has; compaction leaves gaps.
    pub fn is_dense(&self) -> bool {
        i64::from(self.last_offset_delta) + 1 == i64::from(self.record_count)
    }

    /// For a control batch, whether the marker ends its transaction with an abort: the key
    /// of the one record is version (i16) then type (i16, 0 abort, 1 commit). Control batches
    /// are never compressed.
    pub fn is_abort_marker(&self) -> bool {
        // Record: length, attributes (i8), timestamp delta, offset delta (varints), then the
        // key's length (varint) and the key.
        let mut rest = &self.bytes[HEADER_SIZE.min(self.bytes.len())..];
        let skip_varint = |rest: &mut &[u8]| -> Option<i64> {
            let (value, used) = read_varint(rest)?;
            *rest = &rest[used..];
            Some(value)
        };
        let parsed = (|| {
            skip_varint(&mut rest)?; // record length
            rest = rest.get(1..)?; // attributes
            skip_varint(&mut rest)?; // timestamp delta
            skip_varint(&mut rest)?; // offset delta
            let key_len = skip_varint(&mut rest)?;
            if key_len < 4 {
                return None;
            }
            let kind = i16::from_be_bytes([*rest.get(2)?, *rest.get(3)?]);
            Some(kind == 0)
        })();
        parsed.unwrap_or(false)
    }
}

/// The batches of one partition's record set, in order. A fetch response may end with part
/// of a batch (the broker stops at the fetch's size limit); that part is left out and
/// `truncated` says so, and the next fetch starts at it again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordSet {
    /// The whole batches.
    pub batches: Vec<RawBatch>,
    /// Bytes after the last whole batch.
    pub truncated: usize,
}

/// Splits a fetched record set into its batches, sharing its bytes.
pub fn split(records: &Bytes) -> Result<RecordSet, RecordSetError> {
    let mut set = RecordSet::default();
    let mut at = 0;
    while at < records.len() {
        let rest = &records[at..];
        if rest.len() < LENGTH_UNCOUNTED {
            set.truncated = rest.len();
            break;
        }
        let base_offset = i64::from_be_bytes(array(rest, 0));
        let length = i32::from_be_bytes(array(rest, LENGTH_AT));
        // The magic first: batches of the older formats are shorter than a v2 header.
        if let Some(&magic) = rest.get(MAGIC_AT)
            && magic != 2
        {
            return Err(RecordSetError::OldFormat {
                base_offset,
                magic: i8::from_be_bytes([magic]),
            });
        }
        let total = usize::try_from(length)
            .ok()
            .filter(|l| *l >= HEADER_SIZE - LENGTH_UNCOUNTED)
            .map(|l| l + LENGTH_UNCOUNTED)
            .ok_or(RecordSetError::BadLength {
                base_offset,
                length,
            })?;
        if rest.len() < total {
            set.truncated = rest.len();
            break;
        }
        let b = &rest[..total];
        set.batches.push(RawBatch {
            bytes: records.slice(at..at + total),
            base_offset,
            attributes: i16::from_be_bytes(array(b, ATTRIBUTES_AT)),
            last_offset_delta: i32::from_be_bytes(array(b, LAST_OFFSET_DELTA_AT)),
            base_timestamp: i64::from_be_bytes(array(b, BASE_TIMESTAMP_AT)),
            max_timestamp: i64::from_be_bytes(array(b, MAX_TIMESTAMP_AT)),
            producer_id: i64::from_be_bytes(array(b, PRODUCER_ID_AT)),
            record_count: i32::from_be_bytes(array(b, RECORD_COUNT_AT)),
        });
        at += total;
    }
    Ok(set)
}

/// `N` bytes of `b` from `at`; the callers checked that the header is whole.
fn array<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut out = [0; N];
    if let Some(src) = b.get(at..at + N) {
        out.copy_from_slice(src);
    }
    out
}

/// A zigzag varint (records' lengths and deltas) and how many bytes it took.
fn read_varint(b: &[u8]) -> Option<(i64, usize)> {
    let mut raw: u64 = 0;
    for (i, byte) in b.iter().take(10).enumerate() {
        raw |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            let value =
                i64::try_from(raw >> 1).unwrap_or(i64::MAX) ^ -i64::try_from(raw & 1).unwrap_or(0);
            return Some((value, i + 1));
        }
    }
    None
}

/// Batches for tests, encoded by the writer and their header fields set as a source broker
/// would store them.
#[cfg(test)]
pub(crate) mod test_batches {
    use bytes::{Bytes, BytesMut};

    use super::{ATTRIBUTES_AT, CRC_AT, CRC_START, PRODUCER_ID_AT};
    use crate::kafka::writer::Codec;
    use crate::kafka::writer::batch::{Producer, Records};

    /// A batch of `records` (key, value) at `base_offset`, written by `producer_id` with
    /// `codec`, `extra` attribute bits set, its CRC right.
    pub fn batch(
        base_offset: i64,
        producer_id: i64,
        codec: Codec,
        extra: i16,
        records: &[(&[u8], &[u8])],
    ) -> Bytes {
        let r = records_of(records);
        let producer = Producer {
            id: producer_id,
            epoch: 3,
            base_sequence: 7,
        };
        let sealed = r.seal(codec, producer, "t", 0).unwrap_or_default();
        let mut b = BytesMut::from(&sealed[..]);
        b[..8].copy_from_slice(&base_offset.to_be_bytes());
        b[super::LEADER_EPOCH_AT..super::LEADER_EPOCH_AT + 4].copy_from_slice(&5i32.to_be_bytes());
        let attributes = i16::from_be_bytes([b[ATTRIBUTES_AT], b[ATTRIBUTES_AT + 1]]) | extra;
        b[ATTRIBUTES_AT..ATTRIBUTES_AT + 2].copy_from_slice(&attributes.to_be_bytes());
        b[PRODUCER_ID_AT..PRODUCER_ID_AT + 8].copy_from_slice(&producer_id.to_be_bytes());
        fix_crc(&mut b);
        b.freeze()
    }

    /// `records` (key, value) as the writer encodes them: a header `h` holding the key,
    /// timestamps 1000 on.
    pub fn records_of(records: &[(&[u8], &[u8])]) -> Records {
        let mut r = Records::new();
        for (i, (k, v)) in records.iter().enumerate() {
            let headers = [(b"h".as_slice(), Some(*k))];
            let timestamp = 1_000 + i64::try_from(i).unwrap_or(0);
            r.push_parts(Some(k), Some(v), headers.into_iter(), timestamp);
        }
        r
    }

    /// A transaction marker of `producer_id` at `offset`: abort or commit.
    pub fn marker(offset: i64, producer_id: i64, abort: bool) -> Bytes {
        let key = [0, 0, 0, u8::from(!abort)];
        batch(
            offset,
            producer_id,
            Codec::None,
            super::CONTROL | super::TRANSACTIONAL,
            &[(&key, &[0, 0, 0, 0, 0, 0])],
        )
    }

    /// Sets the CRC of `b` to match its bytes.
    pub fn fix_crc(b: &mut [u8]) {
        let crc = crc32c::crc32c(&b[CRC_START..]);
        b[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use bytes::{BufMut, Bytes, BytesMut};

    use super::test_batches::{batch, marker};
    use super::*;
    use crate::kafka::writer::Codec;

    #[test]
    fn a_record_set_splits_into_its_batches_and_leaves_a_partial_one_out() {
        let first = batch(0, 9, Codec::Lz4, 0, &[(b"a", b"1"), (b"b", b"2")]);
        let second = batch(2, 9, Codec::None, TRANSACTIONAL, &[(b"c", b"3")]);
        let mut all = BytesMut::new();
        all.put_slice(&first);
        all.put_slice(&second);
        all.put_slice(&second[..40]);
        let set = split(&all.freeze()).unwrap();
        assert_eq!(set.truncated, 40);
        assert_eq!(set.batches.len(), 2);
        let (a, b) = (&set.batches[0], &set.batches[1]);
        assert_eq!(a.bytes, first);
        assert_eq!((a.base_offset, a.last_offset(), a.record_count), (0, 1, 2));
        assert_eq!(
            (
                a.codec_id(),
                a.producer_id,
                a.base_timestamp,
                a.max_timestamp
            ),
            (3, 9, 1000, 1001)
        );
        assert!(a.crc_ok() && a.is_dense() && !a.is_transactional() && !a.is_control());
        assert_eq!(b.bytes, second);
        assert_eq!((b.base_offset, b.next_offset()), (2, 3));
        assert!(b.is_transactional() && !b.is_control());
    }

    #[test]
    fn a_set_shorter_than_a_batch_header_is_all_partial() {
        let set = split(&Bytes::from_static(&[0; 11])).unwrap();
        assert_eq!((set.batches.len(), set.truncated), (0, 11));
        assert_eq!(split(&Bytes::new()).unwrap(), RecordSet::default());
    }

    #[test]
    fn impossible_lengths_and_old_formats_are_errors_naming_the_offset() {
        let mut b = BytesMut::from(&batch(42, 1, Codec::None, 0, &[(b"k", b"v")])[..]);
        b[LENGTH_AT..LENGTH_AT + 4].copy_from_slice(&(-5i32).to_be_bytes());
        let e = split(&b.clone().freeze()).unwrap_err();
        assert_eq!(
            e,
            RecordSetError::BadLength {
                base_offset: 42,
                length: -5
            }
        );
        assert!(e.to_string().contains("offset 42"), "{e}");
        let mut b = BytesMut::from(&batch(43, 1, Codec::None, 0, &[(b"k", b"v")])[..]);
        b[MAGIC_AT] = 1;
        let e = split(&b.freeze()).unwrap_err();
        assert_eq!(
            e,
            RecordSetError::OldFormat {
                base_offset: 43,
                magic: 1
            }
        );
    }

    #[test]
    fn a_changed_byte_fails_the_crc() {
        let b = batch(0, 1, Codec::Lz4, 0, &[(b"k", b"value")]);
        let good = split(&b).unwrap().batches.remove(0);
        assert!(good.crc_ok());
        let mut bad = BytesMut::from(&b[..]);
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(!split(&bad.freeze()).unwrap().batches[0].crc_ok());
    }

    #[test]
    fn markers_say_whether_they_abort() {
        let abort = split(&marker(5, 7, true)).unwrap().batches.remove(0);
        let commit = split(&marker(6, 7, false)).unwrap().batches.remove(0);
        assert!(abort.is_control() && abort.is_abort_marker());
        assert!(commit.is_control() && !commit.is_abort_marker());
    }
}
