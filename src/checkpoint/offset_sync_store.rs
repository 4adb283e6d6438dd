//! MM2's `OffsetSyncStore`: a bounded, exponentially spaced history of offset syncs per upstream
//! partition, and the translation of a group's upstream offset to a downstream one.
//!
//! Behaviour follows `MirrorCheckpointTask`'s store in Kafka 3.7.1+/3.8+ (KAFKA-14666 history,
//! KAFKA-15202 spacing fix, KAFKA-15905 `mustReadToEnd`); see `mm2-compat.md` §4.2.
//!
//! This module is pure: the caller consumes the offset-syncs topic, feeds every sync to
//! [`OffsetSyncStore::update`] in log order, and calls [`OffsetSyncStore::finish_initial_load`]
//! once the first read-to-end is complete.

use std::collections::HashMap;

/// Number of history slots kept per upstream partition; MM2 keeps one per bit of an offset
/// (`Long.SIZE`), which is what makes the exponential spacing cover the whole offset range.
pub const SYNCS_PER_PARTITION: usize = 64;

/// One stored sync. `id` gives each consumed sync an identity: MM2 compares syncs by object
/// reference ("the same sync instance"), not by value, and its update algorithm depends on that
/// (two syncs with equal offsets are still distinct entries).
#[derive(Debug, Clone, Copy)]
struct Slot {
    upstream: i64,
    downstream: i64,
    id: u64,
}

impl Slot {
    fn same(&self, other: &Slot) -> bool {
        self.id == other.id
    }
}

type Slots = [Slot; SYNCS_PER_PARTITION];

/// Result of [`OffsetSyncStore::translate_downstream`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Translation {
    /// No answer: the initial read of the offset-syncs topic has not finished, or no sync was
    /// ever seen for the partition (MM2's empty `OptionalLong`). No checkpoint must be emitted.
    NotReady,
    /// The group's offset is older than every sync still kept, so it cannot be translated
    /// safely (MM2 returns `-1`, which the checkpoint task drops). Also returned when a corrupt
    /// sync would yield a negative or overflowing downstream offset, which MM2 likewise drops.
    BeforeHistory,
    /// The translated downstream offset; never negative.
    Offset(i64),
}

/// In-memory offset-sync history and translator, keyed by upstream (topic, partition).
#[derive(Debug)]
pub struct OffsetSyncStore {
    /// Two-level map so that updates and lookups borrow the topic as `&str` without allocating.
    partitions: HashMap<String, HashMap<i32, Box<Slots>>>,
    /// MM2's `initializationMustReadToEnd`: while the initial read is in progress, each sync
    /// replaces its partition's whole history.
    reset_on_initial_load: bool,
    /// MM2's `readToEnd`: translation is refused until the first read-to-end completes.
    loaded: bool,
    next_id: u64,
}

impl OffsetSyncStore {
    /// Creates an empty store in initial-load mode.
    ///
    /// `reset_on_initial_load` is MM2's `mustReadToEnd`, i.e. NOT(the checkpoints topic loaded
    /// successfully). When true, only the last sync per partition seen during the initial read
    /// survives, so a translation can never be lower than one an earlier store generation
    /// already used for a checkpoint.
    pub fn new(reset_on_initial_load: bool) -> Self {
        Self {
            partitions: HashMap::new(),
            reset_on_initial_load,
            loaded: false,
            next_id: 0,
        }
    }

    /// Marks the first read-to-end of the offset-syncs topic as complete: translation becomes
    /// available and later syncs always go through the normal history update.
    pub fn finish_initial_load(&mut self) {
        self.loaded = true;
    }

    /// Whether [`finish_initial_load`](Self::finish_initial_load) has been called.
    pub fn is_loaded(&self) -> bool {
        self.loaded
    }

