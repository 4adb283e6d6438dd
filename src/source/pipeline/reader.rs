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

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::Offset;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;

use crate::config::ClusterConnection;
use crate::kafka::fetch::{FetchSettings, Fetched, Fetcher};
use crate::kafka::record_batch::RawBatch;
use crate::kafka::record_batch::{Record, decode};
use crate::kafka::writer::{Codec, PassRefused, PassedBatch, Sender};
use crate::source::SourceError;
use crate::source::tracker::{Continuity, SlotId};
use crate::status::Component;

use super::rebalance::RebalanceContext;
use super::replicate::note_discontinuity;
use super::{Shared, StartWithoutProgress, lock};

/// Kafka's `OFFSET_OUT_OF_RANGE`.
const OFFSET_OUT_OF_RANGE: i16 = 1;

/// Partition errors retrying cannot fix: `TOPIC_AUTHORIZATION_FAILED`,
/// `CLUSTER_AUTHORIZATION_FAILED`, `UNSUPPORTED_VERSION`.
const FATAL: [i16; 3] = [29, 31, 35];

/// How long a round that read nothing but errors waits before the next: the broker answers
/// an error at once, and asking again at once would only spin.
const ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// How long the loop waits for the consumer's callbacks when no partition is to be read.
const IDLE_WAIT: Duration = Duration::from_millis(100);

/// How often the same partition's error is logged (the status always has the latest).
const WARN_EVERY: Duration = Duration::from_secs(30);

/// A passed batch smaller than this fraction of its round's bytes is copied out of the answer.
const DETACH_BELOW: usize = 8;

/// The longest a turn spends reading where new partitions start (their log start or end).
const RESOLVE_BUDGET: Duration = Duration::from_secs(1);

/// What `consumer.poll` is asked at most per turn: it only serves callbacks here.
const POLLS_PER_TURN: usize = 64;

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

/// One turn of the loop with the reader: the consumer's callbacks served, then one fetch
/// round from every source leader, its batches handed to the writer.
pub(super) fn replicate_round(
    shared: &Shared,
    consumer: &BaseConsumer<RebalanceContext>,
    reader: &Reader,
    writer: &Sender,
) -> Result<(), SourceError> {
    serve_consumer(shared, consumer, Duration::ZERO)?;
    reader.resolve_starts(consumer);
    if reader.fetcher().is_idle() {
        return serve_consumer(shared, consumer, IDLE_WAIT);
    }
    let round = reader.fetcher().fetch();
    let fetched = match round {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(error = %e, "reading the source failed; retrying");
            shared
                .status
                .error(Component::Source, &format_args!("source fetch: {e}"));
            std::thread::sleep(ERROR_BACKOFF);
            return Ok(());
        }
    };
    let round_bytes: usize = fetched
        .iter()
        .flat_map(|f| &f.batches)
        .map(|b| b.bytes.len())
        .sum();
    let mut records = false;
    let mut errors = false;
    for f in fetched {
        records |= !f.batches.is_empty();
        errors |= f.error_code != 0;
        partition_fetched(shared, consumer, reader, writer, f, round_bytes)?;
    }
    if errors && !records {
        std::thread::sleep(ERROR_BACKOFF);
    }
    Ok(())
}

/// Serves the consumer's callbacks (rebalances), waiting up to `wait` for the first. Records
/// it returns are dropped: its partitions are paused, and any it fetched before the pause are
/// read by the fetcher too.
fn serve_consumer(
    shared: &Shared,
    consumer: &BaseConsumer<RebalanceContext>,
    wait: Duration,
) -> Result<(), SourceError> {
    let mut wait = wait;
    for _ in 0..POLLS_PER_TURN {
        match consumer.poll(wait) {
            None => return Ok(()),
            Some(Ok(_)) | Some(Err(KafkaError::PartitionEOF(_))) => {}
            Some(Err(e)) => super::consumer_error(shared, consumer, e)?,
        }
        wait = Duration::ZERO;
    }
    Ok(())
}

