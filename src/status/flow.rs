//! The live status of one flow: what its pipeline, runner, checkpointer and the status sampler
//! report, read by the HTTP endpoints.
//!
//! Hooks called per record ([`FlowStatus::polled`], [`FlowStatus::acked`]) and per loop turn
//! ([`FlowStatus::loop_turned`]) only touch atomics of the partition's cell; everything else
//! happens per rebalance, per sampling interval or per request. The hooks take plain values:
//! the pipeline (`crate::source::pipeline`) reads its own bookkeeping and reports here, so
//! status depends on no part it reports about.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard};

use crate::config::FlowConfig;
use crate::policy::ReplicationPolicy;
use crate::status::checkpoint::CheckpointStatus;
use crate::status::component::{ClusterCell, Component, ComponentCell, ComponentState, ErrorNote};
use crate::status::connectors::{ConnectorInfo, connectors_of};
use crate::status::lag::lag_records;
use crate::status::partition::{PartitionCell, PartitionId, PartitionTable, SlotId, UNKNOWN};
use crate::status::readiness::{self, CLUSTER_STALE_MS};
use crate::status::snapshot::{
    BlockedSnapshot, CheckpointSnapshot, ClusterSnapshot, ComponentSnapshot, ConnectorSnapshot,
    ExpiredSnapshot, FlowSnapshot, FlowState, HeartbeatSnapshot, LatencySnapshot,
    PartitionSnapshot, Totals,
};
use crate::status::window::WindowedStat;
use crate::status::{ClusterRole, now_ms};

/// How often [`FlowStatus::loop_turned`] asks for the consumer's positions.
const POSITIONS_EVERY_MS: u64 = 1_000;
/// A lagging partition whose position has not moved for this long is stalled.
pub const STALL_MS: u64 = 60_000;

const NOT_FINISHED: u8 = 0;
const FINISHED_OK: u8 = 1;
const FINISHED_FAILED: u8 = 2;

/// Everything known about one flow in this process. Shared as an `Arc` by the pipeline, the
/// flow runner, the checkpointer, the status sampler and the HTTP server.
#[derive(Debug)]
pub struct FlowStatus {
    name: String,
    source_alias: String,
    target_alias: String,
    connectors: Vec<ConnectorInfo>,
    policy: ReplicationPolicy,
    /// `auto.offset.reset=latest`: a partition without progress starts at its end.
    starts_at_end: bool,
    configured: [bool; 3],
    components: [ComponentCell; 3],
    finished: AtomicU8,
    flow_error: ComponentCell,
    clusters: [ClusterCell; 2],
    pub(crate) partitions: PartitionTable,
    rebalances: AtomicU64,
    loop_at_ms: AtomicU64,
    positions_at_ms: AtomicU64,
    heartbeat: WindowedStat,
    heartbeat_at_ms: AtomicU64,
    checkpoints: Mutex<BTreeMap<(String, String, i32), WindowedStat>>,
    /// Records deleted on the source before they were replicated, per source partition.
    expired: Mutex<BTreeMap<(String, i32), ExpiredSnapshot>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock means a panic elsewhere; status data is still worth showing.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn known(v: i64) -> Option<i64> {
    (v != UNKNOWN).then_some(v)
}

impl FlowStatus {
    /// The status of `flow`, before anything runs.
    pub fn new(flow: &FlowConfig) -> Self {
        let starts_at_end = flow.source_connector.as_ref().is_some_and(|sc| {
            matches!(
                sc.consumer_overrides
                    .get("auto.offset.reset")
                    .map(String::as_str),
                Some("latest" | "largest" | "end")
            )
        });
        let configured = [
            flow.source_connector.as_ref().is_some_and(|c| c.enabled),
            flow.checkpoint_connector
                .as_ref()
                .is_some_and(|c| c.enabled),
            flow.heartbeat_connector
                .as_ref()
                .is_some_and(|c| c.emit_heartbeats_enabled),
        ];
        Self {
            name: flow.name(),
            source_alias: flow.source_alias.clone(),
            target_alias: flow.target_alias.clone(),
            connectors: connectors_of(flow),
            policy: ReplicationPolicy::new(&flow.policy, &flow.source_alias),
            starts_at_end,
            configured,
            components: Default::default(),
            finished: AtomicU8::new(NOT_FINISHED),
            flow_error: ComponentCell::default(),
            clusters: Default::default(),
            partitions: PartitionTable::default(),
            rebalances: AtomicU64::new(0),
            loop_at_ms: AtomicU64::new(0),
            positions_at_ms: AtomicU64::new(0),
            heartbeat: WindowedStat::default(),
            heartbeat_at_ms: AtomicU64::new(0),
            checkpoints: Mutex::new(BTreeMap::new()),
            expired: Mutex::new(BTreeMap::new()),
        }
    }

