//! Exact offset translation, Strait's improvement over MM2's "+1 rule".
//!
//! MM2 only knows the offset pairs its offset syncs name; past a sync it answers "one record
//! after the sync's downstream offset", so a consumer that fails over re-reads everything
//! between the sync and its committed offset. Strait's source side sees every acknowledged
//! record, so with each offset sync it also publishes where the *contiguous run* ending at the
//! sync began: from that record to the sync, both offsets advanced by exactly one per record
//! (no upstream gap, no downstream gap, one writer session). Inside such a run, upstream offset
//! `u` is at downstream `run.downstream + (u - run.upstream)`, exactly.
//!
//! The claim travels as a record header ([`RUN_START_HEADER`], 16 bytes: upstream then
//! downstream, big-endian INT64) on the ordinary offset-sync record. MM2 reads only the key and
//! value, so the topic stays MM2-compatible both ways: MM2 ignores the header, and syncs
//! without it (written by MM2) simply give no exact answer here.

use std::collections::{HashMap, VecDeque};

pub use crate::wire::run_start::{RUN_START_HEADER, RunStart, run_start_headers};

/// Runs remembered per upstream partition; older runs are dropped first. A run only ends at an
/// upstream or downstream gap, so this covers 64 gaps back, and the newest run usually covers
/// everything a live group needs.
pub const RUNS_PER_PARTITION: usize = 64;

/// Whether `run` is consistent with a sync at `(upstream, downstream)`: not after it, not
/// negative, and the same distance on both sides. Anything else is ignored, so a corrupt header
/// can never produce a translation.
fn fits(run: &RunStart, upstream: i64, downstream: i64) -> bool {
    run.upstream >= 0
        && run.downstream >= 0
        && run.upstream <= upstream
        && upstream.checked_sub(run.upstream) == downstream.checked_sub(run.downstream)
}

/// One known run: upstream `start_up..=end_up` maps to downstream from `start_down`, one to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    start_up: i64,
    start_down: i64,
    end_up: i64,
}

#[derive(Debug)]
struct PartitionRuns {
    /// The newest sync seen (with or without a header), to detect rewinds.
    last: (i64, i64),
    /// Oldest first.
    runs: VecDeque<Run>,
}

/// Known runs per upstream partition, built from the offset-syncs topic in log order.
#[derive(Debug, Default)]
pub struct SyncRuns {
    partitions: HashMap<String, HashMap<i32, PartitionRuns>>,
}

impl SyncRuns {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one offset sync, in log order, with its run start when the header was present.
    pub fn update(
        &mut self,
        topic: &str,
        partition: i32,
        upstream: i64,
        downstream: i64,
        run_start: Option<RunStart>,
    ) {
        let by_partition = match self.partitions.get_mut(topic) {
            Some(map) => map,
            None => self.partitions.entry(topic.to_owned()).or_default(),
        };
        let state = by_partition
            .entry(partition)
            .or_insert_with(|| PartitionRuns {
                last: (upstream, downstream),
                runs: VecDeque::new(),
            });
        // Upstream going back means the source topic was recreated or a writer restarted from
        // older progress; downstream going back means the target partition was truncated or
        // recreated. Either way older claims may describe records that no longer exist, so
        // they are forgotten, as MM2's store forgets its history on an upstream rewind.
        if upstream < state.last.0 || downstream < state.last.1 {
            state.runs.clear();
        }
        state.last = (upstream, downstream);
        let Some(start) = run_start.filter(|s| fits(s, upstream, downstream)) else {
            return;
        };
        if let Some(last) = state.runs.back_mut()
            && last.start_up == start.upstream
            && last.start_down == start.downstream
        {
            last.end_up = last.end_up.max(upstream);
            return;
        }
        state.runs.push_back(Run {
            start_up: start.upstream,
            start_down: start.downstream,
            end_up: upstream,
        });
        while state.runs.len() > RUNS_PER_PARTITION {
            state.runs.pop_front();
        }
    }

