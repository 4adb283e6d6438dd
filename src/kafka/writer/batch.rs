//! Record batches in Kafka's format v2 (magic 2), built from replicated records as given.
//!
//! Strait encodes batches itself rather than through a header map (as `kafka-protocol`'s
//! encoder takes them), because a replicated record's headers must stay exactly as they were:
//! in order, with duplicate keys and null values. The layout is Kafka's `DefaultRecordBatch`
//! and `DefaultRecord`; the CRC-32C covers everything from the attributes on.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::compression::{Compressor, Gzip, Snappy, Zstd};

use super::error::WriterError;

use crate::kafka::record_batch::{
    CRC_AT, CRC_START, HEADER_SIZE as BATCH_HEADER_SIZE, LENGTH_AT, LENGTH_UNCOUNTED,
};

/// One record to write: the source record's bytes, unchanged.
#[derive(Debug, Clone, Copy)]
pub struct OutRecord<'a> {
    /// The key; `None` is a null key (not the same as an empty one).
    pub key: Option<&'a [u8]>,
    /// The value; `None` is a null value (a tombstone).
    pub value: Option<&'a [u8]>,
    /// The headers in order, duplicates and null values included.
    pub headers: &'a [(&'a [u8], Option<&'a [u8]>)],
    /// The record's timestamp (milliseconds since the epoch), written as its create time.
    pub timestamp: i64,
}

/// A batch's compression codec: the producer's `compression.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Codec {
    /// `none`.
    #[default]
    None,
    /// `gzip`.
    Gzip,
    /// `snappy` (xerial framing, as the Java client writes it).
    Snappy,
    /// `lz4` (LZ4 frames).
    Lz4,
    /// `zstd`.
    Zstd,
}

impl Codec {
    /// Every codec Kafka knows.
    pub const ALL: [Codec; 5] = [Self::None, Self::Gzip, Self::Snappy, Self::Lz4, Self::Zstd];

    /// From a `compression.type` value; `None` for a name Kafka does not know.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "none" | "uncompressed" => Some(Self::None),
            "gzip" => Some(Self::Gzip),
            "snappy" => Some(Self::Snappy),
            "lz4" => Some(Self::Lz4),
            "zstd" => Some(Self::Zstd),
            _ => None,
        }
    }

    /// Kafka's name of the codec.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Gzip => "gzip",
            Self::Snappy => "snappy",
            Self::Lz4 => "lz4",
            Self::Zstd => "zstd",
        }
    }

    /// The codec's id in a batch's attributes (bits 0-2).
    pub(crate) fn attribute(self) -> i16 {
        match self {
            Self::None => 0,
            Self::Gzip => 1,
            Self::Snappy => 2,
            Self::Lz4 => 3,
            Self::Zstd => 4,
        }
    }
}

/// Who writes a batch and where it falls in the partition's sequence (idempotence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Producer {
    /// The producer id from `InitProducerId`.
    pub id: i64,
    /// Its epoch.
    pub epoch: i16,
    /// The sequence number of the batch's first record in its partition.
    pub base_sequence: i32,
}

/// Records encoded for one batch, waiting for their batch header.
///
/// Records are encoded as they come, straight into one buffer: a record's offset delta is
/// its place here and its timestamp delta is from the first record's, so nothing is kept per
/// record but its bytes. The header (producer id, epoch, sequence) is added by
/// [`Records::seal`], again for each attempt to write the same records.
#[derive(Debug, Clone, Default)]
pub struct Records {
    bytes: Vec<u8>,
    count: usize,
    base_timestamp: i64,
    max_timestamp: i64,
    last_timestamp: i64,
}