    /// `<source>-><target>`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The source cluster's alias.
    pub fn source_alias(&self) -> &str {
        &self.source_alias
    }

    /// The target cluster's alias.
    pub fn target_alias(&self) -> &str {
        &self.target_alias
    }

    /// The configured connectors.
    pub fn connectors(&self) -> &[ConnectorInfo] {
        &self.connectors
    }

    // ---- replication pipeline (per rebalance) ----

    /// A partition was assigned to this process and is tracked in `slot`, its progress at
    /// `next_offset` (the next source offset to replicate, when known).
    pub fn partition_assigned(&self, slot: SlotId, id: PartitionId, next_offset: Option<i64>) {
        let Some(cell) = self.partitions.get_or_create(slot) else {
            tracing::warn!(
                slot,
                "too many partitions for the status table; this one is not reported"
            );
            return;
        };
        let heartbeats = self.policy.is_heartbeats_topic(&id.topic);
        cell.assign(id, next_offset, heartbeats, now_ms());
    }

    /// The partition in `slot` was handed over (or lost).
    pub fn partition_released(&self, slot: SlotId) {
        if let Some(cell) = self.partitions.get(slot) {
            cell.active.store(false, Relaxed);
        }
    }

    /// The consumer received an assignment: one more rebalance, and the first one makes the
    /// flow's replication ready.
    pub fn rebalanced(&self) {
        self.rebalances.fetch_add(1, Relaxed);
    }

    // ---- replication pipeline (per record: atomics only) ----

    /// A record of `slot` was read and handed to the producer: MM2's `byte-count` (value
    /// bytes, counted at poll) and `record-age-ms`.
    pub fn polled(&self, slot: SlotId, value_bytes: usize, timestamp: Option<i64>) {
        let Some(cell) = self.partitions.get(slot) else {
            return;
        };
        cell.bytes.fetch_add(value_bytes as u64, Relaxed);
        if let Some(ts) = timestamp {
            let now = now_ms();
            cell.record_age
                .record(now, now.saturating_sub(ts.max(0) as u64));
        }
    }

    /// A source batch of `slot` was handed to the writer whole, as stored.
    pub fn batch_passed(&self, slot: SlotId) {
        if let Some(cell) = self.partitions.get(slot) {
            cell.batches_passed.fetch_add(1, Relaxed);
        }
    }

    /// A record of `slot` was acknowledged by the target: MM2's `record-count` and
    /// `replication-latency-ms`, and the partition's progress (`next`: the next source offset
    /// to replicate, when known). `timestamp` is the record's timestamp.
    pub fn acked(&self, slot: SlotId, next: Option<i64>, timestamp: Option<i64>) {
        let Some(cell) = self.partitions.get(slot) else {
            return;
        };
        cell.records.fetch_add(1, Relaxed);
        let moved = next.is_some_and(|n| n > cell.next_offset.load(Relaxed));
        if !moved && timestamp.is_none() {
            return;
        }
        let now = now_ms();
        if let (true, Some(n)) = (moved, next) {
            cell.next_offset.store(n, Relaxed);
            cell.progress_at_ms.store(now, Relaxed);
        }
        if let Some(ts) = timestamp {
            let latency = now.saturating_sub(ts.max(0) as u64);
            cell.latency.record(now, latency);
            cell.last_record_ts.store(ts, Relaxed);
            if cell.heartbeats.load(Relaxed) {
                self.heartbeat.record(now, latency);
                self.heartbeat_at_ms.store(now, Relaxed);
            }
        }
    }

