//! Strimzi `KafkaMirrorMaker2` resources, in both layouts Strimzi serves.
//!
//! `kafka.strimzi.io/v1` (Strimzi 0.49 and later) names the target cluster in `spec.target`
//! (alias, `bootstrapServers`, `groupId`, `offsetStorageTopic`, ..., `tls`, `authentication`,
//! `config`) and each mirror's source in `spec.mirrors[].source`. `v1beta2` also accepts that
//! layout, and the older one: `spec.clusters[]`, `spec.connectCluster` (the target) and
//! `spec.mirrors[].sourceCluster`/`targetCluster` naming clusters by alias, the Connect group
//! and topics in the connect cluster's `config` (defaults `mirrormaker2-cluster`,
//! `mirrormaker2-cluster-offsets`), plus `heartbeatConnector` and the `*BlacklistPattern`s.
//! Both are read the way the operator does: it moves the old layout to the new one, then makes
//! one KafkaConnector per connector spec of each mirror, named `<source>-><target>.<Class>`,
//! whose config is the target's and the source's connection (`target.cluster.*`,
//! `source.cluster.*`), the connector's `config`, and the mirror's patterns as `topics`,
//! `topics.exclude`, `groups` and `groups.exclude`. Each mirror becomes one flow; the target
//! is the Connect worker's cluster, so its `groupId` and `offsetStorageTopic` are the flows'.
//!
//! Where the operator writes placeholders for files it mounts (truststores, passwords), the
//! values come from the Secrets given with `-f` or read from the Kubernetes API, as for a
//! KafkaConnect: trusted certificates and client certificates as PEM, passwords into the JAAS
//! configuration, all kept out of messages.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::client_props::ClientContext;
use super::connector::{self, ConnectorInput, ConnectorKind, ParsedConnector};
use super::error::{ConfigError, ConfigWarning};
use super::key_reader::KeyReader;
use super::manifests::Manifest;
use super::providers::{KubernetesObjects, ProviderEnv, Providers};
use super::settings::{Setting, Settings, is_sensitive_key};
use super::strimzi;
use super::worker::{self, WorkerDefaults};
use super::{FlowConfig, flows, yaml};

const KIND: &str = "KafkaMirrorMaker2";
const API_V1: &str = "kafka.strimzi.io/v1";
const API_V1BETA2: &str = "kafka.strimzi.io/v1beta2";

/// The operator's defaults for the old layout's Connect group and offsets topic.
const OLD_LAYOUT_GROUP_ID: &str = "mirrormaker2-cluster";
const OLD_LAYOUT_OFFSETS_TOPIC: &str = "mirrormaker2-cluster-offsets";
/// The Connect worker keys the operator takes out of the old layout's connect cluster
/// `config` (they become the target's `groupId` and `*StorageTopic`).
const OLD_LAYOUT_WORKER_NAMES: &[&str] = &[
    "group.id",
    "config.storage.topic",
    "offset.storage.topic",
    "status.storage.topic",
];

/// Whether the manifest is a Strimzi KafkaMirrorMaker2.
pub(crate) fn is_mirror_maker2(m: &Manifest) -> bool {
    m.api_version.starts_with("kafka.strimzi.io/") && m.kind == KIND
}

/// One Kafka cluster of the resource (`spec.target`, a mirror's `source`, or an entry of
/// the old layout's `spec.clusters`).
#[derive(Clone)]
struct Cluster<'a> {
    alias: String,
    spec: &'a Value,
    /// Its path for messages, e.g. `spec.clusters[1]`.
    field: String,
    /// Its JSON pointer in the manifest.
    pointer: String,
}

/// The target cluster with the Connect worker names the operator gives it.
struct Target<'a> {
    cluster: Cluster<'a>,
    group_id: String,
    offset_storage_topic: String,
    /// Its `config`, without the keys the old layout moves to the worker names.
    config: BTreeMap<String, String>,
}