impl Records {
    /// No records yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// No records yet, with room for `bytes` of them: a batch that grows to its limit is
    /// then never copied to a larger buffer on the way.
    pub fn with_capacity(bytes: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(bytes),
            ..Self::default()
        }
    }

    /// Appends `record`.
    pub fn push(&mut self, record: &OutRecord<'_>) {
        self.push_parts(
            record.key,
            record.value,
            record.headers.iter().copied(),
            record.timestamp,
        );
    }

    /// Appends a record given by its parts (headers in order, as an iterator, so a caller
    /// need not collect them; it is walked twice, to size the record and to write it).
    ///
    /// The record goes straight into the batch's buffer: its length, which comes first, is
    /// worked out beforehand rather than by encoding it apart and copying it over.
    pub fn push_parts<'h>(
        &mut self,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: impl ExactSizeIterator<Item = (&'h [u8], Option<&'h [u8]>)> + Clone,
        timestamp: i64,
    ) {
        if self.count == 0 {
            self.base_timestamp = timestamp;
            self.max_timestamp = timestamp;
        }
        self.max_timestamp = self.max_timestamp.max(timestamp);
        self.last_timestamp = timestamp;
        let timestamp_delta = timestamp.wrapping_sub(self.base_timestamp);
        let offset_delta = len_i64(self.count);
        let header_count = len_i64(headers.len());
        let body = 1 // attributes
            + varint_len(timestamp_delta)
            + varint_len(offset_delta)
            + nullable_len(key)
            + nullable_len(value)
            + varint_len(header_count)
            + headers
                .clone()
                .map(|(k, v)| varint_len(len_i64(k.len())) + k.len() + nullable_len(v))
                .sum::<usize>();
        let out = &mut self.bytes;
        out.reserve(body + MAX_VARINT_LEN);
        put_varint(out, len_i64(body));
        let body_at = out.len();
        out.push(0); // attributes: unused in v2
        put_varint(out, timestamp_delta);
        put_varint(out, offset_delta);
        put_nullable(out, key);
        put_nullable(out, value);
        put_varint(out, header_count);
        for (k, v) in headers {
            put_varint(out, len_i64(k.len()));
            out.extend_from_slice(k);
            put_nullable(out, v);
        }
        debug_assert_eq!(out.len() - body_at, body, "a record's length as written");
        self.count += 1;
    }

    /// How many records.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The last record's timestamp.
    pub fn last_timestamp(&self) -> i64 {
        self.last_timestamp
    }

    /// Bytes of the records, uncompressed.
    pub fn size(&self) -> usize {
        self.bytes.len()
    }

    /// The records as one batch for `topic`-`partition` (named in errors only), written by
    /// `producer`, compressed with `codec`.
    ///
    /// A batch holds at least one record: sealing none is a caller's mistake, refused as a
    /// partition error rather than sent.
    pub fn seal(
        &self,
        codec: Codec,
        producer: Producer,
        topic: &str,
        partition: i32,
    ) -> Result<Bytes, WriterError> {
        let refuse = |reason: String| WriterError::Partition {
            topic: topic.to_owned(),
            partition,
            reason,
            retriable: false,
            code: None,
        };
        let count = match i32::try_from(self.count) {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(refuse(format!(
                    "a batch needs 1 to {} records, {} given",
                    i32::MAX,
                    self.count
                )));
            }
        };
        let mut out = BytesMut::with_capacity(BATCH_HEADER_SIZE + self.bytes.len());
        out.put_i64(0); // base offset: the broker assigns it
        out.put_i32(0); // batch length: filled in below
        out.put_i32(-1); // partition leader epoch: the broker sets it
        out.put_i8(2); // magic
        out.put_u32(0); // CRC: filled in below
        out.put_i16(codec.attribute()); // create time, not transactional, not control
        out.put_i32(count - 1); // last offset delta
        out.put_i64(self.base_timestamp);
        out.put_i64(self.max_timestamp);
        out.put_i64(producer.id);
        out.put_i16(producer.epoch);
        out.put_i32(producer.base_sequence);
        out.put_i32(count);
        let plain = &self.bytes;
        let compressed = match codec {
            Codec::None => {
                out.put_slice(plain);
                Ok(())
            }
            Codec::Gzip => Gzip::compress(&mut out, copy(plain)),
            Codec::Snappy => Snappy::compress(&mut out, copy(plain)),
            Codec::Lz4 => {
                lz4_frame(&mut out, plain);
                Ok(())
            }
            Codec::Zstd => Zstd::compress(&mut out, copy(plain)),
        };
        compressed.map_err(|e| WriterError::Compress {
            topic: topic.to_owned(),
            partition,
            codec: codec.name(),
            detail: format!("{e:#}"),
        })?;
        let length = i32::try_from(out.len() - LENGTH_UNCOUNTED)
            .map_err(|_| refuse(format!("a batch of {} bytes is too large", out.len())))?;
        out[LENGTH_AT..LENGTH_AT + 4].copy_from_slice(&length.to_be_bytes());
        let crc = crc32c::crc32c(&out[CRC_START..]);
        out[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
        Ok(out.freeze())
    }
}

