//! The running checkpointer of one flow (MM2's MirrorCheckpointConnector and its task): set up
//! clients and the checkpoints topic, then, while this process leads the flow, run
//! [`Session`]s that list groups, emit checkpoints and sync target groups on their intervals.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::ClientConfig;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::config::{CheckpointConnectorConfig, ClusterConnection, FlowConfig};
use crate::kafka::{ClientRole, client_config};
use crate::status::FlowStatus;

use super::error::CheckpointError;
use super::group_offsets::GroupOffsets;
use super::internal_topic::ensure_compacted_topic;
use super::kafka_groups::KafkaGroupOffsets;
use super::planner::Planner;
use super::session::{Ended, Session};
use super::status::{self, CheckpointStatusHandle};

/// MM2's `admin.timeout.ms` default: the bound of every admin call.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(60);

/// Everything a session needs, built once per run.
#[derive(Debug)]
pub(crate) struct Setup {
    pub(crate) flow: String,
    pub(crate) cc: CheckpointConnectorConfig,
    pub(crate) planner: Planner,
    pub(crate) checkpoints_topic: String,
    pub(crate) syncs_topic: String,
    pub(crate) syncs_config: ClientConfig,
    pub(crate) target_consumer: ClientConfig,
    pub(crate) target_producer: ClientConfig,
    pub(crate) source_groups: Arc<dyn GroupOffsets>,
    pub(crate) target_groups: Arc<dyn GroupOffsets>,
}

/// A client configuration for `role` on `conn`, named as MM2 names its clients
/// (`<source>-><target>|<connector>|<role>`).
pub(crate) fn role_config(
    conn: &ClusterConnection,
    flow: &str,
    connector: &str,
    role: &str,
) -> Result<ClientConfig, CheckpointError> {
    let mut cfg = client_config(conn, flow, ClientRole::TargetAdmin)?;
    cfg.set("client.id", format!("{flow}|{connector}|{role}"));
    Ok(cfg)
}

impl Setup {
    /// Clients, names and the checkpoints topic of `flow`'s checkpoint connector `cc`.
    pub(crate) async fn new(
        flow: &FlowConfig,
        cc: &CheckpointConnectorConfig,
    ) -> Result<Self, CheckpointError> {
        let name = flow.name();
        let planner = Planner::new(flow, cc)?;
        let checkpoints_topic = planner.checkpoints_topic();
        let (syncs_topic, syncs_on_target) =
            planner.offset_syncs_topic(cc.offset_syncs_topic_location);
        let (syncs_conn, syncs_role) = if syncs_on_target {
            (&flow.target, "offset-syncs-target-consumer")
        } else {
            (&flow.source, "offset-syncs-source-consumer")
        };
        let target_admin = role_config(&flow.target, &name, &cc.name, "checkpoint-target-admin")?;
        let source_admin = role_config(&flow.source, &name, &cc.name, "checkpoint-source-admin")?;
        let mut target_producer =
            role_config(&flow.target, &name, &cc.name, "checkpoints-target-producer")?;
        target_producer.set("acks", "all").set("linger.ms", "5");
        ensure_compacted_topic(
            &target_admin,
            &checkpoints_topic,
            cc.checkpoints_topic_replication_factor,
        )
        .await?;
        let client = |what| move |source| CheckpointError::Client { what, source };
        Ok(Self {
            flow: name.clone(),
            cc: cc.clone(),
            planner,
            checkpoints_topic,
            syncs_topic,
            syncs_config: role_config(syncs_conn, &name, &cc.name, syncs_role)?,
            target_consumer: role_config(
                &flow.target,
                &name,
                &cc.name,
                "checkpoints-target-consumer",
            )?,
            target_producer,
            source_groups: Arc::new(
                KafkaGroupOffsets::new(&source_admin, "source", ADMIN_TIMEOUT)
                    .map_err(client("source admin client"))?,
            ),
            target_groups: Arc::new(
                KafkaGroupOffsets::new(&target_admin, "target", ADMIN_TIMEOUT)
                    .map_err(client("target admin client"))?,
            ),
        })
    }
}

/// Runs `flow`'s checkpointer until `stop` turns true. It works only while `leader` is true
/// (one process per flow, elected like the source side's singleton duties) and publishes what
/// it does in `status`, which is also registered for [`status::snapshots`] while it runs.
/// Checkpoint acknowledgement latencies go to `flow_status` (the metrics), when given.
///
/// Returns at once when the flow has no enabled checkpoint connector or
/// `emit.checkpoints.enabled` is false (MM2 then runs no checkpoint task either).
pub async fn run_checkpointer(
    flow: FlowConfig,
    mut leader: watch::Receiver<bool>,
    mut stop: watch::Receiver<bool>,
    status: CheckpointStatusHandle,
    flow_status: Option<Arc<FlowStatus>>,
) -> Result<(), CheckpointError> {
    let Some(cc) = flow.checkpoint_connector.clone().filter(|c| c.enabled) else {
        return Ok(());
    };
    if !cc.emit_checkpoints_enabled {
        tracing::info!(flow = %flow.name(), "emit.checkpoints.enabled is false: no checkpoints");
        return Ok(());
    }
    let setup = Setup::new(&flow, &cc).await?;
    let _registration = status::register(&status);
    status.update(|s| {
        s.flow = setup.flow.clone();
        s.checkpoints_topic = setup.checkpoints_topic.clone();
        s.offset_syncs_topic = setup.syncs_topic.clone();
        s.group_sync_enabled = cc.sync_group_offsets_enabled;
    });
    tracing::info!(flow = %setup.flow, checkpoints = %setup.checkpoints_topic,
        offset_syncs = %setup.syncs_topic, sync_group_offsets = cc.sync_group_offsets_enabled,
        "checkpointer ready; runs while this process leads the flow");
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            r = leader.wait_for(|l| *l) => if r.is_err() { break },
        }
        status.update(|s| s.active = true);
        let ended = Session::start(&setup, &status, flow_status.clone())
            .await?
            .run(&mut leader, &mut stop)
            .await;
        if let Some(fs) = &flow_status {
            fs.clear_checkpoint_latencies();
        }
        status.update(|s| s.active = false);
        if ended == Ended::Stopped || *stop.borrow() {
            break;
        }
        tracing::info!(flow = %setup.flow, "checkpointer paused: another process leads the flow");
    }
    Ok(())
}

/// Sleeps until `at`, or forever when `None`.
pub(crate) async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
