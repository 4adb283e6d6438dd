//! The heartbeat emitter of one flow (MM2's MirrorHeartbeatConnector and its single task).

use rdkafka::error::KafkaError;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use crate::config::FlowConfig;
use crate::config::truststore::TruststoreError;
use crate::kafka::internal_topic::{TopicCreateError, ensure_compacted_topic};
use crate::kafka::polled_producer::{AckContext, AckedRecord, PolledProducer};
use crate::kafka::{ClientRole, client_config};
use crate::policy::ReplicationPolicy;
use crate::status::checkpoint::now_ms;
use crate::wire::{Heartbeat, WireError};

/// Why heartbeats could not be emitted at all.
#[derive(Debug, thiserror::Error)]
pub enum HeartbeatError {
    /// The truststore could not be read.
    #[error(transparent)]
    Truststore(#[from] TruststoreError),
    /// The heartbeats topic could not be created.
    #[error(transparent)]
    Topic(#[from] TopicCreateError),
    /// The producer could not be created.
    #[error("cannot create the heartbeats producer: {0}")]
    Client(#[source] KafkaError),
    /// An alias is too long for MM2's format.
    #[error(transparent)]
    Wire(#[from] WireError),
}

/// Emits `flow`'s heartbeats until `stop` turns true, while `leader` is true (one process per
/// flow emits). Heartbeats go to partition 0 of `heartbeats` on the cluster the heartbeat
/// connector names (`heartbeats_cluster`, else the flow's target), created like MM2 does
/// (compacted, one partition), with the record timestamp equal to the heartbeat's.
///
/// Returns at once when the flow has no heartbeat connector; with `emit.heartbeats.enabled`
/// false it only creates the topic, as MM2's connector does.
pub async fn run_heartbeats(
    flow: FlowConfig,
    leader: watch::Receiver<bool>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), HeartbeatError> {
    let Some(hc) = flow.heartbeat_connector.clone() else {
        return Ok(());
    };
    let name = flow.name();
    let cluster = hc.heartbeats_cluster.as_ref().unwrap_or(&flow.target);
    let mut cfg = client_config(cluster, &name, ClientRole::TargetAdmin)?;
    cfg.set(
        "client.id",
        format!("{name}|{}|heartbeats-target-admin", hc.name),
    );
    let topic = ReplicationPolicy::new(&flow.policy, &flow.source_alias)
        .heartbeats_topic()
        .to_owned();
    ensure_compacted_topic(&cfg, &topic, hc.heartbeats_topic_replication_factor).await?;
    if !hc.emit_heartbeats_enabled {
        tracing::info!("emit.heartbeats.enabled is false: no heartbeats");
        return Ok(());
    }
    cfg.set(
        "client.id",
        format!("{name}|{}|heartbeats-producer", hc.name),
    )
    .set("acks", "all")
    .set("linger.ms", "0");
    let producer = PolledProducer::create(&cfg, AckContext).map_err(HeartbeatError::Client)?;
    let key = Heartbeat {
        source_alias: flow.source_alias.clone(),
        target_alias: flow.target_alias.clone(),
        timestamp_ms: 0,
    }
    .encode_key()?;
    tracing::info!(%topic, servers = %cluster.bootstrap_servers,
        interval = ?hc.emit_heartbeats_interval, "emitting heartbeats while this process leads the flow");
    let mut ticks = tokio::time::interval(hc.emit_heartbeats_interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            _ = ticks.tick() => {}
        }
        if !*leader.borrow() {
            continue;
        }
        let timestamp_ms = now_ms();
        let value = Heartbeat {
            source_alias: flow.source_alias.clone(),
            target_alias: flow.target_alias.clone(),
            timestamp_ms,
        }
        .encode_value();
        let record = AckedRecord {
            topic: &topic,
            partition: 0,
            key: &key,
            value: &value,
            timestamp: timestamp_ms,
        };
        let written = match producer.send_acked(record) {
            Ok(ack) => ack.await.unwrap_or(Err(KafkaError::Canceled)),
            Err(e) => Err(e),
        };
        match written {
            Ok(()) if failing => {
                failing = false;
                tracing::info!(%topic, "heartbeats are written again");
            }
            Ok(()) => {}
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(%topic, error = %e, "writing a heartbeat failed; retrying");
            }
            Err(_) => {}
        }
    }
    Ok(())
}
