//! Failover tooling behind `strait offsets translate` and `strait offsets apply`: which target
//! offsets a consumer group should use, and writing them to the target group.
//!
//! The answer comes from the checkpoints topic on the target, exactly what Java's
//! `RemoteClusterUtils.translateOffsets` reads, so it works when the source cluster is gone.
//! With the source still reachable, [`FailoverClient::live`] also translates the group's
//! current offsets on the spot (Strait's exact translation next to MM2's rule).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use rdkafka::ClientConfig;
use serde::Serialize;

use crate::config::FlowConfig;
use crate::wire::Checkpoint;

use super::checkpoint_store::CheckpointStore;
use super::checkpoints_topic::read_checkpoints;
use super::error::CheckpointError;
use super::group_offsets::{GroupOffset, GroupOffsets, GroupState};
use super::group_sync::{Rewind, SyncPlan, plan_group_sync};
use super::kafka_groups::KafkaGroupOffsets;
use super::log_reader::{PartitionZeroReader, ReadError};
use super::planner::Planner;
use super::setup::role_config;
use super::sync_follower::{decode, lock};
use super::translator::Translator;
use crate::status::checkpoint::{AheadOffset, PartitionStatus, SkipReason, now_ms};

const TIMEOUT: Duration = Duration::from_secs(60);

/// One partition's change in `strait offsets apply`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OffsetChange {
    /// Downstream topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// The group's offset on the target now, if any.
    pub from: Option<i64>,
    /// The offset to write.
    pub to: i64,
    /// When the checkpoint behind `to` was written (its record timestamp, milliseconds since
    /// the Unix epoch), if known.
    pub checkpoint_timestamp_ms: Option<i64>,
    /// How old that checkpoint was when the plan was made, in milliseconds.
    pub checkpoint_age_ms: Option<i64>,
}

/// One partition `strait offsets apply` leaves alone because the group is further along on
/// the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeptOffset {
    /// Downstream topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// The group's offset on the target.
    pub target: i64,
    /// The newest checkpoint's offset.
    pub checkpoint: i64,
    /// When that checkpoint was written (milliseconds since the Unix epoch), if known.
    pub checkpoint_timestamp_ms: Option<i64>,
    /// How old it was when the plan was made, in milliseconds.
    pub checkpoint_age_ms: Option<i64>,
}

/// What `strait offsets apply` would do to a target group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplyPlan {
    /// The group.
    pub group: String,
    /// Its state on the target.
    pub target_state: GroupState,
    /// Why nothing may be written (the group is active on the target), if so; the plan is
    /// then empty, as the group's partitions were not compared.
    pub refused: Option<String>,
    /// Partitions to write.
    pub changes: Vec<OffsetChange>,
    /// Partitions left alone because the group is further along on the target.
    pub ahead: Vec<KeptOffset>,
    /// Partitions already at their checkpoint.
    pub unchanged: usize,
    #[serde(skip)]
    offsets: Vec<GroupOffset>,
}

/// Clients for one flow's failover commands.
#[derive(Debug)]
pub struct FailoverClient {
    planner: Planner,
    checkpoints_topic: String,
    syncs_topic: String,
    syncs_config: ClientConfig,
    target_consumer: ClientConfig,
    flow: FlowConfig,
    target_groups: KafkaGroupOffsets,
}

impl FailoverClient {
    /// Clients for `flow` (its checkpoint connector's settings, or MM2's defaults).
    pub fn new(flow: &FlowConfig) -> Result<Self, CheckpointError> {
        let cc = flow.checkpoint_connector.clone().unwrap_or_default();
        let name = flow.name();
        let planner = Planner::new(flow, &cc)?;
        let (syncs_topic, on_target) = planner.offset_syncs_topic(cc.offset_syncs_topic_location);
        let syncs_conn = if on_target {
            &flow.target
        } else {
            &flow.source
        };
        let target_admin = role_config(&flow.target, &name, "strait-offsets", "target-admin")?;
        Ok(Self {
            checkpoints_topic: planner.checkpoints_topic(),
            planner,
            syncs_topic,
            syncs_config: role_config(
                syncs_conn,
                &name,
                "strait-offsets",
                "offset-syncs-consumer",
            )?,
            target_consumer: role_config(&flow.target, &name, "strait-offsets", "target-consumer")?,
            flow: flow.clone(),
            target_groups: KafkaGroupOffsets::new(&target_admin, "target", TIMEOUT).map_err(
                |source| CheckpointError::Client {
                    what: "target admin client",
                    source,
                },
            )?,
        })
    }

