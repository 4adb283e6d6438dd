//! Deciding what to write to a target consumer group (`sync.group.offsets.enabled`), MM2's
//! `syncGroupOffset` rules made explicit: only groups without members on the target are
//! written, and a partition where the target group is further along is never moved back.
//!
//! One opt-in departure from MM2 (`strait.sync.group.offsets.rewind.enabled`, off by
//! default): when the source group was reset to an earlier offset and the target partition
//! still holds exactly the offset Strait wrote there (so nobody consumed on the target since),
//! the reset may be followed. MM2 leaves such a group ahead; so does Strait unless asked, since
//! moving a group back makes its consumers read records again after a failover.

use std::collections::{BTreeMap, HashMap};

use crate::wire::Checkpoint;

use super::group_offsets::{GroupOffset, GroupState};
use crate::status::checkpoint::{AheadOffset, SkipReason, SyncedOffset};

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

/// Whether group sync may move a target partition back (`strait.sync.group.offsets.rewind.enabled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rewind {
    /// Never (MM2's rule, the default): a partition further along on the target is left there.
    Never,
    /// To follow a reset of the source group, when the target partition still holds exactly
    /// the offset Strait wrote there.
    FollowSourceReset,
}

/// Decides what to write to a target group in `state` whose committed offsets are `target`
/// (downstream topic, partition → offset), given the group's newest `checkpoints`, the
/// offsets Strait itself wrote to it earlier (`written_by_us`, same keys) and whether a
/// partition may be moved back (`rewind`).
pub fn plan_group_sync<'a>(
    state: &GroupState,
    target: &BTreeMap<(String, i32), i64>,
    checkpoints: impl IntoIterator<Item = &'a Checkpoint>,
    written_by_us: &HashMap<(String, i32), i64>,
    rewind: Rewind,
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
                // Checkpoints only go down when the source group went back, so a target still
                // at Strait's own write is ahead because of a source reset.
                let source_reset = written_by_us.get(&key) == Some(&t);
                if source_reset && rewind == Rewind::FollowSourceReset {
                    true
                } else {
                    ahead.push(AheadOffset {
                        topic: c.topic.clone(),
                        partition: c.partition,
                        target: t,
                        checkpoint: c.downstream_offset,
                        source_reset,
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
        let plan = plan_group_sync(
            &GroupState::Dead,
            &target(&[]),
            &cps,
            &HashMap::new(),
            Rewind::Never,
        );
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
            let plan = plan_group_sync(
                &state,
                &target(&[]),
                &[cp(0, 1)],
                &HashMap::new(),
                Rewind::Never,
            );
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
        let plan = plan_group_sync(
            &GroupState::Empty,
            &target(&[]),
            &[],
            &HashMap::new(),
            Rewind::Never,
        );
        assert_eq!(plan, SyncPlan::Skip(SkipReason::NothingTranslated));
    }

    #[test]
    fn empty_group_per_partition_never_rewound() {
        let cps = [cp(0, 10), cp(1, 20), cp(2, 30), cp(3, 40)];
        // p0 behind → written; p1 equal → nothing; p2 ahead → left; p3 reset to -1 → written.
        let t = target(&[(0, 5), (1, 20), (2, 99), (3, -1)]);
        let plan = plan_group_sync(&GroupState::Empty, &t, &cps, &HashMap::new(), Rewind::Never);
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
                checkpoint: 30,
                source_reset: false,
            }]
        );
        // All ahead or equal: a reason, or up to date.
        let plan = plan_group_sync(
            &GroupState::Empty,
            &target(&[(0, 11), (1, 20)]),
            &cps[..2],
            &HashMap::new(),
            Rewind::Never,
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
            Rewind::Never,
        );
        assert_eq!(plan, SyncPlan::UpToDate { ahead: vec![] });
    }

    #[test]
    fn upstream_reset_never_rewinds_by_default() {
        // The source group was reset from 10 to 3; the target still holds Strait's 10.
        let cps = [cp(0, 3)];
        let ours: HashMap<(String, i32), i64> = [(("A.t".to_owned(), 0), 10)].into();
        let plan = plan_group_sync(
            &GroupState::Empty,
            &target(&[(0, 10)]),
            &cps,
            &ours,
            Rewind::Never,
        );
        assert_eq!(
            plan,
            SyncPlan::Skip(SkipReason::AheadOnTarget {
                partitions: vec![AheadOffset {
                    topic: "A.t".to_owned(),
                    partition: 0,
                    target: 10,
                    checkpoint: 3,
                    source_reset: true,
                }]
            })
        );
        // Other partitions are still written; the reset one is reported as ahead.
        let cps = [cp(0, 3), cp(1, 7)];
        let plan = plan_group_sync(
            &GroupState::Empty,
            &target(&[(0, 10), (1, 5)]),
            &cps,
            &ours,
            Rewind::Never,
        );
        let SyncPlan::Write { offsets, ahead, .. } = plan else {
            panic!("expected a write: {plan:?}");
        };
        assert_eq!(
            offsets
                .iter()
                .map(|o| (o.partition, o.offset))
                .collect::<Vec<_>>(),
            vec![(1, 7)]
        );
        assert_eq!(
            ahead
                .iter()
                .map(|a| (a.partition, a.target, a.checkpoint, a.source_reset))
                .collect::<Vec<_>>(),
            vec![(0, 10, 3, true)]
        );
    }

    #[test]
    fn upstream_reset_is_followed_only_over_our_own_write_when_enabled() {
        let cps = [cp(0, 3)];
        let ours: HashMap<(String, i32), i64> = [(("A.t".to_owned(), 0), 10)].into();
        let rewind = Rewind::FollowSourceReset;
        let plan = plan_group_sync(&GroupState::Empty, &target(&[(0, 10)]), &cps, &ours, rewind);
        let SyncPlan::Write { written, .. } = plan else {
            panic!("expected a write: {plan:?}");
        };
        assert!(written[0].followed_upstream_reset);
        assert_eq!((written[0].previous, written[0].offset), (Some(10), 3));
        // Someone consumed on the target since (12 is not ours): left alone.
        let plan = plan_group_sync(&GroupState::Empty, &target(&[(0, 12)]), &cps, &ours, rewind);
        assert!(matches!(
            plan,
            SyncPlan::Skip(SkipReason::AheadOnTarget { ref partitions })
                if !partitions[0].source_reset
        ));
        // Strait never wrote this group: left alone too.
        let plan = plan_group_sync(
            &GroupState::Empty,
            &target(&[(0, 10)]),
            &cps,
            &HashMap::new(),
            rewind,
        );
        assert!(matches!(
            plan,
            SyncPlan::Skip(SkipReason::AheadOnTarget { .. })
        ));
    }
}
