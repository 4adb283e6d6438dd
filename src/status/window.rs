//! Min, max and average of a value over a sliding time window, kept in atomics.
//!
//! MM2's `record-age-ms` and `replication-latency-ms` are Kafka `SampledStat`s with the metric
//! defaults (`metrics.num.samples` 2, `metrics.sample.window.ms` 30 s): the statistics combine
//! the current 30-second sample and the one before it. This type keeps exactly those two
//! samples, so the numbers mean what MM2's mean.
//!
//! Recording is a handful of relaxed atomic operations and never blocks or allocates; it is
//! meant to be called by one thread per stat (the replication thread serves both polls and
//! delivery reports). A reader racing a window change may see a sample half reset, which can
//! only make one scrape's min/max/avg slightly off.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use serde::Serialize;

/// Length of one sample (Kafka's `metrics.sample.window.ms` default).
pub const SAMPLE_MS: u64 = 30_000;

/// "No value yet" for [`WindowedStat::last`].
const NONE: u64 = u64::MAX;

#[derive(Debug)]
struct Sample {
    /// Window number + 1 (0 = never used).
    id: AtomicU64,
    count: AtomicU64,
    sum: AtomicU64,
    min: AtomicU64,
    max: AtomicU64,
}

impl Default for Sample {
    fn default() -> Self {
        Self {
            id: AtomicU64::new(0),
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0),
            min: AtomicU64::new(u64::MAX),
            max: AtomicU64::new(0),
        }
    }
}

impl Sample {
    fn copy_from(&self, other: &Sample) {
        self.count.store(other.count.load(Relaxed), Relaxed);
        self.sum.store(other.sum.load(Relaxed), Relaxed);
        self.min.store(other.min.load(Relaxed), Relaxed);
        self.max.store(other.max.load(Relaxed), Relaxed);
        self.id.store(other.id.load(Relaxed), Relaxed);
    }

    fn reset(&self, id: u64) {
        self.count.store(0, Relaxed);
        self.sum.store(0, Relaxed);
        self.min.store(u64::MAX, Relaxed);
        self.max.store(0, Relaxed);
        self.id.store(id, Relaxed);
    }
}

/// Min, max and average over the current and the previous sample, plus the last value.
#[derive(Debug)]
pub struct WindowedStat {
    current: Sample,
    previous: Sample,
    last: AtomicU64,
}

impl Default for WindowedStat {
    fn default() -> Self {
        Self {
            current: Sample::default(),
            previous: Sample::default(),
            last: AtomicU64::new(NONE),
        }
    }
}

/// What a [`WindowedStat`] holds at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StatSummary {
    /// Values recorded in the window.
    pub count: u64,
    /// The smallest.
    pub min: u64,
    /// The largest.
    pub max: u64,
    /// Their mean.
    pub avg: f64,
}

fn window_id(now_ms: u64) -> u64 {
    now_ms / SAMPLE_MS + 1
}

impl WindowedStat {
    /// Records `value` observed at `now_ms` (milliseconds since the Unix epoch).
    pub fn record(&self, now_ms: u64, value: u64) {
        let id = window_id(now_ms);
        if self.current.id.load(Relaxed) != id {
            // The current sample ended: it becomes the previous one.
            self.previous.copy_from(&self.current);
            self.current.reset(id);
        }
        self.current.count.fetch_add(1, Relaxed);
        self.current.sum.fetch_add(value, Relaxed);
        // Loads first: the common case (no new extreme) then needs no write.
        if value < self.current.min.load(Relaxed) {
            self.current.min.store(value, Relaxed);
        }
        if value > self.current.max.load(Relaxed) {
            self.current.max.store(value, Relaxed);
        }
        self.last.store(value, Relaxed);
    }

    /// Forgets everything recorded.
    pub fn reset(&self) {
        self.current.reset(0);
        self.previous.reset(0);
        self.last.store(NONE, Relaxed);
    }

    /// The last value recorded, however old (MM2's plain `record-age-ms` is this `Value`).
    pub fn last(&self) -> Option<u64> {
        Some(self.last.load(Relaxed)).filter(|v| *v != NONE)
    }

    /// Min/max/avg over the samples still in the window at `now_ms`; `None` when none holds a
    /// value (MM2 then reports NaN).
    pub fn summary(&self, now_ms: u64) -> Option<StatSummary> {
        let id = window_id(now_ms);
        let mut out = StatSummary {
            count: 0,
            min: u64::MAX,
            max: 0,
            avg: 0.0,
        };
        let mut sum: u64 = 0;
        for s in [&self.current, &self.previous] {
            let sid = s.id.load(Relaxed);
            if sid == 0 || sid + 1 < id || sid > id {
                continue;
            }
            let count = s.count.load(Relaxed);
            if count == 0 {
                continue;
            }
            out.count += count;
            sum = sum.saturating_add(s.sum.load(Relaxed));
            out.min = out.min.min(s.min.load(Relaxed));
            out.max = out.max.max(s.max.load(Relaxed));
        }
        if out.count == 0 {
            return None;
        }
        out.avg = sum as f64 / out.count as f64;
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combines_the_current_and_the_previous_sample() {
        let s = WindowedStat::default();
        assert_eq!(s.summary(0), None);
        assert_eq!(s.last(), None);
        s.record(1_000, 10);
        s.record(2_000, 30);
        s.record(SAMPLE_MS + 1, 5);
        let sum = s.summary(SAMPLE_MS + 2).unwrap();
        assert_eq!((sum.count, sum.min, sum.max), (3, 5, 30));
        assert!((sum.avg - 15.0).abs() < 1e-9);
        assert_eq!(s.last(), Some(5));
    }

    #[test]
    fn old_samples_leave_the_window() {
        let s = WindowedStat::default();
        s.record(1_000, 10);
        s.record(SAMPLE_MS + 1_000, 20);
        // Two windows later only the second sample is left...
        let sum = s.summary(2 * SAMPLE_MS + 1).unwrap();
        assert_eq!((sum.count, sum.min, sum.max), (1, 20, 20));
        // ...and then nothing, though the last value stays.
        assert_eq!(s.summary(3 * SAMPLE_MS + 1), None);
        assert_eq!(s.last(), Some(20));
    }

    #[test]
    fn a_gap_of_several_windows_drops_everything_before_it() {
        let s = WindowedStat::default();
        s.record(1_000, 10);
        s.record(5 * SAMPLE_MS, 7);
        let sum = s.summary(5 * SAMPLE_MS).unwrap();
        assert_eq!((sum.count, sum.min, sum.max), (1, 7, 7));
    }
}
