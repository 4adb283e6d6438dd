//! The run-start header Strait adds to offset-sync records: where the contiguous run of
//! replicated records ending at the sync began (see `crate::checkpoint::sync_runs` for how the
//! checkpointer uses it). 16 bytes, upstream then downstream offset, big-endian INT64; MM2
//! reads only an offset sync's key and value, so it ignores the header.

use rdkafka::message::{Header, OwnedHeaders};

/// Name of the record header carrying a sync's run start.
pub const RUN_START_HEADER: &str = "strait.run.start";

/// The first record of a contiguous run: `(upstream, downstream)` offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunStart {
    /// Upstream offset of the run's first record.
    pub upstream: i64,
    /// Downstream offset of the run's first record.
    pub downstream: i64,
}

impl From<(i64, i64)> for RunStart {
    fn from((upstream, downstream): (i64, i64)) -> Self {
        Self {
            upstream,
            downstream,
        }
    }
}

impl RunStart {
    /// The header value: upstream then downstream, big-endian.
    pub fn encode(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.upstream.to_be_bytes());
        out[8..].copy_from_slice(&self.downstream.to_be_bytes());
        out
    }

    /// Decodes a header value; `None` unless it is exactly 16 bytes.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let up: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
        let down: [u8; 8] = bytes.get(8..)?.try_into().ok()?;
        Some(Self {
            upstream: i64::from_be_bytes(up),
            downstream: i64::from_be_bytes(down),
        })
    }
}

/// The headers of an offset-sync record carrying `encoded` (from [`RunStart::encode`]).
pub fn run_start_headers(encoded: &[u8; 16]) -> OwnedHeaders {
    OwnedHeaders::new_with_capacity(1).insert(Header {
        key: RUN_START_HEADER,
        value: Some(&encoded[..]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_bad_lengths() {
        let r = RunStart::from((1000, 900));
        let bytes = r.encode();
        assert_eq!(
            bytes,
            [0, 0, 0, 0, 0, 0, 3, 0xe8, 0, 0, 0, 0, 0, 0, 3, 0x84]
        );
        assert_eq!(RunStart::decode(&bytes), Some(r));
        assert_eq!(RunStart::decode(&bytes[..15]), None);
        assert_eq!(RunStart::decode(&[0u8; 17]), None);
        assert_eq!(RunStart::decode(&[]), None);
    }
}
