//! Checkpoints: records in `<source>.checkpoints.internal` that give a consumer group's
//! committed offset on the source cluster and its translation on the target cluster.
//!
//! Layout: key = `group` STRING, `topic` STRING (downstream name), `partition` INT32;
//! value = `version` INT16 (0), `upstreamOffset` INT64, `offset` INT64, `metadata` STRING.

use super::WireError;
use super::primitives::{
    Reader, append_or_rollback, put_i16, put_i32, put_i64, put_string, string_size,
};

/// One consumer group checkpoint for one partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    /// Consumer group id.
    pub group: String,
    /// Topic name on the target cluster, i.e. after renaming (e.g. `A.topic1`).
    pub topic: String,
    /// Partition number.
    pub partition: i32,
    /// The group's committed offset on the source cluster.
    pub upstream_offset: i64,
    /// The translated offset on the target cluster.
    pub downstream_offset: i64,
    /// The group's commit metadata on the source cluster; `""` when it has none, as Java
    /// turns a missing metadata string into an empty one.
    pub metadata: String,
}

impl Checkpoint {
    /// Value version this crate writes. Readers accept any version with this layout.
    pub const VERSION: i16 = 0;

    /// Encodes the record key (group, topic, partition).
    ///
    /// Fails only when the group or topic exceeds 32767 bytes of UTF-8.
    pub fn encode_key(&self) -> Result<Vec<u8>, WireError> {
        let mut buf = Vec::with_capacity(string_size(&self.group) + string_size(&self.topic) + 4);
        self.encode_key_into(&mut buf)?;
        Ok(buf)
    }

    /// Appends the record key to `buf`; on error `buf` is left as it was.
    pub fn encode_key_into(&self, buf: &mut Vec<u8>) -> Result<(), WireError> {
        append_or_rollback(buf, |buf| {
            put_string(buf, &self.group, "checkpoint key: group")?;
            put_string(buf, &self.topic, "checkpoint key: topic")?;
            put_i32(buf, self.partition);
            Ok(())
        })
    }

    /// Encodes the record value (version 0, upstream offset, downstream offset, metadata).
    ///
    /// Fails only when the metadata exceeds 32767 bytes of UTF-8 (Java MM2 fails there too).
    pub fn encode_value(&self) -> Result<Vec<u8>, WireError> {
        let mut buf = Vec::with_capacity(2 + 8 + 8 + string_size(&self.metadata));
        self.encode_value_into(&mut buf)?;
        Ok(buf)
    }

    /// Appends the record value to `buf`; on error `buf` is left as it was.
    pub fn encode_value_into(&self, buf: &mut Vec<u8>) -> Result<(), WireError> {
        append_or_rollback(buf, |buf| {
            put_i16(buf, Self::VERSION);
            put_i64(buf, self.upstream_offset);
            put_i64(buf, self.downstream_offset);
            put_string(buf, &self.metadata, "checkpoint value: metadata")
        })
    }

