//! The status sampler: every few seconds, per flow, asks the source cluster for the end and
//! start offsets of the partitions this process owns, checks that the target answers, and
//! derives rates and lag.
//!
//! Why a separate client and `ListOffsets` rather than librdkafka statistics or the
//! replication consumer's cached watermarks: it costs one batched request per source broker
//! per interval whatever the partition count, it stays off the replication thread, and it
//! keeps measuring when fetching is paused by backpressure or a stuck target, which is when
//! lag matters most (a consumer's own watermarks only move with its fetches). It also proves,
//! independently of traffic, that both clusters answer, which readiness needs.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::config::FlowConfig;
use crate::kafka::{ClientRole, client_config};
use crate::status::flow::FlowStatus;
use crate::status::lag::LagHistory;
use crate::status::partition::{PartitionId, UNKNOWN};
use crate::status::{ClusterRole, now_ms};
use tracing::Instrument;

/// How often the sampler runs.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(5);
/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Stops the sampler when dropped.
#[derive(Debug)]
pub struct SamplerGuard(tokio::task::JoinHandle<()>);

impl Drop for SamplerGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts sampling `flow` into `status` on the current Tokio runtime.
pub fn start(status: Arc<FlowStatus>, flow: &FlowConfig) -> SamplerGuard {
    let clients = Clients::new(flow).map(Arc::new);
    SamplerGuard(tokio::spawn(
        run(status, clients, SAMPLE_INTERVAL).in_current_span(),
    ))
}

struct Clients {
    source: BaseConsumer,
    target: BaseConsumer,
    /// Topic asked about on the target: the flow's offsets topic, which exists once it runs.
    target_probe: String,
    /// Topic asked about on the source when no partition is owned (an unknown topic is fine:
    /// the answer still proves the cluster is reachable and accepts our credentials).
    source_probe: String,
}

fn status_client(
    flow: &FlowConfig,
    role: ClientRole,
    conn: &crate::config::ClusterConnection,
) -> Result<BaseConsumer, String> {
    let mut cfg: ClientConfig =
        client_config(conn, &flow.name(), role).map_err(|e| e.to_string())?;
    cfg.set("client.id", format!("{}|status", flow.name()))
        // End offsets as the replication consumer sees them.
        .set("isolation.level", "read_committed")
        .set("allow.auto.create.topics", "false");
    cfg.create().map_err(|e: KafkaError| e.to_string())
}

impl Clients {
    fn new(flow: &FlowConfig) -> Result<Self, String> {
        Ok(Self {
            source: status_client(flow, ClientRole::SourceAdmin, &flow.source)?,
            target: status_client(flow, ClientRole::TargetAdmin, &flow.target)?,
            target_probe: flow.worker.offset_storage_topic.clone(),
            source_probe: "heartbeats".to_owned(),
        })
    }

    /// End and start offsets of `parts` on the source.
    fn source_offsets(&self, parts: &[Arc<PartitionId>]) -> Result<Offsets, String> {
        if parts.is_empty() {
            self.source
                .fetch_metadata(Some(&self.source_probe), REQUEST_TIMEOUT)
                .map_err(|e| e.to_string())?;
            return Ok(HashMap::new());
        }
        let ends = self.list_offsets(parts, Offset::End)?;
        let starts = self.list_offsets(parts, Offset::Beginning)?;
        Ok(ends
            .into_iter()
            .map(|(k, end)| {
                let start = starts.get(&k).copied().unwrap_or(UNKNOWN);
                (k, (start, end))
            })
            .collect())
    }

    /// One `ListOffsets` round (batched per leader by librdkafka): the special timestamps
    /// `End`/`Beginning` ask for the latest (last stable, under `read_committed`) and earliest
    /// offsets.
    fn list_offsets(
        &self,
        parts: &[Arc<PartitionId>],
        at: Offset,
    ) -> Result<HashMap<(Arc<str>, i32), i64>, String> {
        let mut tpl = TopicPartitionList::new();
        for p in parts {
            tpl.add_partition_offset(&p.topic, p.partition, at)
                .map_err(|e| e.to_string())?;
        }
        let answer = self
            .source
            .offsets_for_times(tpl, REQUEST_TIMEOUT)
            .map_err(|e| e.to_string())?;
        let by_name: HashMap<(&str, i32), &Arc<str>> = parts
            .iter()
            .map(|p| ((p.topic.as_ref(), p.partition), &p.topic))
            .collect();
        Ok(answer
            .elements()
            .iter()
            .filter_map(|e| {
                let Offset::Offset(o) = e.offset() else {
                    return None;
                };
                let topic = by_name.get(&(e.topic(), e.partition()))?;
                Some((((*topic).clone(), e.partition()), o))
            })
            .collect())
    }