    /// Exactly-once: a transaction of `slot` ended, committed with progress at the given source
    /// offset, or aborted (`None`).
    pub fn transaction_ended(&self, slot: SlotId, committed: Option<i64>) {
        let Some(cell) = self.partitions.get(slot) else {
            return;
        };
        match committed {
            Some(offset) => {
                cell.txn_committed.fetch_add(1, Relaxed);
                if offset + 1 > cell.next_offset.load(Relaxed) {
                    cell.next_offset.store(offset + 1, Relaxed);
                    cell.progress_at_ms.store(now_ms(), Relaxed);
                }
            }
            None => {
                cell.txn_aborted.fetch_add(1, Relaxed);
            }
        }
    }

    /// A record of `slot` was refused by the target (or by the producer).
    pub fn rejected(&self, slot: SlotId) {
        if let Some(cell) = self.partitions.get(slot) {
            cell.rejected.fetch_add(1, Relaxed);
        }
    }

    // ---- replication pipeline (rare events) ----

    /// The partition in `slot` is held at a refused record (or its retry state changed).
    pub fn partition_blocked(&self, slot: SlotId, blocked: BlockedSnapshot) {
        if let Some(cell) = self.partitions.get(slot) {
            *lock(&cell.blocked) = Some(blocked);
        }
    }

    /// The partition in `slot` got its refused record written.
    pub fn partition_unblocked(&self, slot: SlotId) {
        if let Some(cell) = self.partitions.get(slot) {
            *lock(&cell.blocked) = None;
        }
    }

    /// Source offsets `first..=last` of `topic`/`partition` (`remote_topic` on the target)
    /// were deleted before they could be replicated (`strait_source_records_expired_total`).
    pub fn records_expired(
        &self,
        topic: &str,
        remote_topic: &str,
        partition: i32,
        first: i64,
        last: i64,
    ) {
        let records = u64::try_from(last - first + 1).unwrap_or(0);
        let mut expired = lock(&self.expired);
        let e = expired
            .entry((topic.to_owned(), partition))
            .or_insert_with(|| ExpiredSnapshot {
                topic: topic.to_owned(),
                remote_topic: remote_topic.to_owned(),
                partition,
                records: 0,
                last_first_offset: first,
                last_last_offset: last,
                last_at_ms: 0,
            });
        e.records += records;
        e.last_first_offset = first;
        e.last_last_offset = last;
        e.last_at_ms = now_ms();
    }

    /// Called every turn of the replication loop: proves the loop is alive (liveness). Once a
    /// second it answers true: the pipeline then reports the consumer's positions
    /// ([`Self::progress_at_least`]), so that offsets the consumer skipped without returning a
    /// record (transaction markers, aborted records) count as replicated.
    pub fn loop_turned(&self) -> bool {
        let now = now_ms();
        self.loop_at_ms.store(now, Relaxed);
        if now.saturating_sub(self.positions_at_ms.load(Relaxed)) < POSITIONS_EVERY_MS {
            return false;
        }
        self.positions_at_ms.store(now, Relaxed);
        true
    }

    /// Everything of `slot` before source offset `position` is on the target (the consumer's
    /// position, with nothing in flight and nothing blocked).
    pub fn progress_at_least(&self, slot: SlotId, position: i64) {
        if let Some(cell) = self.partitions.get(slot)
            && cell.next_offset.load(Relaxed) < position
        {
            cell.next_offset.store(position, Relaxed);
            cell.progress_at_ms.store(now_ms(), Relaxed);
        }
    }

    // ---- any component ----

    /// Sets a component's state (runners call this as they start, run and stop).
    pub fn set_state(&self, component: Component, state: ComponentState) {
        self.components[component.index()].set(state);
    }

    /// Notes an error of a component that keeps running (a broker unreachable, a retry).
    pub fn error(&self, component: Component, error: &dyn Display) {
        self.components[component.index()].note_error(error.to_string(), now_ms());
    }

    /// A component stopped because of `error`.
    pub fn failed(&self, component: Component, error: &dyn Display) {
        self.error(component, error);
        self.set_state(component, ComponentState::Failed);
    }

