//! The newest checkpoint per (group, downstream topic, partition), MM2's `CheckpointStore`:
//! loaded from the checkpoints topic at start so checkpoints never go backwards across restarts,
//! then updated with every checkpoint this process emits.

use std::collections::{BTreeMap, HashMap};

use crate::wire::Checkpoint;

/// Why a new checkpoint is emitted or not (MM2's `checkpointIsMoreRecent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmitDecision {
    /// No earlier checkpoint for the group.
    FirstForGroup,
    /// No earlier checkpoint for the partition.
    FirstForPartition,
    /// The group's upstream offset went back (a reset on the source): followed, even though
    /// the downstream offset goes back too.
    UpstreamRewind,
    /// The downstream offset advanced.
    DownstreamAdvanced,
    /// Same downstream offset as the last checkpoint: nothing to say.
    Repeated,
    /// The translation is lower than the last checkpoint although the group did not rewind
    /// (the sync history changed): skipped so checkpoints never go backwards.
    PreventRewind,
}

impl EmitDecision {
    /// Whether the checkpoint is emitted.
    pub fn emits(self) -> bool {
        matches!(
            self,
            Self::FirstForGroup
                | Self::FirstForPartition
                | Self::UpstreamRewind
                | Self::DownstreamAdvanced
        )
    }
}

/// A checkpoint and when it was written.
#[derive(Debug, Clone)]
struct Entry {
    checkpoint: Checkpoint,
    /// The record's timestamp (milliseconds since the Unix epoch), when known.
    timestamp_ms: Option<i64>,
}

/// Newest checkpoints by group, then by downstream (topic, partition).
#[derive(Debug, Default, Clone)]
pub struct CheckpointStore {
    groups: HashMap<String, BTreeMap<(String, i32), Entry>>,
}

impl CheckpointStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a checkpoint read from the topic or emitted; the newest one per key wins, as
    /// when Java reads the topic.
    pub fn update(&mut self, checkpoint: Checkpoint) {
        self.update_at(checkpoint, None);
    }

    /// [`update`](Self::update), with the checkpoint record's timestamp (milliseconds since
    /// the Unix epoch): when the checkpoint was written.
    pub fn update_at(&mut self, checkpoint: Checkpoint, timestamp_ms: Option<i64>) {
        self.groups
            .entry(checkpoint.group.clone())
            .or_default()
            .insert(
                (checkpoint.topic.clone(), checkpoint.partition),
                Entry {
                    checkpoint,
                    timestamp_ms,
                },
            );
    }

    /// The newest checkpoint of a group's downstream partition.
    pub fn get(&self, group: &str, topic: &str, partition: i32) -> Option<&Checkpoint> {
        self.entry(group, topic, partition).map(|e| &e.checkpoint)
    }

    /// When the newest checkpoint of a group's downstream partition was written (its record
    /// timestamp, milliseconds since the Unix epoch), if known.
    pub fn timestamp_ms(&self, group: &str, topic: &str, partition: i32) -> Option<i64> {
        self.entry(group, topic, partition)?.timestamp_ms
    }

    fn entry(&self, group: &str, topic: &str, partition: i32) -> Option<&Entry> {
        self.groups.get(group)?.get(&(topic.to_owned(), partition))
    }

    /// The newest checkpoints of a group, ordered by downstream topic and partition.
    pub fn group(&self, group: &str) -> impl Iterator<Item = &Checkpoint> {
        self.groups
            .get(group)
            .into_iter()
            .flat_map(|m| m.values().map(|e| &e.checkpoint))
    }

    /// Every group with at least one checkpoint.
    pub fn groups(&self) -> impl Iterator<Item = &str> {
        self.groups.keys().map(String::as_str)
    }

    /// Number of checkpoints held.
    pub fn len(&self) -> usize {
        self.groups.values().map(BTreeMap::len).sum()
    }

    /// Whether no checkpoint is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `new` should be emitted given the newest earlier checkpoint: MM2's rules, so
    /// checkpoints never go backwards downstream unless the group rewound upstream.
    pub fn decide(&self, new: &Checkpoint) -> EmitDecision {
        let Some(group) = self.groups.get(&new.group) else {
            return EmitDecision::FirstForGroup;
        };
        let Some(last) = group
            .get(&(new.topic.clone(), new.partition))
            .map(|e| &e.checkpoint)
        else {
            return EmitDecision::FirstForPartition;
        };
        if new.upstream_offset < last.upstream_offset {
            EmitDecision::UpstreamRewind
        } else if new.downstream_offset > last.downstream_offset {
            EmitDecision::DownstreamAdvanced
        } else if new.downstream_offset == last.downstream_offset {
            EmitDecision::Repeated
        } else {
            EmitDecision::PreventRewind
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp(group: &str, partition: i32, up: i64, down: i64) -> Checkpoint {
        Checkpoint {
            group: group.to_owned(),
            topic: "A.t".to_owned(),
            partition,
            upstream_offset: up,
            downstream_offset: down,
            metadata: String::new(),
        }
    }

    #[test]
    fn mm2_emit_rules() {
        let mut s = CheckpointStore::new();
        assert_eq!(s.decide(&cp("g", 0, 10, 10)), EmitDecision::FirstForGroup);
        s.update(cp("g", 0, 10, 10));
        assert_eq!(
            s.decide(&cp("g", 1, 10, 10)),
            EmitDecision::FirstForPartition
        );
        assert_eq!(s.decide(&cp("g", 0, 10, 10)), EmitDecision::Repeated);
        assert_eq!(
            s.decide(&cp("g", 0, 12, 11)),
            EmitDecision::DownstreamAdvanced
        );
        // Same upstream, lower translation (history changed): never backwards.
        assert_eq!(s.decide(&cp("g", 0, 10, 9)), EmitDecision::PreventRewind);
        assert_eq!(s.decide(&cp("g", 0, 11, 9)), EmitDecision::PreventRewind);
        // The group was reset upstream: followed.
        assert_eq!(s.decide(&cp("g", 0, 5, 5)), EmitDecision::UpstreamRewind);
        assert!(EmitDecision::UpstreamRewind.emits());
        assert!(!EmitDecision::PreventRewind.emits());
        assert!(!EmitDecision::Repeated.emits());
    }

    #[test]
    fn newest_wins_and_groups_are_listed() {
        let mut s = CheckpointStore::new();
        s.update(cp("g", 0, 10, 10));
        s.update(cp("g", 0, 5, 5));
        s.update(cp("h", 2, 1, 1));
        assert_eq!(s.get("g", "A.t", 0).map(|c| c.downstream_offset), Some(5));
        assert_eq!(s.groups().collect::<Vec<_>>().len(), 2);
        assert_eq!(s.group("h").count(), 1);
        assert_eq!(s.group("none").count(), 0);
        assert_eq!(s.len(), 2);
        assert!(!s.is_empty());
    }

    #[test]
    fn record_times_follow_the_newest_checkpoint() {
        let mut s = CheckpointStore::new();
        s.update_at(cp("g", 0, 10, 10), Some(1_000));
        assert_eq!(s.timestamp_ms("g", "A.t", 0), Some(1_000));
        s.update_at(cp("g", 0, 12, 12), Some(2_000));
        assert_eq!(s.timestamp_ms("g", "A.t", 0), Some(2_000));
        s.update(cp("g", 0, 13, 13));
        assert_eq!(s.timestamp_ms("g", "A.t", 0), None);
        assert_eq!(s.timestamp_ms("g", "A.t", 1), None);
    }
}