/// Reads the flows of one KafkaMirrorMaker2: one per mirror.
pub(crate) fn read(
    m: &Manifest,
    base_env: &ProviderEnv,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<Vec<FlowConfig>, ConfigError> {
    let v1 = match m.api_version.as_str() {
        API_V1 => true,
        API_V1BETA2 => false,
        other => {
            return Err(ConfigError::invalid(
                m.at.clone().with_key("apiVersion"),
                format!(
                    "'{other}' is not served by current Strimzi for KafkaMirrorMaker2 (use {API_V1} or {API_V1BETA2})"
                ),
            ));
        }
    };
    let spec = m
        .value
        .get("spec")
        .filter(|s| s.is_object())
        .ok_or_else(|| ConfigError::invalid(m.at.clone().with_key("spec"), "is required"))?;
    fields::check_fields(m, v1, spec, warnings)?;

    let old_clusters = old_layout_clusters(m, spec)?;
    let target = target(m, spec, &old_clusters)?;
    let mirrors = spec
        .get("mirrors")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| {
            ConfigError::invalid(
                m.at.clone().with_key("spec.mirrors"),
                "is required: a list of at least one mirror",
            )
        })?;

    let mut env = base_env.clone();
    env.default_namespace = m.namespace.clone();
    let target_config_field = format!("{}.config", target.cluster.field);
    let providers = strimzi::providers(m, &target.config, &target_config_field, &env, warnings);
    let worker = parse_worker(m, &target, &target_config_field, &providers)?;

    let scope = Scope {
        m,
        objects: env.kubernetes.as_ref(),
        providers: &providers,
        worker: &worker,
        target_alias: &target.cluster.alias,
        target_entries: cluster_entries(
            m,
            &target.cluster,
            &target.config,
            "target.",
            env.kubernetes.as_ref(),
        )?,
    };
    let mut aliases = BTreeSet::from([target.cluster.alias.clone()]);
    let mut parsed = Vec::new();
    for (i, mirror) in mirrors.iter().enumerate() {
        let source = mirror_source(m, mirror, i, &old_clusters)?;
        if !aliases.insert(source.alias.clone()) {
            let key = if mirror.get("source").is_some_and(|s| !s.is_null()) {
                "source.alias"
            } else {
                "sourceCluster"
            };
            return Err(ConfigError::invalid(
                m.at.clone().with_key(format!("spec.mirrors[{i}].{key}")),
                format!(
                    "alias '{}' is used twice: the target and the sources of a KafkaMirrorMaker2 need distinct aliases",
                    source.alias
                ),
            ));
        }
        parsed.extend(mirror_connectors(&scope, (mirror, i), &source, warnings)?);
    }
    flows::assemble(parsed, &worker.config)
}

/// What all mirrors of a resource share.
struct Scope<'a> {
    m: &'a Manifest,
    objects: &'a dyn KubernetesObjects,
    providers: &'a Providers,
    worker: &'a worker::ParsedWorker,
    target_alias: &'a str,
    /// The target's `target.cluster.*` entries.
    target_entries: Vec<(String, Entry)>,
}

/// The connectors of mirror `i`, as the operator would create them: one per connector spec
/// present.
fn mirror_connectors(
    scope: &Scope<'_>,
    (mirror, i): (&Value, usize),
    source: &Cluster<'_>,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<Vec<ParsedConnector>, ConfigError> {
    let m = scope.m;
    let field = format!("spec.mirrors[{i}]");
    if let Some(t) = yaml::str_at(mirror, "/targetCluster")
        && t != scope.target_alias
    {
        return Err(ConfigError::invalid(
            m.at.clone().with_key(format!("{field}.targetCluster")),
            format!(
                "'{t}' is not the target cluster '{}': all mirrors of a KafkaMirrorMaker2 write to its Connect cluster",
                scope.target_alias
            ),
        ));
    }
    let source_config = strimzi::string_map(
        m,
        &format!("{}/config", source.pointer),
        &format!("{}.config", source.field),
    )?;
    let mut entries = scope.target_entries.clone();
    entries.extend(cluster_entries(
        m,
        source,
        &source_config,
        "source.",
        scope.objects,
    )?);
    let ctx = ClientContext::default();
    let mut parsed = Vec::new();
    for (kind, name) in [
        (ConnectorKind::Source, "sourceConnector"),
        (ConnectorKind::Checkpoint, "checkpointConnector"),
        (ConnectorKind::Heartbeat, "heartbeatConnector"),
    ] {
        let Some(connector_spec) = mirror.get(name).filter(|v| !v.is_null()) else {
            continue;
        };
        let settings = connector_settings(
            m,
            (mirror, i),
            (connector_spec, name, kind),
            &entries,
            scope.providers,
            warnings,
        )?;
        let input = ConnectorInput {
            kind,
            name: format!(
                "{}->{}.{}",
                source.alias,
                scope.target_alias,
                kind.simple_name()
            ),
            settings: &settings,
            at: m.at.clone(),
            ctx: &ctx,
            worker: scope.worker,
        };
        parsed.push(connector::parse(&input, warnings)?);
    }
    if parsed.is_empty() {
        warnings.push(ConfigWarning::new(
            m.at.clone().with_key(field),
            "has no connector (sourceConnector, checkpointConnector): nothing to run",
        ));
    }
    Ok(parsed)
}