impl<'a> FromIterator<OutRecord<'a>> for Records {
    fn from_iter<I: IntoIterator<Item = OutRecord<'a>>>(iter: I) -> Self {
        let mut records = Records::new();
        for r in iter {
            records.push(&r);
        }
        records
    }
}

/// The start of every LZ4 frame Strait writes: the magic number, then the frame descriptor
/// (version 1, independent blocks, no block or content checksum, no content size, blocks of up
/// to 64 KiB) and its checksum byte, which is fixed for a fixed descriptor.
const LZ4_FRAME_START: [u8; 7] = [0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82];
/// The most bytes of input per LZ4 block, as the descriptor says.
const LZ4_BLOCK_MAX: usize = 64 * 1024;
/// Set in a block's size when the block is stored as it is.
const LZ4_BLOCK_STORED: u32 = 0x8000_0000;

/// An LZ4 frame as Kafka reads it (the Java client writes the same layout), compressed in
/// LZ4's fast mode as librdkafka and the Java client do. Written here rather than through the
/// `lz4` crate's frame encoder, which buffered the input, copied its output over and
/// checksummed every block (about 6 % of a catch-up's CPU together): the batch's CRC-32C
/// covers the compressed bytes already. (`kafka-protocol`'s LZ4 compressor uses LZ4's slow
/// high-compression mode: 40 CPU seconds for a catch-up librdkafka did in 12.)
fn lz4_frame(out: &mut BytesMut, plain: &[u8]) {
    out.put_slice(&LZ4_FRAME_START);
    for block in plain.chunks(LZ4_BLOCK_MAX) {
        let size_at = out.len();
        out.put_u32_le(0);
        let size = match crate::kafka::ffi::lz4_compress_block(block, out) {
            Some(compressed) => compressed,
            None => {
                out.put_slice(block);
                block.len() | LZ4_BLOCK_STORED as usize
            }
        };
        // A block is at most 64 KiB, so its size and the stored flag fit.
        let size = u32::try_from(size).unwrap_or(LZ4_BLOCK_STORED);
        out[size_at..size_at + 4].copy_from_slice(&size.to_le_bytes());
    }
    out.put_u32_le(0); // the end mark
}

/// The compressors' input: the records as encoded.
fn copy(plain: &[u8]) -> impl FnOnce(&mut BytesMut) -> anyhow::Result<()> + '_ {
    move |b| {
        b.put_slice(plain);
        Ok(())
    }
}

/// Where the next batch of a partition starts, after one of `count` records at `sequence`:
/// Kafka's sequence numbers wrap to 0 after `i32::MAX`.
pub fn next_sequence(sequence: i32, count: usize) -> i32 {
    let count = i64::try_from(count).unwrap_or(i64::MAX);
    let next = (i64::from(sequence) + count) % (i64::from(i32::MAX) + 1);
    i32::try_from(next).unwrap_or(0)
}

/// The most bytes a varint takes (a 64-bit one).
const MAX_VARINT_LEN: usize = 10;