    fn target_reachable(&self) -> Result<(), String> {
        self.target
            .fetch_metadata(Some(&self.target_probe), REQUEST_TIMEOUT)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

impl std::fmt::Debug for Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clients")
            .field("target_probe", &self.target_probe)
            .finish_non_exhaustive()
    }
}

/// (log start, end) per partition.
type Offsets = HashMap<(Arc<str>, i32), (i64, i64)>;

/// What the sampler keeps between rounds.
#[derive(Debug, Default)]
struct SamplerState {
    histories: HashMap<Arc<PartitionId>, LagHistory>,
    previous: HashMap<Arc<PartitionId>, (u64, u64, u64)>,
}

async fn run(status: Arc<FlowStatus>, clients: Result<Arc<Clients>, String>, every: Duration) {
    let clients = match clients {
        Ok(c) => c,
        Err(e) => {
            // Without clients there is nothing to sample; the flow itself reports the cause.
            let now = now_ms();
            status.cluster_error(ClusterRole::Source, e.clone(), now);
            status.cluster_error(ClusterRole::Target, e, now);
            return;
        }
    };
    let mut state = SamplerState::default();
    loop {
        let parts: Vec<Arc<PartitionId>> = status.partitions.active().map(|(id, _)| id).collect();
        let c = clients.clone();
        let observed =
            tokio::task::spawn_blocking(move || (c.source_offsets(&parts), c.target_reachable()))
                .await;
        let now = now_ms();
        match observed {
            Ok((source, target)) => {
                apply(&status, &mut state, source, target, now);
            }
            Err(e) => tracing::warn!(error = %e, "status sampler"),
        }
        tokio::time::sleep(every).await;
    }
}

fn apply(
    status: &FlowStatus,
    state: &mut SamplerState,
    source: Result<Offsets, String>,
    target: Result<(), String>,
    now: u64,
) {
    match source {
        Ok(offsets) => {
            status.cluster_ok(ClusterRole::Source, now);
            for (id, cell) in status.partitions.active() {
                if let Some((start, end)) = offsets.get(&(id.topic.clone(), id.partition)) {
                    cell.log_start.store(*start, Relaxed);
                    cell.high_watermark.store(*end, Relaxed);
                    cell.sampled_at_ms.store(now, Relaxed);
                }
            }
        }
        Err(e) => status.cluster_error(ClusterRole::Source, e, now),
    }
    match target {
        Ok(()) => status.cluster_ok(ClusterRole::Target, now),
        Err(e) => status.cluster_error(ClusterRole::Target, e, now),
    }
    let mut seen = Vec::new();
    for (id, cell) in status.partitions.active() {
        let records = cell.records.load(Relaxed);
        let bytes = cell.bytes.load(Relaxed);
        if let Some((t0, r0, b0)) = state.previous.insert(id.clone(), (now, records, bytes)) {
            let dt = now.saturating_sub(t0) as f64 / 1000.0;
            if dt > 0.0 {
                // Counters restart on reassignment: count from zero then.
                let dr = if records >= r0 { records - r0 } else { records };
                let db = if bytes >= b0 { bytes - b0 } else { bytes };
                cell.record_rate.store((dr as f64 / dt).to_bits(), Relaxed);
                cell.byte_rate.store((db as f64 / dt).to_bits(), Relaxed);
            }
        }
        let end = cell.high_watermark.load(Relaxed);
        if end != UNKNOWN {
            let history = state.histories.entry(id.clone()).or_default();
            history.observe(now, end);
            let last_ts = Some(cell.last_record_ts.load(Relaxed)).filter(|t| *t != UNKNOWN);
            let secs = status
                .effective_next(cell)
                .and_then(|next| history.lag_seconds(now, next, last_ts));
            cell.lag_seconds
                .store(secs.unwrap_or(f64::NAN).to_bits(), Relaxed);
        }
        seen.push(id);
    }
    state.histories.retain(|k, _| seen.contains(k));
    state.previous.retain(|k, _| seen.contains(k));
}
