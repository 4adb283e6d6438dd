//! One fetch request to one broker, and its answer read as raw batches.
//!
//! The request is a full fetch (no fetch session), topics named (version 12, the last before
//! topic ids).

use std::time::Duration;

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{FetchRequest, FetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::read_committed::ReadCommitted;
use crate::kafka::record_batch::{self, RawBatch, RecordSetError};

/// How a fetch asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchSettings {
    /// `fetch.max.wait.ms`: how long the broker may wait for `min_bytes`.
    pub max_wait: Duration,
    /// `fetch.min.bytes`.
    pub min_bytes: i32,
    /// `fetch.max.bytes`: the answer's limit (the first batch comes whole even if larger).
    pub max_bytes: i32,
    /// `max.partition.fetch.bytes`.
    pub partition_max_bytes: i32,
    /// `isolation.level=read_committed`: aborted transactions' batches are left out.
    pub read_committed: bool,
}

impl Default for FetchSettings {
    /// The Java consumer's defaults, read_uncommitted.
    fn default() -> Self {
        Self {
            max_wait: Duration::from_millis(500),
            min_bytes: 1,
            max_bytes: 52_428_800,
            partition_max_bytes: 1_048_576,
            read_committed: false,
        }
    }
}

/// Where to read a partition from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The source topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The next offset to read.
    pub offset: i64,
}

/// What one partition's answer held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The source topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The partition's error code (0 for none).
    pub error_code: i16,
    /// The partition's high watermark.
    pub high_watermark: i64,
    /// The partition's log start offset.
    pub log_start_offset: i64,
    /// The offset asked for: the first batch may start before it.
    pub from: i64,
    /// Batches of records to deliver, in order; transaction markers and, with
    /// read_committed, aborted batches are left out. The first may start before the offset
    /// asked for (the broker answers with whole batches): its records before it were read
    /// already.
    pub batches: Vec<RawBatch>,
    /// Where the next fetch of the partition starts: after the last whole batch, delivered
    /// or left out; the offset asked for when the answer held none.
    pub next_offset: i64,
    /// The partition's records could not be read as batches (error code
    /// [`CORRUPT_MESSAGE`]): why. Nothing of the answer is delivered.
    pub unreadable: Option<FetchReadError>,
}

/// `CORRUPT_MESSAGE`: the code of a partition whose records could not be read.
pub const CORRUPT_MESSAGE: i16 = 2;

/// The request reading `positions`, every partition of a topic together.
pub fn request(positions: &[Position], settings: &FetchSettings) -> FetchRequest {
    let mut topics: Vec<FetchTopic> = Vec::new();
    for p in positions {
        let partition = FetchPartition::default()
            .with_partition(p.partition)
            .with_fetch_offset(p.offset)
            .with_partition_max_bytes(settings.partition_max_bytes);
        match topics.iter_mut().find(|t| t.topic.0.as_str() == p.topic) {
            Some(t) => t.partitions.push(partition),
            None => topics.push(
                FetchTopic::default()
                    .with_topic(TopicName(StrBytes::from_string(p.topic.clone())))
                    .with_partitions(vec![partition]),
            ),
        }
    }
    FetchRequest::default()
        .with_max_wait_ms(i32::try_from(settings.max_wait.as_millis()).unwrap_or(i32::MAX))
        .with_min_bytes(settings.min_bytes)
        .with_max_bytes(settings.max_bytes)
        .with_isolation_level(i8::from(settings.read_committed))
        .with_topics(topics)
}