/// What one partition's fetch gave.
fn partition_fetched(
    shared: &Shared,
    consumer: &BaseConsumer<RebalanceContext>,
    reader: &Reader,
    writer: &Sender,
    f: Fetched,
    round_bytes: usize,
) -> Result<(), SourceError> {
    let Some(id) = lock(&shared.tracker).slot_of(&f.topic, f.partition) else {
        // Revoked since the round began; its new owner reads it.
        return Ok(());
    };
    match f.error_code {
        0 => {}
        OFFSET_OUT_OF_RANGE => return out_of_range(shared, consumer, reader, &f),
        code if FATAL.contains(&code) => {
            return Err(SourceError::SourcePartition {
                topic: f.topic.clone(),
                partition: f.partition,
                detail: format!("the source broker answered error code {code}{}", hint(code)),
            });
        }
        code => {
            if let Some(unreadable) = &f.unreadable {
                // Records that are not a record set: held at the first, as a record the
                // target refuses is, and read again after the backoff (a fault in transit
                // reads well the next time; one on disk stays visible in the status).
                let reason = format!(
                    "source partition {}-{}: the fetched records could not be read: {unreadable}",
                    f.topic, f.partition
                );
                hold(shared, reader, id, &f, f.from, reason);
                return Ok(());
            }
            if reader.warn_due(&f.topic, f.partition) {
                tracing::warn!(
                    topic = %f.topic, partition = f.partition, code,
                    "reading a source partition failed; retrying{}", hint(code)
                );
            }
            shared.status.error(
                Component::Source,
                &format_args!(
                    "source partition {}-{}: error code {code}{}",
                    f.topic,
                    f.partition,
                    hint(code)
                ),
            );
            return Ok(());
        }
    }
    let mut position = f.from;
    for raw in &f.batches {
        if raw.next_offset() <= position {
            continue;
        }
        let Some(remote) = accepting(shared, id) else {
            // Revoked, or held at a refused record since the round began.
            return Ok(());
        };
        let blocked = lock(&shared.tracker)
            .slot(id)
            .is_some_and(|s| s.blocked.is_some());
        // A retry writes record by record, so that a refusal lands on one record.
        let passed = if blocked {
            None
        } else {
            PassedBatch::new(raw, position, reader.codec).ok()
        };
        match passed {
            Some(mut batch) => {
                // Every batch of an answer shares its memory: one much smaller than the
                // round is copied out, so that waiting for a slow target partition it holds
                // only its own bytes (those the in-flight budget counts), not the answer's.
                if batch.size().saturating_mul(DETACH_BELOW) < round_bytes {
                    batch = batch.detached();
                }
                if let Err(reason) = pass(shared, writer, id, &remote, &f, raw, batch)? {
                    hold(shared, reader, id, &f, raw.base_offset, reason);
                    return Ok(());
                }
            }
            None => {
                if let Err(reason) =
                    write_records(shared, writer, id, &remote, &f, raw, position, true)?
                {
                    hold(
                        shared,
                        reader,
                        id,
                        &f,
                        raw.base_offset.max(position),
                        reason,
                    );
                    return Ok(());
                }
            }
        }
        position = raw.next_offset();
    }
    Ok(())
}

/// The remote topic of slot `id`, if it takes records now.
fn accepting(shared: &Shared, id: SlotId) -> Option<std::sync::Arc<str>> {
    let t = lock(&shared.tracker);
    let s = t.slot(id)?;
    s.accepts_records().then(|| s.remote_topic.clone())
}

