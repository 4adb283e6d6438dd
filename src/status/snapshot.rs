//! A point-in-time copy of the registry, as `/status` serves it and `/metrics` renders it.
//! Building one allocates; it happens per HTTP request, never on the replication path.

use serde::Serialize;

use crate::status::checkpoint::CheckpointStatus;
use crate::status::component::{Component, ComponentState, ErrorNote};
use crate::status::window::StatSummary;

/// The whole process.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessSnapshot {
    /// Strait's version.
    pub version: &'static str,
    /// This process as Connect's `worker_id` names a worker: `host:port`.
    pub worker_id: String,
    /// Seconds since the process started.
    pub uptime_seconds: f64,
    /// When the snapshot was taken, epoch milliseconds.
    pub now_ms: u64,
    /// What `/healthz` answers.
    pub live: Health,
    /// What `/readyz` answers.
    pub ready: Health,
    /// Every flow this process runs.
    pub flows: Vec<FlowSnapshot>,
}

/// A yes/no answer with the reasons for a no.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Health {
    /// Whether the check passes.
    pub ok: bool,
    /// Why not, one sentence each (empty when `ok`).
    pub reasons: Vec<String>,
}

/// A flow's overall state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FlowState {
    /// Checking clusters, preparing topics, waiting for the first assignment.
    Starting,
    /// Replicating.
    Running,
    /// Stopped after an error.
    Failed,
    /// Stopped cleanly.
    Stopped,
}

impl FlowState {
    /// Every state, for one-hot metrics.
    pub const ALL: [FlowState; 4] = [Self::Starting, Self::Running, Self::Failed, Self::Stopped];

    /// Upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "STARTING",
            Self::Running => "RUNNING",
            Self::Failed => "FAILED",
            Self::Stopped => "STOPPED",
        }
    }
}

/// One flow.
#[derive(Debug, Clone, Serialize)]
pub struct FlowSnapshot {
    /// `<source>-><target>`.
    pub name: String,
    /// Source cluster alias.
    pub source: String,
    /// Target cluster alias.
    pub target: String,
    /// Overall state.
    pub state: FlowState,
    /// Running but not moving: a partition stalled or a cluster unreachable (the dashboard's
    /// red state, with `state == FAILED`).
    pub stuck: bool,
    /// Whether this flow passes readiness, and why not.
    pub ready: Health,
    /// Why the flow stopped, when it failed.
    pub error: Option<ErrorNote>,
    /// The two clusters as the status sampler last reached them.
    pub clusters: Vec<ClusterSnapshot>,
    /// State and last error per component.
    pub components: Vec<ComponentSnapshot>,
    /// The configured connectors with their Connect state.
    pub connectors: Vec<ConnectorSnapshot>,
    /// Consumer-group rebalances this process took part in (assignments received).
    pub rebalances: u64,
    /// Milliseconds since the replication loop last came round (`None` before it started).
    pub replication_loop_ms_ago: Option<u64>,
    /// Sums over the partitions below.
    pub totals: Totals,
    /// Heartbeat-measured end-to-end latency.
    pub heartbeat: HeartbeatSnapshot,
    /// The source partitions this process replicates now.
    pub partitions: Vec<PartitionSnapshot>,
    /// Source partitions with records deleted before they could be replicated (assigned
    /// now or not).
    pub expired: Vec<ExpiredSnapshot>,
    /// The checkpointer's view of consumer groups and their translation, when it runs in this
    /// process (see [`crate::status::checkpoint`]).
    pub checkpointer: Option<CheckpointStatus>,
    /// MM2's `checkpoint-latency-ms` per group and partition.
    pub checkpoints: Vec<CheckpointSnapshot>,
}

/// One cluster of a flow.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterSnapshot {
    /// `source` or `target`.
    pub role: &'static str,
    /// Its alias.
    pub alias: String,
    /// Answered within the reachability window.
    pub reachable: bool,
    /// Milliseconds since it last answered, if ever.
    pub last_contact_ms_ago: Option<u64>,
    /// Its last error.
    pub last_error: Option<ErrorNote>,
}

/// One component of a flow.
#[derive(Debug, Clone, Serialize)]
pub struct ComponentSnapshot {
    /// Which.
    pub component: Component,
    /// Whether the configuration asks for it.
    pub configured: bool,
    /// Its state.
    pub state: ComponentState,
    /// Its last error, fatal or not.
    pub last_error: Option<ErrorNote>,
}

/// A connector with its Kafka Connect state.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectorSnapshot {
    /// Its name, as `/connectors` lists it.
    pub name: String,
    /// The component doing its work.
    pub component: Component,
    /// The Java class it stands for.
    pub class: &'static str,
    /// `tasks.max`.
    pub tasks_max: u32,
    /// Connect's state: `UNASSIGNED`, `RUNNING`, `FAILED` or `STOPPED`.
    pub state: &'static str,
    /// The error behind a `FAILED` state.
    pub trace: Option<String>,
}

