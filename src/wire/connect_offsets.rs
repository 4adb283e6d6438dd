//! Kafka Connect's offsets-topic records as `MirrorSourceConnector` uses them: this is where
//! MM2 keeps its replication position per source partition (not in the offset-syncs topic).
//!
//! Connect stores each position with its JSON converter, schemas off:
//! key `["<connector>",{"cluster":"<source alias>","partition":<n>,"topic":"<topic>"}]`,
//! value `{"offset":<upstream offset of the last record written>}`, tombstone = null value.
//! Java looks positions up by the key's exact bytes, so [`source_offset_key`] reproduces
//! Jackson's output byte for byte (field order is that of MM2's Java `HashMap`).

use serde_json::Value;

use super::WireError;
use super::jackson;
use super::partitioner::partition_for_key;

/// Connector name MM2's dedicated mode gives its source connector (the class's simple name).
/// Connect deployments such as Strimzi use their own names, so this is only a default.
pub const MIRROR_SOURCE_CONNECTOR: &str = "MirrorSourceConnector";

/// A Connect "source partition" of `MirrorSourceConnector`: one topic partition of one
/// source cluster.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourcePartition {
    /// Alias of the source cluster.
    pub cluster: String,
    /// Topic name on the source cluster.
    pub topic: String,
    /// Partition number.
    pub partition: i32,
}

/// Offsets-topic key for `partition` of connector `connector`, byte-identical to what Java
/// Connect writes for MM2.
pub fn source_offset_key(connector: &str, partition: &SourcePartition) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(connector.len() + partition.cluster.len() + partition.topic.len() + 48);
    out.extend_from_slice(b"[");
    jackson::write_string(&mut out, connector);
    out.extend_from_slice(b",{\"cluster\":");
    jackson::write_string(&mut out, &partition.cluster);
    out.extend_from_slice(b",\"partition\":");
    out.extend_from_slice(partition.partition.to_string().as_bytes());
    out.extend_from_slice(b",\"topic\":");
    jackson::write_string(&mut out, &partition.topic);
    out.extend_from_slice(b"}]");
    out
}

/// Offsets-topic value recording `offset` as the last upstream offset written: `{"offset":123}`.
pub fn source_offset_value(offset: i64) -> Vec<u8> {
    format!("{{\"offset\":{offset}}}").into_bytes()
}

/// Reads the first JSON value in `bytes`, ignoring anything after it (as Jackson's
/// `readTree` does). `Ok(None)` means the input holds no JSON value at all.
fn first_json_value(bytes: &[u8]) -> Result<Option<Value>, serde_json::Error> {
    serde_json::Deserializer::from_slice(bytes)
        .into_iter::<Value>()
        .next()
        .transpose()
}

/// Parses an offsets-topic key written for a `MirrorSourceConnector` partition, in any field
/// order or spacing, into the connector name and the source partition.
///
/// Returns `None` for keys of any other shape, such as those of the checkpoint and
/// heartbeat connectors (which carry other fields) or malformed JSON.
pub fn parse_source_offset_key(bytes: &[u8]) -> Option<(String, SourcePartition)> {
    let Value::Array(items) = first_json_value(bytes).ok()?? else {
        return None;
    };
    let [Value::String(connector), Value::Object(map)] = items.as_slice() else {
        return None;
    };
    if map.len() != 3 {
        return None;
    }
    let cluster = map.get("cluster")?.as_str()?;
    let topic = map.get("topic")?.as_str()?;
    let partition = i32::try_from(map.get("partition")?.as_i64()?).ok()?;
    Some((
        connector.clone(),
        SourcePartition {
            cluster: cluster.to_owned(),
            topic: topic.to_owned(),
            partition,
        },
    ))
}

/// Parses an offsets-topic value into the stored upstream offset.
///
/// `Ok(None)` means there is no stored position: an empty value (tombstone), JSON `null`,
/// or an object whose `offset` is missing or null (MM2 treats the last two as "no offset"
/// too). Other shapes, or an `offset` that is not a 64-bit integer, are errors.
pub fn parse_source_offset_value(bytes: &[u8]) -> Result<Option<i64>, WireError> {
    let invalid = |reason: String| WireError::InvalidSourceOffset { reason };
    let value = first_json_value(bytes).map_err(|e| invalid(format!("not JSON: {e}")))?;
    let map = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(map)) => map,
        Some(other) => return Err(invalid(format!("expected an object, got {other}"))),
    };
    match map.get("offset") {
        None | Some(Value::Null) => Ok(None),
        Some(offset) => offset
            .as_i64()
            .map(Some)
            .ok_or_else(|| invalid(format!("\"offset\" is not a 64-bit integer: {offset}"))),
    }
}

