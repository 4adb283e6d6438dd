//! Deciding what to write to a target consumer group (`sync.group.offsets.enabled`), MM2's
//! `syncGroupOffset` rules made explicit: only groups without members on the target are
//! written, and a partition where the target group is further along is never moved back.
//!
//! One refinement over MM2: when the source group was reset to an earlier offset and the
//! target partition still holds exactly the offset Strait wrote there (so nobody consumed on
//! the target since), the reset is followed. MM2 leaves such a group ahead forever.

use std::collections::{BTreeMap, HashMap};

use crate::wire::Checkpoint;

use super::group_offsets::{GroupOffset, GroupState};
use super::status::{AheadOffset, SkipReason, SyncedOffset};

/// What to do with one target group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncPlan {
    /// Leave it alone, for this reason.
    Skip(SkipReason),
    /// Write these offsets.
    Write {
        /// The offsets and metadata to write.
        offsets: Vec<GroupOffset>,
        /// The same, described for the status.
        written: Vec<SyncedOffset>,
        /// Partitions left alone because the target is ahead.
        ahead: Vec<AheadOffset>,
    },
    /// The target already holds the newest checkpoints wherever it is not ahead.
    UpToDate {
        /// Partitions where the target is ahead.
        ahead: Vec<AheadOffset>,
    },
}