/// Bytes `put_varint` writes for `value`.
fn varint_len(value: i64) -> usize {
    // 7 bits a byte; zero takes one byte too.
    (64 - (zig_zag(value) | 1).leading_zeros() as usize).div_ceil(7)
}

/// Bytes `put_nullable` writes for `bytes`.
fn nullable_len(bytes: Option<&[u8]>) -> usize {
    match bytes {
        None => 1,
        Some(b) => varint_len(len_i64(b.len())) + b.len(),
    }
}

fn put_nullable(out: &mut impl BufMut, bytes: Option<&[u8]>) {
    match bytes {
        None => put_varint(out, -1),
        Some(b) => {
            put_varint(out, len_i64(b.len()));
            out.put_slice(b);
        }
    }
}

/// Small magnitudes of either sign as small unsigned numbers, as varints store them.
fn zig_zag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

/// A zig-zag varint, as Kafka's `ByteUtils.writeVarlong` writes it (a varint of an int is the
/// same bytes).
fn put_varint(out: &mut impl BufMut, value: i64) {
    let mut v = zig_zag(value);
    while v >= 0x80 {
        out.put_u8((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.put_u8(v as u8);
}

fn len_i64(len: usize) -> i64 {
    i64::try_from(len).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::records::RecordBatchDecoder;

    fn varint(v: i64) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint(&mut out, v);
        out
    }

    #[test]
    fn varints_are_zig_zag_as_in_kafka() {
        assert_eq!(varint(0), [0x00]);
        assert_eq!(varint(-1), [0x01]);
        assert_eq!(varint(1), [0x02]);
        assert_eq!(varint(-64), [0x7f]);
        assert_eq!(varint(64), [0x80, 0x01]);
        assert_eq!(varint(300), [0xd8, 0x04]);
        assert_eq!(varint(i64::MIN).len(), 10);
    }

    #[test]
    fn varint_lengths_are_what_put_varint_writes() {
        let mut values = vec![0, 1, -1, 63, -64, 64, -65, 8191, 8192, i64::MAX, i64::MIN];
        for shift in 0..63 {
            values.extend([1i64 << shift, (1i64 << shift) - 1, -(1i64 << shift)]);
        }
        for v in values {
            assert_eq!(varint_len(v), varint(v).len(), "{v}");
        }
    }

    /// LZ4 frames decode with the `lz4` crate's decoder (LZ4's own frame reader): one block,
    /// several, a block that does not compress (stored as it is), and a last block cut short.
    #[test]
    fn lz4_frames_decode_with_lz4s_frame_reader() {
        let mut noise = Vec::with_capacity(150_000);
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        while noise.len() < 150_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            noise.extend_from_slice(&x.to_le_bytes());
        }
        let text: Vec<u8> = b"orders,eu-west-1,paid;".repeat(10_000);
        let inputs: [&[u8]; 5] = [
            b"x",
            &text[..LZ4_BLOCK_MAX],
            &text,
            &noise,
            &noise[..LZ4_BLOCK_MAX + 3],
        ];
        for plain in inputs {
            let mut out = BytesMut::new();
            lz4_frame(&mut out, plain);
            let mut decoded = Vec::new();
            let mut decoder = lz4::Decoder::new(&out[..]).expect("a frame header");
            std::io::Read::read_to_end(&mut decoder, &mut decoded).expect("decodes");
            assert_eq!(decoded, plain, "{} bytes", plain.len());
        }
        let mut out = BytesMut::new();
        lz4_frame(&mut out, &text);
        assert!(
            out.len() < text.len() / 10,
            "compressed: {} bytes",
            out.len()
        );
    }

    /// The frame's start is what LZ4's own encoder writes for the same descriptor, header
    /// checksum included.
    #[test]
    fn lz4_frames_start_as_lz4s_encoder_starts_them() {
        let mut encoder = lz4::EncoderBuilder::new()
            .level(0)
            .block_size(lz4::BlockSize::Max64KB)
            .block_mode(lz4::BlockMode::Independent)
            .block_checksum(lz4::liblz4::BlockChecksum::NoBlockChecksum)
            .checksum(lz4::ContentChecksum::NoChecksum)
            .build(Vec::new())
            .expect("an encoder");
        std::io::Write::write_all(&mut encoder, b"x").expect("writes");
        let (theirs, finished) = encoder.finish();
        finished.expect("finishes");
        assert_eq!(theirs[..LZ4_FRAME_START.len()], LZ4_FRAME_START);
    }

    #[test]
    fn sequences_wrap_after_i32_max_as_kafkas_do() {
        assert_eq!(next_sequence(0, 5), 5);
        assert_eq!(next_sequence(i32::MAX - 1, 1), i32::MAX);
        assert_eq!(next_sequence(i32::MAX, 1), 0);
        assert_eq!(next_sequence(i32::MAX - 1, 5), 3);
    }

    #[test]
    fn codecs_are_named_as_compression_type_names_them() {
        for codec in Codec::ALL {
            assert_eq!(Codec::from_name(codec.name()), Some(codec));
        }
        assert_eq!(Codec::from_name(" LZ4 "), Some(Codec::Lz4));
        assert_eq!(Codec::from_name("brotli"), None);
    }

    /// The batch decodes with an independent decoder (which checks the CRC), every codec, and
    /// sealing the same records again gives the same batch but for the new header.
    #[test]
    fn batches_decode_with_kafka_protocols_decoder_for_every_codec() {
        let headers: [(&[u8], Option<&[u8]>); 2] = [(b"a", Some(b"1")), (b"n", None)];
        let records = [
            OutRecord {
                key: Some(b"k0"),
                value: Some(b"v0"),
                headers: &headers,
                timestamp: 1_700_000_000_500,
            },
            OutRecord {
                key: None,
                value: None,
                headers: &[],
                timestamp: 1_700_000_000_000,
            },
        ];
        let producer = Producer {
            id: 42,
            epoch: 3,
            base_sequence: 7,
        };
        for codec in Codec::ALL {
            let records: Records = records.iter().copied().collect();
            let mut bytes = records.seal(codec, producer, "t", 0).expect("encodes");
            let sets = RecordBatchDecoder::decode_all(&mut bytes).expect("decodes");
            let decoded: Vec<_> = sets.into_iter().flat_map(|s| s.records).collect();
            assert_eq!(decoded.len(), 2, "{codec:?}");
            let (a, b) = (&decoded[0], &decoded[1]);
            assert_eq!(a.key.as_deref(), Some(&b"k0"[..]));
            assert_eq!(a.value.as_deref(), Some(&b"v0"[..]));
            assert_eq!(a.timestamp, 1_700_000_000_500);
            assert_eq!((a.producer_id, a.producer_epoch, a.sequence), (42, 3, 7));
            assert_eq!(a.offset, 0);
            let names: Vec<&str> = a.headers.keys().map(|k| k.as_str()).collect();
            assert_eq!(names, ["a", "n"]);
            let values: Vec<Option<&[u8]>> = a.headers.values().map(|v| v.as_deref()).collect();
            assert_eq!(values, [Some(&b"1"[..]), None]);
            assert_eq!((b.key.as_deref(), b.value.as_deref()), (None, None));
            assert_eq!(
                (b.timestamp, b.offset, b.sequence),
                (1_700_000_000_000, 1, 8)
            );
        }
    }

    #[test]
    fn an_empty_batch_is_refused_naming_its_partition() {
        let e = Records::new()
            .seal(
                Codec::None,
                Producer {
                    id: 1,
                    epoch: 0,
                    base_sequence: 0,
                },
                "orders",
                3,
            )
            .expect_err("refused");
        assert!(e.to_string().contains("orders-3"), "{e}");
    }
}