/// Hands `batch`, checked for passthrough, to the writer whole; written record by record
/// instead when it is larger than the partition's batches may be. `Ok(Err(reason))`: it had
/// to be written by record and could not be decoded; nothing of it was written or noted.
fn pass(
    shared: &Shared,
    writer: &Sender,
    id: SlotId,
    remote: &std::sync::Arc<str>,
    f: &Fetched,
    raw: &RawBatch,
    batch: PassedBatch,
) -> Result<Result<(), String>, SourceError> {
    let first = raw.base_offset;
    let last = raw.last_offset();
    let count = batch.len();
    let size = batch.size();
    let continuity = {
        let mut t = lock(&shared.tracker);
        let continuity = t.on_fetch_range(id, first, last);
        // The batch's bytes, shared out over its records: each report frees its share.
        let share = size / count.max(1);
        for (i, offset) in (first..=last).enumerate() {
            let bytes = if i + 1 == count {
                size - share * (count - 1)
            } else {
                share
            };
            t.on_send(id, offset, u32::try_from(bytes).unwrap_or(u32::MAX));
        }
        continuity
    };
    report(shared, f, remote, first, continuity);
    // Its stored bytes count as its records' (their values are compressed inside).
    shared.status.polled(id, size, Some(raw.max_timestamp));
    match writer.send_passed(remote, f.partition, batch, first, raw.max_timestamp) {
        Ok(()) => {
            shared.status.batch_passed(id);
            Ok(Ok(()))
        }
        Err(PassRefused::TooLarge(_)) => {
            // Taken back and written from its records, which the tracker already counted as
            // fetched.
            {
                let mut t = lock(&shared.tracker);
                for _ in 0..count {
                    t.on_send_refused(id);
                }
            }
            write_records(shared, writer, id, remote, f, raw, first, false)
        }
        Err(PassRefused::Stopped) => {
            let mut t = lock(&shared.tracker);
            for _ in 0..count {
                t.on_send_refused(id);
            }
            Err(stopped(remote, f.partition))
        }
    }
}

/// Writes the records of `raw` from `from` on, one by one. `Ok(Err(reason))`: the batch could
/// not be decoded, and nothing of it was written.
#[allow(clippy::too_many_arguments)]
fn write_records(
    shared: &Shared,
    writer: &Sender,
    id: SlotId,
    remote: &std::sync::Arc<str>,
    f: &Fetched,
    raw: &RawBatch,
    from: i64,
    track_fetch: bool,
) -> Result<Result<(), String>, SourceError> {
    if raw.is_control() {
        return Ok(Ok(()));
    }
    // librdkafka's consumer leaves this to `check.crcs`; here every batch is checked (those
    // passed whole by `PassedBatch::new`).
    if !raw.crc_ok() {
        return Ok(Err(unreadable(f, raw, &"its CRC does not match its bytes")));
    }
    let decoded = match decode(raw) {
        Ok(d) => d,
        Err(e) => return Ok(Err(unreadable(f, raw, &e))),
    };
    let records = match decoded.records() {
        Ok(r) => r,
        Err(e) => return Ok(Err(unreadable(f, raw, &e))),
    };
    let records: Vec<Record<'_>> = records.into_iter().filter(|r| r.offset >= from).collect();
    let mut first_discontinuity = None;
    {
        let mut t = lock(&shared.tracker);
        for r in &records {
            if track_fetch {
                let c = t.on_fetch(id, r.offset);
                if c != Continuity::InOrder && first_discontinuity.is_none() {
                    first_discontinuity = Some((r.offset, c));
                }
            }
            t.on_send(
                id,
                r.offset,
                u32::try_from(record_size(r)).unwrap_or(u32::MAX),
            );
        }
    }
    if let Some((offset, c)) = first_discontinuity {
        report(shared, f, remote, offset, c);
    }
    for (i, r) in records.iter().enumerate() {
        let timestamp = if r.timestamp < 0 {
            // librdkafka stamps a record without a timestamp with the time it is produced.
            crate::status::checkpoint::now_ms()
        } else {
            r.timestamp
        };
        shared
            .status
            .polled(id, r.value.map_or(0, <[u8]>::len), Some(timestamp));
        let queued = writer.send(
            remote,
            f.partition,
            r.key,
            r.value,
            r.headers.iter().copied(),
            timestamp,
            r.offset,
        );
        if queued.is_err() {
            // This record and those after it were noted but never queued.
            let mut t = lock(&shared.tracker);
            for _ in i..records.len() {
                t.on_send_refused(id);
            }
            return Err(stopped(remote, f.partition));
        }
    }
    Ok(Ok(()))
}