fn array<'a>(v: &'a Value, name: &str) -> &'a [Value] {
    v.get(name)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The old layout's `spec.clusters`, by alias.
fn old_layout_clusters<'a>(
    m: &Manifest,
    spec: &'a Value,
) -> Result<BTreeMap<String, Cluster<'a>>, ConfigError> {
    let mut out = BTreeMap::new();
    for (i, c) in array(spec, "clusters").iter().enumerate() {
        let cluster = cluster(
            m,
            c,
            format!("spec.clusters[{i}]"),
            format!("/spec/clusters/{i}"),
        )?;
        let alias = cluster.alias.clone();
        if out.insert(alias.clone(), cluster).is_some() {
            return Err(ConfigError::invalid(
                m.at.clone().with_key(format!("spec.clusters[{i}].alias")),
                format!("alias '{alias}' is used twice"),
            ));
        }
    }
    Ok(out)
}

fn cluster<'a>(
    m: &Manifest,
    spec: &'a Value,
    field: String,
    pointer: String,
) -> Result<Cluster<'a>, ConfigError> {
    let alias = yaml::str_at(spec, "/alias")
        .filter(|a| !a.trim().is_empty())
        .ok_or_else(|| {
            ConfigError::invalid(
                m.at.clone().with_key(format!("{field}.alias")),
                "is required",
            )
        })?;
    Ok(Cluster {
        alias,
        spec,
        field,
        pointer,
    })
}

/// `spec.target`, or the old layout's connect cluster with the operator's defaults.
fn target<'a>(
    m: &Manifest,
    spec: &'a Value,
    old_clusters: &BTreeMap<String, Cluster<'a>>,
) -> Result<Target<'a>, ConfigError> {
    if let Some(t) = spec.get("target").filter(|t| !t.is_null()) {
        let cluster = cluster(m, t, "spec.target".to_owned(), "/spec/target".to_owned())?;
        let required = |name: &str| {
            yaml::str_at(t, &format!("/{name}"))
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| {
                    ConfigError::invalid(
                        m.at.clone().with_key(format!("spec.target.{name}")),
                        "is required",
                    )
                })
        };
        return Ok(Target {
            group_id: required("groupId")?,
            offset_storage_topic: required("offsetStorageTopic")?,
            config: strimzi::string_map(m, "/spec/target/config", "spec.target.config")?,
            cluster,
        });
    }
    let Some(alias) = yaml::str_at(spec, "/connectCluster") else {
        return Err(ConfigError::invalid(
            m.at.clone().with_key("spec.target"),
            format!(
                "is required (in {API_V1BETA2}, spec.connectCluster and spec.clusters may name it instead)"
            ),
        ));
    };
    let c = old_clusters.get(&alias).ok_or_else(|| {
        ConfigError::invalid(
            m.at.clone().with_key("spec.connectCluster"),
            format!("'{alias}' is not the alias of any of spec.clusters"),
        )
    })?;
    let mut config = strimzi::string_map(
        m,
        &format!("{}/config", c.pointer),
        &format!("{}.config", c.field),
    )?;
    let take = |key: &str, default: &str| {
        let v = config.get(key).cloned();
        v.filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| default.to_owned())
    };
    let group_id = take("group.id", OLD_LAYOUT_GROUP_ID);
    let offset_storage_topic = take("offset.storage.topic", OLD_LAYOUT_OFFSETS_TOPIC);
    for key in OLD_LAYOUT_WORKER_NAMES {
        config.remove(*key);
    }
    Ok(Target {
        cluster: c.clone(),
        group_id,
        offset_storage_topic,
        config,
    })
}

