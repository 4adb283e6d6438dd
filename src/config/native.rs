//! Strait's own YAML (documented key by key in `docs/config.md`): a list of flows, each with
//! its two clusters as Java client properties and MM2's connector keys, so nothing new has to
//! be learnt by MM2 users. Values may use the providers `env`, `file`, `dir`, `cfmap` and
//! `secret` (the last two read ConfigMaps and Secrets given with `-f`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::client_props::ClientContext;
use super::connector::{self, ConnectorInput, ConnectorKind};
use super::error::{ConfigError, ConfigWarning, Origin};
use super::key_reader::KeyReader;
use super::providers::ObjectKind;
use super::providers::{
    ProviderEnv, Providers, directory::DirectoryProvider, env::EnvVarProvider, file::FileProvider,
    kubernetes::KubernetesProvider,
};
use super::suggest::unknown_key_message;
use super::worker::{self, WorkerDefaults};
use super::{FlowConfig, flows, yaml};

/// The file's top level.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NativeFile {
    flows: Vec<Map<String, Value>>,
}

/// Keys of a flow that are not MM2 connector keys.
const FLOW_SECTIONS: &[&str] = &[
    "source",
    "target",
    "connectors",
    "source_connector",
    "checkpoint_connector",
    "heartbeat_connector",
    "worker",
];

/// A `(key, value, key as written)` entry before resolution.
type Raw = (String, String, String);

/// The providers native files may use.
fn providers(env: &ProviderEnv) -> Result<Providers, String> {
    let none = BTreeMap::new();
    let mut p = Providers::new();
    p.insert("env", Box::new(EnvVarProvider::new(&none, env)?));
    p.insert("file", Box::new(FileProvider::new(&none, env)?));
    p.insert("dir", Box::new(DirectoryProvider::new(&none)?));
    p.insert(
        "cfmap",
        Box::new(KubernetesProvider::new(ObjectKind::ConfigMap, &none, env)),
    );
    p.insert(
        "secret",
        Box::new(KubernetesProvider::new(ObjectKind::Secret, &none, env)),
    );
    Ok(p)
}

/// Whether a YAML document is a Strait file (has `flows`).
pub(crate) fn is_native(doc: &Value) -> bool {
    doc.get("flows").is_some()
}