/// Totals over a flow's partitions.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    /// Partitions assigned to this process.
    pub partitions: usize,
    /// Records acknowledged.
    pub records: u64,
    /// Value bytes read.
    pub bytes: u64,
    /// Records per second.
    pub record_rate: f64,
    /// Bytes per second.
    pub byte_rate: f64,
    /// Sum of lag in records (partitions with a known lag).
    pub lag_records: i64,
    /// The largest lag in seconds.
    pub max_lag_seconds: Option<f64>,
    /// Partitions stalled.
    pub stalled_partitions: usize,
    /// Partitions held at a record the target refused.
    pub blocked_partitions: usize,
    /// Records deleted on the source before they could be replicated, since start.
    pub records_expired: u64,
}

/// Heartbeat latency: replication latency of records of the heartbeats topics, i.e. from the
/// heartbeat's creation on the source side to its acknowledgement on the target.
#[derive(Debug, Clone, Serialize)]
pub struct HeartbeatSnapshot {
    /// The last heartbeat's latency.
    pub latency_ms: Option<u64>,
    /// Min/max/avg over MM2's metric window.
    pub window: Option<StatSummary>,
    /// When the last heartbeat was replicated, epoch milliseconds.
    pub last_ms: Option<u64>,
}

/// Latency-like statistics of a partition.
#[derive(Debug, Clone, Serialize)]
pub struct LatencySnapshot {
    /// The last value.
    pub last: Option<u64>,
    /// Min/max/avg over MM2's metric window.
    pub window: Option<StatSummary>,
}

/// One source partition.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionSnapshot {
    /// Source topic.
    pub topic: String,
    /// Remote topic on the target.
    pub remote_topic: String,
    /// Partition.
    pub partition: i32,
    /// Records acknowledged since assignment.
    pub records: u64,
    /// Value bytes read since assignment.
    pub bytes: u64,
    /// Records per second.
    pub record_rate: f64,
    /// Bytes per second.
    pub byte_rate: f64,
    /// The next upstream offset to replicate (progress).
    pub next_offset: Option<i64>,
    /// The source's end offset (last stable offset), as last sampled.
    pub end_offset: Option<i64>,
    /// The source's log start offset, as last sampled.
    pub log_start_offset: Option<i64>,
    /// `end_offset - next_offset`.
    pub lag_records: Option<i64>,
    /// See [`crate::status::lag`].
    pub lag_seconds: Option<f64>,
    /// Lagging without progress for longer than the stall limit.
    pub stalled: bool,
    /// Milliseconds since its position last moved (or it was assigned).
    pub last_progress_ms_ago: u64,
    /// MM2 `record-age-ms`.
    pub record_age_ms: LatencySnapshot,
    /// MM2 `replication-latency-ms`.
    pub replication_latency_ms: LatencySnapshot,
    /// Records the target refused since assignment.
    pub records_rejected: u64,
    /// Exactly-once: transactions committed since assignment (0 without exactly-once).
    pub transactions_committed: u64,
    /// Exactly-once: transactions aborted since assignment (their records are read again).
    pub transactions_aborted: u64,
    /// Source batches written to the target as they were stored, compressed, since
    /// assignment (`strait.source.reader=wire`; 0 otherwise).
    pub batches_passed: u64,
    /// Set while the partition is held at a refused record.
    pub blocked: Option<BlockedSnapshot>,
    /// Records of this partition deleted on the source before they could be replicated,
    /// since the process started.
    pub records_expired: u64,
}

/// A partition held at a record the target refused: nothing after it counts as replicated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlockedSnapshot {
    /// Source offset of the refused record.
    pub offset: i64,
    /// Why the target refused it.
    pub reason: String,
    /// Since when, epoch milliseconds.
    pub since_ms: u64,
    /// Retries made so far.
    pub attempts: u32,
    /// Whether a retry runs now (otherwise reading is paused until the next one).
    pub retrying: bool,
}

/// Records of one source partition deleted on the source (retention, delete-records) before
/// this flow could replicate them: they are not on the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpiredSnapshot {
    /// Source topic.
    pub topic: String,
    /// Remote topic on the target.
    pub remote_topic: String,
    /// Partition.
    pub partition: i32,
    /// Records (offsets) skipped in all since the process started.
    pub records: u64,
    /// The first offset of the last range skipped.
    pub last_first_offset: i64,
    /// The last offset of the last range skipped.
    pub last_last_offset: i64,
    /// When the last range was skipped, epoch milliseconds.
    pub last_at_ms: u64,
}

/// MM2's `checkpoint-latency-ms` of one group partition.
#[derive(Debug, Clone, Serialize)]
pub struct CheckpointSnapshot {
    /// The group.
    pub group: String,
    /// The topic (downstream name, as MM2 labels it).
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// Latency statistics.
    pub latency_ms: LatencySnapshot,
}
