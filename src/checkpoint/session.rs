//! One leadership term of a flow's checkpointer: load earlier checkpoints, follow the offset
//! syncs, and run the three periodic jobs (refresh groups, emit checkpoints, sync target
//! groups) until leadership is lost or the flow stops.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::kafka::polled_producer::{AckContext, AckedRecord, PolledProducer};
use crate::status::FlowStatus;
use crate::wire::Checkpoint;

use super::checkpoint_store::CheckpointStore;
use super::checkpoints_topic::read_checkpoints;
use super::emit_schedule::EmitSchedule;
use super::error::CheckpointError;
use super::group_offsets::{GroupOffset, GroupOpError};
use super::group_sync::Rewind;
use super::setup::Setup;
use super::sync_follower::{SyncFollower, lock};
use super::sync_round::{SyncInput, sync_groups};
use super::translator::TranslationKind;
use crate::status::checkpoint::{
    CheckpointStatusHandle, GroupStatus, GroupSyncState, PartitionStatus, SkipReason, now_ms,
};

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// The flow is stopping.
    Stopped,
    /// Another process leads the flow now.
    LostLead,
}

/// A failed group listing is retried this often.
const REFRESH_RETRY: Duration = Duration::from_secs(5);

/// Offsets Strait wrote to target groups: (group, downstream topic, partition) → offset.
type Written = HashMap<(String, String, i32), i64>;

/// One leadership term.
pub(crate) struct Session<'a> {
    setup: &'a Setup,
    status: &'a CheckpointStatusHandle,
    follower: SyncFollower,
    store: CheckpointStore,
    producer: PolledProducer<AckContext>,
    /// Groups the group filter selects (last listing).
    groups: Vec<String>,
    /// Selected groups with offsets on checkpointed topics (last emission).
    relevant: BTreeSet<String>,
    written: Written,
    /// Last logged sync outcome per group, to log changes rather than every run.
    logged: HashMap<String, String>,
    /// Where checkpoint acknowledgement latencies go (the metrics).
    flow_status: Option<Arc<FlowStatus>>,
}

impl std::fmt::Debug for Session<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("flow", &self.setup.flow)
            .field("groups", &self.groups.len())
            .finish_non_exhaustive()
    }
}

fn task_err(e: tokio::task::JoinError) -> CheckpointError {
    CheckpointError::Task(e.to_string())
}

