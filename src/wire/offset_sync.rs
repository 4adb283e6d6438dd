//! Offset syncs: records in `mm2-offset-syncs.<alias>.internal` that pair an upstream offset
//! with the downstream offset it was replicated to. The checkpoint side reads them to
//! translate consumer group offsets.
//!
//! Layout (no version header): key = `topic` STRING, `partition` INT32; value =
//! `upstreamOffset` INT64, `offset` INT64.

use super::WireError;
use super::primitives::{Reader, append_or_rollback, put_i32, put_i64, put_string, string_size};

/// One offset sync: `upstream_offset` in the source partition corresponds to
/// `downstream_offset` in its replica.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OffsetSync {
    /// Topic name as on the source cluster (not renamed).
    pub topic: String,
    /// Partition number, the same upstream and downstream.
    pub partition: i32,
    /// Offset of the record on the source cluster.
    pub upstream_offset: i64,
    /// Offset the record was written at on the target cluster.
    pub downstream_offset: i64,
}

/// Size of the encoded value: two INT64s.
const VALUE_SIZE: usize = 16;

impl OffsetSync {
    /// Encodes the record key (topic, partition).
    ///
    /// Fails only when the topic name exceeds 32767 bytes of UTF-8.
    pub fn encode_key(&self) -> Result<Vec<u8>, WireError> {
        let mut buf = Vec::with_capacity(string_size(&self.topic) + 4);
        self.encode_key_into(&mut buf)?;
        Ok(buf)
    }

    /// Appends the record key to `buf`; on error `buf` is left as it was.
    pub fn encode_key_into(&self, buf: &mut Vec<u8>) -> Result<(), WireError> {
        append_or_rollback(buf, |buf| {
            put_string(buf, &self.topic, "offset sync key: topic")?;
            put_i32(buf, self.partition);
            Ok(())
        })
    }

    /// Encodes the record value (upstream offset, downstream offset).
    pub fn encode_value(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(VALUE_SIZE);
        self.encode_value_into(&mut buf);
        buf
    }

    /// Appends the record value to `buf`.
    pub fn encode_value_into(&self, buf: &mut Vec<u8>) {
        put_i64(buf, self.upstream_offset);
        put_i64(buf, self.downstream_offset);
    }

    /// Decodes an offset sync from its record key and value. Trailing bytes are ignored.
    pub fn decode(key: &[u8], value: &[u8]) -> Result<Self, WireError> {
        let mut k = Reader::new(key);
        let topic = k.string("offset sync key: topic")?;
        let partition = k.i32("offset sync key: partition")?;
        let mut v = Reader::new(value);
        let upstream_offset = v.i64("offset sync value: upstream offset")?;
        let downstream_offset = v.i64("offset sync value: downstream offset")?;
        Ok(Self {
            topic,
            partition,
            upstream_offset,
            downstream_offset,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> OffsetSync {
        OffsetSync {
            topic: "topic1".into(),
            partition: 2,
            upstream_offset: 1000,
            downstream_offset: 900,
        }
    }

    /// Reference §2 example bytes.
    const KEY: [u8; 12] = [
        0x00, 0x06, 0x74, 0x6f, 0x70, 0x69, 0x63, 0x31, 0x00, 0x00, 0x00, 0x02,
    ];
    const VALUE: [u8; 16] = [
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
        0x84,
    ];

    #[test]
    fn encodes_reference_example() {
        let sync = example();
        assert_eq!(sync.encode_key().unwrap(), KEY);
        assert_eq!(sync.encode_value(), VALUE);
    }

    #[test]
    fn decodes_reference_example() {
        assert_eq!(OffsetSync::decode(&KEY, &VALUE).unwrap(), example());
    }

    #[test]
    fn into_variants_append() {
        let sync = example();
        let mut buf = vec![0xaa];
        sync.encode_key_into(&mut buf).unwrap();
        sync.encode_value_into(&mut buf);
        assert_eq!(buf[0], 0xaa);
        assert_eq!(&buf[1..13], KEY);
        assert_eq!(&buf[13..], VALUE);
    }

    #[test]
    fn trailing_bytes_are_ignored() {
        let mut key = KEY.to_vec();
        key.push(0xff);
        let mut value = VALUE.to_vec();
        value.extend_from_slice(&[1, 2, 3]);
        assert_eq!(OffsetSync::decode(&key, &value).unwrap(), example());
    }

    #[test]
    fn truncated_input_names_the_field() {
        for cut in 0..KEY.len() {
            let err = OffsetSync::decode(&KEY[..cut], &VALUE).unwrap_err();
            assert!(matches!(err, WireError::Truncated { .. }), "{err:?}");
            assert!(err.to_string().contains("offset sync key"), "{err}");
        }
        for cut in 0..VALUE.len() {
            let err = OffsetSync::decode(&KEY, &VALUE[..cut]).unwrap_err();
            let expected = if cut < 8 { "upstream" } else { "downstream" };
            assert!(err.to_string().contains(expected), "{err}");
        }
    }

    #[test]
    fn overlong_topic_is_an_error() {
        let sync = OffsetSync {
            topic: "t".repeat(40_000),
            ..example()
        };
        let err = sync.encode_key().unwrap_err();
        assert!(matches!(err, WireError::StringTooLong { len: 40_000, .. }));
        let mut buf = vec![7];
        assert!(sync.encode_key_into(&mut buf).is_err());
        assert_eq!(buf, [7]);
    }

    #[test]
    fn round_trips_edge_values() {
        let topics = ["", "t", "日本語.トピック", "emoji-😀", "a.b_c-D"];
        let ints = [i32::MIN, -1, 0, 1, i32::MAX];
        let longs = [i64::MIN, -1, 0, 1, i64::MAX];
        for topic in topics {
            for partition in ints {
                for upstream_offset in longs {
                    for downstream_offset in longs {
                        let sync = OffsetSync {
                            topic: topic.into(),
                            partition,
                            upstream_offset,
                            downstream_offset,
                        };
                        let key = sync.encode_key().unwrap();
                        let value = sync.encode_value();
                        assert_eq!(key.len(), 2 + topic.len() + 4);
                        assert_eq!(value.len(), VALUE_SIZE);
                        assert_eq!(OffsetSync::decode(&key, &value).unwrap(), sync);
                    }
                }
            }
        }
    }
}
