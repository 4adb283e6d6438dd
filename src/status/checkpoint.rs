//! What the checkpointer of a flow is doing (the checkpointer, in `crate::checkpoint`, writes
//! it; status readers read it), group by group, for the HTTP status endpoint, the
//! CLI and logs: every group has a visible state, so "group sync silently does nothing" cannot
//! happen.
//!
//! A running checkpointer owns a [`CheckpointStatusHandle`] and registers it
//! ([`register`]); readers take [`CheckpointStatusHandle::snapshot`]s (a clone, so the lock is
//! held only for the copy) or list every registered flow with [`snapshots`]. Every type here
//! serializes to JSON with `serde`; times are milliseconds since the Unix epoch.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// A consumer group's state as DescribeConsumerGroups reports it (classic and KIP-848 groups).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupState {
    /// No members: offsets may be written by an admin client.
    Empty,
    /// The group does not exist (or has expired): offsets may be written, creating it.
    Dead,
    /// Members are consuming.
    Stable,
    /// Classic protocol: a rebalance is starting.
    PreparingRebalance,
    /// Classic protocol: a rebalance is completing.
    CompletingRebalance,
    /// Consumer protocol (KIP-848): partitions are being assigned.
    Assigning,
    /// Consumer protocol (KIP-848): members are reconciling their assignment.
    Reconciling,
    /// A state this version does not know, by its name.
    Unknown(String),
}

/// How a downstream offset was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TranslationKind {
    /// From a run Strait's source side published: the consumer re-reads nothing.
    Exact,
    /// MM2's rule (the sync's downstream offset, +1 past it): the consumer may re-read the
    /// records between the sync and its committed offset.
    Mm2,
}

/// Now, in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The state of one flow's checkpointer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckpointStatus {
    /// The flow, `<source>-><target>`.
    pub flow: String,
    /// Whether this process runs the flow's checkpointer now (one process per flow does).
    pub active: bool,
    /// `<source>.checkpoints.internal` on the target.
    pub checkpoints_topic: String,
    /// The offset-syncs topic read, and its cluster (`source` or `target`).
    pub offset_syncs_topic: String,
    /// Whether earlier checkpoints were loaded at start (`None` before the first attempt). When
    /// false, MM2's rule applies: only the newest offset sync per partition seen while loading
    /// is kept.
    pub checkpoints_loaded: Option<bool>,
    /// Whether the offset-syncs topic has been read to its end once (nothing is translated
    /// before, as in MM2).
    pub offset_syncs_loaded: bool,
    /// `sync.group.offsets.enabled`.
    pub group_sync_enabled: bool,
    /// When groups were last listed on the source.
    pub last_group_refresh_ms: Option<i64>,
    /// When checkpoints were last computed.
    pub last_emit_ms: Option<i64>,
    /// When target groups were last synced.
    pub last_group_sync_ms: Option<i64>,
    /// Checkpoints written since start.
    pub checkpoints_emitted: u64,
    /// Requests for a group's committed offsets (ListConsumerGroupOffsets) sent to the source
    /// since start: one per checkpointed group per emission.
    pub source_offset_requests: u64,
    /// The last flow-wide error (listing groups, producing checkpoints), cleared on success.
    pub last_error: Option<String>,
    /// Every selected source group with offsets on checkpointed topics.
    pub groups: BTreeMap<String, GroupStatus>,
}

/// One consumer group.
#[derive(Debug, Clone, Serialize)]
pub struct GroupStatus {
    /// Its partitions on checkpointed topics, by downstream topic and partition.
    pub partitions: Vec<PartitionStatus>,
    /// Where syncing its offsets to the target group stands.
    pub sync: GroupSyncState,
    /// The last error reading the group on the source, cleared on success.
    pub error: Option<String>,
}

impl Default for GroupStatus {
    fn default() -> Self {
        Self {
            partitions: Vec::new(),
            sync: GroupSyncState::Pending,
            error: None,
        }
    }
}

/// Why a partition's committed offset has no translation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Untranslated {
    /// The offset-syncs topic is still being read for the first time.
    SyncsLoading,
    /// No offset sync was seen for the partition yet (nothing replicated since start).
    NoSyncs,
    /// The committed offset is older than every offset sync kept (MM2 answers -1).
    BeforeHistory,
}

/// One partition of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionStatus {
    /// The topic on the source.
    pub upstream_topic: String,
    /// The topic on the target (renamed per the replication policy).
    pub downstream_topic: String,
    /// The partition.
    pub partition: i32,
    /// The group's committed offset on the source.
    pub committed: i64,
    /// The translated target offset, when there is one.
    pub translated: Option<i64>,
    /// How it was translated.
    pub kind: Option<TranslationKind>,
    /// What MM2's rule gives on the same offset syncs (for comparison).
    pub mm2: Option<i64>,
    /// Why there is no translation.
    pub untranslated: Option<Untranslated>,
    /// The target offset of the newest checkpoint written.
    pub checkpoint: Option<i64>,
}