    /// The checkpoints topic read.
    pub fn checkpoints_topic(&self) -> &str {
        &self.checkpoints_topic
    }

    /// Whether a downstream topic matches the `--topic` list (source or target names).
    fn wanted(&self, topics: &[String], downstream: &str) -> bool {
        topics.is_empty()
            || topics
                .iter()
                .any(|t| t == downstream || self.planner.rename(t) == downstream)
    }

    /// The group's newest checkpoints (target offsets to use), by topic and partition,
    /// optionally only for `topics` (source or target names).
    pub fn checkpoints(
        &self,
        group: &str,
        topics: &[String],
    ) -> Result<Vec<Checkpoint>, CheckpointError> {
        let store = self.read_group(group)?;
        Ok(self.wanted_checkpoints(&store, group, topics))
    }

    /// Every checkpoint of `group` in the checkpoints topic, with record timestamps.
    fn read_group(&self, group: &str) -> Result<CheckpointStore, CheckpointError> {
        Ok(read_checkpoints(
            &self.target_consumer,
            &self.checkpoints_topic,
            Some(group),
            TIMEOUT,
        )?)
    }

    fn wanted_checkpoints(
        &self,
        store: &CheckpointStore,
        group: &str,
        topics: &[String],
    ) -> Vec<Checkpoint> {
        store
            .group(group)
            .filter(|c| self.wanted(topics, &c.topic))
            .cloned()
            .collect()
    }

    /// Translates the group's current offsets on the source now: Strait's translation, MM2's
    /// rule on the same offset syncs, and the newest checkpoint, per partition. Needs the
    /// source cluster.
    pub fn live(
        &self,
        group: &str,
        topics: &[String],
    ) -> Result<Vec<PartitionStatus>, CheckpointError> {
        let name = self.flow.name();
        let source_admin = role_config(&self.flow.source, &name, "strait-offsets", "source-admin")?;
        let source =
            KafkaGroupOffsets::new(&source_admin, "source", TIMEOUT).map_err(|source| {
                CheckpointError::Client {
                    what: "source admin client",
                    source,
                }
            })?;
        let offsets = source.committed(group)?;
        let store = read_checkpoints(
            &self.target_consumer,
            &self.checkpoints_topic,
            Some(group),
            TIMEOUT,
        )?;
        let translator = std::sync::Mutex::new(Translator::new(false));
        load_syncs(&self.syncs_config, &self.syncs_topic, &translator)?;
        let plan = self
            .planner
            .plan_group(group, &offsets, &lock(&translator), &store);
        Ok(plan
            .partitions
            .into_iter()
            .filter(|p| self.wanted(topics, &p.downstream_topic))
            .collect())
    }