/// What a record costs the in-flight budget: its bytes and the writer's share per record.
fn record_size(r: &Record<'_>) -> usize {
    const OVERHEAD: usize = 64;
    OVERHEAD
        + r.key.map_or(0, <[u8]>::len)
        + r.value.map_or(0, <[u8]>::len)
        + r.headers
            .iter()
            .map(|(k, v)| k.len() + v.map_or(0, <[u8]>::len))
            .sum::<usize>()
}

fn unreadable(f: &Fetched, raw: &RawBatch, e: &dyn std::fmt::Display) -> String {
    format!(
        "source partition {}-{}: the batch at offset {} could not be read: {e}",
        f.topic, f.partition, raw.base_offset
    )
}

fn stopped(remote: &str, partition: i32) -> SourceError {
    SourceError::Produce {
        topic: remote.to_owned(),
        partition,
        detail: "the target writer stopped".to_owned(),
    }
}

/// Reports a record of `f` that does not follow the one before it.
fn report(shared: &Shared, f: &Fetched, remote: &str, offset: i64, continuity: Continuity) {
    if continuity == Continuity::InOrder {
        return;
    }
    let log_start = (f.log_start_offset >= 0).then_some(f.log_start_offset);
    note_discontinuity(
        shared,
        &f.topic,
        remote,
        f.partition,
        offset,
        continuity,
        || log_start,
    );
}

/// Holds slot `id` at source offset `offset` for `reason`, as a refusal by the target does:
/// reading stops, the status says why, and it is read again from there after a backoff.
fn hold(shared: &Shared, reader: &Reader, id: SlotId, f: &Fetched, offset: i64, reason: String) {
    tracing::warn!(topic = %f.topic, partition = f.partition, offset, %reason, "source records unreadable");
    reader.stop(&f.topic, f.partition);
    {
        let mut t = lock(&shared.tracker);
        // Counted as fetched, so that the retry from here reads on in order.
        let _ = t.on_fetch(id, offset);
        t.on_send(id, offset, 0);
    }
    super::replicate::refuse(shared, id, offset, reason);
}

/// The position is outside the source log: start over as `auto.offset.reset` says; the
/// records between are reported as deleted by the continuity check of the next fetch.
fn out_of_range(
    shared: &Shared,
    consumer: &BaseConsumer<RebalanceContext>,
    reader: &Reader,
    f: &Fetched,
) -> Result<(), SourceError> {
    let (low, high) = match consumer.fetch_watermarks(&f.topic, f.partition, Duration::from_secs(5))
    {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(topic = %f.topic, partition = f.partition, error = %e, "source position out of range, and the log's bounds could not be read; retrying");
            return Ok(());
        }
    };
    if (low..=high).contains(&f.from) {
        // Inside the log after all (a leader that had not caught up answered): read again
        // from where it was rather than skip or repeat anything.
        return Ok(());
    }
    let to = match shared.settings.start_without_progress {
        StartWithoutProgress::Fail => {
            return Err(SourceError::OffsetOutOfRange {
                partitions: format!(
                    "{}-{} (next offset {}, log {low}..{high})",
                    f.topic, f.partition, f.from
                ),
                detail: "the source broker answered OFFSET_OUT_OF_RANGE".to_owned(),
            });
        }
        StartWithoutProgress::Earliest => low,
        StartWithoutProgress::Latest => high,
    };
    tracing::warn!(
        topic = %f.topic, partition = f.partition, position = f.from, log_start = low,
        log_end = high, to,
        "source position outside the log; reading on from {to} (auto.offset.reset)"
    );
    reader.fetcher().assign(&f.topic, f.partition, to);
    Ok(())
}

/// What a fatal or retried partition error code means, where it is not obvious.
fn hint(code: i16) -> &'static str {
    match code {
        3 => " (the topic or partition does not exist on the source)",
        29 => " (reading is denied by the source's ACLs: the user needs Read on the topic)",
        31 => " (denied by the source's ACLs)",
        35 => {
            " (the source broker does not support fetch version 12: Kafka 2.4 or later is needed)"
        }
        _ => "",
    }
}
