//! The records of a fetched batch, decompressed and read as borrowed parts: what a batch that
//! cannot pass through as it is gets written again from (`writer/passthrough.rs` says which).
//!
//! Headers stay a list in their order, duplicates and null values included, as the writer
//! takes them (`kafka-protocol`'s decoder keeps them in a map, which loses both).

use std::io::Read;

use bytes::Bytes;
use kafka_protocol::compression::{Decompressor, Gzip, Snappy, Zstd};

use super::{HEADER_SIZE, LOG_APPEND_TIME, RawBatch, read_varint};

/// A batch's records could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Its records could not be decompressed.
    #[error("the record batch at offset {base_offset} does not decompress ({codec}): {detail}")]
    Decompress {
        /// The batch's base offset.
        base_offset: i64,
        /// The codec its attributes name.
        codec: &'static str,
        /// The decompressor's reason.
        detail: String,
    },
    /// Its records are not laid out as format v2 says.
    #[error("the record batch at offset {base_offset} is malformed: {detail}")]
    Malformed {
        /// The batch's base offset.
        base_offset: i64,
        /// What was wrong, and where.
        detail: String,
    },
}

/// One record of a batch, its bytes borrowed from the decompressed batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    /// Its offset on the source.
    pub offset: i64,
    /// Its timestamp: the create time, or the batch's append time with log append time.
    pub timestamp: i64,
    /// The key; `None` is a null key.
    pub key: Option<&'a [u8]>,
    /// The value; `None` is a null value (a tombstone).
    pub value: Option<&'a [u8]>,
    /// The headers in order, duplicates and null values included.
    pub headers: Vec<(&'a [u8], Option<&'a [u8]>)>,
}

/// A batch's records, decompressed.
#[derive(Debug, Clone)]
pub struct Decoded {
    plain: Bytes,
    base_offset: i64,
    base_timestamp: i64,
    /// Every record's timestamp, when the batch's timestamps are the broker's append time.
    append_time: Option<i64>,
    count: usize,
}

/// Decompresses `batch` for its records to be read with [`Decoded::records`].
pub fn decode(batch: &RawBatch) -> Result<Decoded, DecodeError> {
    let body = batch.bytes.slice(HEADER_SIZE.min(batch.bytes.len())..);
    let failed = |codec: &'static str, detail: String| DecodeError::Decompress {
        base_offset: batch.base_offset,
        codec,
        detail,
    };
    let whole = |b: &mut Bytes| Ok(std::mem::take(b));
    let plain = match batch.codec_id() {
        0 => body,
        1 => Gzip::decompress(&mut body.clone(), whole)
            .map_err(|e| failed("gzip", format!("{e:#}")))?,
        2 => Snappy::decompress(&mut body.clone(), whole)
            .map_err(|e| failed("snappy", format!("{e:#}")))?,
        3 => {
            let mut out = Vec::new();
            lz4::Decoder::new(&body[..])
                .and_then(|mut d| d.read_to_end(&mut out))
                .map_err(|e| failed("lz4", e.to_string()))?;
            Bytes::from(out)
        }
        4 => Zstd::decompress(&mut body.clone(), whole)
            .map_err(|e| failed("zstd", format!("{e:#}")))?,
        other => return Err(failed("unknown", format!("codec id {other}"))),
    };
    Ok(Decoded {
        plain,
        base_offset: batch.base_offset,
        base_timestamp: batch.base_timestamp,
        append_time: (batch.attributes & LOG_APPEND_TIME != 0).then_some(batch.max_timestamp),
        count: usize::try_from(batch.record_count).unwrap_or(0),
    })
}

impl Decoded {
    /// The records in order; reading stops at the first that is malformed.
    pub fn records(&self) -> Result<Vec<Record<'_>>, DecodeError> {
        let mut rest: &[u8] = &self.plain;
        // The count is the batch's word; the bytes bound it (a record takes at least 7).
        let mut out = Vec::with_capacity(self.count.min(self.plain.len() / 7));
        for i in 0..self.count {
            let malformed = |what: &str| DecodeError::Malformed {
                base_offset: self.base_offset,
                detail: format!("record {i} of {}: {what}", self.count),
            };
            let length = varint(&mut rest).ok_or_else(|| malformed("no length"))?;
            let length = usize::try_from(length).map_err(|_| malformed("a negative length"))?;
            let (Some(record), Some(after)) = (rest.get(..length), rest.get(length..)) else {
                return Err(malformed("longer than the batch"));
            };
            rest = after;
            let mut r = record.get(1..).ok_or_else(|| malformed("no attributes"))?;
            let timestamp_delta = varint(&mut r).ok_or_else(|| malformed("no timestamp"))?;
            let offset_delta = varint(&mut r).ok_or_else(|| malformed("no offset"))?;
            let key = nullable(&mut r).ok_or_else(|| malformed("a bad key"))?;
            let value = nullable(&mut r).ok_or_else(|| malformed("a bad value"))?;
            let count = varint(&mut r).ok_or_else(|| malformed("no header count"))?;
            let count = usize::try_from(count).map_err(|_| malformed("a negative header count"))?;
            let mut headers = Vec::with_capacity(count.min(r.len()));
            for _ in 0..count {
                let name = nullable(&mut r)
                    .flatten()
                    .ok_or_else(|| malformed("a header without a name"))?;
                let value = nullable(&mut r).ok_or_else(|| malformed("a bad header value"))?;
                headers.push((name, value));
            }
            out.push(Record {
                offset: self.base_offset.wrapping_add(offset_delta),
                timestamp: self
                    .append_time
                    .unwrap_or(self.base_timestamp.wrapping_add(timestamp_delta)),
                key,
                value,
                headers,
            });
        }
        Ok(out)
    }
}

