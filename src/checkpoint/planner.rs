//! Which groups are checkpointed and which checkpoints a group gets: MM2's
//! `MirrorCheckpointConnector.findConsumerGroups` and `MirrorCheckpointTask.checkpointsForGroup`,
//! without I/O.

use crate::config::{CheckpointConnectorConfig, FlowConfig, OffsetSyncsLocation};
use crate::policy::{GroupFilter, PolicyError, ReplicationPolicy, TopicFilter};
use crate::wire::Checkpoint;

use super::checkpoint_store::CheckpointStore;
use super::group_offsets::GroupOffset;
use super::offset_sync_store::Translation;
use super::translator::Translator;
use crate::status::checkpoint::{PartitionStatus, Untranslated};

/// The checkpoints a group should get now, and what is known about each of its partitions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupPlan {
    /// Whether the group has offsets on at least one checkpointed topic (MM2 ignores the
    /// others).
    pub relevant: bool,
    /// Checkpoints to write (MM2's never-backwards rules applied).
    pub emit: Vec<Checkpoint>,
    /// Every checkpointed partition of the group, by downstream topic and partition.
    pub partitions: Vec<PartitionStatus>,
}

/// Names, filters and renaming of one flow's checkpoints.
#[derive(Debug, Clone)]
pub struct Planner {
    policy: ReplicationPolicy,
    source_alias: String,
    target_alias: String,
    groups: GroupFilter,
    topics: TopicFilter,
    /// Strait's own consumer group on the source (replication progress), never checkpointed.
    own_group: String,
}

impl Planner {
    /// The planner of `flow`'s checkpoint connector `cc`.
    pub fn new(flow: &FlowConfig, cc: &CheckpointConnectorConfig) -> Result<Self, PolicyError> {
        Ok(Self {
            policy: ReplicationPolicy::new(&flow.policy, &flow.source_alias),
            source_alias: flow.source_alias.clone(),
            target_alias: flow.target_alias.clone(),
            groups: GroupFilter::new(&cc.groups, &cc.groups_exclude)?,
            topics: TopicFilter::new(&cc.topics, &cc.topics_exclude)?,
            own_group: flow.worker.group_id.clone(),
        })
    }

    /// The replication policy.
    pub fn policy(&self) -> &ReplicationPolicy {
        &self.policy
    }

    /// `<source>.checkpoints.internal` (on the target).
    pub fn checkpoints_topic(&self) -> String {
        self.policy.checkpoints_topic(&self.source_alias)
    }

    /// The offset-syncs topic the flow's source side writes, and whether it is on the target:
    /// named after the target alias on the source (MM2's default), or after the source alias
    /// on the target.
    pub fn offset_syncs_topic(&self, location: OffsetSyncsLocation) -> (String, bool) {
        match location {
            OffsetSyncsLocation::Source => {
                (self.policy.offset_syncs_topic(&self.target_alias), false)
            }
            OffsetSyncsLocation::Target => {
                (self.policy.offset_syncs_topic(&self.source_alias), true)
            }
        }
    }

    /// Whether `group` is checkpointed at all: accepted by `groups`/`groups.exclude` and not
    /// Strait's own replication group.
    pub fn selects_group(&self, group: &str) -> bool {
        group != self.own_group && self.groups.accepts(group)
    }

    /// Whether offsets on the source topic `topic` are checkpointed (`topics`/`topics.exclude`).
    pub fn checkpoints_topic_offsets(&self, topic: &str) -> bool {
        self.topics.accepts(topic)
    }

    /// The name a source topic has in checkpoints (MM2's `renameTopicPartition`): a topic that
    /// came from the target cluster gets its original name back (failback), any other the
    /// remote name.
    pub fn rename(&self, topic: &str) -> String {
        if self.policy.topic_source(topic).as_deref() == Some(self.target_alias.as_str()) {
            self.policy.original_topic(topic)
        } else {
            self.policy.format_remote_topic(&self.source_alias, topic)
        }
    }

