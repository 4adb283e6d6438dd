//! Groups connectors into flows: connectors with the same source and target aliases form one
//! [`FlowConfig`], and must agree on the clusters and the replication policy.

use super::connector::{ConnectorConfig, ParsedConnector, same_servers};
use super::error::{ConfigError, Origin};
use super::source_reader;
use super::target_writer::{self, not_applied_by_wire};
use super::{ClusterConnection, FlowConfig, SourceReader, TargetWriter, WorkerConfig};

/// Builds the flows of one scope (a KafkaConnect, an `mm2.properties` flow, a native flow)
/// from its connectors; `worker` is the scope's Connect worker settings.
pub(crate) fn assemble(
    connectors: Vec<ParsedConnector>,
    worker: &WorkerConfig,
) -> Result<Vec<FlowConfig>, ConfigError> {
    let mut groups: Vec<Vec<ParsedConnector>> = Vec::new();
    for c in connectors {
        match groups
            .iter_mut()
            .find(|g| g[0].source_alias == c.source_alias && g[0].target_alias == c.target_alias)
        {
            Some(g) => g.push(c),
            None => groups.push(vec![c]),
        }
    }
    groups.into_iter().map(|g| flow(g, worker)).collect()
}

fn flow(
    connectors: Vec<ParsedConnector>,
    worker: &WorkerConfig,
) -> Result<FlowConfig, ConfigError> {
    let first = &connectors[0];
    let name = format!("{}->{}", first.source_alias, first.target_alias);
    let mut source_connector = None;
    let mut checkpoint_connector = None;
    let mut heartbeat_connector = None;
    let mut heartbeat_target: Option<ClusterConnection> = None;
    // The cluster connections of the first source/checkpoint connector, and which one set them.
    let mut clusters: Option<(ClusterConnection, ClusterConnection, &Origin)> = None;
    let mut heartbeat_source: Option<ClusterConnection> = None;
    let mut source_at: Option<&Origin> = None;

    for c in &connectors {
        if c.policy != first.policy {
            return Err(conflict(c, first, &name, "replication.policy.* settings"));
        }
        let duplicate = match &c.config {
            ConnectorConfig::Source(s) => {
                source_at = Some(&c.at);
                source_connector.replace(s.clone()).is_some()
            }
            ConnectorConfig::Checkpoint(s) => checkpoint_connector.replace(s.clone()).is_some(),
            ConnectorConfig::Heartbeat(s) => {
                heartbeat_target.clone_from(&c.target);
                heartbeat_source.clone_from(&c.source);
                heartbeat_connector.replace(s.clone()).is_some()
            }
        };
        if duplicate {
            return Err(ConfigError::invalid(
                c.at.clone(),
                format!(
                    "flow {name} already has a connector of this kind; a flow runs one of each"
                ),
            ));
        }
        if let (Some(source), Some(target)) = (&c.source, &c.target)
            && !matches!(c.config, ConnectorConfig::Heartbeat(_))
        {
            match &clusters {
                None => clusters = Some((source.clone(), target.clone(), &c.at)),
                Some((s, t, at)) => {
                    if !same_cluster(s, source) {
                        return Err(conflict_at(c, at, &name, "source.cluster.* connection"));
                    }
                    if !same_cluster(t, target) {
                        return Err(conflict_at(c, at, &name, "target.cluster.* connection"));
                    }
                }
            }
        }
    }
    if let (Some(s), Some(c)) = (&source_connector, &checkpoint_connector)
        && s.offset_syncs_topic_location != c.offset_syncs_topic_location
    {
        return Err(ConfigError::invalid(
            first.at.clone().with_key("offset-syncs.topic.location"),
            format!(
                "the source and checkpoint connectors of flow {name} must use the same offset-syncs.topic.location"
            ),
        ));
    }
    let (source, target) = match clusters {
        Some((s, t, _)) => (s, t),
        // A flow with only a heartbeat connector (MM2's reverse herders): heartbeats go to its
        // target cluster, which is then the flow's target.
        None => {
            let target = heartbeat_target.take().ok_or_else(|| {
                ConfigError::invalid(
                    first
                        .at
                        .clone()
                        .with_key("target.cluster.bootstrap.servers"),
                    format!(
                        "flow {name} has only a heartbeat connector, which names no cluster to \
                         write heartbeats to"
                    ),
                )
            })?;
            (heartbeat_source.unwrap_or_default(), target)
        }
    };
    if let (Some(sc), Some(at)) = (&source_connector, source_at)
        && sc.target_writer == TargetWriter::Wire
        && let Some(n) = not_applied_by_wire(&target, &sc.producer_overrides)
    {
        return Err(ConfigError::invalid(
            at.clone().with_key(target_writer::KEY),
            format!(
                "'wire' would not apply {n}: remove that setting, or set {} to auto or \
                 librdkafka",
                target_writer::KEY
            ),
        ));
    }
    if let (Some(sc), Some(at)) = (&source_connector, source_at)
        && sc.source_reader == SourceReader::Wire
    {
        let reader_error =
            |reason: String| ConfigError::invalid(at.clone().with_key(source_reader::KEY), reason);
        let writer = sc.writer_choice(&target);
        if writer.writer != TargetWriter::Wire {
            return Err(reader_error(format!(
                "'wire' needs Strait's own target writer, which writes the batches it reads, \
                 but the flow writes with librdkafka ({}): set this key to auto or librdkafka",
                writer.why
            )));
        }
        if let Some(k) = source_reader::not_applied_by_wire(&source, &sc.consumer_overrides) {
            return Err(reader_error(format!(
                "'wire' would not apply the source consumer setting {k}: remove that setting, \
                 or set this key to auto or librdkafka"
            )));
        }
    }
    if let Some(h) = &mut heartbeat_connector {
        h.heartbeats_cluster = heartbeat_target.filter(|t| !same_cluster(t, &target));
    }
    Ok(FlowConfig {
        source_alias: first.source_alias.clone(),
        target_alias: first.target_alias.clone(),
        source,
        target,
        policy: first.policy.clone(),
        worker: worker.clone(),
        source_connector,
        checkpoint_connector,
        heartbeat_connector,
    })
}

