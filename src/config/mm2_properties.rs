//! MM2 dedicated mode's `mm2.properties`: `clusters`, per-cluster `<alias>.<key>`, per-flow
//! `<source>-><target>.<key>` and top-level defaults, combined with MM2's precedence into one
//! configuration per connector, then read like any connector configuration.
//!
//! As in MM2, every ordered pair of clusters gets a flow when `A->B.enabled=true` or when
//! heartbeats are on (`emit.heartbeats.enabled`, default true): a disabled pair still emits
//! heartbeats into its target, which is how `heartbeats` appears on a source cluster.

use std::collections::BTreeMap;
use std::path::Path;

use super::client_keys::client_key;
use super::client_props::{ClientContext, is_connection_key};
use super::connector::{self, ConnectorInput, ConnectorKind};
use super::connector_keys::{self, is_connector_key};
use super::error::{ConfigError, ConfigWarning, Origin};
use super::key_reader::{KeyReader, split_list};
use super::properties::Properties;
use super::providers::{ProviderEnv, Providers};
use super::suggest::unknown_key_message;
use super::worker::{self, WorkerDefaults};
use super::{FlowConfig, flows};

/// Top-level keys MM2 itself reads.
const TOP_LEVEL: &[&str] = &[
    "clusters",
    "dedicated.mode.enable.internal.rest",
    "listeners",
];

/// Key prefixes MM2 passes from the top level into every worker.
const WORKER_PREFIXES: &[&str] = &[
    "offset.storage",
    "config.storage",
    "status.storage",
    "key.converter",
    "value.converter",
    "header.converter",
    "task",
    "worker",
    "replication.policy",
];

/// Whether `key` (without a cluster prefix) configures a Connect worker rather than clients.
fn is_worker_key(key: &str) -> bool {
    WORKER_PREFIXES.iter().any(|p| key.starts_with(p))
        || matches!(
            key,
            "group.id" | "client.id" | "listeners" | "exactly.once.source.support"
        )
        || key.starts_with("offset.flush")
        || key.starts_with("rest.")
}

/// A `(key, value, key as written)` entry before resolution.
type Raw = (String, String, String);

/// Reads the flows of an `mm2.properties`.
pub(crate) fn read(
    props: &Properties,
    path: &Path,
    env: &ProviderEnv,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<Vec<FlowConfig>, ConfigError> {
    let at = Origin::file(path);
    let clusters = split_list(props.get("clusters").unwrap_or_default());
    if clusters.is_empty() {
        return Err(ConfigError::invalid(
            at.with_key("clusters"),
            "is required: the aliases of the clusters, e.g. clusters = A, B",
        ));
    }
    for alias in &clusters {
        if alias.is_empty() || alias.contains("->") || alias.contains(char::is_whitespace) {
            return Err(ConfigError::invalid(
                at.with_key("clusters"),
                format!("'{alias}' is not a valid cluster alias"),
            ));
        }
    }
    check_keys(props, &clusters, &at, warnings);
    let providers = Providers::from_config(
        props
            .iter()
            .filter(|(k, _)| k.starts_with("config.providers")),
        env,
        &at,
        warnings,
    );

    let mut out = Vec::new();
    for source in &clusters {
        for target in clusters.iter().filter(|t| *t != source) {
            let flow_prefix = format!("{source}->{target}.");
            let enabled = boolean(props, &format!("{flow_prefix}enabled"), false, &at)?;
            let heartbeats = match props.get(&format!("{flow_prefix}emit.heartbeats.enabled")) {
                Some(_) => boolean(
                    props,
                    &format!("{flow_prefix}emit.heartbeats.enabled"),
                    true,
                    &at,
                )?,
                None => boolean(props, "emit.heartbeats.enabled", true, &at)?,
            };
            if enabled || heartbeats {
                out.extend(flow(props, source, target, &providers, &at, warnings)?);
            }
        }
    }
    Ok(out)
}

/// A strict boolean (MM2 would read anything but `true` as false; Strait says so instead).
fn boolean(props: &Properties, key: &str, default: bool, at: &Origin) -> Result<bool, ConfigError> {
    match props.get(key).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if v == "true" => Ok(true),
        Some(v) if v == "false" => Ok(false),
        Some(v) => Err(ConfigError::invalid(
            at.clone().with_key(key),
            format!("'{v}' is not a boolean (expected true or false)"),
        )),
    }
}