    /// Decodes a checkpoint from its record key and value.
    ///
    /// The version field is read but not checked, and trailing bytes are ignored, as in Java.
    pub fn decode(key: &[u8], value: &[u8]) -> Result<Self, WireError> {
        let mut k = Reader::new(key);
        let group = k.string("checkpoint key: group")?;
        let topic = k.string("checkpoint key: topic")?;
        let partition = k.i32("checkpoint key: partition")?;
        let mut v = Reader::new(value);
        let _version = v.i16("checkpoint value: version")?;
        let upstream_offset = v.i64("checkpoint value: upstream offset")?;
        let downstream_offset = v.i64("checkpoint value: downstream offset")?;
        let metadata = v.string("checkpoint value: metadata")?;
        Ok(Self {
            group,
            topic,
            partition,
            upstream_offset,
            downstream_offset,
            metadata,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(metadata: &str) -> Checkpoint {
        Checkpoint {
            group: "group1".into(),
            topic: "A.topic1".into(),
            partition: 2,
            upstream_offset: 1000,
            downstream_offset: 901,
            metadata: metadata.into(),
        }
    }

    /// Reference §2 example bytes.
    const KEY: [u8; 22] = [
        0x00, 0x06, 0x67, 0x72, 0x6f, 0x75, 0x70, 0x31, 0x00, 0x08, 0x41, 0x2e, 0x74, 0x6f, 0x70,
        0x69, 0x63, 0x31, 0x00, 0x00, 0x00, 0x02,
    ];
    const VALUE_EMPTY_METADATA: [u8; 20] = [
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x03, 0x85, 0x00, 0x00,
    ];
    const VALUE_METADATA_M: [u8; 21] = [
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x03, 0x85, 0x00, 0x01, 0x6d,
    ];

    #[test]
    fn encodes_reference_examples() {
        assert_eq!(example("").encode_key().unwrap(), KEY);
        assert_eq!(example("").encode_value().unwrap(), VALUE_EMPTY_METADATA);
        assert_eq!(example("m").encode_key().unwrap(), KEY);
        assert_eq!(example("m").encode_value().unwrap(), VALUE_METADATA_M);
    }

    #[test]
    fn decodes_reference_examples() {
        assert_eq!(
            Checkpoint::decode(&KEY, &VALUE_EMPTY_METADATA).unwrap(),
            example("")
        );
        assert_eq!(
            Checkpoint::decode(&KEY, &VALUE_METADATA_M).unwrap(),
            example("m")
        );
    }

    #[test]
    fn any_version_decodes_with_v0_layout_and_trailing_bytes_are_ignored() {
        let mut value = VALUE_METADATA_M.to_vec();
        value[0..2].copy_from_slice(&7i16.to_be_bytes());
        value.extend_from_slice(&[0xde, 0xad]);
        let mut key = KEY.to_vec();
        key.push(0);
        assert_eq!(Checkpoint::decode(&key, &value).unwrap(), example("m"));
    }

    #[test]
    fn into_variants_append() {
        let cp = example("m");
        let mut buf = vec![0xaa];
        cp.encode_key_into(&mut buf).unwrap();
        cp.encode_value_into(&mut buf).unwrap();
        assert_eq!(buf[0], 0xaa);
        assert_eq!(&buf[1..23], KEY);
        assert_eq!(&buf[23..], VALUE_METADATA_M);
    }

    #[test]
    fn truncated_input_names_the_field() {
        for cut in 0..KEY.len() {
            let err = Checkpoint::decode(&KEY[..cut], &VALUE_METADATA_M).unwrap_err();
            assert!(matches!(err, WireError::Truncated { .. }), "{err:?}");
            let expected = match cut {
                0..8 => "group",
                8..18 => "topic",
                _ => "partition",
            };
            assert!(err.to_string().contains(expected), "cut {cut}: {err}");
        }
        for cut in 0..VALUE_METADATA_M.len() {
            let err = Checkpoint::decode(&KEY, &VALUE_METADATA_M[..cut]).unwrap_err();
            assert!(matches!(err, WireError::Truncated { .. }), "{err:?}");
            let expected = match cut {
                0..2 => "version",
                2..10 => "upstream",
                10..18 => "downstream",
                _ => "metadata",
            };
            assert!(err.to_string().contains(expected), "cut {cut}: {err}");
        }
    }

    #[test]
    fn overlong_strings_are_errors() {
        let long = "g".repeat(32_768);
        let cp = Checkpoint {
            topic: long.clone(),
            ..example("")
        };
        let mut buf = vec![1];
        let err = cp.encode_key_into(&mut buf).unwrap_err();
        assert!(err.to_string().contains("checkpoint key: topic"), "{err}");
        assert_eq!(buf, [1], "partial key rolled back");

        let cp = Checkpoint {
            metadata: long,
            ..example("")
        };
        let err = cp.encode_value_into(&mut buf).unwrap_err();
        assert!(err.to_string().contains("metadata"), "{err}");
        assert_eq!(buf, [1], "partial value rolled back");
    }

    #[test]
    fn round_trips_edge_values() {
        let strings = ["", "x", "grüße-组", "😀\u{0}\u{ffff}"];
        let longs = [i64::MIN, -1, 0, i64::MAX];
        for group in strings {
            for topic in strings {
                for partition in [i32::MIN, 0, i32::MAX] {
                    for upstream_offset in longs {
                        for downstream_offset in longs {
                            for metadata in strings {
                                let cp = Checkpoint {
                                    group: group.into(),
                                    topic: topic.into(),
                                    partition,
                                    upstream_offset,
                                    downstream_offset,
                                    metadata: metadata.into(),
                                };
                                let key = cp.encode_key().unwrap();
                                let value = cp.encode_value().unwrap();
                                assert_eq!(Checkpoint::decode(&key, &value).unwrap(), cp);
                            }
                        }
                    }
                }
            }
        }
    }
}
