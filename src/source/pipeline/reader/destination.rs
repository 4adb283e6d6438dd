//! One partition's fetched batches written: whole where they pass, record by record
//! otherwise, every record noted in the tracker by its source offset first.

use std::sync::Arc;

use crate::kafka::fetch::Fetched;
use crate::kafka::record_batch::{RawBatch, Record, decode};
use crate::kafka::writer::{PassRefused, PassedBatch, Sender};
use crate::source::SourceError;
use crate::source::tracker::{Continuity, SlotId};

use super::super::replicate::{note_discontinuity, refuse};
use super::super::{Shared, lock};
use super::Reader;

/// Where one partition's fetched batches go.
pub(super) struct Destination<'a> {
    pub(super) shared: &'a Shared,
    pub(super) writer: &'a Sender,
    /// The partition's slot in the tracker.
    pub(super) id: SlotId,
    /// The remote topic.
    pub(super) remote: Arc<str>,
    /// The partition's answer.
    pub(super) f: &'a Fetched,
}

impl Destination<'_> {
    /// Hands `batch`, checked for passthrough, to the writer whole; written record by record
    /// instead when it is larger than the partition's batches may be. `Ok(Err(reason))`: it
    /// had to be written by record and could not be decoded; nothing of it was written or
    /// noted.
    pub(super) fn pass(
        &self,
        raw: &RawBatch,
        batch: PassedBatch,
    ) -> Result<Result<(), String>, SourceError> {
        let (shared, id, f) = (self.shared, self.id, self.f);
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
        self.report(first, continuity);
        // Its stored bytes count as its records' (their values are compressed inside).
        shared.status.polled(id, size, Some(raw.max_timestamp));
        let sent =
            self.writer
                .send_passed(&self.remote, f.partition, batch, first, raw.max_timestamp);
        match sent {
            Ok(()) => {
                shared.status.batch_passed(id);
                Ok(Ok(()))
            }
            Err(PassRefused::TooLarge(_)) => {
                // Taken back and written from its records, which the tracker already counted
                // as fetched.
                self.take_back(count);
                self.write_records(raw, first, false)
            }
            Err(PassRefused::Stopped) => {
                self.take_back(count);
                Err(self.stopped())
            }
        }
    }

    /// Writes the records of `raw` from `from` on, one by one, noting them as fetched first
    /// when `track_fetch` (a passed batch taken back was noted already). `Ok(Err(reason))`:
    /// the batch could not be read, and nothing of it was written or noted.
    pub(super) fn write_records(
        &self,
        raw: &RawBatch,
        from: i64,
        track_fetch: bool,
    ) -> Result<Result<(), String>, SourceError> {
        let (shared, id, f) = (self.shared, self.id, self.f);
        if raw.is_control() {
            return Ok(Ok(()));
        }
        // librdkafka's consumer leaves this to `check.crcs`; here every batch is checked
        // (those passed whole by `PassedBatch::new`).
        if !raw.crc_ok() {
            return Ok(Err(
                self.unreadable(raw, &"its CRC does not match its bytes")
            ));
        }
        let decoded = match decode(raw) {
            Ok(d) => d,
            Err(e) => return Ok(Err(self.unreadable(raw, &e))),
        };
        let records = match decoded.records() {
            Ok(r) => r,
            Err(e) => return Ok(Err(self.unreadable(raw, &e))),
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
            self.report(offset, c);
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
            let queued = self.writer.send(
                &self.remote,
                f.partition,
                r.key,
                r.value,
                r.headers.iter().copied(),
                timestamp,
                r.offset,
            );
            if queued.is_err() {
                // This record and those after it were noted but never queued.
                self.take_back(records.len() - i);
                return Err(self.stopped());
            }
        }
        Ok(Ok(()))
    }

    /// Holds the partition at source offset `offset` for `reason`, as a refusal by the target
    /// does: reading stops, the status says why, and it is read again from there after a
    /// backoff.
    pub(super) fn hold(&self, reader: &Reader, offset: i64, reason: String) {
        hold(self.shared, reader, self.id, self.f, offset, reason);
    }

    /// Takes back the last `count` records noted as sent, which the writer never queued.
    fn take_back(&self, count: usize) {
        let mut t = lock(&self.shared.tracker);
        for _ in 0..count {
            t.on_send_refused(self.id);
        }
    }

    /// Reports a record of the partition that does not follow the one before it.
    fn report(&self, offset: i64, continuity: Continuity) {
        if continuity == Continuity::InOrder {
            return;
        }
        let f = self.f;
        let log_start = (f.log_start_offset >= 0).then_some(f.log_start_offset);
        note_discontinuity(
            self.shared,
            &f.topic,
            &self.remote,
            f.partition,
            offset,
            continuity,
            || log_start,
        );
    }

    fn unreadable(&self, raw: &RawBatch, e: &dyn std::fmt::Display) -> String {
        format!(
            "source partition {}-{}: the batch at offset {} could not be read: {e}",
            self.f.topic, self.f.partition, raw.base_offset
        )
    }

    fn stopped(&self) -> SourceError {
        SourceError::Produce {
            topic: self.remote.to_string(),
            partition: self.f.partition,
            detail: "the target writer stopped".to_owned(),
        }
    }
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

/// Holds slot `id` at source offset `offset` for `reason`, as a refusal by the target does:
/// reading stops, the status says why, and it is read again from there after a backoff.
pub(super) fn hold(
    shared: &Shared,
    reader: &Reader,
    id: SlotId,
    f: &Fetched,
    offset: i64,
    reason: String,
) {
    tracing::warn!(
        topic = %f.topic, partition = f.partition, offset, %reason,
        "source records unreadable; the partition holds there and reads them again later"
    );
    reader.stop(&f.topic, f.partition);
    {
        let mut t = lock(&shared.tracker);
        // Counted as fetched, so that the retry from here reads on in order.
        let _ = t.on_fetch(id, offset);
        t.on_send(id, offset, 0);
    }
    refuse(shared, id, offset, reason);
}
