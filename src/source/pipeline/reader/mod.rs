//! Strait's own source reader in the pipeline (`strait.source.reader=wire`): record batches
//! are fetched as the source broker stored them ([`Fetcher`]) and handed to the wire writer,
//! whole where they can pass (compressed batch passthrough, `writer/passthrough.rs`), record
//! by record otherwise.
//!
//! librdkafka's consumer stays the member of the flow's group: it receives assignments and
//! revocations (served by `consumer.poll`, as before) and commits the group's offsets, but
//! its partitions are paused, so it fetches nothing; each partition it is given is read by
//! the fetcher from the same start. Every record still passes through the tracker, by source
//! offset, so progress, offset syncs, blocking at a refused record and hand-overs work as
//! they do with the consumer.
//!
//! - [`round`]: one turn: the consumer served, a fetch round, each partition's answer;
//! - [`destination`]: one partition's batches written, whole or record by record.

mod destination;
mod round;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::Offset;
use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::config::ClusterConnection;
use crate::kafka::fetch::{FetchSettings, Fetcher};
use crate::kafka::writer::Codec;
use crate::source::SourceError;

use super::rebalance::RebalanceContext;

pub(in crate::source::pipeline) use round::replicate_round;

/// How often the same partition's error is logged (the status always has the latest).
const WARN_EVERY: Duration = Duration::from_secs(30);

/// The longest a turn spends reading where new partitions start (their log start or end).
const RESOLVE_BUDGET: Duration = Duration::from_secs(1);

/// How the source is read.
#[derive(Debug, Clone)]
pub struct WireReaderSettings {
    /// The source cluster.
    pub source: ClusterConnection,
    /// The fetcher's `client.id`.
    pub client_id: String,
    /// How long a fetch or metadata request may take.
    pub request_timeout: Duration,
    /// How fetches ask (the replication consumer's settings).
    pub fetch: FetchSettings,
}

/// Where a partition starts before its first fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    /// The log start (`earliest`).
    LogStart,
    /// The log end (`latest`).
    LogEnd,
}

/// The fetcher and what it needs beside it.
pub(super) struct Reader {
    fetcher: Mutex<Fetcher>,
    /// The writer's codec: batches compressed otherwise are written record by record.
    codec: Codec,
    /// Partitions assigned without an offset, until their log's start or end is known.
    unresolved: Mutex<Vec<(String, i32, Start)>>,
    /// When each partition's error was last logged.
    warned: Mutex<HashMap<(String, i32), Instant>>,
    /// `strait.max.in.flight.bytes`: a round reads at most the room left in it.
    budget: u64,
}

impl Reader {
    /// A reader of `settings.source`; it connects at its first round. The fetch's answer size
    /// stays within the in-flight budget, since what one round reads is in flight at once.
    pub(super) fn new(
        settings: &WireReaderSettings,
        codec: Codec,
        max_in_flight_bytes: u64,
    ) -> Result<Self, SourceError> {
        let mut fetch = settings.fetch;
        let budget = i32::try_from(max_in_flight_bytes)
            .unwrap_or(i32::MAX)
            .max(1);
        fetch.max_bytes = fetch.max_bytes.min(budget);
        let fetcher = Fetcher::new(
            &settings.source,
            &settings.client_id,
            settings.request_timeout,
            fetch,
        )
        .map_err(SourceError::Reader)?;
        Ok(Self {
            fetcher: Mutex::new(fetcher),
            codec,
            unresolved: Mutex::new(Vec::new()),
            warned: Mutex::new(HashMap::new()),
            budget: max_in_flight_bytes,
        })
    }

    fn fetcher(&self) -> std::sync::MutexGuard<'_, Fetcher> {
        // Only the pipeline's thread uses it; a poisoned lock means it panicked already.
        self.fetcher.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads `topic`-`partition` from `start`, as the consumer would have.
    pub(super) fn assign(&self, topic: &str, partition: i32, start: Offset) {
        let mut unresolved = self.unresolved.lock().unwrap_or_else(|e| e.into_inner());
        unresolved.retain(|(t, p, _)| !(t == topic && *p == partition));
        let start = match start {
            Offset::Offset(o) => {
                self.fetcher().assign(topic, partition, o);
                return;
            }
            Offset::End => Start::LogEnd,
            _ => Start::LogStart,
        };
        self.fetcher().revoke(topic, partition);
        unresolved.push((topic.to_owned(), partition, start));
    }

    /// Reads `topic`-`partition` again from `offset` (a blocked partition's retry).
    pub(super) fn read_from(&self, topic: &str, partition: i32, offset: i64) {
        self.assign(topic, partition, Offset::Offset(offset));
    }

    /// Stops reading `topic`-`partition` (handed over, or held at a refused record).
    pub(super) fn stop(&self, topic: &str, partition: i32) {
        self.fetcher().revoke(topic, partition);
        self.unresolved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(t, p, _)| !(t == topic && *p == partition));
        self.warned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(topic.to_owned(), partition));
    }

    /// Stops reading every partition (the consumer's assignment was dropped as a whole).
    pub(super) fn stop_all(&self) {
        self.fetcher().revoke_all();
        self.unresolved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// The next offset to be read of `topic`-`partition`, if it is being read.
    pub(super) fn position(&self, topic: &str, partition: i32) -> Option<i64> {
        self.fetcher().position(topic, partition)
    }

    /// Resolves the start of partitions assigned at their log's start or end; one whose
    /// watermarks cannot be read now is tried again next turn.
    fn resolve_starts(&self, consumer: &BaseConsumer<RebalanceContext>) {
        let pending =
            std::mem::take(&mut *self.unresolved.lock().unwrap_or_else(|e| e.into_inner()));
        let mut left = Vec::new();
        // The loop serves the consumer's callbacks between turns: an unreachable source must
        // not hold it here for every partition's timeout in turn.
        let began = Instant::now();
        for (topic, partition, start) in pending {
            if began.elapsed() >= RESOLVE_BUDGET {
                left.push((topic, partition, start));
                continue;
            }
            match consumer.fetch_watermarks(&topic, partition, RESOLVE_BUDGET) {
                Ok((low, high)) => {
                    let at = if start == Start::LogEnd { high } else { low };
                    self.fetcher().assign(&topic, partition, at);
                }
                Err(e) => {
                    tracing::warn!(%topic, partition, error = %e, "reading a source partition's log start or end; retrying");
                    left.push((topic, partition, start));
                }
            }
        }
        self.unresolved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(left);
    }

    /// Whether `topic`-`partition`'s error should be logged now.
    fn warn_due(&self, topic: &str, partition: i32) -> bool {
        let mut warned = self.warned.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match warned.get(&(topic.to_owned(), partition)) {
            Some(at) if now.duration_since(*at) < WARN_EVERY => false,
            _ => {
                warned.insert((topic.to_owned(), partition), now);
                true
            }
        }
    }
}
