//! Fault injection for tests (`STRAIT_TEST_FAIL_PRODUCER`): librdkafka gives up on a partition's
//! producer right after it takes a chosen record, through librdkafka's own fatal-error path.
//! The real causes (sequence numbers out of step with a broker after requests timed out) come
//! only by timing, so without this the code that survives them could not be tested on demand.
//!
//! The value is a comma-separated list of `[<producer>@]<source topic>:<partition>:<offset>`;
//! each fires once, when the first record of that partition at or past the offset is handed to
//! its producer, and fails the replication producer that took it, or with `progress@` the
//! offsets-topic producer, or with `offset-syncs@` the offset-syncs producer. Unset in
//! production.

use std::sync::Mutex;

use crate::source::SourceError;

/// The environment variable.
pub(super) const VAR: &str = "STRAIT_TEST_FAIL_PRODUCER";

/// The Kafka error the injected fatal error carries: `OUT_OF_ORDER_SEQUENCE_NUMBER`, what a
/// producer out of step with a broker reports.
pub(super) const CODE: i32 = 45;

/// Where producers are still to fail.
#[derive(Debug)]
pub(super) struct ProducerFaults {
    pending: Mutex<Vec<Point>>,
}

/// Which producer a fault fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Victim {
    /// The replication producer that took the record.
    Replication,
    /// The offsets-topic (progress) producer.
    Progress,
    /// The offset-syncs producer.
    OffsetSyncs,
}

#[derive(Debug, PartialEq, Eq)]
struct Point {
    victim: Victim,
    topic: String,
    partition: i32,
    offset: i64,
}

impl ProducerFaults {
    /// The faults `STRAIT_TEST_FAIL_PRODUCER` asks for; `None` when it is unset.
    pub(super) fn from_env() -> Result<Option<Self>, SourceError> {
        let Ok(value) = std::env::var(VAR) else {
            return Ok(None);
        };
        let pending = parse(&value).map_err(SourceError::FaultInjection)?;
        tracing::warn!(
            faults = %value,
            "{VAR} is set: producers will be failed on purpose (for tests only)"
        );
        Ok(Some(Self {
            pending: Mutex::new(pending),
        }))
    }

    /// Which producer is to fail now that `offset` of `topic`/`partition` was handed over;
    /// each fault answers once.
    pub(super) fn due(&self, topic: &str, partition: i32, offset: i64) -> Option<Victim> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let i = pending
            .iter()
            .position(|p| p.partition == partition && p.offset <= offset && p.topic == topic)?;
        Some(pending.remove(i).victim)
    }
}

fn parse(value: &str) -> Result<Vec<Point>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            let bad = || {
                format!(
                    "{VAR}: '{item}' is not [progress@|offset-syncs@]<source topic>:<partition>:<offset>"
                )
            };
            let (victim, point) = match item.split_once('@') {
                None => (Victim::Replication, item),
                Some(("progress", point)) => (Victim::Progress, point),
                Some(("offset-syncs", point)) => (Victim::OffsetSyncs, point),
                Some(_) => return Err(bad()),
            };
            let mut parts = point.rsplitn(3, ':');
            let offset = parts.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
            let partition = parts.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
            let topic = parts.next().filter(|t| !t.is_empty()).ok_or_else(bad)?;
            Ok(Point {
                victim,
                topic: topic.to_owned(),
                partition,
                offset,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_fault_fires_once_at_or_past_its_offset() {
        let faults = ProducerFaults {
            pending: Mutex::new(parse("a.b:0:10, progress@a.b:1:5,offset-syncs@a.b:1:7").unwrap()),
        };
        assert_eq!(faults.due("a.b", 0, 9), None);
        assert_eq!(faults.due("a.c", 0, 10), None);
        assert_eq!(faults.due("a.b", 0, 12), Some(Victim::Replication));
        assert_eq!(faults.due("a.b", 0, 13), None);
        assert_eq!(faults.due("a.b", 1, 8), Some(Victim::Progress));
        assert_eq!(faults.due("a.b", 1, 8), Some(Victim::OffsetSyncs));
        assert_eq!(faults.due("a.b", 1, 9), None);
    }

    #[test]
    fn a_malformed_fault_is_named() {
        for bad in [
            "topic:0",
            "topic:x:1",
            ":0:1",
            "topic:0:ten",
            "lanes@topic:0:1",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(
                e.contains(VAR) && e.contains(bad),
                "{bad}: the error names the variable and the item: {e}"
            );
        }
    }
}