/// A mirror's `source`, or the old layout's cluster its `sourceCluster` names.
fn mirror_source<'a>(
    m: &Manifest,
    mirror: &'a Value,
    i: usize,
    old_clusters: &BTreeMap<String, Cluster<'a>>,
) -> Result<Cluster<'a>, ConfigError> {
    if let Some(s) = mirror.get("source").filter(|s| !s.is_null()) {
        return cluster(
            m,
            s,
            format!("spec.mirrors[{i}].source"),
            format!("/spec/mirrors/{i}/source"),
        );
    }
    let field = format!("spec.mirrors[{i}].sourceCluster");
    let alias = yaml::str_at(mirror, "/sourceCluster").ok_or_else(|| {
        ConfigError::invalid(
            m.at.clone().with_key(format!("spec.mirrors[{i}].source")),
            format!("is required (in {API_V1BETA2}, sourceCluster may name one of spec.clusters instead)"),
        )
    })?;
    old_clusters.get(&alias).cloned().ok_or_else(|| {
        ConfigError::invalid(
            m.at.clone().with_key(field),
            format!("'{alias}' is not the alias of any of spec.clusters"),
        )
    })
}

/// The Connect worker: the target's `groupId` and `offsetStorageTopic`, and the worker keys
/// of its `config`.
fn parse_worker(
    m: &Manifest,
    target: &Target<'_>,
    config_field: &str,
    providers: &Providers,
) -> Result<worker::ParsedWorker, ConfigError> {
    let field = &target.cluster.field;
    let names = [
        ("group.id", &target.group_id, format!("{field}.groupId")),
        (
            "offset.storage.topic",
            &target.offset_storage_topic,
            format!("{field}.offsetStorageTopic"),
        ),
    ];
    let config: Vec<(&str, &str, String)> = target
        .config
        .iter()
        .filter(|(k, _)| worker::KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), v.as_str(), format!("{config_field}.{k}")))
        .chain(names.iter().map(|(k, v, w)| (*k, v.as_str(), w.clone())))
        .collect();
    let settings =
        providers.resolve_all(config.iter().map(|(k, v, w)| (*k, *v, w.as_str())), &m.at)?;
    worker::parse(
        &KeyReader::new(&settings, m.at.clone()),
        WorkerDefaults {
            group_id: target.group_id.clone(),
            offset_storage_topic: target.offset_storage_topic.clone(),
        },
    )
}

/// One connector setting before resolution: as written (resolved through the config
/// providers, as Connect resolves a connector's config), or already resolved from a Secret.
#[derive(Clone)]
enum Entry {
    Written { value: String, written_as: String },
    Resolved(Setting),
}

/// What the operator writes for a cluster under `<role>cluster.`: its alias, bootstrap
/// servers, security settings, and its `config` (without the Connect worker keys, which are
/// not client properties).
fn cluster_entries(
    m: &Manifest,
    c: &Cluster<'_>,
    config: &BTreeMap<String, String>,
    role: &str,
    objects: &dyn KubernetesObjects,
) -> Result<Vec<(String, Entry)>, ConfigError> {
    let prefix = format!("{role}cluster.");
    let bootstrap = yaml::str_at(c.spec, "/bootstrapServers")
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            ConfigError::invalid(
                m.at.clone()
                    .with_key(format!("{}.bootstrapServers", c.field)),
                "is required",
            )
        })?;
    let written = |key: &str, value: String, written_as: String| {
        (
            format!("{prefix}{key}"),
            Entry::Written { value, written_as },
        )
    };
    let mut out = vec![
        written("alias", c.alias.clone(), format!("{}.alias", c.field)),
        written(
            "bootstrap.servers",
            bootstrap,
            format!("{}.bootstrapServers", c.field),
        ),
    ];
    for (key, setting) in security::security(m, c, objects)? {
        out.push((format!("{prefix}{key}"), Entry::Resolved(setting)));
    }
    for (k, v) in config.iter().filter(|(k, _)| !is_worker_key(k)) {
        out.push(written(k, v.clone(), format!("{}.config.{k}", c.field)));
    }
    Ok(out)
}