/// Decides what to write to a target group in `state` whose committed offsets are `target`
/// (downstream topic, partition → offset), given the group's newest `checkpoints` and the
/// offsets Strait itself wrote to it earlier (`written_by_us`, same keys).
pub fn plan_group_sync<'a>(
    state: &GroupState,
    target: &BTreeMap<(String, i32), i64>,
    checkpoints: impl IntoIterator<Item = &'a Checkpoint>,
    written_by_us: &HashMap<(String, i32), i64>,
) -> SyncPlan {
    let checkpoints: Vec<&Checkpoint> = checkpoints.into_iter().collect();
    if checkpoints.is_empty() {
        return SyncPlan::Skip(SkipReason::NothingTranslated);
    }
    if !state.accepts_admin_offsets() {
        return SyncPlan::Skip(SkipReason::ActiveOnTarget {
            target_state: state.clone(),
        });
    }
    let mut offsets = Vec::new();
    let mut written = Vec::new();
    let mut ahead = Vec::new();
    for c in checkpoints {
        let key = (c.topic.clone(), c.partition);
        // A negative target offset (some clients "reset" to -1) counts as none (KAFKA-15607).
        let current = target.get(&key).copied().filter(|o| *o >= 0);
        let followed_upstream_reset = match current {
            None => false,
            Some(t) if t < c.downstream_offset => false,
            Some(t) if t == c.downstream_offset => continue,
            Some(t) => {
                if written_by_us.get(&key) == Some(&t) {
                    true
                } else {
                    ahead.push(AheadOffset {
                        topic: c.topic.clone(),
                        partition: c.partition,
                        target: t,
                        checkpoint: c.downstream_offset,
                    });
                    continue;
                }
            }
        };
        offsets.push(GroupOffset {
            topic: c.topic.clone(),
            partition: c.partition,
            offset: c.downstream_offset,
            metadata: c.metadata.clone(),
        });
        written.push(SyncedOffset {
            topic: c.topic.clone(),
            partition: c.partition,
            offset: c.downstream_offset,
            previous: current,
            followed_upstream_reset,
        });
    }
    if !offsets.is_empty() {
        SyncPlan::Write {
            offsets,
            written,
            ahead,
        }
    } else if !ahead.is_empty() {
        SyncPlan::Skip(SkipReason::AheadOnTarget { partitions: ahead })
    } else {
        SyncPlan::UpToDate { ahead }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp(partition: i32, down: i64) -> Checkpoint {
        Checkpoint {
            group: "g".to_owned(),
            topic: "A.t".to_owned(),
            partition,
            upstream_offset: down,
            downstream_offset: down,
            metadata: format!("m{partition}"),
        }
    }

    fn target(entries: &[(i32, i64)]) -> BTreeMap<(String, i32), i64> {
        entries
            .iter()
            .map(|(p, o)| (("A.t".to_owned(), *p), *o))
            .collect()
    }

    #[test]
    fn absent_group_gets_everything() {
        let cps = [cp(0, 10), cp(1, 20)];
        let plan = plan_group_sync(&GroupState::Dead, &target(&[]), &cps, &HashMap::new());
        let SyncPlan::Write { offsets, ahead, .. } = plan else {
            panic!("expected a write: {plan:?}");
        };
        assert_eq!(offsets.len(), 2);
        assert_eq!(offsets[1].offset, 20);
        assert_eq!(offsets[1].metadata, "m1");
        assert!(ahead.is_empty());
    }

    #[test]
    fn active_group_is_skipped() {
        for state in [
            GroupState::Stable,
            GroupState::PreparingRebalance,
            GroupState::Reconciling,
            GroupState::Unknown("X".to_owned()),
        ] {
            let plan = plan_group_sync(&state, &target(&[]), &[cp(0, 1)], &HashMap::new());
            assert_eq!(
                plan,
                SyncPlan::Skip(SkipReason::ActiveOnTarget {
                    target_state: state.clone()
                })
            );
        }
    }

    #[test]
    fn nothing_translated_is_a_reason() {
        let plan = plan_group_sync(&GroupState::Empty, &target(&[]), &[], &HashMap::new());
        assert_eq!(plan, SyncPlan::Skip(SkipReason::NothingTranslated));
    }

    #[test]
    fn empty_group_per_partition_never_rewound() {
        let cps = [cp(0, 10), cp(1, 20), cp(2, 30), cp(3, 40)];
        // p0 behind → written; p1 equal → nothing; p2 ahead → left; p3 reset to -1 → written.
        let t = target(&[(0, 5), (1, 20), (2, 99), (3, -1)]);
        let plan = plan_group_sync(&GroupState::Empty, &t, &cps, &HashMap::new());
        let SyncPlan::Write {
            offsets,
            written,
            ahead,
        } = plan
        else {
            panic!("expected a write: {plan:?}");
        };
        assert_eq!(
            offsets
                .iter()
                .map(|o| (o.partition, o.offset))
                .collect::<Vec<_>>(),
            vec![(0, 10), (3, 40)]
        );
        assert_eq!(written[0].previous, Some(5));
        assert_eq!(written[1].previous, None);
        assert_eq!(
            ahead,
            vec![AheadOffset {
                topic: "A.t".to_owned(),
                partition: 2,
                target: 99,
                checkpoint: 30
            }]
        );
        // All ahead or equal: a reason, or up to date.
        let plan = plan_group_sync(
            &GroupState::Empty,
            &target(&[(0, 11), (1, 20)]),
            &cps[..2],
            &HashMap::new(),
        );
        assert!(matches!(
            plan,
            SyncPlan::Skip(SkipReason::AheadOnTarget { ref partitions }) if partitions.len() == 1
        ));
        let plan = plan_group_sync(
            &GroupState::Empty,
            &target(&[(0, 10), (1, 20)]),
            &cps[..2],
            &HashMap::new(),
        );
        assert_eq!(plan, SyncPlan::UpToDate { ahead: vec![] });
    }

    #[test]
    fn upstream_reset_is_followed_only_over_our_own_write() {
        let cps = [cp(0, 3)];
        let ours: HashMap<(String, i32), i64> = [(("A.t".to_owned(), 0), 10)].into();
        let plan = plan_group_sync(&GroupState::Empty, &target(&[(0, 10)]), &cps, &ours);
        let SyncPlan::Write { written, .. } = plan else {
            panic!("expected a write: {plan:?}");
        };
        assert!(written[0].followed_upstream_reset);
        assert_eq!(written[0].offset, 3);
        // Someone consumed on the target since (12 is not ours): left alone.
        let plan = plan_group_sync(&GroupState::Empty, &target(&[(0, 12)]), &cps, &ours);
        assert!(matches!(
            plan,
            SyncPlan::Skip(SkipReason::AheadOnTarget { .. })
        ));
    }
}