    /// The flow ended, cleanly or with `error`.
    pub fn finished(&self, error: Option<&dyn Display>) {
        match error {
            Some(e) => {
                self.flow_error.note_error(e.to_string(), now_ms());
                self.finished.store(FINISHED_FAILED, Relaxed);
            }
            None => self.finished.store(FINISHED_OK, Relaxed),
        }
        for (i, c) in self.components.iter().enumerate() {
            if self.configured[i]
                && matches!(
                    c.state(),
                    ComponentState::Running | ComponentState::Starting
                )
            {
                c.set(ComponentState::Stopped);
            }
        }
    }

    // ---- checkpointer ----

    /// A checkpoint for `group` on `topic` (downstream name) and `partition` was acknowledged
    /// `latency_ms` after it was emitted (MM2's `checkpoint-latency-ms`).
    pub fn checkpoint_acked(&self, group: &str, topic: &str, partition: i32, latency_ms: u64) {
        lock(&self.checkpoints)
            .entry((group.to_owned(), topic.to_owned(), partition))
            .or_default()
            .record(now_ms(), latency_ms);
    }

    /// Forgets checkpoint latencies (when the checkpointer stops owning the flow).
    pub fn clear_checkpoint_latencies(&self) {
        lock(&self.checkpoints).clear();
    }

    // ---- status sampler ----

    pub(crate) fn cluster_ok(&self, role: ClusterRole, now: u64) {
        self.clusters[role as usize].last_ok_ms.store(now, Relaxed);
    }

    pub(crate) fn cluster_error(&self, role: ClusterRole, message: String, now: u64) {
        self.clusters[role as usize].errors.note_error(message, now);
    }

    /// The next offset lag is counted from: the live position, or where a partition without
    /// progress starts.
    pub(crate) fn effective_next(&self, cell: &PartitionCell) -> Option<i64> {
        known(cell.next_offset.load(Relaxed)).or_else(|| {
            if self.starts_at_end {
                known(cell.high_watermark.load(Relaxed))
            } else {
                known(cell.log_start.load(Relaxed))
            }
        })
    }

    // ---- reading ----

    /// A copy of everything, at `now` (epoch milliseconds).
    pub fn snapshot(&self, now: u64) -> FlowSnapshot {
        let mut partitions: Vec<PartitionSnapshot> = self
            .partitions
            .active()
            .map(|(id, cell)| self.partition_snapshot(&id, cell, now))
            .collect();
        partitions
            .sort_by(|a, b| (a.topic.as_str(), a.partition).cmp(&(b.topic.as_str(), b.partition)));
        let expired: Vec<ExpiredSnapshot> = lock(&self.expired).values().cloned().collect();
        let mut totals = totals(&partitions);
        totals.records_expired = expired.iter().map(|e| e.records).sum();
        let clusters = vec![
            self.cluster_snapshot(ClusterRole::Source, now),
            self.cluster_snapshot(ClusterRole::Target, now),
        ];
        let checkpointer = crate::status::checkpoint::snapshots()
            .into_iter()
            .find(|c| c.flow == self.name);
        let rebalances = self.rebalances.load(Relaxed);
        let state = self.state(rebalances);
        let components: Vec<ComponentSnapshot> = Component::ALL
            .iter()
            .map(|c| self.component_snapshot(*c, state, checkpointer.as_ref()))
            .collect();
        let stuck = state == FlowState::Running
            && (totals.stalled_partitions > 0 || clusters.iter().any(|c| !c.reachable));
        let error = self.flow_error.last_error();
        let connectors = self
            .connectors
            .iter()
            .map(|c| {
                let comp = &components[c.component.index()];
                connector_snapshot(c, comp, error.as_ref().map(|e| e.message.clone()))
            })
            .collect();
        let loop_at = self.loop_at_ms.load(Relaxed);
        let heartbeat_at = self.heartbeat_at_ms.load(Relaxed);
        let mut snap = FlowSnapshot {
            name: self.name.clone(),
            source: self.source_alias.clone(),
            target: self.target_alias.clone(),
            state,
            stuck,
            ready: Default::default(),
            error,
            clusters,
            components,
            connectors,
            rebalances,
            replication_loop_ms_ago: (loop_at > 0).then(|| now.saturating_sub(loop_at)),
            totals,
            heartbeat: HeartbeatSnapshot {
                latency_ms: self.heartbeat.last(),
                window: self.heartbeat.summary(now),
                last_ms: (heartbeat_at > 0).then_some(heartbeat_at),
            },
            partitions,
            expired,
            checkpointer,
            checkpoints: lock(&self.checkpoints)
                .iter()
                .map(|((group, topic, partition), stat)| CheckpointSnapshot {
                    group: group.clone(),
                    topic: topic.clone(),
                    partition: *partition,
                    latency_ms: LatencySnapshot {
                        last: stat.last(),
                        window: stat.summary(now),
                    },
                })
                .collect(),
        };
        snap.ready = readiness::flow_readiness(&snap);
        snap
    }

