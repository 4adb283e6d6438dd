//! Offset translation as the checkpointer uses it: MM2's [`OffsetSyncStore`] as the compatible
//! baseline, and Strait's exact runs ([`SyncRuns`]) where the source side published them.

use super::offset_sync_store::{OffsetSyncStore, Translation};
use super::sync_runs::{RunStart, SyncRuns};

pub use crate::status::checkpoint::TranslationKind;

/// The translations of one committed upstream offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Translated {
    /// MM2's answer on the same offset syncs.
    pub mm2: Translation,
    /// Strait's exact answer, when a run covers the offset.
    pub exact: Option<i64>,
}

impl Translated {
    /// The downstream offset to checkpoint and how it was obtained, or `None` when nothing can
    /// be said safely. Both answers never skip a record, so the larger one is used: it re-reads
    /// the least.
    pub fn best(&self) -> Option<(i64, TranslationKind)> {
        let mm2 = match self.mm2 {
            Translation::Offset(o) => Some(o),
            Translation::NotReady | Translation::BeforeHistory => None,
        };
        match (self.exact, mm2) {
            (Some(e), Some(m)) if m > e => Some((m, TranslationKind::Mm2)),
            (Some(e), _) => Some((e, TranslationKind::Exact)),
            (None, Some(m)) => Some((m, TranslationKind::Mm2)),
            (None, None) => None,
        }
    }

    /// MM2's answer alone, as `Some(offset)` when MM2 would checkpoint.
    pub fn mm2_offset(&self) -> Option<i64> {
        match self.mm2 {
            Translation::Offset(o) => Some(o),
            Translation::NotReady | Translation::BeforeHistory => None,
        }
    }
}

/// MM2's store and Strait's runs, fed from the same offset-syncs topic.
#[derive(Debug)]
pub struct Translator {
    store: OffsetSyncStore,
    runs: SyncRuns,
}

impl Translator {
    /// An empty translator in initial-load mode; `reset_on_initial_load` is MM2's
    /// `mustReadToEnd` (NOT "the checkpoints topic loaded"), see [`OffsetSyncStore::new`].
    pub fn new(reset_on_initial_load: bool) -> Self {
        Self {
            store: OffsetSyncStore::new(reset_on_initial_load),
            runs: SyncRuns::new(),
        }
    }

    /// Applies one offset sync in log order, with its run-start header if it had one.
    pub fn update(
        &mut self,
        topic: &str,
        partition: i32,
        upstream: i64,
        downstream: i64,
        run_start: Option<RunStart>,
    ) {
        self.store.update(topic, partition, upstream, downstream);
        self.runs
            .update(topic, partition, upstream, downstream, run_start);
    }

    /// Marks the first read-to-end of the offset-syncs topic as complete.
    pub fn finish_initial_load(&mut self) {
        self.store.finish_initial_load();
    }

    /// Whether the first read-to-end is complete; nothing is translated before.
    pub fn is_loaded(&self) -> bool {
        self.store.is_loaded()
    }

    /// Translates a group's committed upstream offset. Before the initial load completes both
    /// answers are empty, as in MM2, so no checkpoint can be based on a partial history.
    pub fn translate(&self, topic: &str, partition: i32, upstream: i64) -> Translated {
        let mm2 = self.store.translate_downstream(topic, partition, upstream);
        let exact = if self.store.is_loaded() {
            self.runs.translate(topic, partition, upstream)
        } else {
            None
        };
        Translated { mm2, exact }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "orders";

    #[test]
    fn nothing_before_the_initial_load() {
        let mut t = Translator::new(true);
        t.update(T, 0, 0, 0, Some(RunStart::from((0, 0))));
        t.update(T, 0, 100, 100, Some(RunStart::from((0, 0))));
        let r = t.translate(T, 0, 50);
        assert_eq!(r.mm2, Translation::NotReady);
        assert_eq!(r.best(), None);
        t.finish_initial_load();
        assert_eq!(
            t.translate(T, 0, 50).best(),
            Some((50, TranslationKind::Exact))
        );
    }

    #[test]
    fn exact_beats_the_plus_one_rule_and_mm2_is_the_fallback() {
        let mut t = Translator::new(false);
        t.finish_initial_load();
        // MM2's own syncs (no header): 0, 101, 202.
        for k in 0..3 {
            t.update(T, 0, k * 101, k * 101, None);
        }
        let r = t.translate(T, 0, 150);
        assert_eq!(r.mm2, Translation::Offset(102));
        assert_eq!(r.best(), Some((102, TranslationKind::Mm2)));
        // The same positions from Strait, with the run from 0.
        let mut s = Translator::new(false);
        s.finish_initial_load();
        for k in 0..3 {
            s.update(T, 0, k * 101, k * 101, Some(RunStart::from((0, 0))));
        }
        let r = s.translate(T, 0, 150);
        assert_eq!(r.mm2_offset(), Some(102));
        assert_eq!(r.best(), Some((150, TranslationKind::Exact)));
        // Beyond the newest sync + 1 only MM2's rule answers.
        assert_eq!(
            s.translate(T, 0, 300).best(),
            Some((203, TranslationKind::Mm2))
        );
        // Below the oldest sync MM2 refuses (-1) and so does the run.
        let mut late = Translator::new(false);
        late.finish_initial_load();
        late.update(T, 0, 500, 0, Some(RunStart::from((500, 0))));
        assert_eq!(late.translate(T, 0, 400).mm2, Translation::BeforeHistory);
        assert_eq!(late.translate(T, 0, 400).best(), None);
    }

    #[test]
    fn best_prefers_the_larger_safe_answer() {
        let t = Translated {
            mm2: Translation::Offset(10),
            exact: Some(9),
        };
        assert_eq!(t.best(), Some((10, TranslationKind::Mm2)));
        let t = Translated {
            mm2: Translation::BeforeHistory,
            exact: Some(9),
        };
        assert_eq!(t.best(), Some((9, TranslationKind::Exact)));
    }
}
