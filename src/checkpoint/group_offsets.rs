//! The consumer-group admin operations the checkpointer needs, behind a small trait so the
//! checkpoint and group-sync logic can be tested without a cluster. The real implementation
//! ([`super::kafka_groups::KafkaGroupOffsets`]) wraps `crate::kafka::ffi`.

use std::fmt;

pub use crate::status::checkpoint::GroupState;

impl GroupState {
    /// Whether the broker accepts offsets for the group from an admin client: only when it has
    /// no members (empty, or absent).
    pub fn accepts_admin_offsets(&self) -> bool {
        matches!(self, Self::Empty | Self::Dead)
    }

    /// The state from Kafka's name for it (`Empty`, `Stable`, ...), case-insensitively.
    pub fn from_name(name: &str) -> Self {
        match name.to_ascii_lowercase().replace(['_', ' '], "").as_str() {
            "empty" => Self::Empty,
            "dead" => Self::Dead,
            "stable" => Self::Stable,
            "preparingrebalance" => Self::PreparingRebalance,
            "completingrebalance" => Self::CompletingRebalance,
            "assigning" => Self::Assigning,
            "reconciling" => Self::Reconciling,
            _ => Self::Unknown(name.to_owned()),
        }
    }
}

impl fmt::Display for GroupState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::Empty => "Empty",
            Self::Dead => "Dead",
            Self::Stable => "Stable",
            Self::PreparingRebalance => "PreparingRebalance",
            Self::CompletingRebalance => "CompletingRebalance",
            Self::Assigning => "Assigning",
            Self::Reconciling => "Reconciling",
            Self::Unknown(s) => s,
        };
        f.write_str(name)
    }
}

/// One partition's committed offset in a group.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GroupOffset {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The committed offset: the next offset the group would read.
    pub offset: i64,
    /// The commit metadata (`""` when none).
    pub metadata: String,
}

/// Why a group operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupOpError {
    /// The broker refused offsets for a group that has active members.
    #[error("group '{group}' is active on the {cluster} cluster: {detail}")]
    GroupActive {
        /// The group.
        group: String,
        /// `source` or `target`.
        cluster: &'static str,
        /// The broker's answer.
        detail: String,
    },
    /// Any other failure of an admin call.
    #[error("{op} on the {cluster} cluster failed: {detail}")]
    Admin {
        /// The operation, e.g. `ListConsumerGroupOffsets(group-a)`.
        op: String,
        /// `source` or `target`.
        cluster: &'static str,
        /// What went wrong.
        detail: String,
    },
}

/// Consumer-group admin operations on one cluster. Calls block (each is bounded by the
/// implementation's timeout); async callers run them in `spawn_blocking`.
pub trait GroupOffsets: Send + Sync + fmt::Debug {
    /// The ids of every consumer group on the cluster.
    fn list_groups(&self) -> Result<Vec<String>, GroupOpError>;

    /// The state of each group asked for; groups that do not exist are [`GroupState::Dead`].
    fn describe(&self, groups: &[String]) -> Result<Vec<(String, GroupState)>, GroupOpError>;

    /// The group's committed offsets (partitions without a committed offset are left out).
    fn committed(&self, group: &str) -> Result<Vec<GroupOffset>, GroupOpError>;

    /// Writes offsets for the group; [`GroupOpError::GroupActive`] when it has members.
    fn alter(&self, group: &str, offsets: &[GroupOffset]) -> Result<(), GroupOpError>;
}

#[cfg(test)]
pub(crate) mod fake {
    //! An in-memory cluster's groups, for unit tests.

    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use super::*;

    /// topic/partition → (offset, metadata).
    type Offsets = BTreeMap<(String, i32), (i64, String)>;

    /// Groups with their state and offsets; `alter` obeys the broker's "empty only" rule.
    #[derive(Debug, Default)]
    pub struct FakeGroups {
        /// group → (state, offsets).
        pub groups: Mutex<BTreeMap<String, (GroupState, Offsets)>>,
        /// Number of successful `alter` calls.
        pub alters: Mutex<u32>,
    }

    impl FakeGroups {
        pub fn set(&self, group: &str, state: GroupState, offsets: &[(&str, i32, i64)]) {
            let map = offsets
                .iter()
                .map(|(t, p, o)| (((*t).to_owned(), *p), (*o, String::new())))
                .collect();
            self.groups
                .lock()
                .unwrap()
                .insert(group.to_owned(), (state, map));
        }

        pub fn offset(&self, group: &str, topic: &str, partition: i32) -> Option<i64> {
            let g = self.groups.lock().unwrap();
            g.get(group)?
                .1
                .get(&(topic.to_owned(), partition))
                .map(|x| x.0)
        }
    }

    impl GroupOffsets for FakeGroups {
        fn list_groups(&self) -> Result<Vec<String>, GroupOpError> {
            Ok(self.groups.lock().unwrap().keys().cloned().collect())
        }

        fn describe(&self, groups: &[String]) -> Result<Vec<(String, GroupState)>, GroupOpError> {
            let g = self.groups.lock().unwrap();
            Ok(groups
                .iter()
                .map(|n| {
                    let state = g.get(n).map_or(GroupState::Dead, |x| x.0.clone());
                    (n.clone(), state)
                })
                .collect())
        }

        fn committed(&self, group: &str) -> Result<Vec<GroupOffset>, GroupOpError> {
            let g = self.groups.lock().unwrap();
            Ok(g.get(group)
                .map(|(_, m)| {
                    m.iter()
                        .map(|((t, p), (o, md))| GroupOffset {
                            topic: t.clone(),
                            partition: *p,
                            offset: *o,
                            metadata: md.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default())
        }

        fn alter(&self, group: &str, offsets: &[GroupOffset]) -> Result<(), GroupOpError> {
            let mut g = self.groups.lock().unwrap();
            let entry = g
                .entry(group.to_owned())
                .or_insert((GroupState::Empty, BTreeMap::new()));
            if !entry.0.accepts_admin_offsets() {
                return Err(GroupOpError::GroupActive {
                    group: group.to_owned(),
                    cluster: "target",
                    detail: "UNKNOWN_MEMBER_ID".to_owned(),
                });
            }
            entry.0 = GroupState::Empty;
            for o in offsets {
                entry.1.insert(
                    (o.topic.clone(), o.partition),
                    (o.offset, o.metadata.clone()),
                );
            }
            *self.alters.lock().unwrap() += 1;
            Ok(())
        }
    }
}