    /// Applies one offset sync, in the order read from the offset-syncs topic.
    pub fn update(&mut self, topic: &str, partition: i32, upstream: i64, downstream: i64) {
        let sync = Slot {
            upstream,
            downstream,
            id: self.next_id,
        };
        // 2^64 syncs cannot be consumed in practice; wrapping just rules out a panic.
        self.next_id = self.next_id.wrapping_add(1);
        let reset = !self.loaded && self.reset_on_initial_load;

        let by_partition = match self.partitions.get_mut(topic) {
            Some(map) => map,
            None => self.partitions.entry(topic.to_owned()).or_default(),
        };
        match by_partition.get_mut(&partition) {
            Some(slots) => update_slots(slots, sync, reset),
            None => {
                // A single repeated sync satisfies invariants B and C trivially.
                by_partition.insert(partition, Box::new([sync; SYNCS_PER_PARTITION]));
            }
        }
    }

    /// Translates a group's committed upstream offset (the next offset it would read) into a
    /// downstream offset, as MM2's `translateDownstream` does.
    pub fn translate_downstream(
        &self,
        topic: &str,
        partition: i32,
        upstream_offset: i64,
    ) -> Translation {
        if !self.loaded {
            return Translation::NotReady;
        }
        let Some(slots) = self.partitions.get(topic).and_then(|m| m.get(&partition)) else {
            return Translation::NotReady;
        };
        // Slots are ordered newest first, so the first one at or below the group is the closest
        // preceding sync; MM2 falls back to the oldest slot and then rejects it below.
        let sync = slots
            .iter()
            .find(|s| s.upstream <= upstream_offset)
            .unwrap_or(&slots[SYNCS_PER_PARTITION - 1]);
        if sync.upstream > upstream_offset {
            return Translation::BeforeHistory;
        }
        // The "+1 rule": past a sync, only one record after its downstream offset is known to
        // exist; claiming more could skip records on failover, so MM2 under-estimates.
        let step = i64::from(upstream_offset != sync.upstream);
        match sync.downstream.checked_add(step) {
            Some(offset) if offset >= 0 => Translation::Offset(offset),
            // MM2 would return a negative value here (corrupt sync or overflow), which the
            // checkpoint task drops just like -1.
            _ => Translation::BeforeHistory,
        }
    }

    /// Debug/test accessor: the 64 slots `(upstream, downstream)` of a partition, newest first.
    pub fn slots(&self, topic: &str, partition: i32) -> Option<[(i64, i64); SYNCS_PER_PARTITION]> {
        let slots = self.partitions.get(topic)?.get(&partition)?;
        Some(slots.map(|s| (s.upstream, s.downstream)))
    }
}

/// MM2's `updateSyncArray`: restores invariants A–D after `sync` arrives, in linear time,
/// preferring to keep distinct old syncs so that translation further back stays accurate.
fn update_slots(slots: &mut Slots, sync: Slot, reset: bool) {
    // During a resetting initial load only the newest sync may be trusted (an older history could
    // translate below a checkpoint already emitted); after an upstream rewind (topic recreated or
    // truncated) every older sync describes offsets that no longer mean the same records.
    if reset || sync.upstream < slots[0].upstream {
        *slots = [sync; SYNCS_PER_PARTITION];
        return;
    }
    let original: Slots = *slots;
    let mut replacement = sync;
    // Index into `original` of the next old sync considered for promotion.
    let mut candidate = 0usize;
    slots[0] = sync;
    for current in 1..SYNCS_PER_PARTITION {
        let previous = current - 1;
        loop {
            let old = original[candidate];
            let recent = invariant_b(&slots[previous], &old, previous, current);
            let apart_prev = invariant_c(&slots[previous], &old, previous);
            let next = current + 1;
            let apart_next =
                next >= SYNCS_PER_PARTITION || invariant_c(&old, &slots[next], current);
            let duplicate =
                candidate + 1 < SYNCS_PER_PARTITION && old.same(&original[candidate + 1]);

            let promote = recent && apart_prev && apart_next;
            if promote {
                replacement = old;
            }
            // An old sync too close to its predecessor can never become valid further down,
            // and a run of one instance only needs considering once.
            let skip = duplicate || !apart_prev;
            if promote || skip {
                candidate += 1;
            }
            // `candidate` never overtakes `current`: syncs only move from newer to older slots.
            if !(candidate < current && skip) {
                break;
            }
        }
        if invariant_b(&slots[previous], &slots[current], previous, current) {
            // B holds here, so the existing tail is still valid: keep it.
            break;
        }
        slots[current] = replacement;
    }
}

