//! Replication lag of a partition, in records and in seconds.
//!
//! - **Records**: the source's end offset (last stable offset, as the replication consumer reads
//!   `read_committed`) minus the next offset to replicate (last acknowledged + 1).
//! - **Seconds**: how long ago the source already held the first record the target does not
//!   have yet. The status sampler records when each end offset was first and last seen; the
//!   moment the end offset passed `next` is interpolated between those observations, so the
//!   answer is good to about one sampling interval, needs no extra reads of the data, and keeps
//!   growing while replication is stuck. When the backlog is older than the history (a flow
//!   catching up), the timestamp of the last replicated record stands in: the next record is
//!   at least that old.

use std::collections::VecDeque;

/// Observations kept per partition; older ones are dropped.
const MAX_ENTRIES: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry {
    first_ms: u64,
    last_ms: u64,
    end: i64,
}

/// When a partition's end offset was observed, oldest first.
#[derive(Debug, Default, Clone)]
pub struct LagHistory {
    entries: VecDeque<Entry>,
}

/// Lag in records: never negative (the end offset is sampled, the position is live).
pub fn lag_records(end: i64, next: i64) -> i64 {
    (end - next).max(0)
}

impl LagHistory {
    /// Notes that the end offset was `end` at `now_ms`.
    pub fn observe(&mut self, now_ms: u64, end: i64) {
        match self.entries.back_mut() {
            Some(last) if last.end == end => last.last_ms = now_ms,
            Some(last) if last.end > end => {
                // The log was truncated or recreated: the history no longer applies.
                self.entries.clear();
                self.push(now_ms, end);
            }
            _ => self.push(now_ms, end),
        }
    }

    fn push(&mut self, now_ms: u64, end: i64) {
        if self.entries.len() == MAX_ENTRIES {
            self.entries.pop_front();
        }
        self.entries.push_back(Entry {
            first_ms: now_ms,
            last_ms: now_ms,
            end,
        });
    }

    /// Lag in seconds at `now_ms` for a partition whose next offset to replicate is `next`;
    /// `last_record_ts` is the timestamp of the last record replicated, if any. `None` when
    /// nothing is known yet.
    pub fn lag_seconds(&self, now_ms: u64, next: i64, last_record_ts: Option<i64>) -> Option<f64> {
        let newest = self.entries.back()?;
        if newest.end <= next {
            return Some(0.0);
        }
        let secs = |ms: u64| now_ms.saturating_sub(ms) as f64 / 1000.0;
        // The last observation at which the source had nothing beyond `next`, and the first one
        // after it.
        let Some(i) = self.entries.iter().rposition(|e| e.end <= next) else {
            let oldest = self.entries.front().map_or(now_ms, |e| e.first_ms);
            return Some(match last_record_ts {
                Some(ts) if ts >= 0 => secs(oldest).max(secs(ts as u64)),
                _ => secs(oldest),
            });
        };
        let (before, after) = (self.entries[i], self.entries[i + 1]);
        // Offset `next` was appended between the two observations: interpolate by offsets.
        let span = (after.end - before.end).max(1) as f64;
        let frac = ((next + 1 - before.end) as f64 / span).clamp(0.0, 1.0);
        let appended =
            before.last_ms as f64 + frac * after.first_ms.saturating_sub(before.last_ms) as f64;
        Some(((now_ms as f64 - appended) / 1000.0).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caught_up_is_zero() {
        let mut h = LagHistory::default();
        assert_eq!(h.lag_seconds(0, 5, None), None);
        h.observe(1_000, 10);
        assert_eq!(h.lag_seconds(2_000, 10, None), Some(0.0));
        assert_eq!(lag_records(10, 10), 0);
        assert_eq!(lag_records(10, 12), 0);
        assert_eq!(lag_records(10, 4), 6);
    }

    #[test]
    fn a_stuck_partition_lags_since_the_source_moved_on() {
        let mut h = LagHistory::default();
        h.observe(0, 100);
        h.observe(5_000, 100);
        h.observe(10_000, 101);
        h.observe(15_000, 101);
        // Record 100 appeared between 5 s and 10 s; replication stuck at next = 100.
        let lag = h.lag_seconds(60_000, 100, Some(0)).unwrap();
        assert!((50.0..=55.0).contains(&lag), "{lag}");
        // A later record stuck grows the same way, measured from when it appeared.
        h.observe(20_000, 200);
        let lag = h.lag_seconds(60_000, 150, None).unwrap();
        assert!((42.0..=43.0).contains(&lag), "{lag}");
    }

    #[test]
    fn a_backlog_older_than_the_history_uses_record_timestamps() {
        let mut h = LagHistory::default();
        h.observe(3_600_000, 1_000);
        let lag = h.lag_seconds(3_601_000, 10, Some(0)).unwrap();
        assert!((lag - 3_601.0).abs() < 1e-6, "{lag}");
        let lag = h.lag_seconds(3_601_000, 10, None).unwrap();
        assert!((lag - 1.0).abs() < 1e-6, "{lag}");
    }

    #[test]
    fn truncation_restarts_the_history_and_length_is_bounded() {
        let mut h = LagHistory::default();
        for i in 0..200 {
            h.observe(i * 1_000, i as i64);
        }
        assert_eq!(h.entries.len(), MAX_ENTRIES);
        h.observe(300_000, 3);
        assert_eq!(h.entries.len(), 1);
    }
}