    /// A component's state. The checkpointer and the heartbeat emitter run inside the flow's
    /// task and do not report through these hooks (yet): a checkpointer registered in
    /// [`crate::status::checkpoint`] counts as running (its errors are its status's
    /// `last_error`), and heartbeats run whenever the flow does, unless their runner reports.
    fn component_snapshot(
        &self,
        c: Component,
        flow: FlowState,
        checkpointer: Option<&CheckpointStatus>,
    ) -> ComponentSnapshot {
        let cell = &self.components[c.index()];
        let configured = self.configured[c.index()];
        let mut state = cell.state();
        let mut last_error = cell.last_error();
        if configured && state == ComponentState::NotStarted {
            state = match (c, flow) {
                (Component::Checkpoint, FlowState::Running | FlowState::Starting)
                    if checkpointer.is_some() =>
                {
                    ComponentState::Running
                }
                (Component::Heartbeat, FlowState::Running) => ComponentState::Running,
                _ => state,
            };
        }
        if c == Component::Checkpoint
            && let Some(msg) = checkpointer.and_then(|s| s.last_error.clone())
        {
            last_error = Some(ErrorNote {
                message: msg,
                at_ms: now_ms(),
            });
        }
        if matches!(flow, FlowState::Failed | FlowState::Stopped)
            && configured
            && matches!(state, ComponentState::Running | ComponentState::Starting)
        {
            state = ComponentState::Stopped;
        }
        ComponentSnapshot {
            component: c,
            configured,
            state,
            last_error,
        }
    }

    fn state(&self, rebalances: u64) -> FlowState {
        match self.finished.load(Relaxed) {
            FINISHED_FAILED => return FlowState::Failed,
            FINISHED_OK => return FlowState::Stopped,
            _ => {}
        }
        let states: Vec<(bool, ComponentState)> = (0..3)
            .map(|i| (self.configured[i], self.components[i].state()))
            .collect();
        if states
            .iter()
            .any(|(c, s)| *c && *s == ComponentState::Failed)
        {
            return FlowState::Failed;
        }
        let running = if self.configured[Component::Source.index()] {
            states[Component::Source.index()].1 == ComponentState::Running && rebalances > 0
        } else {
            !self.configured.iter().any(|c| *c)
                || states
                    .iter()
                    .any(|(c, s)| *c && *s == ComponentState::Running)
        };
        if running {
            FlowState::Running
        } else {
            FlowState::Starting
        }
    }

    fn partition_snapshot(
        &self,
        id: &PartitionId,
        cell: &PartitionCell,
        now: u64,
    ) -> PartitionSnapshot {
        let end = known(cell.high_watermark.load(Relaxed));
        let next = self.effective_next(cell);
        let lag = match (end, next) {
            (Some(e), Some(n)) => Some(lag_records(e, n)),
            _ => None,
        };
        let lag_seconds = match lag {
            Some(0) => Some(0.0),
            _ => Some(PartitionCell::float(&cell.lag_seconds)).filter(|v| v.is_finite()),
        };
        let since_progress = now.saturating_sub(cell.progress_at_ms.load(Relaxed));
        PartitionSnapshot {
            topic: id.topic.to_string(),
            remote_topic: id.remote_topic.to_string(),
            partition: id.partition,
            records: cell.records.load(Relaxed),
            bytes: cell.bytes.load(Relaxed),
            record_rate: PartitionCell::float(&cell.record_rate),
            byte_rate: PartitionCell::float(&cell.byte_rate),
            next_offset: known(cell.next_offset.load(Relaxed)),
            end_offset: end,
            log_start_offset: known(cell.log_start.load(Relaxed)),
            lag_records: lag,
            lag_seconds,
            stalled: lag.is_some_and(|l| l > 0) && since_progress > STALL_MS,
            last_progress_ms_ago: since_progress,
            record_age_ms: LatencySnapshot {
                last: cell.record_age.last(),
                window: cell.record_age.summary(now),
            },
            replication_latency_ms: LatencySnapshot {
                last: cell.latency.last(),
                window: cell.latency.summary(now),
            },
            records_rejected: cell.rejected.load(Relaxed),
            transactions_committed: cell.txn_committed.load(Relaxed),
            transactions_aborted: cell.txn_aborted.load(Relaxed),
            batches_passed: cell.batches_passed.load(Relaxed),
            blocked: cell.blocked(),
            records_expired: lock(&self.expired)
                .get(&(id.topic.to_string(), id.partition))
                .map_or(0, |e| e.records),
        }
    }