/// Reads the flows of a Strait YAML file.
pub(crate) fn read(
    text: &str,
    path: &Path,
    env: &ProviderEnv,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<Vec<FlowConfig>, ConfigError> {
    let options = serde_saphyr::options! { with_snippet: false };
    let file: NativeFile =
        serde_saphyr::from_str_with_options(text, options).map_err(|e| ConfigError::Syntax {
            at: Box::new(Origin::file(path)),
            reason: e.to_string(),
        })?;
    let providers = providers(env).map_err(|e| ConfigError::invalid(Origin::file(path), e))?;
    let mut out = Vec::new();
    for (i, flow) in file.flows.iter().enumerate() {
        let at = Origin::file(path).with_object(format!("flow {}", i + 1));
        out.extend(read_flow(flow, &at, &providers, warnings)?);
    }
    Ok(out)
}

fn read_flow(
    flow: &Map<String, Value>,
    at: &Origin,
    providers: &Providers,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<Vec<FlowConfig>, ConfigError> {
    let section = |name: &str, required: bool| -> Result<Vec<(String, String)>, ConfigError> {
        match flow.get(name) {
            None if required => Err(ConfigError::invalid(
                at.clone().with_key(name),
                "is required",
            )),
            None => Ok(Vec::new()),
            Some(Value::Object(map)) => entries(map, name, at),
            Some(other) => Err(ConfigError::invalid(
                at.clone().with_key(name),
                format!("must be a mapping, not {}", yaml::type_name(other)),
            )),
        }
    };
    let cluster = |side: &str| -> Result<Vec<Raw>, ConfigError> {
        Ok(section(side, true)?
            .into_iter()
            .map(|(k, v)| {
                let key = if k == "alias" {
                    format!("{side}.cluster.alias")
                } else {
                    format!("{side}.cluster.{k}")
                };
                (key, v, format!("{side}.{k}"))
            })
            .collect())
    };
    let source = cluster("source")?;
    let target = cluster("target")?;
    let shared: Vec<Raw> = flow
        .iter()
        .filter(|(k, _)| !FLOW_SECTIONS.contains(&k.as_str()))
        .map(|(k, v)| Ok((k.clone(), value(v, k, at)?, k.clone())))
        .collect::<Result<_, ConfigError>>()?;

    let worker = {
        let raw: Vec<Raw> = section("worker", false)?
            .into_iter()
            .map(|(k, v)| (k.clone(), v, format!("worker.{k}")))
            .collect();
        let settings = resolve(providers, &raw, at)?;
        let r = KeyReader::new(&settings, at.clone());
        let source_alias = source
            .iter()
            .find(|(k, _, _)| k == "source.cluster.alias")
            .map(|(_, v, _)| providers.resolve(v).map(|r| r.value).unwrap_or_default())
            .unwrap_or_default();
        let parsed = worker::parse(&r, WorkerDefaults::mm2(&source_alias))?;
        for key in r.unused() {
            warnings.push(ConfigWarning::new(
                r.at(key),
                unknown_key_message(key, "worker key", worker::KEYS.iter().copied()),
            ));
        }
        parsed
    };

    let mut parsed = Vec::new();
    for kind in connectors(flow, at)? {
        let section_name = match kind {
            ConnectorKind::Source => "source_connector",
            ConnectorKind::Checkpoint => "checkpoint_connector",
            ConnectorKind::Heartbeat => "heartbeat_connector",
        };
        let mut name = kind.simple_name().to_owned();
        let mut heartbeats_to_source = false;
        let mut own: Vec<Raw> = Vec::new();
        for (k, v) in section(section_name, false)? {
            match (k.as_str(), kind) {
                ("name", _) => name = v,
                ("cluster", ConnectorKind::Heartbeat) => match v.as_str() {
                    "source" => heartbeats_to_source = true,
                    "target" => {}
                    other => {
                        return Err(ConfigError::invalid(
                            at.clone().with_key(format!("{section_name}.cluster")),
                            format!("'{other}' is not valid (expected source or target)"),
                        ));
                    }
                },
                _ => own.push((k.clone(), v, format!("{section_name}.{k}"))),
            }
        }
        let mut raw: Vec<Raw> = shared.clone();
        raw.extend(source.iter().cloned());
        if heartbeats_to_source {
            // Heartbeats go to the source cluster: its connection becomes the heartbeat
            // connector's target.cluster.*, as the seed's KafkaConnector does.
            raw.extend(
                target
                    .iter()
                    .filter(|(k, _, _)| k == "target.cluster.alias")
                    .cloned(),
            );
            raw.extend(
                source
                    .iter()
                    .filter(|(k, _, _)| k != "source.cluster.alias")
                    .map(|(k, v, w)| (k.replacen("source.", "target.", 1), v.clone(), w.clone())),
            );
        } else {
            raw.extend(target.iter().cloned());
        }
        raw.extend(own);
        let settings = resolve(providers, &raw, at)?;
        let ctx = ClientContext::default();
        let input = ConnectorInput {
            kind,
            name,
            settings: &settings,
            at: at.clone().with_object(format!(
                "{} ({section_name})",
                at.object.clone().unwrap_or_default()
            )),
            ctx: &ctx,
            worker: &worker,
        };
        parsed.push(connector::parse(&input, warnings)?);
    }
    flows::assemble(parsed, &worker.config)
}

/// Resolves raw entries; later entries win, so sections override flow-level keys.
fn resolve(
    providers: &Providers,
    raw: &[Raw],
    at: &Origin,
) -> Result<super::settings::Settings, ConfigError> {
    let mut last: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    for (k, v, w) in raw {
        last.insert(k, (v, w));
    }
    providers.resolve_all(last.into_iter().map(|(k, (v, w))| (k, v, w)), at)
}

fn connectors(flow: &Map<String, Value>, at: &Origin) -> Result<Vec<ConnectorKind>, ConfigError> {
    let Some(list) = flow.get("connectors") else {
        return Ok(ConnectorKind::ALL.to_vec());
    };
    let items = list.as_array().ok_or_else(|| {
        ConfigError::invalid(
            at.clone().with_key("connectors"),
            "must be a list (source, checkpoint, heartbeat)",
        )
    })?;
    items
        .iter()
        .map(|item| match yaml::scalar(item).as_deref() {
            Some("source") => Ok(ConnectorKind::Source),
            Some("checkpoint") => Ok(ConnectorKind::Checkpoint),
            Some("heartbeat") => Ok(ConnectorKind::Heartbeat),
            _ => Err(ConfigError::invalid(
                at.clone().with_key("connectors"),
                format!("{item} is not a connector (expected source, checkpoint or heartbeat)"),
            )),
        })
        .collect()
}

/// The entries of a mapping section, values as strings.
fn entries(
    map: &Map<String, Value>,
    section: &str,
    at: &Origin,
) -> Result<Vec<(String, String)>, ConfigError> {
    map.iter()
        .map(|(k, v)| Ok((k.clone(), value(v, &format!("{section}.{k}"), at)?)))
        .collect()
}

/// A value as Kafka configuration text: scalars as written, lists joined with `, ` (Kafka's
/// LIST syntax).
fn value(v: &Value, key: &str, at: &Origin) -> Result<String, ConfigError> {
    if let Some(s) = yaml::scalar(v) {
        return Ok(s);
    }
    let bad = |what: &str| ConfigError::invalid(at.clone().with_key(key), what.to_owned());
    match v {
        Value::Array(items) => items
            .iter()
            .map(|i| yaml::scalar(i).ok_or_else(|| bad("list items must be plain values")))
            .collect::<Result<Vec<_>, _>>()
            .map(|v| v.join(", ")),
        Value::Null => Err(bad("has no value")),
        other => Err(bad(&format!(
            "must be a plain value or a list, not {}",
            yaml::type_name(other)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::load_texts;
    use crate::config::{ExactlyOnceConfig, Loaded, PolicyKind};
    use std::time::Duration;

    const MINIMAL: &str = "flows:\n  - source: {alias: A, bootstrap.servers: 'a:9092'}\n    target: {alias: B, bootstrap.servers: 'b:9092'}\n";

    fn load(extra: &str) -> Loaded {
        load_texts(&[("strait.yaml", &format!("{MINIMAL}{extra}"))]).unwrap()
    }

    #[test]
    fn minimal_flow_has_mm2_defaults() {
        let l = load("");
        let f = &l.config.flows[0];
        assert_eq!(f.name(), "A->B");
        assert_eq!(f.worker.group_id, "A-mm2");
        assert_eq!(f.worker.offset_storage_topic, "mm2-offsets.A.internal");
        assert_eq!(
            f.source_connector.as_ref().unwrap().name,
            "MirrorSourceConnector"
        );
        assert!(f.checkpoint_connector.is_some());
        assert!(
            f.heartbeat_connector
                .as_ref()
                .unwrap()
                .heartbeats_cluster
                .is_none()
        );
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    }

    #[test]
    fn sections_override_flow_keys() {
        let l = load(
            "    connectors: [source]\n    topics: [a.*, b]\n    emit.checkpoints.interval.seconds: 5\n    \
             replication.policy.class: IdentityReplicationPolicy\n    sync.topic.acls.enabled: false\n    \
             source_connector:\n      topics: ${env:STRAIT_TEST_VAR}\n      strait.max.in.flight.bytes: 1024\n",
        );
        let f = &l.config.flows[0];
        assert!(f.checkpoint_connector.is_none() && f.heartbeat_connector.is_none());
        let s = f.source_connector.as_ref().unwrap();
        assert_eq!(s.topics, vec!["from-env"]);
        assert!(!s.sync_topic_acls_enabled);
        assert_eq!(s.max_in_flight_bytes, 1024);
        assert_eq!(f.policy.kind, PolicyKind::Identity);
        assert_eq!(s.refresh_topics_interval, Duration::from_secs(600));
    }

    #[test]
    fn exactly_once_from_the_worker_section_or_the_source_connector() {
        let l = load(
            "    worker:\n      group.id: repl\n      exactly.once.source.support: enabled\n    \
             source_connector:\n      name: mirror-source\n      transaction.boundary: interval\n      \
             transaction.boundary.interval.ms: 2000\n",
        );
        assert_eq!(
            l.config.flows[0]
                .source_connector
                .as_ref()
                .unwrap()
                .exactly_once,
            Some(ExactlyOnceConfig {
                transactional_id_prefix: "repl-mirror-source".to_owned(),
                commit_interval: Duration::from_secs(2),
                transaction_timeout: Duration::from_secs(60),
                required: false,
            })
        );
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
        // Flow-level keys reach all three connectors; only the source connector reads these.
        let l = load(
            "    strait.exactly.once.enabled: true\n    exactly.once.support: required\n    \
             source_connector:\n      strait.transactional.id.prefix: eu-to-us\n      \
             target.producer.transaction.timeout.ms: 900000\n",
        );
        assert_eq!(
            l.config.flows[0]
                .source_connector
                .as_ref()
                .unwrap()
                .exactly_once,
            Some(ExactlyOnceConfig {
                transactional_id_prefix: "eu-to-us".to_owned(),
                commit_interval: Duration::from_millis(100),
                transaction_timeout: Duration::from_secs(900),
                required: true,
            })
        );
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
        let e = load_texts(&[(
            "strait.yaml",
            &format!("{MINIMAL}    source_connector:\n      exactly.once.support: required\n"),
        )])
        .unwrap_err()
        .to_string();
        assert!(
            e.contains(
                "strait.yaml (flow 1 (source_connector)), key 'exactly.once.support' (set as \
                 'source_connector.exactly.once.support'): 'required' needs exactly-once replication"
            ),
            "{e}"
        );
    }

    #[test]
    fn invalid_native_files() {
        let cases: &[(&str, &str)] = &[
            (
                "flows:\n  - source: x\n    target: {alias: B, bootstrap.servers: 'b:1'}\n",
                "(flow 1), key 'source': must be a mapping, not a string",
            ),
            (
                "flows:\n  - source: {alias: A, bootstrap.servers: 'a:1'}\n    target: {bootstrap.servers: 'b:1'}\n    topics: {a: 1}\n",
                "(flow 1), key 'topics': must be a plain value or a list, not a mapping",
            ),
            (
                "flows:\n  - source: {alias: A, bootstrap.servers: 'a:1'}\n    target: {alias: B, bootstrap.servers: 'b:1'}\n    worker: {group.idd: x}\n",
                "",
            ),
            (
                "flows:\n  - source: {alias: A, bootstrap.servers: 'a:1'}\n    target: {alias: B, bootstrap.servers: 'b:1'}\n    groups:\n",
                "(flow 1), key 'groups': has no value",
            ),
            (
                "flows:\n  - source: {alias: A, bootstrap.servers: 'a:1'}\n    target: {alias: A, bootstrap.servers: 'b:1'}\n",
                "source and target aliases are both 'A'",
            ),
            ("flows: [\n", "strait.yaml: syntax error"),
        ];
        for (text, expected) in cases {
            match load_texts(&[("strait.yaml", text)]) {
                Ok(l) => {
                    assert!(expected.is_empty(), "{text} loaded");
                    let w: Vec<String> = l.warnings.iter().map(ToString::to_string).collect();
                    assert!(
                        w.iter().any(|w| w.contains(
                            "unknown worker key 'group.idd' ignored (closest known key: 'group.id')"
                        )),
                        "{w:#?}"
                    );
                }
                Err(e) => assert!(
                    e.to_string().contains(expected),
                    "{e}\nexpected: {expected}"
                ),
            }
        }
    }
}