/// Partition of a Connect offsets topic with `num_partitions` partitions that Java Connect
/// writes `key` to (Kafka's default keyed partitioner over the serialized key).
///
/// A `num_partitions` below 1 yields 0.
pub fn offsets_topic_partition(key: &[u8], num_partitions: i32) -> i32 {
    partition_for_key(key, num_partitions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(cluster: &str, topic: &str, partition: i32) -> SourcePartition {
        SourcePartition {
            cluster: cluster.into(),
            topic: topic.into(),
            partition,
        }
    }

    /// Expected bytes come from Java, not from reading the reference: a one-off program in
    /// /tmp (not committed) ran against Kafka 4.1.1's jars (`~/.cache/strait/kafka-4.1.1/libs`,
    /// Jackson 2.19). It built each partition map as MM2's `MirrorUtils.wrapPartition` does
    /// (a `HashMap` with "topic", "partition" (Integer) and "cluster"), serialized
    /// `Arrays.asList("MirrorSourceConnector", map)` with `JsonConverter` configured
    /// `schemas.enable=false, isKey=true`, and printed the bytes; values were
    /// `Collections.singletonMap("offset", <long>)` through a `JsonConverter` with
    /// `isKey=false`. The output showed: key order cluster, partition, topic; compact JSON;
    /// control characters escaped as `\u00XX` with uppercase hex except `\b \f \n \r \t`;
    /// U+007F, `/`, U+2028/2029 and other BMP characters raw in UTF-8; characters beyond
    /// U+FFFF escaped as an uppercase surrogate pair. It also printed
    /// `Utils.toPositive(Utils.murmur2(key)) % 25 == 7` for the first key.
    const JAVA_KEYS: [(&str, &str, i32, &str); 6] = [
        (
            "A",
            "t",
            0,
            r#"["MirrorSourceConnector",{"cluster":"A","partition":0,"topic":"t"}]"#,
        ),
        (
            "us-east",
            "orders.v1",
            7,
            r#"["MirrorSourceConnector",{"cluster":"us-east","partition":7,"topic":"orders.v1"}]"#,
        ),
        (
            "A",
            "t\"q\\b/s",
            2_147_483_647,
            r#"["MirrorSourceConnector",{"cluster":"A","partition":2147483647,"topic":"t\"q\\b/s"}]"#,
        ),
        (
            "A",
            "ctl\u{0}\u{1}\u{1f}\u{7f}\u{8}\u{c}\n\r\t",
            -1,
            "[\"MirrorSourceConnector\",{\"cluster\":\"A\",\"partition\":-1,\"topic\":\"ctl\\u0000\\u0001\\u001F\u{7f}\\b\\f\\n\\r\\t\"}]",
        ),
        (
            "é",
            "日本😀",
            3,
            "[\"MirrorSourceConnector\",{\"cluster\":\"é\",\"partition\":3,\"topic\":\"日本\\uD83D\\uDE00\"}]",
        ),
        (
            "A",
            "\u{2028}\u{2029}<>&'",
            1,
            "[\"MirrorSourceConnector\",{\"cluster\":\"A\",\"partition\":1,\"topic\":\"\u{2028}\u{2029}<>&'\"}]",
        ),
    ];

    #[test]
    fn key_matches_java_bytes() {
        for (cluster, topic, partition, java) in JAVA_KEYS {
            let key = source_offset_key(MIRROR_SOURCE_CONNECTOR, &sp(cluster, topic, partition));
            assert_eq!(
                String::from_utf8(key).unwrap(),
                java,
                "{cluster}/{topic}/{partition}"
            );
        }
    }

    #[test]
    fn key_matches_reference_example_hex() {
        // The first Java key, as the hex the Java program printed.
        let hex = "5b224d6972726f72536f75726365436f6e6e6563746f72222c7b22636c7573746572223a2241\
                   222c22706172746974696f6e223a302c22746f706963223a2274227d5d";
        let expected: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        assert_eq!(
            source_offset_key(MIRROR_SOURCE_CONNECTOR, &sp("A", "t", 0)),
            expected
        );
    }

    #[test]
    fn value_matches_java_bytes() {
        assert_eq!(source_offset_value(123), br#"{"offset":123}"#);
        assert_eq!(source_offset_value(0), br#"{"offset":0}"#);
        assert_eq!(source_offset_value(-1), br#"{"offset":-1}"#);
        assert_eq!(
            source_offset_value(i64::MAX),
            br#"{"offset":9223372036854775807}"#
        );
        assert_eq!(
            source_offset_value(i64::MIN),
            br#"{"offset":-9223372036854775808}"#
        );
    }

    #[test]
    fn offsets_topic_partition_matches_java() {
        let key = source_offset_key(MIRROR_SOURCE_CONNECTOR, &sp("A", "t", 0));
        assert_eq!(offsets_topic_partition(&key, 25), 7);
        assert_eq!(offsets_topic_partition(&key, 1), 0);
    }

    #[test]
    fn parses_keys_we_and_java_write() {
        for (cluster, topic, partition, java) in JAVA_KEYS {
            assert_eq!(
                parse_source_offset_key(java.as_bytes()),
                Some((
                    MIRROR_SOURCE_CONNECTOR.to_owned(),
                    sp(cluster, topic, partition)
                ))
            );
        }
    }

    #[test]
    fn parses_keys_in_any_order_and_spacing() {
        let key = br#" [ "src->tgt.MirrorSourceConnector" , { "topic" : "t" , "cluster":"A",
            "partition" : 4 } ] "#;
        assert_eq!(
            parse_source_offset_key(key),
            Some(("src->tgt.MirrorSourceConnector".to_owned(), sp("A", "t", 4)))
        );
    }

    #[test]
    fn rejects_other_key_shapes() {
        let others: [&[u8]; 12] = [
            // Checkpoint and heartbeat connectors' keys.
            br#"["MirrorCheckpointConnector",{"partition":0,"topic":"t","group":"g"}]"#,
            br#"["MirrorHeartbeatConnector",{"sourceClusterAlias":"A","targetClusterAlias":"B"}]"#,
            br#"["C",{"cluster":"A","partition":0,"topic":"t","extra":1}]"#,
            br#"["C",{"cluster":"A","partition":0}]"#,
            br#"["C",{"cluster":"A","partition":"0","topic":"t"}]"#,
            br#"["C",{"cluster":"A","partition":0.5,"topic":"t"}]"#,
            br#"["C",{"cluster":"A","partition":2147483648,"topic":"t"}]"#,
            br#"["C",{"cluster":1,"partition":0,"topic":"t"}]"#,
            br#"[null,{"cluster":"A","partition":0,"topic":"t"}]"#,
            br#"["C",{"cluster":"A","partition":0,"topic":"t"},1]"#,
            b"",
            b"[\"C\",{\"cluster\":\"A\"",
        ];
        for key in others {
            assert_eq!(
                parse_source_offset_key(key),
                None,
                "{}",
                String::from_utf8_lossy(key)
            );
        }
        assert_eq!(parse_source_offset_key(&[0xff, 0x00]), None);
    }

    #[test]
    fn parses_values() {
        assert_eq!(parse_source_offset_value(b"").unwrap(), None);
        assert_eq!(parse_source_offset_value(b"null").unwrap(), None);
        assert_eq!(parse_source_offset_value(b"{}").unwrap(), None);
        assert_eq!(
            parse_source_offset_value(br#"{"offset":null}"#).unwrap(),
            None
        );
        assert_eq!(
            parse_source_offset_value(br#"{"offset":123}"#).unwrap(),
            Some(123)
        );
        assert_eq!(
            parse_source_offset_value(br#" { "other" : true, "offset" : -1 } "#).unwrap(),
            Some(-1)
        );
        for offset in [i64::MIN, 0, i64::MAX] {
            assert_eq!(
                parse_source_offset_value(&source_offset_value(offset)).unwrap(),
                Some(offset)
            );
        }
    }

    #[test]
    fn bad_values_are_errors() {
        let bad: [&[u8]; 6] = [
            b"{",
            b"[1]",
            b"123",
            br#"{"offset":"1"}"#,
            br#"{"offset":1.5}"#,
            br#"{"offset":9223372036854775808}"#,
        ];
        for value in bad {
            let err = parse_source_offset_value(value).unwrap_err();
            assert!(
                matches!(err, WireError::InvalidSourceOffset { .. }),
                "{err:?}"
            );
            assert!(err.to_string().contains("source offset"), "{err}");
        }
    }

    #[test]
    fn keys_round_trip_edge_values() {
        let names = ["", "A", "ünï-côdé.topic", "日本😀", "q\"\\\u{1}\u{7f}"];
        for connector in [MIRROR_SOURCE_CONNECTOR, "", "a->b.MirrorSourceConnector"] {
            for cluster in names {
                for topic in names {
                    for partition in [i32::MIN, -1, 0, i32::MAX] {
                        let p = sp(cluster, topic, partition);
                        let key = source_offset_key(connector, &p);
                        assert_eq!(
                            parse_source_offset_key(&key),
                            Some((connector.to_owned(), p))
                        );
                    }
                }
            }
        }
    }
}