    fn cluster_snapshot(&self, role: ClusterRole, now: u64) -> ClusterSnapshot {
        let cell = &self.clusters[role as usize];
        let ok = cell.last_ok_ms.load(Relaxed);
        let ago = (ok > 0).then(|| now.saturating_sub(ok));
        ClusterSnapshot {
            role: role.as_str(),
            alias: match role {
                ClusterRole::Source => self.source_alias.clone(),
                ClusterRole::Target => self.target_alias.clone(),
            },
            reachable: ago.is_some_and(|a| a <= CLUSTER_STALE_MS),
            last_contact_ms_ago: ago,
            last_error: cell.errors.last_error(),
        }
    }
}

/// A connector's Connect state, from its component's.
fn connector_snapshot(
    c: &ConnectorInfo,
    comp: &ComponentSnapshot,
    flow_error: Option<String>,
) -> ConnectorSnapshot {
    let state = if comp.state == ComponentState::Failed || (flow_error.is_some() && c.enabled) {
        "FAILED"
    } else if !c.enabled {
        "STOPPED"
    } else {
        match comp.state {
            ComponentState::NotStarted | ComponentState::Starting => "UNASSIGNED",
            ComponentState::Running => "RUNNING",
            ComponentState::Failed => "FAILED",
            ComponentState::Stopped => "STOPPED",
        }
    };
    let trace = (state == "FAILED")
        .then(|| {
            comp.last_error
                .as_ref()
                .map(|e| e.message.clone())
                .or(flow_error)
        })
        .flatten();
    ConnectorSnapshot {
        name: c.name.clone(),
        component: c.component,
        class: c.class,
        tasks_max: c.tasks_max,
        state,
        trace,
    }
}

fn totals(partitions: &[PartitionSnapshot]) -> Totals {
    let mut t = Totals {
        partitions: partitions.len(),
        ..Totals::default()
    };
    for p in partitions {
        t.records += p.records;
        t.bytes += p.bytes;
        t.record_rate += p.record_rate;
        t.byte_rate += p.byte_rate;
        t.lag_records += p.lag_records.unwrap_or(0);
        if let Some(s) = p.lag_seconds {
            t.max_lag_seconds = Some(t.max_lag_seconds.map_or(s, |m: f64| m.max(s)));
        }
        t.stalled_partitions += usize::from(p.stalled);
        t.blocked_partitions += usize::from(p.blocked.is_some());
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::ClusterRole;
    use crate::status::test_support::seed_like_flow;

    fn id(topic: &str, remote_topic: &str, partition: i32) -> PartitionId {
        PartitionId {
            topic: topic.into(),
            remote_topic: remote_topic.into(),
            partition,
        }
    }

    fn running_flow() -> (FlowStatus, SlotId) {
        let st = FlowStatus::new(&seed_like_flow());
        let slot = 0;
        st.partition_assigned(slot, id("orders", "uswest.orders", 2), Some(10));
        st.set_state(Component::Source, ComponentState::Running);
        (st, slot)
    }

    #[test]
    fn records_and_progress_follow_the_hooks() {
        let (st, slot) = running_flow();
        let ts = now_ms() as i64 - 1_000;
        for _ in 10..13 {
            st.polled(slot, 100, Some(ts));
        }
        st.acked(slot, Some(11), Some(ts));
        st.acked(slot, Some(12), Some(ts));
        // An acknowledgement that does not move progress forward (an earlier report arriving
        // late) still counts the record but leaves the progress.
        st.acked(slot, Some(11), None);
        let snap = st.snapshot(now_ms());
        let p = &snap.partitions[0];
        assert_eq!(
            (p.topic.as_str(), p.remote_topic.as_str(), p.partition),
            ("orders", "uswest.orders", 2)
        );
        assert_eq!(p.records, 3);
        assert_eq!(p.bytes, 300);
        assert_eq!(p.next_offset, Some(12));
        assert!(p.replication_latency_ms.last.unwrap() >= 1_000);
        assert_eq!(p.record_age_ms.window.unwrap().count, 3);
        // No end offset sampled yet: lag unknown, not stalled.
        assert_eq!(p.lag_records, None);
        assert!(!p.stalled);
        st.partition_released(slot);
        assert!(st.snapshot(now_ms()).partitions.is_empty());
    }

    #[test]
    fn readiness_needs_an_assignment_reachable_clusters_and_no_stall() {
        let (st, slot) = running_flow();
        let now = now_ms();
        let snap = st.snapshot(now);
        assert_eq!(snap.state, FlowState::Starting);
        assert!(!snap.ready.ok);
        assert!(
            snap.ready
                .reasons
                .iter()
                .any(|r| r.contains("has not been reached yet")),
            "{:?}",
            snap.ready.reasons
        );

        st.rebalanced();
        st.cluster_ok(ClusterRole::Source, now);
        st.cluster_ok(ClusterRole::Target, now);
        let snap = st.snapshot(now);
        assert_eq!(snap.state, FlowState::Running);
        assert!(snap.ready.ok, "{:?}", snap.ready.reasons);

        // Lagging with no progress for longer than the stall limit: stuck and not ready.
        let cell = st.partitions.get(slot).unwrap();
        cell.high_watermark.store(20, Relaxed);
        let later = now + STALL_MS + 1_000;
        st.cluster_ok(ClusterRole::Source, later);
        st.cluster_ok(ClusterRole::Target, later);
        let snap = st.snapshot(later);
        assert_eq!(snap.partitions[0].lag_records, Some(10));
        assert!(snap.stuck);
        assert!(!snap.ready.ok);
        assert!(
            snap.ready.reasons[0].contains("orders-2"),
            "{:?}",
            snap.ready.reasons
        );

        // A cluster silent for too long.
        let snap = st.snapshot(later + CLUSTER_STALE_MS + 1);
        assert!(
            snap.ready
                .reasons
                .iter()
                .any(|r| r.contains("has not answered"))
        );
    }

    #[test]
    fn failures_show_in_state_and_connectors() {
        let (st, _) = running_flow();
        st.rebalanced();
        st.finished(Some(&"writing to 'x' failed"));
        let snap = st.snapshot(now_ms());
        assert_eq!(snap.state, FlowState::Failed);
        assert_eq!(snap.connectors[0].state, "FAILED");
        assert_eq!(
            snap.connectors[0].trace.as_deref(),
            Some("writing to 'x' failed")
        );
        assert!(snap.ready.reasons[0].contains("failed"));
    }

    #[test]
    fn heartbeats_topics_feed_the_heartbeat_latency() {
        let st = FlowStatus::new(&seed_like_flow());
        let slot = 0;
        st.partition_assigned(slot, id("heartbeats", "uswest.heartbeats", 0), None);
        st.acked(slot, Some(1), Some(now_ms() as i64 - 250));
        let hb = st.snapshot(now_ms()).heartbeat;
        assert!(hb.latency_ms.unwrap() >= 250);
        assert!(hb.last_ms.is_some());
    }

    #[test]
    fn checkpoint_latency_is_kept() {
        let st = FlowStatus::new(&seed_like_flow());
        st.checkpoint_acked("g", "uswest.orders", 0, 12);
        let snap = st.snapshot(now_ms());
        assert_eq!(snap.checkpoints[0].latency_ms.last, Some(12));
        assert_eq!(snap.checkpoints[0].group, "g");
    }
}