/// Reads `response` to the request for `positions`: each partition's batches, those to
/// deliver kept. A partition the broker did not answer for is left out; one whose records are
/// not a record set comes back as [`CORRUPT_MESSAGE`] with the reason, and the others as read.
pub fn read(
    response: FetchResponse,
    positions: &[Position],
    settings: &FetchSettings,
) -> Vec<Fetched> {
    let mut out = Vec::new();
    for t in response.responses {
        let topic = t.topic.0.to_string();
        for p in t.partitions {
            let Some(asked) = positions
                .iter()
                .find(|x| x.topic == topic && x.partition == p.partition_index)
            else {
                continue;
            };
            let mut next_offset = asked.offset;
            let mut batches = Vec::new();
            let mut error_code = p.error_code;
            let mut unreadable = None;
            if let Some(records) = &p.records {
                let set = match record_batch::split(records) {
                    Ok(set) => set,
                    Err(source) => {
                        error_code = CORRUPT_MESSAGE;
                        unreadable = Some(FetchReadError {
                            topic: topic.clone(),
                            partition: p.partition_index,
                            source,
                        });
                        Default::default()
                    }
                };
                let aborted = p
                    .aborted_transactions
                    .iter()
                    .flatten()
                    .map(|a| (a.producer_id.0, a.first_offset));
                let mut filter = ReadCommitted::new(aborted);
                for b in set.batches {
                    // Every batch goes through the filter, in order, for its markers.
                    let keep = if settings.read_committed {
                        filter.keep(&b)
                    } else {
                        !b.is_control()
                    };
                    if b.next_offset() <= next_offset {
                        // Wholly before the position: nothing in it is new.
                        continue;
                    }
                    next_offset = b.next_offset();
                    if keep {
                        batches.push(b);
                    }
                }
            }
            out.push(Fetched {
                topic: topic.clone(),
                partition: p.partition_index,
                error_code,
                high_watermark: p.high_watermark,
                log_start_offset: p.log_start_offset,
                from: asked.offset,
                batches,
                next_offset,
                unreadable,
            });
        }
    }
    out
}

/// A partition's records in a fetch answer could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("reading the fetched records of {topic}-{partition}: {source}")]
pub struct FetchReadError {
    /// The source topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// What was wrong.
    pub source: RecordSetError,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use bytes::{BufMut, BytesMut};
    use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};

    use super::*;
    use crate::kafka::record_batch::test_batches::{batch, marker};
    use crate::kafka::writer::Codec;

    fn partition(index: i32, records: bytes::Bytes) -> PartitionData {
        PartitionData::default()
            .with_partition_index(index)
            .with_high_watermark(100)
            .with_records(Some(records))
    }

    #[test]
    fn each_partition_is_read_on_its_own_and_a_bad_one_spares_the_others() {
        let r: [(&[u8], &[u8]); 2] = [(b"a", b"1"), (b"b", b"2")];
        let mut good = BytesMut::new();
        good.put_slice(&batch(8, 1, Codec::Lz4, 0, &r)); // 8-9: wholly before the position
        good.put_slice(&batch(10, 1, Codec::Lz4, 0, &r)); // 10-11
        good.put_slice(&marker(12, 1, false));
        good.put_slice(&batch(13, 1, Codec::Lz4, 0, &r)[..30]); // partial
        let mut old = BytesMut::from(&batch(0, 1, Codec::None, 0, &r)[..]);
        old[16] = 1;
        let response = FetchResponse::default().with_responses(vec![
            FetchableTopicResponse::default()
                .with_topic(TopicName(StrBytes::from_static_str("t")))
                .with_partitions(vec![
                    partition(0, good.freeze()),
                    partition(1, old.freeze()),
                ]),
        ]);
        let positions = [
            Position {
                topic: "t".to_owned(),
                partition: 0,
                offset: 10,
            },
            Position {
                topic: "t".to_owned(),
                partition: 1,
                offset: 0,
            },
        ];
        let got = read(response, &positions, &FetchSettings::default());
        assert_eq!(got.len(), 2);
        let (p0, p1) = (&got[0], &got[1]);
        assert_eq!((p0.error_code, p0.from, p0.next_offset), (0, 10, 13));
        let offsets: Vec<i64> = p0.batches.iter().map(|b| b.base_offset).collect();
        assert_eq!(
            offsets,
            vec![10],
            "the batch before the position and the marker left out"
        );
        assert_eq!((p1.error_code, p1.next_offset), (CORRUPT_MESSAGE, 0));
        assert!(p1.batches.is_empty());
        let why = p1.unreadable.as_ref().unwrap().to_string();
        assert!(why.contains("t-1") && why.contains("format v1"), "{why}");
    }
}