impl<'a> Session<'a> {
    /// Loads the checkpoints written so far and starts following the offset syncs.
    pub(crate) async fn start(
        setup: &'a Setup,
        status: &'a CheckpointStatusHandle,
        flow_status: Option<Arc<FlowStatus>>,
    ) -> Result<Session<'a>, CheckpointError> {
        let (cfg, topic) = (
            setup.target_consumer.clone(),
            setup.checkpoints_topic.clone(),
        );
        let loaded = tokio::task::spawn_blocking(move || {
            read_checkpoints(&cfg, &topic, None, Duration::from_secs(120))
        })
        .await
        .map_err(task_err)?;
        let (store, loaded_ok) = match loaded {
            Ok(store) => (store, true),
            Err(e) => {
                // MM2's fallback: without earlier checkpoints, only the newest offset sync per
                // partition seen while loading is trusted (mustReadToEnd).
                tracing::warn!(error = %e,
                    "earlier checkpoints not loaded; translation starts from the newest offset syncs");
                (CheckpointStore::new(), false)
            }
        };
        tracing::info!(
            checkpoints = store.len(),
            loaded = loaded_ok,
            "checkpointer started"
        );
        status.update(|s| s.checkpoints_loaded = Some(loaded_ok));
        let follower = SyncFollower::spawn(
            setup.syncs_config.clone(),
            setup.syncs_topic.clone(),
            !loaded_ok,
        )
        .map_err(|e| CheckpointError::Task(format!("cannot start the offset-syncs reader: {e}")))?;
        let producer =
            PolledProducer::create(&setup.target_producer, AckContext).map_err(|source| {
                CheckpointError::Client {
                    what: "checkpoints producer",
                    source,
                }
            })?;
        Ok(Session {
            setup,
            status,
            follower,
            store,
            producer,
            groups: Vec::new(),
            relevant: BTreeSet::new(),
            written: HashMap::new(),
            logged: HashMap::new(),
            flow_status,
        })
    }

    /// Runs the periodic jobs until the flow stops or leadership is lost.
    pub(crate) async fn run(
        mut self,
        leader: &mut watch::Receiver<bool>,
        stop: &mut watch::Receiver<bool>,
    ) -> Ended {
        let cc = &self.setup.cc;
        let start = Instant::now();
        let mut next_refresh = Some(start);
        let mut emit = EmitSchedule::new(start, cc.emit_checkpoints_interval);
        let mut loaded = self.follower.loaded_signal();
        let mut awaiting_load = true;
        // As in MM2, target groups are first synced one interval after start.
        let mut next_sync = cc
            .sync_group_offsets_enabled
            .then(|| start + cc.sync_group_offsets_interval);
        loop {
            let next = [next_refresh, Some(emit.next()), next_sync]
                .into_iter()
                .flatten()
                .min();
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return Ended::Stopped,
                r = leader.changed() => {
                    if r.is_err() || !*leader.borrow_and_update() {
                        return Ended::LostLead;
                    }
                }
                ok = async { loaded.wait_for(|l| *l).await.is_ok() }, if awaiting_load => {
                    // Once: loaded stays loaded (an error means the follower is gone).
                    awaiting_load = false;
                    if ok {
                        emit.syncs_loaded(Instant::now());
                    }
                }
                _ = sleep_until(next) => {}
            }
            let now = Instant::now();
            if next_refresh.is_some_and(|t| now >= t) {
                let ok = self.refresh().await;
                next_refresh = match (ok, cc.refresh_groups_enabled) {
                    (false, _) => Some(now + REFRESH_RETRY),
                    (true, true) => Some(now + cc.refresh_groups_interval),
                    (true, false) => None,
                };
            }
            if emit.due(now) {
                let translated = self.emit().await;
                emit.emitted(now, translated);
            }
            if next_sync.is_some_and(|t| now >= t) {
                self.sync().await;
                next_sync = Some(now + cc.sync_group_offsets_interval);
            }
        }
    }

    fn set_error(&self, error: Option<String>) {
        self.status.update(|s| s.last_error = error);
    }

    /// Lists the source's groups and keeps those the filter selects. Returns false on failure.
    async fn refresh(&mut self) -> bool {
        let source = self.setup.source_groups.clone();
        let listed = tokio::task::spawn_blocking(move || source.list_groups()).await;
        let groups = match listed {
            Ok(Ok(g)) => g,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "listing source groups failed; retrying");
                self.set_error(Some(e.to_string()));
                return false;
            }
            Err(e) => {
                self.set_error(Some(task_err(e).to_string()));
                return false;
            }
        };
        let mut selected: Vec<String> = groups
            .into_iter()
            .filter(|g| self.setup.planner.selects_group(g))
            .collect();
        selected.sort();
        if selected != self.groups {
            tracing::info!(
                groups = selected.len(),
                "consumer groups selected for checkpointing"
            );
            tracing::debug!(groups = ?selected, "selected groups");
        }
        self.groups = selected;
        self.status
            .update(|s| s.last_group_refresh_ms = Some(now_ms()));
        true
    }

    /// Translates every selected group's committed offsets and writes the checkpoints MM2's
    /// rules allow. Returns whether the offset syncs were loaded when translating (before,
    /// nothing translates).
    async fn emit(&mut self) -> bool {
        let groups = self.groups.clone();
        let requests = groups.len() as u64;
        self.status.update(|s| s.source_offset_requests += requests);
        let source = self.setup.source_groups.clone();
        let fetched = tokio::task::spawn_blocking(move || {
            groups
                .into_iter()
                .map(|g| {
                    let r = source.committed(&g);
                    (g, r)
                })
                .collect::<Vec<(String, Result<Vec<GroupOffset>, GroupOpError>)>>()
        })
        .await;
        let fetched = match fetched {
            Ok(f) => f,
            Err(e) => {
                self.set_error(Some(task_err(e).to_string()));
                return self.follower.is_loaded();
            }
        };
        let mut emits: Vec<Checkpoint> = Vec::new();
        let mut partitions: BTreeMap<String, Vec<PartitionStatus>> = BTreeMap::new();
        let mut errors: BTreeMap<String, String> = BTreeMap::new();
        let translated = {
            let translator = lock(self.follower.translator());
            for (group, r) in &fetched {
                match r {
                    Ok(offsets) => {
                        let plan =
                            self.setup
                                .planner
                                .plan_group(group, offsets, &translator, &self.store);
                        if plan.relevant {
                            partitions.insert(group.clone(), plan.partitions);
                            emits.extend(plan.emit);
                        }
                    }
                    Err(e) => {
                        errors.insert(group.clone(), e.to_string());
                    }
                }
            }
            translator.is_loaded()
        };
        let kinds: HashMap<(String, String, i32), Option<TranslationKind>> = partitions
            .iter()
            .flat_map(|(g, ps)| {
                ps.iter()
                    .map(move |p| ((g.clone(), p.downstream_topic.clone(), p.partition), p.kind))
            })
            .collect();
        let (written, failed) = self.produce(emits).await;
        for c in &written {
            let kind = kinds
                .get(&(c.group.clone(), c.topic.clone(), c.partition))
                .copied()
                .flatten();
            tracing::debug!(group = %c.group, topic = %c.topic,
                partition = c.partition, upstream = c.upstream_offset,
                downstream = c.downstream_offset, ?kind, "checkpoint");
        }
        if !written.is_empty() {
            let exact = written
                .iter()
                .filter(|c| {
                    kinds.get(&(c.group.clone(), c.topic.clone(), c.partition))
                        == Some(&Some(TranslationKind::Exact))
                })
                .count();
            tracing::info!(checkpoints = written.len(), exact, "checkpoints written");
        }
        // The status shows the newest checkpoint per partition, after this round's writes.
        for (group, ps) in partitions.iter_mut() {
            for p in ps.iter_mut() {
                p.checkpoint = self
                    .store
                    .get(group, &p.downstream_topic, p.partition)
                    .map(|c| c.downstream_offset);
            }
        }
        self.relevant = partitions.keys().cloned().collect();
        // Groups that could not be read keep their place (and their last known partitions).
        self.relevant.extend(
            errors
                .keys()
                .filter(|g| self.store.group(g).next().is_some())
                .cloned(),
        );
        let sync_enabled = self.setup.cc.sync_group_offsets_enabled;
        let loaded = self.follower.is_loaded();
        let relevant = self.relevant.clone();
        let count = written.len() as u64;
        self.status.update(|s| {
            s.offset_syncs_loaded = loaded;
            s.last_emit_ms = Some(now_ms());
            s.checkpoints_emitted += count;
            s.last_error = failed;
            s.groups.retain(|g, _| relevant.contains(g));
            for g in &relevant {
                let entry = s.groups.entry(g.clone()).or_insert_with(|| GroupStatus {
                    sync: if sync_enabled {
                        GroupSyncState::Pending
                    } else {
                        GroupSyncState::Disabled
                    },
                    ..GroupStatus::default()
                });
                if let Some(ps) = partitions.remove(g) {
                    entry.partitions = ps;
                }
                entry.error = errors.remove(g);
            }
        });
        translated
    }

    /// Writes checkpoints to partition 0 of the checkpoints topic; the ones acknowledged go
    /// into the store. Returns them, and the last error if any failed.
    async fn produce(&mut self, emits: Vec<Checkpoint>) -> (Vec<Checkpoint>, Option<String>) {
        let topic = &self.setup.checkpoints_topic;
        let timestamp = now_ms();
        let mut pending = Vec::with_capacity(emits.len());
        let mut error = None;
        for c in emits {
            let (key, value) = match (c.encode_key(), c.encode_value()) {
                (Ok(k), Ok(v)) => (k, v),
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(group = %c.group, topic = %c.topic, error = %e,
                        "checkpoint cannot be encoded; skipped");
                    continue;
                }
            };
            let record = AckedRecord {
                topic,
                partition: 0,
                key: &key,
                value: &value,
                timestamp,
            };
            match self.producer.send_acked(record) {
                Ok(ack) => pending.push((c, ack)),
                Err(e) => error = Some(e.to_string()),
            }
        }
        let mut written = Vec::with_capacity(pending.len());
        for (c, delivery) in pending {
            match delivery.await {
                Ok(Ok(_)) => {
                    if let Some(fs) = &self.flow_status {
                        let latency = now_ms().saturating_sub(timestamp).max(0) as u64;
                        fs.checkpoint_acked(&c.group, &c.topic, c.partition, latency);
                    }
                    self.store.update_at(c.clone(), Some(timestamp));
                    written.push(c);
                }
                Ok(Err(e)) => error = Some(e.to_string()),
                Err(_) => error = Some("delivery cancelled".to_owned()),
            }
        }
        if let Some(e) = &error {
            tracing::warn!(topic = %topic, error = %e,
                "writing checkpoints failed; they are retried next round");
        }
        (
            written,
            error.map(|e| format!("writing checkpoints to {topic}: {e}")),
        )
    }

    /// Writes the newest checkpoints to target groups that have no members, never moving a
    /// partition back (unless `strait.sync.group.offsets.rewind.enabled` lets it follow a
    /// source reset over Strait's own write).
    async fn sync(&mut self) {
        let inputs: Vec<SyncInput> = self
            .relevant
            .iter()
            .map(|g| SyncInput {
                group: g.clone(),
                checkpoints: self.store.group(g).cloned().collect(),
                ours: self
                    .written
                    .iter()
                    .filter(|((wg, _, _), _)| wg == g)
                    .map(|((_, t, p), o)| ((t.clone(), *p), *o))
                    .collect(),
            })
            .collect();
        let target = self.setup.target_groups.clone();
        let rewind = if self.setup.cc.sync_group_offsets_rewind_enabled {
            Rewind::FollowSourceReset
        } else {
            Rewind::Never
        };
        let outcome =
            tokio::task::spawn_blocking(move || sync_groups(&*target, inputs, rewind)).await;
        let results = match outcome {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "syncing target groups failed; retrying");
                self.set_error(Some(e.to_string()));
                return;
            }
            Err(e) => {
                self.set_error(Some(task_err(e).to_string()));
                return;
            }
        };
        for (group, state) in &results {
            if let GroupSyncState::Synced { written, .. } = state {
                for w in written {
                    self.written
                        .insert((group.clone(), w.topic.clone(), w.partition), w.offset);
                    if w.followed_upstream_reset {
                        // Moving a group back makes its consumers read records again: say so.
                        let from = w
                            .previous
                            .map_or_else(|| "none".to_owned(), |p| p.to_string());
                        tracing::warn!(group = %group, topic = %w.topic,
                            partition = w.partition, from = %from, to = w.offset,
                            "target group moved back to follow a reset of the source group \
                             (strait.sync.group.offsets.rewind.enabled)");
                    }
                }
            }
            self.log_sync(group, state);
        }
        self.status.update(|s| {
            s.last_group_sync_ms = Some(now_ms());
            for (group, state) in results {
                if let Some(g) = s.groups.get_mut(&group) {
                    g.sync = state;
                }
            }
        });
    }

    /// Logs a group's sync outcome when it differs from the last one logged.
    fn log_sync(&mut self, group: &str, state: &GroupSyncState) {
        let flow = &self.setup.flow;
        let summary = match state {
            GroupSyncState::Synced { written, ahead, .. } => {
                let offsets: Vec<String> = written
                    .iter()
                    .map(|w| format!("{}-{}={}", w.topic, w.partition, w.offset))
                    .collect();
                tracing::info!(%flow, group, offsets = %offsets.join(","), ahead = ahead.len(),
                    "target group synced");
                // Every write is news; keep logging them.
                self.logged.remove(group);
                return;
            }
            GroupSyncState::UpToDate { ahead, .. } => format!("up to date ({} ahead)", ahead.len()),
            GroupSyncState::Skipped { reason, .. } => match reason {
                SkipReason::ActiveOnTarget { target_state } => {
                    format!("skipped: active on the target ({target_state})")
                }
                SkipReason::AheadOnTarget { partitions } => {
                    let p: Vec<String> = partitions
                        .iter()
                        .map(|a| {
                            let why = if a.source_reset {
                                " after a source reset; not moved back"
                            } else {
                                ""
                            };
                            format!(
                                "{}-{} at {} > {}{why}",
                                a.topic, a.partition, a.target, a.checkpoint
                            )
                        })
                        .collect();
                    format!("skipped: ahead on the target ({})", p.join(", "))
                }
                SkipReason::NothingTranslated => "skipped: nothing translated yet".to_owned(),
            },
            GroupSyncState::Failed { error, .. } => format!("failed: {error}"),
            GroupSyncState::Disabled | GroupSyncState::Pending => return,
        };
        if self.logged.get(group) != Some(&summary) {
            if matches!(state, GroupSyncState::Failed { .. }) {
                tracing::warn!(%flow, group, "target group sync {summary}");
            } else {
                tracing::info!(%flow, group, "target group sync {summary}");
            }
            self.logged.insert(group.to_owned(), summary);
        }
    }
}

/// Sleeps until `at`, or forever when `None`.
pub(crate) async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