/// Connect worker keys, which a cluster's `config` may hold (in the old layout every cluster
/// had them) but which mean nothing to the connectors' clients.
fn is_worker_key(key: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "config.storage.",
        "offset.storage.",
        "status.storage.",
        "config.providers",
        "offset.flush.",
        "plugin.",
        "key.converter",
        "value.converter",
        "header.converter",
        "connector.client.config.override.policy",
        "exactly.once.source.support",
        "task.shutdown.",
        "scheduled.rebalance.",
        "connect.protocol",
        "inter.worker.",
        "topic.creation.enable",
        "topic.tracking.",
        "config.action.reload",
        "group.id",
    ];
    PREFIXES.iter().any(|p| key.starts_with(p))
}

/// A connector's settings: the clusters' entries, then the connector spec's `config`, then
/// the mirror's patterns (which win, as the operator writes them last), `tasksMax` and state.
fn connector_settings(
    m: &Manifest,
    (mirror, i): (&Value, usize),
    (spec, name, kind): (&Value, &str, ConnectorKind),
    cluster_entries: &[(String, Entry)],
    providers: &Providers,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<Settings, ConfigError> {
    let mirror_field = format!("spec.mirrors[{i}]");
    let field = format!("{mirror_field}.{name}");
    let mut raw: Vec<(String, String, String)> = strimzi::string_map(
        m,
        &format!("/spec/mirrors/{i}/{name}/config"),
        &format!("{field}.config"),
    )?
    .into_iter()
    .map(|(k, v)| {
        let w = format!("{field}.config.{k}");
        (k, v, w)
    })
    .collect();
    let patterns = [
        (
            "topics",
            &["topicsExcludePattern", "topicsBlacklistPattern"][..],
        ),
        (
            "groups",
            &["groupsExcludePattern", "groupsBlacklistPattern"][..],
        ),
    ];
    for (key, excludes) in patterns {
        let include = format!("{key}Pattern");
        if let Some(v) = yaml::str_at(mirror, &format!("/{include}")) {
            raw.retain(|(k, _, _)| k != key);
            raw.push((key.to_owned(), v, format!("{mirror_field}.{include}")));
        }
        // The newer name wins when both are given, as in the operator.
        if let Some((exclude, v)) = excludes
            .iter()
            .find_map(|e| yaml::str_at(mirror, &format!("/{e}")).map(|v| (*e, v)))
        {
            let k = format!("{key}.exclude");
            raw.retain(|(rk, _, _)| *rk != k);
            raw.push((k, v, format!("{mirror_field}.{exclude}")));
        }
    }
    strimzi::apply_connector_spec(spec, &field, kind, &m.at, &mut raw, warnings);

    let mut entries: BTreeMap<String, Entry> = cluster_entries.iter().cloned().collect();
    for (k, value, written_as) in raw {
        entries.insert(k, Entry::Written { value, written_as });
    }
    let written: Vec<(&str, &str, &str)> = entries
        .iter()
        .filter_map(|(k, e)| match e {
            Entry::Written { value, written_as } => {
                Some((k.as_str(), value.as_str(), written_as.as_str()))
            }
            Entry::Resolved(_) => None,
        })
        .collect();
    let mut settings = providers.resolve_all(written, &m.at)?;
    for (k, e) in entries {
        if let Entry::Resolved(mut s) = e {
            s.sensitive |= is_sensitive_key(&k);
            settings.insert(k, s);
        }
    }
    Ok(settings)
}

mod fields;
mod security;
#[cfg(test)]
mod tests;