    /// The checkpoints `group` gets for its committed `offsets`.
    pub fn plan_group(
        &self,
        group: &str,
        offsets: &[GroupOffset],
        translator: &Translator,
        store: &CheckpointStore,
    ) -> GroupPlan {
        let mut plan = GroupPlan::default();
        for o in offsets {
            if !self.checkpoints_topic_offsets(&o.topic) {
                continue;
            }
            plan.relevant = true;
            // Partitions without a committed offset carry none to translate.
            if o.offset < 0 {
                continue;
            }
            let downstream_topic = self.rename(&o.topic);
            let t = translator.translate(&o.topic, o.partition, o.offset);
            let best = t.best();
            let untranslated = match (best, t.mm2) {
                (Some(_), _) => None,
                (None, Translation::NotReady) if !translator.is_loaded() => {
                    Some(Untranslated::SyncsLoading)
                }
                (None, Translation::NotReady) => Some(Untranslated::NoSyncs),
                (None, _) => Some(Untranslated::BeforeHistory),
            };
            if let Some((offset, _)) = best {
                let checkpoint = Checkpoint {
                    group: group.to_owned(),
                    topic: downstream_topic.clone(),
                    partition: o.partition,
                    upstream_offset: o.offset,
                    downstream_offset: offset,
                    metadata: o.metadata.clone(),
                };
                if store.decide(&checkpoint).emits() {
                    plan.emit.push(checkpoint);
                }
            }
            let checkpoint = store
                .get(group, &downstream_topic, o.partition)
                .map(|c| c.downstream_offset);
            plan.partitions.push(PartitionStatus {
                upstream_topic: o.topic.clone(),
                downstream_topic,
                partition: o.partition,
                committed: o.offset,
                translated: best.map(|b| b.0),
                kind: best.map(|b| b.1),
                mm2: t.mm2_offset(),
                untranslated,
                checkpoint,
            });
        }
        plan.partitions.sort_by(|a, b| {
            (&a.downstream_topic, a.partition).cmp(&(&b.downstream_topic, b.partition))
        });
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::sync_runs::RunStart;
    use crate::checkpoint::translator::TranslationKind;
    use crate::config::{PolicyConfig, PolicyKind, WorkerConfig};

    fn flow(kind: PolicyKind) -> FlowConfig {
        FlowConfig {
            source_alias: "A".to_owned(),
            target_alias: "B".to_owned(),
            source: Default::default(),
            target: Default::default(),
            policy: PolicyConfig {
                kind,
                ..PolicyConfig::default()
            },
            worker: WorkerConfig {
                offset_storage_topic: "mm2-offsets.A.internal".to_owned(),
                offset_storage_partitions: 25,
                offset_storage_replication_factor: 3,
                group_id: "A-mm2".to_owned(),
            },
            source_connector: None,
            checkpoint_connector: None,
            heartbeat_connector: None,
        }
    }

    fn planner(kind: PolicyKind, cc: CheckpointConnectorConfig) -> Planner {
        Planner::new(&flow(kind), &cc).unwrap()
    }

    fn off(topic: &str, partition: i32, offset: i64, metadata: &str) -> GroupOffset {
        GroupOffset {
            topic: topic.to_owned(),
            partition,
            offset,
            metadata: metadata.to_owned(),
        }
    }

    #[test]
    fn names_and_group_selection() {
        let p = planner(PolicyKind::Default, CheckpointConnectorConfig::default());
        assert_eq!(p.checkpoints_topic(), "A.checkpoints.internal");
        assert_eq!(
            p.offset_syncs_topic(OffsetSyncsLocation::Source),
            ("mm2-offset-syncs.B.internal".to_owned(), false)
        );
        assert_eq!(
            p.offset_syncs_topic(OffsetSyncsLocation::Target),
            ("mm2-offset-syncs.A.internal".to_owned(), true)
        );
        assert!(p.selects_group("orders-app"));
        // MM2's default excludes, and Strait's own replication group.
        assert!(!p.selects_group("console-consumer-123"));
        assert!(!p.selects_group("connect-x"));
        assert!(!p.selects_group("__consumer"));
        assert!(!p.selects_group("A-mm2"));
        let only = planner(
            PolicyKind::Default,
            CheckpointConnectorConfig {
                groups: vec!["test.*".to_owned()],
                groups_exclude: vec!["test-skip".to_owned()],
                ..CheckpointConnectorConfig::default()
            },
        );
        assert!(only.selects_group("test-a"));
        assert!(!only.selects_group("test-skip"));
        assert!(!only.selects_group("prod"));
    }

    #[test]
    fn renaming_follows_mm2() {
        let p = planner(PolicyKind::Default, CheckpointConnectorConfig::default());
        assert_eq!(p.rename("orders"), "A.orders");
        // Came from the target: failback to the original name.
        assert_eq!(p.rename("B.orders"), "orders");
        assert_eq!(p.rename("C.orders"), "A.C.orders");
        let id = planner(PolicyKind::Identity, CheckpointConnectorConfig::default());
        assert_eq!(id.rename("orders"), "orders");
        assert_eq!(id.rename("heartbeats"), "A.heartbeats");
    }

    #[test]
    fn plans_checkpoints_with_metadata_and_the_emit_rules() {
        let p = planner(
            PolicyKind::Default,
            CheckpointConnectorConfig {
                topics: vec!["orders".to_owned(), "pay.*".to_owned()],
                ..CheckpointConnectorConfig::default()
            },
        );
        let mut tr = Translator::new(false);
        tr.finish_initial_load();
        for k in 0..3 {
            tr.update("orders", 0, k * 101, k * 101, Some(RunStart::from((0, 0))));
            tr.update("payments", 1, k * 101, 1000 + k * 101, None);
        }
        let mut store = CheckpointStore::new();
        let offsets = vec![
            off("orders", 0, 150, "m"),
            off("payments", 1, 150, ""),
            off("payments", 2, 7, ""),   // no syncs
            off("unrelated", 0, 10, ""), // not checkpointed
            off("orders", 3, -1, ""),    // nothing committed
        ];
        let plan = p.plan_group("g", &offsets, &tr, &store);
        assert!(plan.relevant);
        let emitted: Vec<_> = plan
            .emit
            .iter()
            .map(|c| {
                (
                    c.topic.as_str(),
                    c.partition,
                    c.upstream_offset,
                    c.downstream_offset,
                    c.metadata.as_str(),
                )
            })
            .collect();
        assert_eq!(
            emitted,
            vec![
                ("A.orders", 0, 150, 150, "m"),
                ("A.payments", 1, 150, 1102, "")
            ]
        );
        let kinds: Vec<_> = plan
            .partitions
            .iter()
            .map(|s| (s.partition, s.kind, s.mm2, s.untranslated))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (0, Some(TranslationKind::Exact), Some(102), None),
                (1, Some(TranslationKind::Mm2), Some(1102), None),
                (2, None, None, Some(Untranslated::NoSyncs)),
            ]
        );
        for c in plan.emit {
            store.update(c);
        }
        // Nothing new: nothing emitted again.
        let again = p.plan_group("g", &offsets, &tr, &store);
        assert!(again.emit.is_empty());
        assert_eq!(again.partitions[0].checkpoint, Some(150));
        // A group with offsets only on other topics is not relevant.
        let other = p.plan_group("h", &[off("unrelated", 0, 1, "")], &tr, &store);
        assert!(!other.relevant);
    }

    #[test]
    fn reports_loading_and_before_history() {
        let p = planner(PolicyKind::Default, CheckpointConnectorConfig::default());
        let mut tr = Translator::new(true);
        tr.update("orders", 0, 500, 0, None);
        let store = CheckpointStore::new();
        let plan = p.plan_group("g", &[off("orders", 0, 100, "")], &tr, &store);
        assert_eq!(
            plan.partitions[0].untranslated,
            Some(Untranslated::SyncsLoading)
        );
        tr.finish_initial_load();
        let plan = p.plan_group("g", &[off("orders", 0, 100, "")], &tr, &store);
        assert_eq!(
            plan.partitions[0].untranslated,
            Some(Untranslated::BeforeHistory)
        );
        assert!(plan.emit.is_empty());
    }
}