    /// What applying the group's checkpoints to its target group would change, with the age of
    /// each checkpoint. Partitions where the target group is ahead are left alone; an active
    /// group is refused (and nothing else is planned).
    pub fn plan_apply(&self, group: &str, topics: &[String]) -> Result<ApplyPlan, CheckpointError> {
        let store = self.read_group(group)?;
        let checkpoints = self.wanted_checkpoints(&store, group, topics);
        let state = self
            .target_groups
            .describe(&[group.to_owned()])?
            .into_iter()
            .next()
            .map_or(GroupState::Dead, |(_, s)| s);
        let current: BTreeMap<(String, i32), i64> = if state.accepts_admin_offsets() {
            self.target_groups
                .committed(group)?
                .into_iter()
                .map(|o| ((o.topic, o.partition), o.offset))
                .collect()
        } else {
            BTreeMap::new()
        };
        let mut plan = ApplyPlan {
            group: group.to_owned(),
            target_state: state.clone(),
            refused: None,
            changes: Vec::new(),
            ahead: Vec::new(),
            unchanged: 0,
            offsets: Vec::new(),
        };
        let now = now_ms();
        let when = |topic: &str, partition: i32| {
            let at = store.timestamp_ms(group, topic, partition);
            (at, at.map(|t| now.saturating_sub(t).max(0)))
        };
        let kept = |a: AheadOffset| {
            let (at, age) = when(&a.topic, a.partition);
            KeptOffset {
                topic: a.topic,
                partition: a.partition,
                target: a.target,
                checkpoint: a.checkpoint,
                checkpoint_timestamp_ms: at,
                checkpoint_age_ms: age,
            }
        };
        // Never backwards: the operator resets a group on purpose with Kafka's own tools.
        match plan_group_sync(
            &state,
            &current,
            &checkpoints,
            &HashMap::new(),
            Rewind::Never,
        ) {
            SyncPlan::Skip(SkipReason::ActiveOnTarget { target_state }) => {
                plan.refused = Some(format!(
                    "group '{group}' is active on the target ({target_state}): stop its consumers first; nothing was written"
                ));
                return Ok(plan);
            }
            SyncPlan::Skip(SkipReason::NothingTranslated) => {}
            SyncPlan::Skip(SkipReason::AheadOnTarget { partitions }) => {
                plan.ahead = partitions.into_iter().map(kept).collect();
            }
            SyncPlan::UpToDate { ahead } => plan.ahead = ahead.into_iter().map(kept).collect(),
            SyncPlan::Write {
                offsets,
                written,
                ahead,
            } => {
                plan.changes = written
                    .into_iter()
                    .map(|w| {
                        let (at, age) = when(&w.topic, w.partition);
                        OffsetChange {
                            topic: w.topic,
                            partition: w.partition,
                            from: w.previous,
                            to: w.offset,
                            checkpoint_timestamp_ms: at,
                            checkpoint_age_ms: age,
                        }
                    })
                    .collect();
                plan.ahead = ahead.into_iter().map(kept).collect();
                plan.offsets = offsets;
            }
        }
        plan.unchanged = checkpoints
            .len()
            .saturating_sub(plan.changes.len() + plan.ahead.len());
        Ok(plan)
    }

    /// Writes a plan's changes to the target group; refuses a plan with `refused` set. The
    /// broker itself rejects the write if consumers joined the group since planning.
    pub fn apply(&self, plan: &ApplyPlan) -> Result<(), CheckpointError> {
        if let Some(why) = &plan.refused {
            return Err(CheckpointError::Group(
                super::group_offsets::GroupOpError::GroupActive {
                    group: plan.group.clone(),
                    cluster: "target",
                    detail: why.clone(),
                },
            ));
        }
        if plan.offsets.is_empty() {
            return Ok(());
        }
        Ok(self.target_groups.alter(&plan.group, &plan.offsets)?)
    }
}

/// Reads the whole offset-syncs topic into `translator` and marks it loaded.
fn load_syncs(
    config: &ClientConfig,
    topic: &str,
    translator: &std::sync::Mutex<Translator>,
) -> Result<(), CheckpointError> {
    let mut t = lock(translator);
    match PartitionZeroReader::open(config, topic) {
        Ok(mut reader) => {
            reader.read_to_end(TIMEOUT, |m| {
                if let Some((s, run)) = decode(m) {
                    t.update(
                        &s.topic,
                        s.partition,
                        s.upstream_offset,
                        s.downstream_offset,
                        run,
                    );
                }
            })?;
        }
        Err(ReadError::Missing(_)) => {}
        Err(e) => return Err(e.into()),
    }
    t.finish_initial_load();
    Ok(())
}
