//! Heartbeats: records in the `heartbeats` topic (and its replicas) that show a flow is
//! alive and let tools discover the replication topology.
//!
//! Layout: key = `sourceClusterAlias` STRING, `targetClusterAlias` STRING;
//! value = `version` INT16 (0), `timestamp` INT64 (epoch milliseconds).

use super::WireError;
use super::primitives::{Reader, append_or_rollback, put_i16, put_i64, put_string, string_size};

/// One heartbeat from `source_alias` to `target_alias`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Heartbeat {
    /// Alias of the cluster the flow reads from.
    pub source_alias: String,
    /// Alias of the cluster the flow writes to.
    pub target_alias: String,
    /// When the heartbeat was emitted, in milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
}

/// Size of the encoded value: INT16 version and INT64 timestamp.
const VALUE_SIZE: usize = 10;

impl Heartbeat {
    /// Value version this crate writes. Readers accept any version with this layout.
    pub const VERSION: i16 = 0;

    /// Encodes the record key (source alias, target alias).
    ///
    /// Fails only when an alias exceeds 32767 bytes of UTF-8.
    pub fn encode_key(&self) -> Result<Vec<u8>, WireError> {
        let mut buf =
            Vec::with_capacity(string_size(&self.source_alias) + string_size(&self.target_alias));
        self.encode_key_into(&mut buf)?;
        Ok(buf)
    }

    /// Appends the record key to `buf`; on error `buf` is left as it was.
    pub fn encode_key_into(&self, buf: &mut Vec<u8>) -> Result<(), WireError> {
        append_or_rollback(buf, |buf| {
            put_string(
                buf,
                &self.source_alias,
                "heartbeat key: source cluster alias",
            )?;
            put_string(
                buf,
                &self.target_alias,
                "heartbeat key: target cluster alias",
            )
        })
    }

    /// Encodes the record value (version 0, timestamp).
    pub fn encode_value(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(VALUE_SIZE);
        self.encode_value_into(&mut buf);
        buf
    }

    /// Appends the record value to `buf`.
    pub fn encode_value_into(&self, buf: &mut Vec<u8>) {
        put_i16(buf, Self::VERSION);
        put_i64(buf, self.timestamp_ms);
    }

    /// Decodes a heartbeat from its record key and value.
    ///
    /// The version field is read but not checked, and trailing bytes are ignored, as in Java.
    pub fn decode(key: &[u8], value: &[u8]) -> Result<Self, WireError> {
        let mut k = Reader::new(key);
        let source_alias = k.string("heartbeat key: source cluster alias")?;
        let target_alias = k.string("heartbeat key: target cluster alias")?;
        let mut v = Reader::new(value);
        let _version = v.i16("heartbeat value: version")?;
        let timestamp_ms = v.i64("heartbeat value: timestamp")?;
        Ok(Self {
            source_alias,
            target_alias,
            timestamp_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Heartbeat {
        Heartbeat {
            source_alias: "A".into(),
            target_alias: "B".into(),
            timestamp_ms: 1_700_000_000_000,
        }
    }

    /// Reference §2 example bytes.
    const KEY: [u8; 6] = [0x00, 0x01, 0x41, 0x00, 0x01, 0x42];
    const VALUE: [u8; 10] = [0x00, 0x00, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00];

    #[test]
    fn encodes_reference_example() {
        assert_eq!(example().encode_key().unwrap(), KEY);
        assert_eq!(example().encode_value(), VALUE);
    }

    #[test]
    fn decodes_reference_example() {
        assert_eq!(Heartbeat::decode(&KEY, &VALUE).unwrap(), example());
    }

    #[test]
    fn any_version_decodes_with_v0_layout_and_trailing_bytes_are_ignored() {
        let mut value = VALUE.to_vec();
        value[1] = 3;
        value.push(0xff);
        let mut key = KEY.to_vec();
        key.extend_from_slice(&[0, 0]);
        assert_eq!(Heartbeat::decode(&key, &value).unwrap(), example());
    }

    #[test]
    fn into_variants_append() {
        let hb = example();
        let mut buf = vec![0xaa];
        hb.encode_key_into(&mut buf).unwrap();
        hb.encode_value_into(&mut buf);
        assert_eq!(buf[0], 0xaa);
        assert_eq!(&buf[1..7], KEY);
        assert_eq!(&buf[7..], VALUE);
    }

    #[test]
    fn truncated_input_names_the_field() {
        for cut in 0..KEY.len() {
            let err = Heartbeat::decode(&KEY[..cut], &VALUE).unwrap_err();
            assert!(matches!(err, WireError::Truncated { .. }), "{err:?}");
            let expected = if cut < 3 { "source" } else { "target" };
            assert!(err.to_string().contains(expected), "cut {cut}: {err}");
        }
        for cut in 0..VALUE.len() {
            let err = Heartbeat::decode(&KEY, &VALUE[..cut]).unwrap_err();
            let expected = if cut < 2 { "version" } else { "timestamp" };
            assert!(err.to_string().contains(expected), "cut {cut}: {err}");
        }
    }

    #[test]
    fn overlong_alias_is_an_error() {
        let hb = Heartbeat {
            target_alias: "b".repeat(32_768),
            ..example()
        };
        let mut buf = Vec::new();
        let err = hb.encode_key_into(&mut buf).unwrap_err();
        assert!(err.to_string().contains("target cluster alias"), "{err}");
        assert!(buf.is_empty(), "partial key rolled back");
    }

    #[test]
    fn round_trips_edge_values() {
        let aliases = ["", "A", "us-east-1", "クラスタ", "😀"];
        for source_alias in aliases {
            for target_alias in aliases {
                for timestamp_ms in [i64::MIN, -1, 0, 1_700_000_000_000, i64::MAX] {
                    let hb = Heartbeat {
                        source_alias: source_alias.into(),
                        target_alias: target_alias.into(),
                        timestamp_ms,
                    };
                    let key = hb.encode_key().unwrap();
                    let value = hb.encode_value();
                    assert_eq!(value.len(), VALUE_SIZE);
                    assert_eq!(Heartbeat::decode(&key, &value).unwrap(), hb);
                }
            }
        }
    }
}
