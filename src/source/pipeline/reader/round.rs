//! One turn of the loop with the reader: the consumer's callbacks served, a fetch round, and
//! what each partition's answer holds (batches, or an error to act on).

use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;

use crate::kafka::fetch::Fetched;
use crate::kafka::writer::{PassedBatch, Sender};
use crate::source::SourceError;
use crate::source::tracker::SlotId;
use crate::status::Component;

use super::super::rebalance::RebalanceContext;
use super::super::{Shared, StartWithoutProgress, lock};
use super::Reader;
use super::destination::{Destination, hold};

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

/// A passed batch smaller than this fraction of its round's bytes is copied out of the answer.
const DETACH_BELOW: usize = 8;

/// What `consumer.poll` is asked at most per turn: it only serves callbacks here.
const POLLS_PER_TURN: usize = 64;

/// One turn of the loop with the reader: the consumer's callbacks served, then one fetch
/// round from every source leader, its batches handed to the writer.
pub(in crate::source::pipeline) fn replicate_round(
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
    // What one round reads is in flight at once: it is asked within the budget's room.
    let inflight = lock(&shared.tracker).inflight_bytes;
    let room = reader.budget.saturating_sub(inflight);
    let round = reader
        .fetcher()
        .fetch_within(usize::try_from(room).unwrap_or(usize::MAX));
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
            Some(Err(e)) => super::super::consumer_error(shared, consumer, e)?,
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
        let to = Destination {
            shared,
            writer,
            id,
            remote,
            f: &f,
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
        let written = match passed {
            Some(mut batch) => {
                // Every batch of an answer shares its memory: one much smaller than the
                // round is copied out, so that waiting for a slow target partition it holds
                // only its own bytes (those the in-flight budget counts), not the answer's.
                if batch.size().saturating_mul(DETACH_BELOW) < round_bytes {
                    batch = batch.detached();
                }
                to.pass(raw, batch)?
                    .map_err(|reason| (raw.base_offset, reason))
            }
            None => to
                .write_records(raw, position, true)?
                .map_err(|reason| (raw.base_offset.max(position), reason)),
        };
        if let Err((at, reason)) = written {
            to.hold(reader, at, reason);
            return Ok(());
        }
        position = raw.next_offset();
    }
    Ok(())
}

/// The remote topic of slot `id`, if it takes records now.
fn accepting(shared: &Shared, id: SlotId) -> Option<Arc<str>> {
    let t = lock(&shared.tracker);
    let s = t.slot(id)?;
    s.accepts_records().then(|| s.remote_topic.clone())
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

/// A partition error code's name, and what it means where that is not obvious.
fn hint(code: i16) -> &'static str {
    match code {
        3 => " (UNKNOWN_TOPIC_OR_PARTITION: the topic or partition does not exist on the source)",
        29 => {
            " (TOPIC_AUTHORIZATION_FAILED: reading is denied by the source's ACLs; the user \
             needs Read on the topic)"
        }
        31 => " (CLUSTER_AUTHORIZATION_FAILED: denied by the source's ACLs)",
        35 => {
            " (UNSUPPORTED_VERSION: the source broker does not take fetch version 12; Kafka \
             2.4 or later is needed)"
        }
        _ => "",
    }
}
