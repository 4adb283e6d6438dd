//! MM2's byte formats: offset syncs, checkpoints, heartbeats and Kafka Connect offsets.
//!
//! Everything here is byte-compatible with Apache Kafka MirrorMaker 2, so that Strait and
//! Java MM2 can read each other's internal topics and take over from one another:
//!
//! | item | topic | format |
//! |---|---|---|
//! | [`OffsetSync`] | `mm2-offset-syncs.<alias>.internal` | Kafka protocol schema, no version header |
//! | [`Checkpoint`] | `<source>.checkpoints.internal` | Kafka protocol schema, version 0 value header |
//! | [`Heartbeat`] | `heartbeats` | Kafka protocol schema, version 0 value header |
//! | [`run_start::RunStart`] | header `strait.run.start` on offset syncs | Strait's own, 16 bytes; MM2 ignores it |
//! | [`SourcePartition`] and friends | Connect offsets topic (`mm2-offsets.<source>.internal`) | Jackson-written JSON |
//!
//! The schema-based formats are built from the big-endian helpers in [`primitives`].
//! Decoders never panic: truncated or malformed input yields a [`WireError`] that names the
//! field being read. Like Java, they ignore trailing bytes and accept any value version with
//! the version 0 layout, because newer writers may append fields.

mod checkpoint;
mod connect_offsets;
mod heartbeat;
mod jackson;
mod offset_sync;
mod partitioner;
pub mod primitives;
pub mod run_start;

pub use checkpoint::Checkpoint;
pub use connect_offsets::{
    MIRROR_SOURCE_CONNECTOR, SourcePartition, offsets_topic_partition, parse_source_offset_key,
    parse_source_offset_value, source_offset_key, source_offset_value,
};
pub use heartbeat::Heartbeat;
pub use offset_sync::OffsetSync;
pub use partitioner::{murmur2, partition_for_key};

/// Why bytes could not be encoded to, or decoded from, one of MM2's formats.
///
/// `what` names the field involved, e.g. `"checkpoint key: group"`, so a log line points at
/// the exact spot without a hex dump.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The input ended before the field was complete.
    #[error("truncated input while decoding {what}: needs {needed} bytes, only {available} left")]
    Truncated {
        /// The field being decoded.
        what: &'static str,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// A STRING field announced a negative length (Java rejects these too).
    #[error("invalid length {len} while decoding {what}: a string length cannot be negative")]
    NegativeLength {
        /// The field being decoded.
        what: &'static str,
        /// The length read from the input.
        len: i16,
    },
    /// A STRING field does not hold valid UTF-8.
    #[error("invalid UTF-8 while decoding {what}")]
    InvalidUtf8 {
        /// The field being decoded.
        what: &'static str,
    },
    /// A string is too long for a Kafka protocol STRING (INT16 length prefix).
    #[error("cannot encode {what}: {len} bytes of UTF-8, the maximum is 32767")]
    StringTooLong {
        /// The field being encoded.
        what: &'static str,
        /// Its length in UTF-8 bytes.
        len: usize,
    },
    /// A Kafka Connect offset value is not of the shape MM2 writes (`{"offset":<long>}`).
    #[error("invalid Connect source offset value: {reason}")]
    InvalidSourceOffset {
        /// What is wrong with it.
        reason: String,
    },
}