/// A target partition written by group sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncedOffset {
    /// Downstream topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// The offset written.
    pub offset: i64,
    /// The group's offset on the target before, if it had one.
    pub previous: Option<i64>,
    /// True when this moved the group back because the source group was reset and the target
    /// group still held exactly what Strait had written (nobody consumed there since); only
    /// with `strait.sync.group.offsets.rewind.enabled`.
    pub followed_upstream_reset: bool,
}

/// A target partition left alone because the target group is further along.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AheadOffset {
    /// Downstream topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// The group's offset on the target.
    pub target: i64,
    /// The newest checkpoint's offset.
    pub checkpoint: i64,
    /// True when the target still holds exactly what Strait wrote and the checkpoint is lower
    /// because the source group was reset to an earlier offset: left ahead because group sync
    /// never moves a group back unless `strait.sync.group.offsets.rewind.enabled` is set.
    pub source_reset: bool,
}

/// Why a group was not synced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum SkipReason {
    /// The group has members on the target: the broker refuses offsets from an admin client,
    /// and overwriting a running consumer's position would be wrong anyway.
    ActiveOnTarget {
        /// Its state there.
        target_state: GroupState,
    },
    /// Every partition that differs is further along on the target; groups are never moved
    /// backwards.
    AheadOnTarget {
        /// The partitions concerned.
        partitions: Vec<AheadOffset>,
    },
    /// No checkpoint yet: nothing could be translated (see the partitions' `untranslated`).
    NothingTranslated,
}

/// Where syncing a group's offsets to the target stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum GroupSyncState {
    /// `sync.group.offsets.enabled` is false.
    Disabled,
    /// Not run yet for this group.
    Pending,
    /// Offsets were written in the last run.
    Synced {
        /// When.
        at_ms: i64,
        /// What was written.
        written: Vec<SyncedOffset>,
        /// Partitions left alone because the target is ahead.
        ahead: Vec<AheadOffset>,
    },
    /// The target group already holds the newest checkpoints.
    UpToDate {
        /// When this was last checked.
        at_ms: i64,
        /// Partitions where the target is ahead (left alone).
        ahead: Vec<AheadOffset>,
    },
    /// Not written, and why.
    Skipped {
        /// When this was last checked.
        at_ms: i64,
        /// Why.
        #[serde(flatten)]
        reason: SkipReason,
    },
    /// Writing failed.
    Failed {
        /// When.
        at_ms: i64,
        /// The error.
        error: String,
    },
}

/// A shared, lockable [`CheckpointStatus`]: the checkpointer writes, anyone reads.
#[derive(Debug, Clone, Default)]
pub struct CheckpointStatusHandle(Arc<RwLock<CheckpointStatus>>);

impl CheckpointStatusHandle {
    /// A handle for `flow` with nothing known yet.
    pub fn new(flow: &str) -> Self {
        Self(Arc::new(RwLock::new(CheckpointStatus {
            flow: flow.to_owned(),
            ..CheckpointStatus::default()
        })))
    }

    /// A copy of the current status.
    pub fn snapshot(&self) -> CheckpointStatus {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A copy of one group's status.
    pub fn group(&self, group: &str) -> Option<GroupStatus> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .groups
            .get(group)
            .cloned()
    }

    /// Changes the status under the lock.
    pub fn update<R>(&self, f: impl FnOnce(&mut CheckpointStatus) -> R) -> R {
        f(&mut self.0.write().unwrap_or_else(|e| e.into_inner()))
    }

    fn same(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

fn registry() -> &'static Mutex<Vec<CheckpointStatusHandle>> {
    static REGISTRY: OnceLock<Mutex<Vec<CheckpointStatusHandle>>> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(Vec::new()))
}

/// Makes `handle` visible to [`snapshots`] until the returned guard is dropped.
pub fn register(handle: &CheckpointStatusHandle) -> Registration {
    registry()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(handle.clone());
    Registration(handle.clone())
}

/// Keeps a status registered; dropping it unregisters.
#[derive(Debug)]
pub struct Registration(CheckpointStatusHandle);

impl Drop for Registration {
    fn drop(&mut self) {
        registry()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|h| !h.same(&self.0));
    }
}

/// Snapshots of every registered checkpointer in this process (one per running flow with a
/// checkpoint connector), in registration order.
pub fn snapshots() -> Vec<CheckpointStatus> {
    registry()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(CheckpointStatusHandle::snapshot)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_follows_guards() {
        let h = CheckpointStatusHandle::new("zz-test->x");
        let before = snapshots()
            .iter()
            .filter(|s| s.flow == "zz-test->x")
            .count();
        assert_eq!(before, 0);
        let guard = register(&h);
        h.update(|s| s.checkpoints_emitted = 3);
        let seen: Vec<_> = snapshots()
            .into_iter()
            .filter(|s| s.flow == "zz-test->x")
            .collect();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].checkpoints_emitted, 3);
        drop(guard);
        assert!(snapshots().iter().all(|s| s.flow != "zz-test->x"));
    }

    #[test]
    fn sync_states_serialize_with_their_reason() {
        let s = GroupSyncState::Skipped {
            at_ms: 1,
            reason: SkipReason::ActiveOnTarget {
                target_state: GroupState::Stable,
            },
        };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(
            json,
            r#"{"state":"skipped","at_ms":1,"reason":"active_on_target","target_state":"stable"}"#
        );
    }
}