/// Whether two connections reach the same cluster the same way (brokers, protocol, user).
pub(crate) fn same_cluster(a: &ClusterConnection, b: &ClusterConnection) -> bool {
    same_servers(&a.bootstrap_servers, &b.bootstrap_servers)
        && a.security_protocol == b.security_protocol
        && a.sasl.as_ref().map(|s| (&s.username, s.mechanism))
            == b.sasl.as_ref().map(|s| (&s.username, s.mechanism))
}

fn conflict(c: &ParsedConnector, other: &ParsedConnector, flow: &str, what: &str) -> ConfigError {
    conflict_at(c, &other.at, flow, what)
}

fn conflict_at(c: &ParsedConnector, other: &Origin, flow: &str, what: &str) -> ConfigError {
    ConfigError::invalid(
        c.at.clone(),
        format!(
            "its {what} differ from those of {other}; all connectors of flow {flow} must agree"
        ),
    )
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::load_texts;

    fn connector(name: &str, class: &str, config: &str) -> String {
        format!(
            "apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaConnector\nmetadata:\n  name: {name}\n  labels:\n    \
             strimzi.io/cluster: c\nspec:\n  class: {class}\n  config:\n    source.cluster.alias: A\n    \
             target.cluster.alias: B\n{config}"
        )
    }

    const CONNECT: &str = "apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaConnect\nmetadata:\n  name: c\n  \
        annotations:\n    strimzi.io/use-connector-resources: \"true\"\nspec:\n  bootstrapServers: b:9092\n";
    const CLUSTERS: &str = "    source.cluster.bootstrap.servers: a:9092\n    target.cluster.bootstrap.servers: b:9092\n";

    #[test]
    fn connectors_must_agree() {
        let e = load_texts(&[
            ("connect.yaml", CONNECT),
            (
                "c.yaml",
                &format!(
                    "{}---\n{}",
                    connector("s", "MirrorSourceConnector", CLUSTERS),
                    connector(
                        "k",
                        "MirrorCheckpointConnector",
                        &format!("{CLUSTERS}    replication.policy.separator: _\n")
                    )
                ),
            ),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            e.contains(
                "(KafkaConnector k): its replication.policy.* settings differ from those of"
            ),
            "{e}"
        );
        let e = load_texts(&[
            ("connect.yaml", CONNECT),
            (
                "c.yaml",
                &format!(
                    "{}---\n{}",
                    connector("s", "MirrorSourceConnector", CLUSTERS),
                    connector(
                        "k",
                        "MirrorCheckpointConnector",
                        &format!("{CLUSTERS}    offset-syncs.topic.location: target\n")
                    )
                ),
            ),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("must use the same offset-syncs.topic.location"),
            "{e}"
        );
        let e = load_texts(&[
            ("connect.yaml", CONNECT),
            ("c.yaml", &connector("h", "MirrorHeartbeatConnector", "")),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("flow A->B has only a heartbeat connector, which names no cluster"),
            "{e}"
        );
    }

    /// A source connector's flow, loaded with `config` added to its keys.
    fn source_flow(config: &str) -> Result<crate::config::Loaded, crate::config::ConfigError> {
        load_texts(&[
            ("connect.yaml", CONNECT),
            (
                "c.yaml",
                &connector("s", "MirrorSourceConnector", &format!("{CLUSTERS}{config}")),
            ),
        ])
    }

    #[test]
    fn the_wire_writer_refuses_a_setting_it_would_not_apply_and_auto_falls_back() {
        use crate::config::TargetWriter;
        let e = source_flow(
            "    strait.target.writer: wire\n    producer.override.max.request.size: \"2097152\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("(KafkaConnector s), key 'strait.target.writer': 'wire' would not apply max.request.size (librdkafka's message.max.bytes, a producer setting)"),
            "{e}"
        );
        let e = source_flow(
            "    strait.target.writer: wire\n    target.cluster.connections.max.idle.ms: \"60000\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains(
                "'wire' would not apply connections.max.idle.ms (a target.cluster client setting)"
            ),
            "{e}"
        );
        // Without the explicit choice the same flow replicates with librdkafka, and says why.
        let l = source_flow("    producer.override.buffer.memory: \"33554432\"\n").unwrap();
        let flow = &l.config.flows[0];
        let sc = flow.source_connector.as_ref().unwrap();
        let choice = sc.writer_choice(&flow.target);
        assert_eq!(choice.writer, TargetWriter::Librdkafka);
        assert!(crate::config::describe(&l.config).contains(
            "target writer: librdkafka (buffer.memory (librdkafka's queue.buffering.max.kbytes, \
             a producer setting) is set, which only librdkafka's producer applies)"
        ));
        // Settings it applies keep it.
        let l = source_flow(
            "    producer.override.linger.ms: \"20\"\n    producer.override.batch.size: \"65536\"\n",
        )
        .unwrap();
        let flow = &l.config.flows[0];
        let sc = flow.source_connector.as_ref().unwrap();
        assert_eq!(sc.writer_choice(&flow.target).writer, TargetWriter::Wire);
        let e = source_flow("    strait.target.writer: fast\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("key 'strait.target.writer': 'fast' is not valid (expected auto, librdkafka or wire)"),
            "{e}"
        );
    }

    #[test]
    fn the_wire_reader_needs_the_wire_writer_and_refuses_a_fetch_setting_it_would_not_apply() {
        use crate::config::SourceReader;
        let l = source_flow("    strait.source.reader: wire\n").unwrap();
        let sc = l.config.flows[0].source_connector.as_ref().unwrap();
        assert_eq!(sc.source_reader, SourceReader::Wire);
        let e =
            source_flow("    strait.source.reader: wire\n    strait.target.writer: librdkafka\n")
                .unwrap_err()
                .to_string();
        assert!(
            e.contains("key 'strait.source.reader': 'wire' needs Strait's own target writer"),
            "{e}"
        );
        // A producer setting makes auto write with librdkafka, which cannot take batches.
        let e = source_flow(
            "    strait.source.reader: wire\n    producer.override.buffer.memory: \"33554432\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("but the flow writes with librdkafka (buffer.memory"),
            "{e}"
        );
        let e =
            source_flow("    strait.source.reader: wire\n    source.consumer.client.rack: \"a\"\n")
                .unwrap_err()
                .to_string();
        assert!(
            e.contains("'wire' would not apply the source consumer setting client.rack"),
            "{e}"
        );
        // auto reads with the fetcher exactly where wire would apply, and says why not.
        let auto = |config: &str| {
            let l = source_flow(config).unwrap();
            let f = &l.config.flows[0];
            let sc = f.source_connector.as_ref().unwrap();
            sc.reader_choice(&f.source, &f.target)
        };
        assert_eq!(auto("").reader, SourceReader::Wire);
        let c = auto("    source.consumer.client.rack: \"a\"\n");
        assert_eq!(c.reader, SourceReader::Librdkafka);
        assert_eq!(
            c.why,
            "client.rack is set, which only librdkafka's consumer applies"
        );
        // A connection setting of the source cluster is librdkafka's too.
        let c = auto("    source.cluster.connections.max.idle.ms: \"60000\"\n");
        assert_eq!(c.reader, SourceReader::Librdkafka);
        assert!(
            c.why.starts_with("connections.max.idle.ms is set"),
            "{}",
            c.why
        );
        // Settings it applies, and those of the group member, keep it.
        let c = auto(
            "    source.consumer.fetch.min.bytes: \"1\"\n    source.consumer.session.timeout.ms: \"30000\"\n",
        );
        assert_eq!(c.reader, SourceReader::Wire, "{}", c.why);
        let c = auto("    strait.target.writer: librdkafka\n");
        assert_eq!(c.reader, SourceReader::Librdkafka);
        assert!(
            c.why.starts_with("the flow writes with librdkafka"),
            "{}",
            c.why
        );
        let e = source_flow("    strait.source.reader: quick\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("key 'strait.source.reader': 'quick' is not valid (expected auto, librdkafka or wire)"),
            "{e}"
        );
    }

    #[test]
    fn heartbeat_only_flow_writes_to_its_target() {
        let l = load_texts(&[
            ("connect.yaml", CONNECT),
            (
                "c.yaml",
                &connector(
                    "h",
                    "MirrorHeartbeatConnector",
                    "    target.cluster.bootstrap.servers: b:9092\n",
                ),
            ),
        ])
        .unwrap();
        let f = &l.config.flows[0];
        assert_eq!(f.target.bootstrap_servers, "b:9092");
        assert!(f.source_connector.is_none() && f.checkpoint_connector.is_none());
        assert!(
            f.heartbeat_connector
                .as_ref()
                .unwrap()
                .heartbeats_cluster
                .is_none()
        );
    }
}