fn flow(
    props: &Properties,
    source: &str,
    target: &str,
    providers: &Providers,
    at: &Origin,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<Vec<FlowConfig>, ConfigError> {
    let flow_at = at.clone().with_object(format!("flow {source}->{target}"));
    // Worker of the herder S->T: T's cluster properties, then the top-level worker keys,
    // then MM2's defaults.
    // Only the keys Strait reads are resolved: a bad reference elsewhere is reported where
    // a connector uses it, under the connector's key.
    // MM2 takes `exactly.once.source.support` only from the target cluster's keys; Strait
    // also accepts it top-level, below them, so one line can turn it on for every flow.
    let eos = worker::EXACTLY_ONCE_SOURCE_SUPPORT;
    let mut worker_raw: Vec<Raw> = props
        .get(eos)
        .map(|v| (eos.to_owned(), v.to_owned(), eos.to_owned()))
        .into_iter()
        .collect();
    worker_raw.extend(cluster_props(props, target));
    for (k, v) in props.iter() {
        if WORKER_PREFIXES.iter().any(|p| k.starts_with(p)) {
            worker_raw.push((k.to_owned(), v.to_owned(), k.to_owned()));
        }
    }
    worker_raw.retain(|(k, _, _)| worker::KEYS.contains(&k.as_str()));
    let worker_settings = resolve(providers, &worker_raw, &flow_at)?;
    let worker = worker::parse(
        &KeyReader::new(&worker_settings, flow_at.clone()),
        WorkerDefaults::mm2(source),
    )?;

    let base = connector_base(props, source, target);
    let mut parsed = Vec::new();
    for kind in ConnectorKind::ALL {
        let mut raw = base.clone();
        let defaults = [
            ("name", kind.simple_name().to_owned()),
            ("connector.class", kind.class()),
        ];
        for (k, v) in defaults {
            if !raw.iter().any(|(rk, _, _)| rk == k) {
                raw.push((k.to_owned(), v, k.to_owned()));
            }
        }
        let settings = resolve(providers, &raw, &flow_at)?;
        let ctx = ClientContext::default();
        let input = ConnectorInput {
            kind,
            name: settings
                .get("name")
                .map_or_else(|| kind.simple_name().to_owned(), |s| s.value.clone()),
            settings: &settings,
            // The three connectors share the flow's keys: one origin per flow keeps
            // warnings about a shared key from being repeated per connector.
            at: flow_at.clone(),
            ctx: &ctx,
            worker: &worker,
        };
        parsed.push(connector::parse(&input, warnings)?);
    }
    flows::assemble(parsed, &worker.config)
}

/// MM2's connector configuration for S->T, before resolution (MM2's `connectorBaseConfig`).
fn connector_base(props: &Properties, source: &str, target: &str) -> Vec<Raw> {
    let mut raw: Vec<Raw> = props
        .iter()
        .filter(|(k, _)| is_connector_key(k) || k.starts_with("replication.policy"))
        .map(|(k, v)| (k.to_owned(), v.to_owned(), k.to_owned()))
        .collect();
    for (side, alias) in [("source", source), ("target", target)] {
        for (k, v, w) in cluster_props(props, alias) {
            let is_client_prefixed = ["consumer.", "producer.", "admin."]
                .iter()
                .any(|p| k.starts_with(p));
            if is_client_prefixed {
                raw.push((format!("{side}.{k}"), v, w));
            } else if !is_worker_key(&k) && (is_connection_key(&k) || client_key(&k).is_some()) {
                // Worker-only cluster keys (offset.storage.topic, group.id, ...) stay with the
                // worker; MM2 passes them too, but its connectors never read them.
                raw.push((format!("{side}.cluster.{k}"), v, w));
            }
        }
    }
    for (k, v) in [
        ("source.cluster.alias", source),
        ("target.cluster.alias", target),
        ("enabled", "false"),
    ] {
        if !raw.iter().any(|(rk, _, _)| rk == k) {
            raw.push((k.to_owned(), v.to_owned(), k.to_owned()));
        }
    }
    let flow_prefix = format!("{source}->{target}.");
    for (k, v) in props.iter() {
        if let Some(stripped) = k.strip_prefix(&flow_prefix) {
            raw.push((stripped.to_owned(), v.to_owned(), k.to_owned()));
        }
    }
    raw
}

/// MM2's cluster properties of `alias`: its `<alias>.*` keys, then top-level connection keys
/// as fallbacks (the cluster's own keys win). MM2 also copies each connection key into
/// `producer.`/`consumer.`/`admin.`; Strait connects to a cluster one way, so those copies
/// would only repeat the cluster's values and are not made.
fn cluster_props(props: &Properties, alias: &str) -> Vec<Raw> {
    let prefix = format!("{alias}.");
    let mut map: BTreeMap<String, (String, String)> = BTreeMap::new();
    for (k, v) in props.iter() {
        if let Some(stripped) = k.strip_prefix(&prefix) {
            map.insert(stripped.to_owned(), (v.to_owned(), k.to_owned()));
        }
    }
    for (k, v) in props.iter().filter(|(k, _)| is_connection_key(k)) {
        map.entry(k.to_owned())
            .or_insert_with(|| (v.to_owned(), k.to_owned()));
    }
    map.into_iter().map(|(k, (v, w))| (k, v, w)).collect()
}

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

/// Warns about keys no part of MM2 (or Strait) reads.
fn check_keys(
    props: &Properties,
    clusters: &[String],
    at: &Origin,
    warnings: &mut Vec<ConfigWarning>,
) {
    let worker_key = is_worker_key;
    let mut by_length: Vec<&String> = clusters.iter().collect();
    by_length.sort_by_key(|a| std::cmp::Reverse(a.len()));
    for (key, _) in props.iter() {
        let at = at.clone().with_key(key);
        if let Some((pair, _)) = key.split_once('.').filter(|(p, _)| p.contains("->")) {
            let known = pair.split_once("->").is_some_and(|(s, t)| {
                clusters.iter().any(|c| c == s) && clusters.iter().any(|c| c == t)
            });
            if !known {
                warnings.push(ConfigWarning::new(
                    at,
                    format!("ignored: flow '{pair}' names a cluster not listed in clusters"),
                ));
            }
            continue;
        }
        if let Some(alias) = by_length.iter().find(|a| key.starts_with(&format!("{a}."))) {
            let k = &key[alias.len() + 1..];
            let known = is_connection_key(k)
                || client_key(k).is_some()
                || worker_key(k)
                || ["consumer.", "producer.", "admin."]
                    .iter()
                    .any(|p| k.starts_with(p));
            if !known {
                warnings.push(ConfigWarning::new(
                    at,
                    unknown_key_message(
                        k,
                        &format!("property of cluster '{alias}'"),
                        super::client_keys::known_keys(),
                    ),
                ));
            }
            continue;
        }
        if key == worker::EXACTLY_ONCE_SOURCE_SUPPORT {
            warnings.push(ConfigWarning::new(
                at,
                "MM2 ignores this key at the top level (it reads \
                 <cluster>.exactly.once.source.support for the flows into that cluster); Strait \
                 applies it to every flow whose target cluster does not set it",
            ));
            continue;
        }
        if connector_keys::REJECTED.iter().any(|(k, _)| *k == key) {
            warnings.push(ConfigWarning::new(
                at,
                "ignored: MM2 does not pass this key to its connectors",
            ));
            continue;
        }
        let known = TOP_LEVEL.contains(&key)
            || key.starts_with("config.providers")
            || is_connector_key(key)
            || is_connection_key(key)
            || worker_key(key);
        if !known {
            warnings.push(ConfigWarning::new(
                at,
                unknown_key_message(
                    key,
                    "key",
                    TOP_LEVEL.iter().copied().chain(connector_keys::all_known()),
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::load_texts;
    use crate::config::{ExactlyOnceConfig, FlowConfig, Loaded, SecurityProtocol};
    use std::time::Duration;

    fn load(text: &str) -> Loaded {
        load_texts(&[("mm2.properties", text)]).unwrap()
    }

    fn flow<'a>(l: &'a Loaded, name: &str) -> &'a FlowConfig {
        l.config.flows.iter().find(|f| f.name() == name).unwrap()
    }

    #[test]
    fn mm2_precedence() {
        let l = load(
            "clusters = A, B\n\
             A.bootstrap.servers = a:9092\n\
             B.bootstrap.servers = b:9092\n\
             security.protocol = SSL\n\
             B.security.protocol = PLAINTEXT\n\
             tasks.max = 4\n\
             A->B.enabled = true\n\
             A->B.tasks.max = 2\n\
             A->B.topics = orders.*, payments\n\
             A.consumer.fetch.max.wait.ms = 250\n\
             B.offset.storage.topic = b-offsets\n\
             offset.storage.topic = top-offsets\n\
             B.offset.flush.interval.ms = 5000\n\
             emit.heartbeats.enabled = false\n",
        );
        assert_eq!(
            l.config.flows.len(),
            1,
            "only enabled pairs without heartbeats"
        );
        let f = flow(&l, "A->B");
        // Cluster keys win over top-level ones.
        assert_eq!(f.source.security_protocol, SecurityProtocol::Ssl);
        assert_eq!(f.target.security_protocol, SecurityProtocol::Plaintext);
        let s = f.source_connector.as_ref().unwrap();
        assert_eq!(s.tasks_max, 2, "flow keys win over top-level keys");
        assert!(s.enabled);
        assert_eq!(s.topics, vec!["orders.*", "payments"]);
        assert_eq!(s.consumer_overrides["fetch.wait.max.ms"], "250");
        assert_eq!(s.offset_flush_interval, Duration::from_secs(5));
        assert_eq!(f.checkpoint_connector.as_ref().unwrap().tasks_max, 2);
        // Top-level worker keys win over the target cluster's, as in MM2.
        assert_eq!(f.worker.offset_storage_topic, "top-offsets");
        assert_eq!(f.worker.group_id, "A-mm2");
        assert!(
            !f.heartbeat_connector
                .as_ref()
                .unwrap()
                .emit_heartbeats_enabled
        );
    }

    #[test]
    fn every_pair_gets_heartbeats_by_default() {
        let l = load(
            "clusters = A, B, C\nA.bootstrap.servers=a:1\nB.bootstrap.servers=b:1\nC.bootstrap.servers=c:1\n\
             A->B.enabled=true\nB->C.emit.heartbeats.enabled=false\n",
        );
        let names: Vec<String> = l.config.flows.iter().map(FlowConfig::name).collect();
        assert_eq!(names, vec!["A->B", "A->C", "B->A", "C->A", "C->B"]);
        assert!(!flow(&l, "B->A").source_connector.as_ref().unwrap().enabled);
    }

    #[test]
    fn unknown_keys_are_warned_about() {
        let l = load(
            "clusters = A, B\nA.bootstrap.servers=a:1\nB.bootstrap.servers=b:1\nA->B.enabled=true\n\
             emit.heartbeats.enabled=false\nrefresh.topics.interval.secs=5\nA.bootstrap.server=x:1\nC->A.enabled=true\n\
             A->B.sync.topic.acl.enabled=false\n",
        );
        let w: Vec<String> = l.warnings.iter().map(ToString::to_string).collect();
        let has = |s: &str| w.iter().any(|w| w.contains(s));
        assert!(
            has(
                "key 'refresh.topics.interval.secs': unknown key 'refresh.topics.interval.secs' ignored (closest known key: 'refresh.topics.interval.seconds')"
            ),
            "{w:#?}"
        );
        assert!(
            has(
                "key 'A.bootstrap.server': unknown property of cluster 'A' 'bootstrap.server' ignored"
            ),
            "{w:#?}"
        );
        assert!(
            has("key 'C->A.enabled': ignored: flow 'C->A' names a cluster not listed in clusters"),
            "{w:#?}"
        );
        assert!(
            has(
                "(set as 'A->B.sync.topic.acl.enabled'): unknown connector key 'sync.topic.acl.enabled' ignored (closest known key: 'sync.topic.acls.enabled')"
            ),
            "{w:#?}"
        );
    }

    #[test]
    fn exactly_once_per_target_cluster() {
        let l = load(
            "clusters = A, B, C\nA.bootstrap.servers=a:1\nB.bootstrap.servers=b:1\nC.bootstrap.servers=c:1\n\
             emit.heartbeats.enabled=false\nA->B.enabled=true\nA->C.enabled=true\n\
             B.exactly.once.source.support=Enabled\nB.group.id=mirror\n\
             A->B.transaction.boundary=interval\nA->B.transaction.boundary.interval.ms=10000\n\
             B.producer.transaction.timeout.ms=120000\n",
        );
        let eo = flow(&l, "A->B")
            .source_connector
            .as_ref()
            .unwrap()
            .exactly_once
            .clone()
            .expect("B's worker enables exactly-once");
        assert_eq!(
            eo,
            ExactlyOnceConfig {
                transactional_id_prefix: "mirror-MirrorSourceConnector".to_owned(),
                commit_interval: Duration::from_secs(10),
                transaction_timeout: Duration::from_secs(120),
                required: false,
            }
        );
        let into_c = flow(&l, "A->C").source_connector.as_ref().unwrap();
        assert!(into_c.exactly_once.is_none(), "only flows into B");
        assert!(
            l.warnings
                .iter()
                .all(|w| !w.message.contains("transaction")),
            "{:#?}",
            l.warnings
        );
    }

    #[test]
    fn exactly_once_top_level() {
        let text = "clusters = A, B\nA.bootstrap.servers=a:1\nB.bootstrap.servers=b:1\n\
             emit.heartbeats.enabled=false\nA->B.enabled=true\nB->A.enabled=true\n\
             exactly.once.source.support=enabled\nA.exactly.once.source.support=disabled\n";
        let l = load(&format!("{text}A->B.exactly.once.support=required\n"));
        let eo = |name: &str| {
            flow(&l, name)
                .source_connector
                .as_ref()
                .unwrap()
                .exactly_once
                .clone()
        };
        assert_eq!(
            eo("A->B").unwrap(),
            ExactlyOnceConfig {
                transactional_id_prefix: "A-mm2-MirrorSourceConnector".to_owned(),
                commit_interval: Duration::from_millis(100),
                transaction_timeout: Duration::from_secs(60),
                required: true,
            }
        );
        // B->A writes into A, whose own key wins over the top-level one.
        assert_eq!(eo("B->A"), None);
        let w: Vec<String> = l.warnings.iter().map(ToString::to_string).collect();
        assert!(
            w.iter().any(|w| w.contains(
                "key 'exactly.once.source.support': MM2 ignores this key at the top level"
            )),
            "{w:#?}"
        );
        // Required for every flow, B->A included, which has it off.
        let e = load_texts(&[(
            "mm2.properties",
            &format!("{text}exactly.once.support=required\n"),
        )])
        .unwrap_err()
        .to_string();
        assert!(
            e.contains(
                "(flow B->A), key 'exactly.once.support': 'required' needs exactly-once \
                 replication, but exactly-once replication is off"
            ),
            "{e}"
        );
    }

    #[test]
    fn invalid_mm2_files() {
        let e = load_texts(&[("mm2.properties", "clusters = A, A->B\n")])
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with("key 'clusters': 'A->B' is not a valid cluster alias"),
            "{e}"
        );
        let e = load_texts(&[("mm2.properties", "clusters = A, B\nA.bootstrap.servers=a:1\nB.bootstrap.servers=b:1\nA->B.emit.heartbeats.enabled=maybe\n")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("key 'A->B.emit.heartbeats.enabled': 'maybe' is not a boolean"),
            "{e}"
        );
        let e = load_texts(&[("mm2.properties", "clusters = A, B\nA.bootstrap.servers=a:1\nB.bootstrap.servers=b:1\nA->B.enabled=true\nB.security.protocol=${env:STRAIT_TEST_VAR}\n")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("(flow A->B), key 'target.cluster.security.protocol' (set as 'B.security.protocol'): cannot resolve ${env:STRAIT_TEST_VAR}: no config provider named 'env' is declared"), "{e}");
    }
}
