//! What a checkpointer builds once per run and every leadership term ([`super::session`])
//! uses: the flow's planner, topic names and the clients of both clusters.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::ClientConfig;

use crate::config::{CheckpointConnectorConfig, ClusterConnection, FlowConfig};
use crate::kafka::internal_topic::ensure_compacted_topic;
use crate::kafka::{ClientRole, client_config};

use super::error::CheckpointError;
use super::group_offsets::GroupOffsets;
use super::kafka_groups::KafkaGroupOffsets;
use super::planner::Planner;

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