    /// The exact downstream offset for a group's committed upstream offset (the next offset it
    /// would read), when a known run covers it: inside a run it is the record's own downstream
    /// offset; right after a run's last record it is the downstream offset after it (the next
    /// downstream record is then the next record the group would have read).
    pub fn translate(&self, topic: &str, partition: i32, upstream: i64) -> Option<i64> {
        let state = self.partitions.get(topic)?.get(&partition)?;
        // Newest first: when a later run also covers the offset (records written twice after a
        // restart), its answer is further downstream and re-reads less.
        state.runs.iter().rev().find_map(|run| {
            let covered = run.start_up <= upstream
                && (upstream <= run.end_up || upstream.checked_sub(1) == Some(run.end_up));
            if !covered {
                return None;
            }
            run.start_down.checked_add(upstream - run.start_up)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "orders";

    fn rs(up: i64, down: i64) -> Option<RunStart> {
        Some(RunStart::from((up, down)))
    }

    #[test]
    fn translates_inside_and_right_after_a_run() {
        let mut runs = SyncRuns::new();
        runs.update(T, 0, 0, 10, rs(0, 10));
        runs.update(T, 0, 101, 111, rs(0, 10));
        runs.update(T, 0, 150, 160, rs(0, 10));
        assert_eq!(runs.translate(T, 0, 0), Some(10));
        assert_eq!(runs.translate(T, 0, 77), Some(87));
        assert_eq!(runs.translate(T, 0, 150), Some(160));
        assert_eq!(runs.translate(T, 0, 151), Some(161));
        // Past the run's end + 1 nothing is known.
        assert_eq!(runs.translate(T, 0, 152), None);
        assert_eq!(runs.translate(T, 1, 5), None);
        assert_eq!(runs.translate("other", 0, 5), None);
    }

    #[test]
    fn a_gap_starts_a_new_run_and_both_are_kept() {
        let mut runs = SyncRuns::new();
        runs.update(T, 0, 50, 50, rs(0, 0));
        // Offsets 51..59 vanished upstream (compaction): new run from 60 at 51.
        runs.update(T, 0, 60, 51, rs(60, 51));
        runs.update(T, 0, 80, 71, rs(60, 51));
        assert_eq!(runs.translate(T, 0, 20), Some(20));
        assert_eq!(runs.translate(T, 0, 51), Some(51));
        // Inside the gap: not covered (MM2's rule answers instead).
        assert_eq!(runs.translate(T, 0, 55), None);
        assert_eq!(runs.translate(T, 0, 60), Some(51));
        assert_eq!(runs.translate(T, 0, 81), Some(72));
    }

    #[test]
    fn rewinds_forget_older_runs() {
        let mut runs = SyncRuns::new();
        runs.update(T, 0, 100, 100, rs(0, 0));
        runs.update(T, 0, 40, 120, rs(40, 120));
        assert_eq!(runs.translate(T, 0, 20), None);
        assert_eq!(runs.translate(T, 0, 41), Some(121));
        // Downstream truncated: runs forgotten, the new one kept.
        runs.update(T, 0, 50, 3, rs(48, 1));
        assert_eq!(runs.translate(T, 0, 45), None);
        assert_eq!(runs.translate(T, 0, 49), Some(2));
    }

    #[test]
    fn syncs_without_or_with_inconsistent_headers_claim_nothing() {
        let mut runs = SyncRuns::new();
        runs.update(T, 0, 100, 100, None);
        runs.update(T, 0, 200, 190, rs(0, 0)); // distances differ
        runs.update(T, 0, 300, 290, rs(301, 291)); // starts after the sync
        runs.update(T, 0, 400, 390, rs(-1, -11)); // negative
        assert_eq!(runs.translate(T, 0, 100), None);
        assert_eq!(runs.translate(T, 0, 250), None);
        assert_eq!(runs.translate(T, 0, 400), None);
    }

    #[test]
    fn keeps_a_bounded_number_of_runs() {
        let mut runs = SyncRuns::new();
        for k in 0..(RUNS_PER_PARTITION as i64 + 10) {
            // Every run is two records long, with a gap of one upstream offset between runs.
            runs.update(T, 0, 3 * k + 1, 2 * k + 1, rs(3 * k, 2 * k));
        }
        assert_eq!(runs.translate(T, 0, 0), None);
        let last = RUNS_PER_PARTITION as i64 + 9;
        assert_eq!(runs.translate(T, 0, 3 * last), Some(2 * last));
        let oldest_kept = 10;
        assert_eq!(
            runs.translate(T, 0, 3 * oldest_kept + 1),
            Some(2 * oldest_kept + 1)
        );
        assert_eq!(runs.translate(T, 0, 3 * (oldest_kept - 1)), None);
    }

    #[test]
    fn extreme_values_do_not_panic() {
        let mut runs = SyncRuns::new();
        runs.update(T, 0, i64::MAX, i64::MAX, rs(0, 0));
        runs.update(T, 0, i64::MAX, i64::MAX, rs(i64::MAX, i64::MAX));
        assert_eq!(runs.translate(T, 0, i64::MAX), Some(i64::MAX));
        assert_eq!(runs.translate(T, 0, i64::MIN), None);
        runs.update(T, 1, i64::MAX, 0, rs(i64::MIN, i64::MIN));
        assert_eq!(runs.translate(T, 1, 5), None);
    }
}