/// A varint, the slice moved past it.
fn varint(b: &mut &[u8]) -> Option<i64> {
    let (value, used) = read_varint(b)?;
    *b = &b[used..];
    Some(value)
}

/// A length-prefixed byte string (-1 for null), the slice moved past it; `None` when the
/// bytes are not one.
fn nullable<'a>(b: &mut &'a [u8]) -> Option<Option<&'a [u8]>> {
    let len = varint(b)?;
    if len < 0 {
        return Some(None);
    }
    let len = usize::try_from(len).ok()?;
    let s = b.get(..len)?;
    *b = &b[len..];
    Some(Some(s))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use bytes::BytesMut;

    use super::*;
    use crate::kafka::record_batch::test_batches::fix_crc;
    use crate::kafka::record_batch::{ATTRIBUTES_AT, split};
    use crate::kafka::writer::Codec;
    use crate::kafka::writer::batch::{Producer, Records};

    type Headers<'a> = Vec<(&'a [u8], Option<&'a [u8]>)>;
    /// Key, value, headers, timestamp.
    type Sample = (
        Option<&'static [u8]>,
        Option<&'static [u8]>,
        Headers<'static>,
        i64,
    );

    /// Records with null and empty keys and values, duplicate and null headers, timestamps
    /// out of order.
    fn samples() -> Vec<Sample> {
        vec![
            (
                Some(b"k1"),
                Some(b"v1"),
                vec![(b"h", Some(b"1")), (b"h", Some(b"2")), (b"n", None)],
                5_000,
            ),
            (None, Some(b""), vec![], 4_000),
            (Some(b""), None, vec![(b"only", Some(b""))], 6_000),
            (Some(b"k4"), Some(&[0xff; 300]), vec![], -1),
        ]
    }

    fn sealed(codec: Codec) -> bytes::Bytes {
        let mut r = Records::new();
        for (k, v, h, t) in samples() {
            r.push_parts(k, v, h.into_iter(), t);
        }
        let producer = Producer {
            id: 1,
            epoch: 0,
            base_sequence: 0,
        };
        let mut b = BytesMut::from(&r.seal(codec, producer, "t", 0).unwrap()[..]);
        b[..8].copy_from_slice(&100i64.to_be_bytes());
        b.freeze()
    }

    #[test]
    fn every_codec_decodes_to_the_records_encoded() {
        for codec in Codec::ALL {
            let raw = split(&sealed(codec)).unwrap().batches.remove(0);
            let decoded = decode(&raw).unwrap();
            let got = decoded.records().unwrap();
            let want: Vec<Record<'_>> = samples()
                .into_iter()
                .enumerate()
                .map(|(i, (key, value, headers, timestamp))| Record {
                    offset: 100 + i as i64,
                    timestamp,
                    key,
                    value,
                    headers,
                })
                .collect();
            assert_eq!(got, want, "{codec:?}");
        }
    }

    #[test]
    fn with_log_append_time_every_record_has_the_batch_time() {
        let mut b = BytesMut::from(&sealed(Codec::Lz4)[..]);
        let attributes =
            i16::from_be_bytes([b[ATTRIBUTES_AT], b[ATTRIBUTES_AT + 1]]) | LOG_APPEND_TIME;
        b[ATTRIBUTES_AT..ATTRIBUTES_AT + 2].copy_from_slice(&attributes.to_be_bytes());
        fix_crc(&mut b);
        let raw = split(&b.freeze()).unwrap().batches.remove(0);
        let decoded = decode(&raw).unwrap();
        let times: Vec<i64> = decoded
            .records()
            .unwrap()
            .iter()
            .map(|r| r.timestamp)
            .collect();
        assert_eq!(times, vec![raw.max_timestamp; 4]);
        assert_eq!(raw.max_timestamp, 6_000);
    }

    #[test]
    fn damaged_records_are_errors_naming_the_batch() {
        // Uncompressed, cut short inside its last record (the header's length fixed to match).
        let whole = sealed(Codec::None);
        let mut b = BytesMut::from(&whole[..whole.len() - 100]);
        let length = i32::try_from(b.len() - 12).unwrap();
        b[8..12].copy_from_slice(&length.to_be_bytes());
        let raw = split(&b.freeze()).unwrap().batches.remove(0);
        let e = decode(&raw).unwrap().records().unwrap_err();
        assert!(
            matches!(
                e,
                DecodeError::Malformed {
                    base_offset: 100,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("record 3 of 4"), "{e}");

        // Compressed bytes that are not LZ4.
        let mut b = BytesMut::from(&sealed(Codec::Lz4)[..]);
        let at = b.len() - 10;
        b[at..].copy_from_slice(&[0x55; 10]);
        let raw = split(&b.freeze()).unwrap().batches.remove(0);
        let e = decode(&raw)
            .and_then(|d| d.records().map(|r| r.len()))
            .unwrap_err();
        assert!(e.to_string().contains("offset 100"), "{e}");
    }
}
