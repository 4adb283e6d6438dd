//! One round of target group offset sync (blocking, run off the async runtime): describe the
//! target groups, read the empty ones' offsets, plan each group ([`plan_group_sync`]) and
//! write what the plan allows.

use std::collections::{BTreeMap, HashMap};

use crate::wire::Checkpoint;

use super::group_offsets::{GroupOffsets, GroupOpError, GroupState};
use super::group_sync::{Rewind, SyncPlan, plan_group_sync};
use crate::status::checkpoint::{GroupSyncState, SkipReason, now_ms};

/// What syncing one group needs.
pub(crate) struct SyncInput {
    /// The group.
    pub(crate) group: String,
    /// Its newest checkpoints.
    pub(crate) checkpoints: Vec<Checkpoint>,
    /// Offsets Strait wrote to it earlier, by downstream topic and partition.
    pub(crate) ours: HashMap<(String, i32), i64>,
}

/// Describes the target groups, plans and writes each (moving partitions back only as
/// `rewind` allows); blocking. Fails only when the groups cannot be described at all.
pub(crate) fn sync_groups(
    target: &dyn GroupOffsets,
    inputs: Vec<SyncInput>,
    rewind: Rewind,
) -> Result<Vec<(String, GroupSyncState)>, GroupOpError> {
    let names: Vec<String> = inputs
        .iter()
        .filter(|i| !i.checkpoints.is_empty())
        .map(|i| i.group.clone())
        .collect();
    let states: HashMap<String, GroupState> = if names.is_empty() {
        HashMap::new()
    } else {
        target.describe(&names)?.into_iter().collect()
    };
    let mut out = Vec::with_capacity(inputs.len());
    for input in inputs {
        let at_ms = now_ms();
        let state = states
            .get(&input.group)
            .cloned()
            .unwrap_or(GroupState::Dead);
        let current = if state == GroupState::Empty {
            match target.committed(&input.group) {
                Ok(offsets) => offsets
                    .into_iter()
                    .map(|o| ((o.topic, o.partition), o.offset))
                    .collect(),
                Err(e) => {
                    out.push((
                        input.group,
                        GroupSyncState::Failed {
                            at_ms,
                            error: e.to_string(),
                        },
                    ));
                    continue;
                }
            }
        } else {
            BTreeMap::new()
        };
        let plan = plan_group_sync(&state, &current, &input.checkpoints, &input.ours, rewind);
        let result = match plan {
            SyncPlan::Skip(reason) => GroupSyncState::Skipped { at_ms, reason },
            SyncPlan::UpToDate { ahead } => GroupSyncState::UpToDate { at_ms, ahead },
            SyncPlan::Write {
                offsets,
                written,
                ahead,
            } => match target.alter(&input.group, &offsets) {
                Ok(()) => GroupSyncState::Synced {
                    at_ms,
                    written,
                    ahead,
                },
                // Members joined between describing and writing: the broker said no.
                Err(GroupOpError::GroupActive { .. }) => GroupSyncState::Skipped {
                    at_ms,
                    reason: SkipReason::ActiveOnTarget {
                        target_state: GroupState::Unknown(
                            "active (refused by the broker)".to_owned(),
                        ),
                    },
                },
                Err(e) => GroupSyncState::Failed {
                    at_ms,
                    error: e.to_string(),
                },
            },
        };
        out.push((input.group, result));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::group_offsets::fake::FakeGroups;
    use crate::status::checkpoint::SyncedOffset;

    fn describe_written(written: &[SyncedOffset]) -> Vec<(String, i32, i64)> {
        written
            .iter()
            .map(|w| (w.topic.clone(), w.partition, w.offset))
            .collect()
    }

    fn cp(group: &str, partition: i32, down: i64) -> Checkpoint {
        Checkpoint {
            group: group.to_owned(),
            topic: "A.t".to_owned(),
            partition,
            upstream_offset: down,
            downstream_offset: down,
            metadata: String::new(),
        }
    }

    fn input(group: &str, cps: Vec<Checkpoint>) -> SyncInput {
        SyncInput {
            group: group.to_owned(),
            checkpoints: cps,
            ours: HashMap::new(),
        }
    }

    #[test]
    fn sync_groups_covers_every_state() {
        let target = FakeGroups::default();
        target.set("active", GroupState::Stable, &[("A.t", 0, 1)]);
        target.set("ahead", GroupState::Empty, &[("A.t", 0, 50)]);
        target.set("behind", GroupState::Empty, &[("A.t", 0, 5)]);
        let out = sync_groups(
            &target,
            vec![
                input("absent", vec![cp("absent", 0, 10)]),
                input("active", vec![cp("active", 0, 10)]),
                input("ahead", vec![cp("ahead", 0, 10)]),
                input("behind", vec![cp("behind", 0, 10)]),
                input("untranslated", vec![]),
            ],
            Rewind::Never,
        )
        .unwrap();
        let kinds: Vec<(&str, &str)> = out
            .iter()
            .map(|(g, s)| {
                let k = match s {
                    GroupSyncState::Synced { .. } => "synced",
                    GroupSyncState::Skipped {
                        reason: SkipReason::ActiveOnTarget { .. },
                        ..
                    } => "active",
                    GroupSyncState::Skipped {
                        reason: SkipReason::AheadOnTarget { .. },
                        ..
                    } => "ahead",
                    GroupSyncState::Skipped {
                        reason: SkipReason::NothingTranslated,
                        ..
                    } => "nothing",
                    _ => "other",
                };
                (g.as_str(), k)
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("absent", "synced"),
                ("active", "active"),
                ("ahead", "ahead"),
                ("behind", "synced"),
                ("untranslated", "nothing"),
            ]
        );
        assert_eq!(target.offset("absent", "A.t", 0), Some(10));
        assert_eq!(target.offset("active", "A.t", 0), Some(1));
        assert_eq!(target.offset("ahead", "A.t", 0), Some(50));
        assert_eq!(target.offset("behind", "A.t", 0), Some(10));
        let synced = out.iter().find(|(g, _)| g == "behind").unwrap();
        let GroupSyncState::Synced { written, .. } = &synced.1 else {
            panic!()
        };
        assert_eq!(describe_written(written), vec![("A.t".to_owned(), 0, 10)]);
    }
}