/// Invariant B for slots i < j: slot j is allowed to lag slot i by at most 2^j - 2^i.
/// The arithmetic wraps like Java's `long`, and a negative bound (overflow) counts as satisfied,
/// exactly as in MM2; for j = 63 the shift itself yields `i64::MIN`, which wrapping also handles.
fn invariant_b(i_sync: &Slot, j_sync: &Slot, i: usize, j: usize) -> bool {
    let bound = j_sync
        .upstream
        .wrapping_add(1i64.wrapping_shl(j as u32))
        .wrapping_sub(1i64.wrapping_shl(i as u32));
    i_sync.same(j_sync) || bound < 0 || i_sync.upstream <= bound
}

/// Invariant C for slot i and a later slot: distinct syncs stay at least 2^max(i-2, 0) apart.
/// A negative (overflowed) bound counts as violated, as in MM2.
fn invariant_c(i_sync: &Slot, j_sync: &Slot, i: usize) -> bool {
    let bound = j_sync
        .upstream
        .wrapping_add(1i64.wrapping_shl(i.saturating_sub(2) as u32));
    i_sync.same(j_sync) || (bound >= 0 && i_sync.upstream >= bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "orders";

    fn loaded_store() -> OffsetSyncStore {
        let mut store = OffsetSyncStore::new(true);
        store.finish_initial_load();
        store
    }

    fn ups(store: &OffsetSyncStore, topic: &str, partition: i32) -> Vec<i64> {
        store
            .slots(topic, partition)
            .unwrap()
            .iter()
            .map(|s| s.0)
            .collect()
    }

    /// Expands `(count, value)` runs into a 64-element vector.
    fn runs<T: Copy>(spec: &[(usize, T)]) -> Vec<T> {
        let v: Vec<T> = spec
            .iter()
            .flat_map(|&(n, x)| std::iter::repeat_n(x, n))
            .collect();
        assert_eq!(v.len(), SYNCS_PER_PARTITION);
        v
    }

    /// Checks invariants B and C over all pairs with exact (i128) arithmetic, independently of
    /// the production helpers.
    fn assert_invariants(slots: &Slots) {
        for i in 0..SYNCS_PER_PARTITION {
            for j in i + 1..SYNCS_PER_PARTITION {
                let (a, b) = (&slots[i], &slots[j]);
                if a.same(b) {
                    continue;
                }
                let (ua, ub) = (i128::from(a.upstream), i128::from(b.upstream));
                assert!(
                    ua <= ub + (1i128 << j) - (1i128 << i),
                    "invariant B broken at ({i},{j}): {ua} vs {ub}"
                );
                assert!(
                    ua >= ub + (1i128 << i.saturating_sub(2)),
                    "invariant C broken at ({i},{j}): {ua} vs {ub}"
                );
            }
        }
    }

    #[test]
    fn vector_v1() {
        let mut store = loaded_store();
        store.update(T, 0, 100, 80);
        store.update(T, 0, 200, 175);
        store.update(T, 0, 300, 260);
        let expected = runs(&[(8, (300, 260)), (1, (200, 175)), (55, (100, 80))]);
        assert_eq!(store.slots(T, 0).unwrap().to_vec(), expected);

        let cases = [
            (50, Translation::BeforeHistory),
            (100, Translation::Offset(80)),
            (150, Translation::Offset(81)),
            (200, Translation::Offset(175)),
            (250, Translation::Offset(176)),
            (300, Translation::Offset(260)),
            (350, Translation::Offset(261)),
        ];
        for (group, want) in cases {
            assert_eq!(
                store.translate_downstream(T, 0, group),
                want,
                "group offset {group}"
            );
        }
    }

    #[test]
    fn vector_v2() {
        let mut store = loaded_store();
        for k in 0..=10 {
            store.update(T, 0, k * 100, k * 100);
        }
        let expected = runs(&[(8, 1000), (1, 900), (1, 800), (1, 400), (53, 0)]);
        assert_eq!(ups(&store, T, 0), expected);
        // Downstream equals upstream in every slot.
        assert!(store.slots(T, 0).unwrap().iter().all(|(u, d)| u == d));

        let cases = [
            (0, 0),
            (99, 1),
            (150, 1),
            (450, 401),
            (999, 901),
            (1000, 1000),
            (1001, 1001),
        ];
        for (group, want) in cases {
            assert_eq!(
                store.translate_downstream(T, 0, group),
                Translation::Offset(want),
                "group offset {group}"
            );
        }
    }

    #[test]
    fn not_ready_until_loaded_and_for_unknown_partitions() {
        let mut store = OffsetSyncStore::new(false);
        store.update(T, 0, 10, 10);
        assert!(!store.is_loaded());
        assert_eq!(store.translate_downstream(T, 0, 10), Translation::NotReady);
        store.finish_initial_load();
        assert_eq!(
            store.translate_downstream(T, 0, 10),
            Translation::Offset(10)
        );
        assert_eq!(store.translate_downstream(T, 1, 10), Translation::NotReady);
        assert_eq!(
            store.translate_downstream("other", 0, 10),
            Translation::NotReady
        );
        assert!(store.slots("other", 0).is_none());
    }

    #[test]
    fn initial_load_with_reset_keeps_only_last_sync() {
        let mut store = OffsetSyncStore::new(true);
        store.update(T, 0, 100, 80);
        store.update(T, 0, 200, 175);
        store.update(T, 0, 300, 260);
        store.finish_initial_load();
        assert_eq!(ups(&store, T, 0), vec![300; SYNCS_PER_PARTITION]);
        assert_eq!(
            store.translate_downstream(T, 0, 250),
            Translation::BeforeHistory
        );

        // After the load, history builds up normally again.
        store.update(T, 0, 400, 350);
        assert_eq!(
            store.translate_downstream(T, 0, 350),
            Translation::Offset(261)
        );
    }

    #[test]
    fn initial_load_without_reset_keeps_history() {
        let mut store = OffsetSyncStore::new(false);
        store.update(T, 0, 100, 80);
        store.update(T, 0, 200, 175);
        store.update(T, 0, 300, 260);
        store.finish_initial_load();
        let expected = runs(&[(8, (300, 260)), (1, (200, 175)), (55, (100, 80))]);
        assert_eq!(store.slots(T, 0).unwrap().to_vec(), expected);
    }

    #[test]
    fn partitions_and_topics_are_independent() {
        let mut store = loaded_store();
        store.update(T, 0, 100, 1);
        store.update(T, 1, 200, 2);
        store.update("other", 0, 300, 3);
        assert_eq!(
            store.translate_downstream(T, 0, 100),
            Translation::Offset(1)
        );
        assert_eq!(
            store.translate_downstream(T, 1, 200),
            Translation::Offset(2)
        );
        assert_eq!(
            store.translate_downstream("other", 0, 300),
            Translation::Offset(3)
        );
    }

    #[test]
    fn upstream_rewind_resets_history() {
        let mut store = loaded_store();
        for k in 1..=10 {
            store.update(T, 0, k * 100, k * 100 + 5);
        }
        store.update(T, 0, 50, 2000);
        assert_eq!(
            store.slots(T, 0).unwrap().to_vec(),
            vec![(50, 2000); SYNCS_PER_PARTITION]
        );
        assert_eq!(
            store.translate_downstream(T, 0, 40),
            Translation::BeforeHistory
        );
        assert_eq!(
            store.translate_downstream(T, 0, 500),
            Translation::Offset(2001)
        );
    }

    #[test]
    fn equal_upstream_is_not_a_rewind() {
        // A restarted source task may re-emit a sync for the same upstream offset with a new
        // downstream offset; MM2 keeps it as the newest sync without resetting.
        let mut store = loaded_store();
        store.update(T, 0, 0, 0);
        store.update(T, 0, 100, 100);
        store.update(T, 0, 100, 150);
        assert_eq!(store.slots(T, 0).unwrap()[0], (100, 150));
        assert_eq!(
            store.translate_downstream(T, 0, 100),
            Translation::Offset(150)
        );
        assert_eq!(store.translate_downstream(T, 0, 0), Translation::Offset(0));
    }

    #[test]
    fn overflow_near_i64_max_does_not_panic() {
        let mut store = loaded_store();
        let base = i64::MAX - 1_000;
        for k in 0..=1_000 {
            store.update(T, 0, base + k, base + k);
        }
        store.update(T, 0, i64::MAX, i64::MAX);
        assert_eq!(store.slots(T, 0).unwrap()[0], (i64::MAX, i64::MAX));
        assert_eq!(
            store.translate_downstream(T, 0, i64::MAX),
            Translation::Offset(i64::MAX)
        );
        assert_eq!(
            store.translate_downstream(T, 0, base),
            Translation::Offset(base)
        );
        assert_eq!(
            store.translate_downstream(T, 0, 0),
            Translation::BeforeHistory
        );

        // Downstream at i64::MAX with the +1 rule would overflow: dropped, not wrapped.
        let mut store = loaded_store();
        store.update(T, 0, 10, i64::MAX);
        assert_eq!(
            store.translate_downstream(T, 0, 11),
            Translation::BeforeHistory
        );

        // Jumps across the whole range and back (rewind) must not panic either.
        let mut store = loaded_store();
        for up in [0, 1, i64::MAX / 2, i64::MAX - 1, i64::MAX, 0, i64::MAX] {
            store.update(T, 0, up, 0);
            assert_invariants(store.partitions[T][&0].as_ref());
        }
    }

    #[test]
    fn corrupt_negative_offsets_do_not_panic_or_translate_negative() {
        let mut store = loaded_store();
        store.update(T, 0, i64::MIN, -1);
        store.update(T, 0, -5, -10);
        store.update(T, 0, 3, -1);
        assert_eq!(
            store.translate_downstream(T, 0, 3),
            Translation::BeforeHistory
        );
        assert_eq!(store.translate_downstream(T, 0, 4), Translation::Offset(0));
        store.update(T, 0, 7, i64::MIN);
        for g in [i64::MIN, -6, -5, -1, 0, 3, 4, 7, 8, i64::MAX] {
            match store.translate_downstream(T, 0, g) {
                Translation::Offset(d) => assert!(d >= 0, "negative translation for {g}"),
                Translation::BeforeHistory => {}
                Translation::NotReady => panic!("store is loaded"),
            }
        }
    }

    /// Knuth's MMIX LCG: deterministic and dependency-free.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }
    }

    #[test]
    fn invariants_hold_for_many_monotone_syncs() {
        let mut rng = Lcg(0x5eed);
        let mut store = loaded_store();
        let (mut up, mut down) = (0i64, 0i64);
        let mut fed = Vec::new();
        for n in 0..10_000 {
            // Mostly small steps like a busy partition, with occasional large gaps
            // (compaction holes, long pauses) to exercise the higher slots.
            let r = rng.next();
            let step = match r % 10 {
                0 => 1 + (rng.next() % 1_000_000) as i64,
                1..=3 => 1,
                _ => 1 + (rng.next() % 150) as i64,
            };
            up += step;
            down += 1 + (rng.next() % (step as u64)) as i64;
            store.update(T, 0, up, down);
            fed.push((up, down));
            if n % 97 == 0 {
                assert_invariants(store.partitions[T][&0].as_ref());
            }
        }
        let slots = store.partitions[T][&0].as_ref();
        assert_invariants(slots);
        // Invariant A: slot 0 is the newest sync.
        assert_eq!((slots[0].upstream, slots[0].downstream), (up, down));
        // Slots only ever hold syncs that were fed, newest first.
        for w in slots.windows(2) {
            assert!(w[0].upstream >= w[1].upstream);
            assert!(w[0].id >= w[1].id);
        }
        for s in slots.iter() {
            assert!(fed.contains(&(s.upstream, s.downstream)));
        }

        // Translation is monotone in the group offset and never overshoots the exact answer.
        let mut last = i64::MIN;
        for g in (0..=up + 10).step_by(997) {
            if let Translation::Offset(d) = store.translate_downstream(T, 0, g) {
                assert!(d >= last, "translation went backwards at {g}");
                last = d;
                // The exact downstream position of g is that of the first fed sync at or after g.
                if let Some(&(_, exact)) = fed.get(fed.partition_point(|(u, _)| *u < g)) {
                    assert!(d <= exact, "overshoot at {g}: {d} > {exact}");
                }
            }
        }
    }
}
