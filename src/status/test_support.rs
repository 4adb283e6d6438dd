//! Test helpers of the status module.

use crate::config::{
    CheckpointConnectorConfig, ClusterConnection, FlowConfig, HeartbeatConnectorConfig,
    PolicyConfig, Sasl, SaslMechanism, Secret, SourceConnectorConfig, WorkerConfig,
};

/// A flow shaped like the seed's: three named connectors, a secret password.
pub(crate) fn seed_like_flow() -> FlowConfig {
    let conn = ClusterConnection {
        bootstrap_servers: "b:9093".into(),
        sasl: Some(Sasl {
            mechanism: SaslMechanism::Plain,
            username: "u".into(),
            password: Secret::new("very-secret-pw"),
        }),
        ..ClusterConnection::default()
    };
    FlowConfig {
        source_alias: "uswest".into(),
        target_alias: "useast".into(),
        source: conn.clone(),
        target: conn,
        policy: PolicyConfig::default(),
        worker: WorkerConfig {
            offset_storage_topic: "o".into(),
            offset_storage_partitions: 1,
            offset_storage_replication_factor: 1,
            group_id: "g".into(),
        },
        source_connector: Some(SourceConnectorConfig {
            name: "mirror-source-connector".into(),
            tasks_max: 3,
            ..SourceConnectorConfig::default()
        }),
        checkpoint_connector: Some(CheckpointConnectorConfig {
            name: "mirror-checkpoint-connector".into(),
            ..CheckpointConnectorConfig::default()
        }),
        heartbeat_connector: Some(HeartbeatConnectorConfig {
            name: "mirror-heartbeat-connector".into(),
            ..HeartbeatConnectorConfig::default()
        }),
    }
}
