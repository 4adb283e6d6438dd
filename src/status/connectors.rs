//! The flow's connectors as Kafka Connect would list them: name, class, tasks and the
//! non-secret part of their configuration, for the Connect-compatible REST endpoints.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::config::{FlowConfig, OffsetSyncsLocation};
use crate::policy::policy_class_name;
use crate::status::component::Component;

/// The converter MM2 deployments use, and the only one Strait accepts.
const BYTE_ARRAY_CONVERTER: &str = "org.apache.kafka.connect.converters.ByteArrayConverter";

/// One configured connector.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectorInfo {
    /// Its name (the KafkaConnector's `metadata.name`, or the class's simple name).
    pub name: String,
    /// The part of the flow that does its work.
    pub component: Component,
    /// The Java class it replaces.
    pub class: &'static str,
    /// `tasks.max`.
    pub tasks_max: u32,
    /// False when the configuration turns it off (`enabled=false`, heartbeats not emitted).
    pub enabled: bool,
    /// Its configuration as Connect would show it, without any secret: aliases, addresses,
    /// filters and intervals only, never credentials or truststore passwords.
    pub config: BTreeMap<String, String>,
}

fn secs(d: Duration) -> String {
    d.as_secs().to_string()
}

fn join(items: &[String]) -> String {
    items.join(",")
}

/// The connectors `flow` configures, source first.
pub fn connectors_of(flow: &FlowConfig) -> Vec<ConnectorInfo> {
    let mut base = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        base.insert(k.to_owned(), v);
    };
    put("source.cluster.alias", flow.source_alias.clone());
    put("target.cluster.alias", flow.target_alias.clone());
    put(
        "source.cluster.bootstrap.servers",
        flow.source.bootstrap_servers.clone(),
    );
    put(
        "target.cluster.bootstrap.servers",
        flow.target.bootstrap_servers.clone(),
    );
    put(
        "replication.policy.class",
        policy_class_name(flow.policy.kind).to_owned(),
    );
    put(
        "replication.policy.separator",
        flow.policy.separator.clone(),
    );
    put("key.converter", BYTE_ARRAY_CONVERTER.to_owned());
    put("value.converter", BYTE_ARRAY_CONVERTER.to_owned());

    let mut out = Vec::new();
    let mut make = |name: &str,
                    component: Component,
                    class: &'static str,
                    tasks_max: u32,
                    enabled: bool,
                    extra: Vec<(&str, String)>| {
        let mut config = base.clone();
        config.insert("name".to_owned(), name.to_owned());
        config.insert("connector.class".to_owned(), class.to_owned());
        config.insert("tasks.max".to_owned(), tasks_max.to_string());
        for (k, v) in extra {
            config.insert(k.to_owned(), v);
        }
        out.push(ConnectorInfo {
            name: name.to_owned(),
            component,
            class,
            tasks_max,
            enabled,
            config,
        });
    };
    if let Some(sc) = &flow.source_connector {
        let location = match sc.offset_syncs_topic_location {
            OffsetSyncsLocation::Source => "source",
            OffsetSyncsLocation::Target => "target",
        };
        make(
            &sc.name,
            Component::Source,
            "org.apache.kafka.connect.mirror.MirrorSourceConnector",
            sc.tasks_max,
            sc.enabled,
            vec![
                ("topics", join(&sc.topics)),
                ("topics.exclude", join(&sc.topics_exclude)),
                (
                    "refresh.topics.interval.seconds",
                    secs(sc.refresh_topics_interval),
                ),
                ("offset.lag.max", sc.offset_lag_max.to_string()),
                ("offset-syncs.topic.location", location.to_owned()),
                (
                    "emit.offset-syncs.enabled",
                    sc.emit_offset_syncs_enabled.to_string(),
                ),
            ],
        );
    }
    if let Some(cc) = &flow.checkpoint_connector {
        make(
            &cc.name,
            Component::Checkpoint,
            "org.apache.kafka.connect.mirror.MirrorCheckpointConnector",
            cc.tasks_max,
            cc.enabled,
            vec![
                ("topics", join(&cc.topics)),
                ("groups", join(&cc.groups)),
                ("groups.exclude", join(&cc.groups_exclude)),
                (
                    "emit.checkpoints.interval.seconds",
                    secs(cc.emit_checkpoints_interval),
                ),
                (
                    "sync.group.offsets.enabled",
                    cc.sync_group_offsets_enabled.to_string(),
                ),
            ],
        );
    }
    if let Some(hc) = &flow.heartbeat_connector {
        make(
            &hc.name,
            Component::Heartbeat,
            "org.apache.kafka.connect.mirror.MirrorHeartbeatConnector",
            1,
            hc.emit_heartbeats_enabled,
            vec![(
                "emit.heartbeats.interval.seconds",
                secs(hc.emit_heartbeats_interval),
            )],
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::test_support::seed_like_flow;

    #[test]
    fn lists_the_three_connectors_without_secrets() {
        let cs = connectors_of(&seed_like_flow());
        let names: Vec<_> = cs.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "mirror-source-connector",
                "mirror-checkpoint-connector",
                "mirror-heartbeat-connector"
            ]
        );
        assert_eq!(cs[0].config["tasks.max"], "3");
        assert_eq!(cs[0].config["source.cluster.alias"], "uswest");
        let all = format!("{cs:?}");
        assert!(!all.contains("very-secret-pw"));
    }
}
