//! One Mirror connector's resolved configuration (MM2 key names, as in a KafkaConnector's
//! `spec.config` or the per-flow configs MM2 dedicated mode builds) into the model's
//! connector settings, connections and policy, with MM2's defaults.

use std::collections::BTreeMap;
use std::time::Duration;

use super::client_props::{self, ClientContext};
use super::connector_keys as keys;
use super::error::{ConfigError, ConfigWarning, Origin};
use super::exactly_once;
use super::key_reader::KeyReader;
use super::model::{
    DEFAULT_CONFIG_PROPERTIES_EXCLUDE, DEFAULT_GROUPS_EXCLUDE, DEFAULT_TOPICS_EXCLUDE,
};
use super::settings::Settings;
use super::suggest::unknown_key_message;
use super::worker::ParsedWorker;
use super::{
    CheckpointConnectorConfig, ClusterConnection, HeartbeatConnectorConfig, OffsetSyncsLocation,
    PolicyConfig, PolicyKind, SourceConnectorConfig, UseDefaultsFrom,
};
use super::{source_reader, target_writer};

const PACKAGE: &str = "org.apache.kafka.connect.mirror.";
const BYTE_ARRAY_CONVERTER: &str = "org.apache.kafka.connect.converters.ByteArrayConverter";

/// The three Mirror connectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ConnectorKind {
    /// MirrorSourceConnector.
    Source,
    /// MirrorCheckpointConnector.
    Checkpoint,
    /// MirrorHeartbeatConnector.
    Heartbeat,
}

impl ConnectorKind {
    /// All three, in MM2's order.
    pub const ALL: [Self; 3] = [Self::Source, Self::Checkpoint, Self::Heartbeat];

    /// The class's simple name (the connector name in MM2 dedicated mode).
    pub fn simple_name(self) -> &'static str {
        match self {
            Self::Source => "MirrorSourceConnector",
            Self::Checkpoint => "MirrorCheckpointConnector",
            Self::Heartbeat => "MirrorHeartbeatConnector",
        }
    }

    /// The full Java class name.
    pub fn class(self) -> String {
        format!("{PACKAGE}{}", self.simple_name())
    }

    /// The connector of a `connector.class` / `spec.class` value (full or simple name, as
    /// Connect accepts both).
    pub fn from_class(class: &str) -> Option<Self> {
        let class = class.trim();
        let simple = class.strip_prefix(PACKAGE).unwrap_or(class);
        Self::ALL.into_iter().find(|k| k.simple_name() == simple)
    }
}

/// What one connector contributes to a flow.
#[derive(Debug, Clone)]
pub(crate) struct ParsedConnector {
    /// Where the connector is defined.
    pub at: Origin,
    /// `source.cluster.alias`.
    pub source_alias: String,
    /// `target.cluster.alias`.
    pub target_alias: String,
    /// `source.cluster.*`, when given (required for source and checkpoint connectors).
    pub source: Option<ClusterConnection>,
    /// `target.cluster.*` (for the heartbeat connector: where heartbeats go).
    pub target: Option<ClusterConnection>,
    /// `replication.policy.*`.
    pub policy: PolicyConfig,
    /// The connector's own settings.
    pub config: ConnectorConfig,
}

/// The settings of one connector kind.
#[derive(Debug, Clone)]
pub(crate) enum ConnectorConfig {
    /// MirrorSourceConnector.
    Source(SourceConnectorConfig),
    /// MirrorCheckpointConnector.
    Checkpoint(CheckpointConnectorConfig),
    /// MirrorHeartbeatConnector.
    Heartbeat(HeartbeatConnectorConfig),
}

/// One connector to read.
#[derive(Debug)]
pub(crate) struct ConnectorInput<'a> {
    /// Which connector.
    pub kind: ConnectorKind,
    /// Its name (first element of its offsets-topic keys).
    pub name: String,
    /// Its resolved configuration.
    pub settings: &'a Settings,
    /// Where it is defined (file, document, object).
    pub at: Origin,
    /// Stand-in truststores.
    pub ctx: &'a ClientContext,
    /// The Connect worker the connector runs on.
    pub worker: &'a ParsedWorker,
}

/// Reads one connector. Warnings report keys Strait ignores or does not know.
pub(crate) fn parse(
    input: &ConnectorInput<'_>,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<ParsedConnector, ConfigError> {
    let r = KeyReader::new(input.settings, input.at.clone());
    let kind = input.kind;
    if let Some(class) = r.non_blank("connector.class")
        && ConnectorKind::from_class(class) != Some(kind)
    {
        return Err(r.error(
            "connector.class",
            format!(
                "'{}' does not match {}",
                r.shown("connector.class"),
                kind.class()
            ),
        ));
    }
    r.mark_used("name");
    check_converters(&r)?;
    check_special_keys(&r, warnings)?;

    let source_alias = r
        .non_blank("source.cluster.alias")
        .ok_or_else(|| {
            r.error(
                "source.cluster.alias",
                "is required (the source cluster's alias)",
            )
        })?
        .to_owned();
    let target_alias = r
        .non_blank("target.cluster.alias")
        .unwrap_or("target")
        .to_owned();
    for (key, alias) in [
        ("source.cluster.alias", &source_alias),
        ("target.cluster.alias", &target_alias),
    ] {
        if alias.contains("->") || alias.contains(char::is_whitespace) {
            return Err(r.error(
                key,
                format!(
                    "'{}' is not a valid cluster alias (no spaces or '->')",
                    r.shown(key)
                ),
            ));
        }
    }
    if source_alias == target_alias {
        return Err(r.error(
            "target.cluster.alias",
            format!(
                "source and target aliases are both '{}'",
                r.shown("source.cluster.alias")
            ),
        ));
    }
    let policy = policy(&r)?;

    let has = |prefix: &str| r.contains(&format!("{prefix}bootstrap.servers"));
    let (source, target, config) = match kind {
        ConnectorKind::Source | ConnectorKind::Checkpoint => {
            let source = client_props::connection(&r, "source.cluster.", input.ctx, warnings)?;
            let target = client_props::connection(&r, "target.cluster.", input.ctx, warnings)?;
            let config = if kind == ConnectorKind::Source {
                ConnectorConfig::Source(source_config(&r, input, warnings)?)
            } else {
                ConnectorConfig::Checkpoint(checkpoint_config(&r, input, warnings)?)
            };
            (Some(source), Some(target), config)
        }
        ConnectorKind::Heartbeat => {
            let source = if has("source.cluster.") {
                Some(client_props::connection(
                    &r,
                    "source.cluster.",
                    input.ctx,
                    warnings,
                )?)
            } else {
                None
            };
            let target = heartbeat_target(&r, input.ctx, warnings)?;
            let config = ConnectorConfig::Heartbeat(heartbeat_config(&r, input)?);
            (source, target, config)
        }
    };
    client_prefixes_without_effect(&r, kind, warnings)?;
    report_unused(&r, warnings);
    Ok(ParsedConnector {
        at: input.at.clone(),
        source_alias,
        target_alias,
        source,
        target,
        policy,
        config,
    })
}

fn check_converters(r: &KeyReader<'_>) -> Result<(), ConfigError> {
    for key in ["key.converter", "value.converter", "header.converter"] {
        if let Some(class) = r.non_blank(key)
            && class != BYTE_ARRAY_CONVERTER
        {
            return Err(r.error(
                key,
                format!(
                    "'{}' is not supported: Strait copies record bytes unchanged, which is \
                     what {BYTE_ARRAY_CONVERTER} does; use it or remove the key",
                    r.shown(key)
                ),
            ));
        }
        // Converter parameters are meaningless for the byte-array converter.
        let params: Vec<&str> = r.with_prefix(&format!("{key}.")).map(|(k, _)| k).collect();
        for k in params {
            r.mark_used(k);
        }
    }
    Ok(())
}

fn check_special_keys(
    r: &KeyReader<'_>,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<(), ConfigError> {
    for (key, reason) in keys::NO_EFFECT {
        if r.get(key).is_some() {
            warnings.push(ConfigWarning::new(r.at(key), format!("ignored: {reason}")));
        }
    }
    for (key, default) in keys::DEFAULT_CLASS_ONLY {
        if let Some(class) = r.non_blank(key)
            && class != *default
        {
            return Err(r.error(
                key,
                format!(
                    "'{}' is not supported: Strait implements only {default}",
                    r.shown(key)
                ),
            ));
        }
    }
    for (key, reason) in keys::REJECTED {
        if r.non_blank(key).is_some() {
            return Err(r.error(key, format!("not supported: {reason}")));
        }
    }
    Ok(())
}

fn policy(r: &KeyReader<'_>) -> Result<PolicyConfig, ConfigError> {
    let kind = match r.non_blank("replication.policy.class") {
        None => PolicyKind::Default,
        Some(class) => match class.strip_prefix(PACKAGE).unwrap_or(class) {
            "DefaultReplicationPolicy" => PolicyKind::Default,
            "IdentityReplicationPolicy" => PolicyKind::Identity,
            _ => {
                return Err(r.error(
                    "replication.policy.class",
                    format!(
                        "'{}' is not supported (expected {PACKAGE}DefaultReplicationPolicy \
                         or {PACKAGE}IdentityReplicationPolicy)",
                        r.shown("replication.policy.class")
                    ),
                ));
            }
        },
    };
    let separator = r
        .str("replication.policy.separator")
        .unwrap_or(".")
        .to_owned();
    if separator.is_empty() {
        return Err(r.error("replication.policy.separator", "must not be empty"));
    }
    Ok(PolicyConfig {
        kind,
        separator,
        internal_topic_separator_enabled: r
            .bool("replication.policy.internal.topic.separator.enabled", true)?,
    })
}

fn location(r: &KeyReader<'_>) -> Result<OffsetSyncsLocation, ConfigError> {
    match r
        .non_blank("offset-syncs.topic.location")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("source") => Ok(OffsetSyncsLocation::Source),
        Some("target") => Ok(OffsetSyncsLocation::Target),
        Some(_) => Err(r.error(
            "offset-syncs.topic.location",
            format!(
                "'{}' is not valid (expected source or target)",
                r.shown("offset-syncs.topic.location")
            ),
        )),
    }
}

/// `<job>.enabled` and `<job>.interval.seconds` together: a negative interval disables the
/// job as MM2's scheduler skips it.
fn job(
    r: &KeyReader<'_>,
    enabled_key: &str,
    interval_key: &str,
    default_interval: Duration,
) -> Result<(bool, Duration), ConfigError> {
    let enabled = r.bool(enabled_key, true)?;
    Ok(match r.interval_seconds(interval_key, default_interval)? {
        Some(interval) => (enabled, interval),
        None => (false, default_interval),
    })
}

/// A LIST of regexes, honouring the deprecated `*.blacklist` spelling with a warning.
fn filter_list(
    r: &KeyReader<'_>,
    key: &str,
    default: &[&str],
    warnings: &mut Vec<ConfigWarning>,
) -> Result<Vec<String>, ConfigError> {
    if let Some((old, _)) = keys::DEPRECATED.iter().find(|(_, new)| *new == key)
        && r.contains(old)
    {
        if r.contains(key) {
            r.mark_used(old);
            warnings.push(ConfigWarning::new(
                r.at(old),
                format!("ignored: deprecated, and {key} is set"),
            ));
        } else {
            warnings.push(ConfigWarning::new(
                r.at(old),
                format!("deprecated (removed in Kafka 4.0); use {key}"),
            ));
            return r.regex_list(old, default);
        }
    }
    r.regex_list(key, default)
}

fn tasks_max(r: &KeyReader<'_>) -> Result<u32, ConfigError> {
    r.number("tasks.max", 1, 1)
}

fn source_config(
    r: &KeyReader<'_>,
    input: &ConnectorInput<'_>,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<SourceConnectorConfig, ConfigError> {
    let d = SourceConnectorConfig::default();
    let (refresh_topics_enabled, refresh_topics_interval) = job(
        r,
        "refresh.topics.enabled",
        "refresh.topics.interval.seconds",
        d.refresh_topics_interval,
    )?;
    let (sync_topic_configs_enabled, sync_topic_configs_interval) = job(
        r,
        "sync.topic.configs.enabled",
        "sync.topic.configs.interval.seconds",
        d.sync_topic_configs_interval,
    )?;
    let (sync_topic_acls_enabled, sync_topic_acls_interval) = job(
        r,
        "sync.topic.acls.enabled",
        "sync.topic.acls.interval.seconds",
        d.sync_topic_acls_interval,
    )?;
    let use_defaults_from = match r
        .non_blank("use.defaults.from")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("target") => UseDefaultsFrom::Target,
        Some("source") => UseDefaultsFrom::Source,
        Some(_) => {
            return Err(r.error(
                "use.defaults.from",
                format!(
                    "'{}' is not valid (expected source or target)",
                    r.shown("use.defaults.from")
                ),
            ));
        }
    };
    // Highest precedence first: MM2 overlays `X.consumer.*` on `consumer.*`, and Connect's
    // `producer.override.*` configures the producer that really writes the records.
    let mut consumer_overrides = BTreeMap::new();
    for prefix in ["source.consumer.", "consumer."] {
        client_props::overrides(
            r,
            prefix,
            "source.cluster.",
            Some(&mut consumer_overrides),
            "",
            warnings,
        )?;
    }
    // Before the other producer overrides: it reads the producer's transaction timeout.
    let exactly_once = exactly_once::parse(
        r,
        input.worker,
        &input.name,
        &PRODUCER_PREFIXES,
        &consumer_overrides,
        warnings,
    )?;
    let mut producer_overrides = BTreeMap::new();
    for prefix in PRODUCER_PREFIXES {
        client_props::overrides(
            r,
            prefix,
            "target.cluster.",
            Some(&mut producer_overrides),
            "",
            warnings,
        )?;
    }
    refuse_unordered_producer(r, &producer_overrides)?;
    if let Some(eo) = &exactly_once {
        exactly_once::refuse_late_delivery(r, eo, &PRODUCER_PREFIXES, &producer_overrides)?;
    }
    let compression_type = producer_overrides
        .remove("compression.type")
        .unwrap_or(d.compression_type);
    let target_writer = target_writer::parse(r, exactly_once.is_some())?;
    Ok(SourceConnectorConfig {
        name: input.name.clone(),
        enabled: r.bool("enabled", true)?,
        tasks_max: tasks_max(r)?,
        topics: r.regex_list("topics", &[".*"])?,
        topics_exclude: filter_list(r, "topics.exclude", DEFAULT_TOPICS_EXCLUDE, warnings)?,
        config_properties_exclude: filter_list(
            r,
            "config.properties.exclude",
            DEFAULT_CONFIG_PROPERTIES_EXCLUDE,
            warnings,
        )?,
        use_defaults_from,
        refresh_topics_enabled,
        refresh_topics_interval,
        sync_topic_configs_enabled,
        sync_topic_configs_interval,
        sync_topic_acls_enabled,
        sync_topic_acls_interval,
        replication_factor: r.replication_factor("replication.factor", d.replication_factor)?,
        emit_offset_syncs_enabled: r.bool("emit.offset-syncs.enabled", true)?,
        offset_syncs_topic_location: location(r)?,
        offset_syncs_topic_replication_factor: r.replication_factor(
            "offset-syncs.topic.replication.factor",
            d.offset_syncs_topic_replication_factor,
        )?,
        offset_lag_max: r.number("offset.lag.max", d.offset_lag_max, 0)?,
        heartbeats_replication_enabled: r.bool("heartbeats.replication.enabled", true)?,
        offset_flush_interval: input.worker.offset_flush_interval,
        max_in_flight_bytes: r.number("strait.max.in.flight.bytes", d.max_in_flight_bytes, 1)?,
        retry_backoff_max: r.millis("strait.retry.backoff.max.ms", d.retry_backoff_max)?,
        compression_type,
        consumer_overrides,
        producer_overrides,
        target_writer,
        source_reader: source_reader::parse(r, exactly_once.is_some(), target_writer)?,
        exactly_once,
    })
}

/// The keys that can carry the replication producer's settings, highest precedence first.
const PRODUCER_PREFIXES: [&str; 3] = ["producer.override.", "target.producer.", "producer."];

/// Refuses producer settings under which a retried batch could land after a later one, or an
/// acknowledged record be lost with a broker: progress and offset syncs would then claim
/// records the target does not hold. Names the key as the user wrote it.
fn refuse_unordered_producer(
    r: &KeyReader<'_>,
    overrides: &BTreeMap<String, String>,
) -> Result<(), ConfigError> {
    let written = |name: &str| {
        PRODUCER_PREFIXES
            .iter()
            .map(|p| format!("{p}{name}"))
            .find(|k| r.contains(k))
            .unwrap_or_else(|| format!("producer.override.{name}"))
    };
    if let Some(v) = overrides.get("enable.idempotence")
        && !v.trim().eq_ignore_ascii_case("true")
    {
        let key = written("enable.idempotence");
        return Err(r.error(
            &key,
            format!(
                "'{}' is not allowed: replication needs the idempotent producer, without which \
                 a retried batch can land after a later one and progress would count records \
                 the target does not hold (remove the key)",
                r.shown(&key)
            ),
        ));
    }
    if let Some(v) = overrides.get("acks")
        && !matches!(v.trim(), "all" | "-1")
    {
        let key = written("acks");
        return Err(r.error(
            &key,
            format!(
                "'{}' is not allowed: replication needs acks=all, without which an \
                 acknowledged record can be lost with a broker (remove the key or set all)",
                r.shown(&key)
            ),
        ));
    }
    Ok(())
}

fn checkpoint_config(
    r: &KeyReader<'_>,
    input: &ConnectorInput<'_>,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<CheckpointConnectorConfig, ConfigError> {
    let d = CheckpointConnectorConfig::default();
    let (refresh_groups_enabled, refresh_groups_interval) = job(
        r,
        "refresh.groups.enabled",
        "refresh.groups.interval.seconds",
        d.refresh_groups_interval,
    )?;
    let (emit_checkpoints_enabled, emit_checkpoints_interval) = job(
        r,
        "emit.checkpoints.enabled",
        "emit.checkpoints.interval.seconds",
        d.emit_checkpoints_interval,
    )?;
    let sync_enabled = r.bool("sync.group.offsets.enabled", false)?;
    let (sync_group_offsets_enabled, sync_group_offsets_interval) = match r.interval_seconds(
        "sync.group.offsets.interval.seconds",
        d.sync_group_offsets_interval,
    )? {
        Some(i) => (sync_enabled, i),
        None => (false, d.sync_group_offsets_interval),
    };
    if !r.bool("emit.offset-syncs.enabled", true)? {
        // MM2 3.9+ refuses this combination too: checkpoints are translated from offset syncs.
        if emit_checkpoints_enabled {
            return Err(r.error(
                "emit.offset-syncs.enabled",
                "is false, but checkpoints are translated from offset syncs; also set emit.checkpoints.enabled=false",
            ));
        }
    }
    Ok(CheckpointConnectorConfig {
        name: input.name.clone(),
        enabled: r.bool("enabled", true)?,
        tasks_max: tasks_max(r)?,
        topics: r.regex_list("topics", &[".*"])?,
        topics_exclude: filter_list(r, "topics.exclude", DEFAULT_TOPICS_EXCLUDE, warnings)?,
        groups: r.regex_list("groups", &[".*"])?,
        groups_exclude: filter_list(r, "groups.exclude", DEFAULT_GROUPS_EXCLUDE, warnings)?,
        refresh_groups_enabled,
        refresh_groups_interval,
        emit_checkpoints_enabled,
        emit_checkpoints_interval,
        sync_group_offsets_enabled,
        sync_group_offsets_interval,
        sync_group_offsets_rewind_enabled: r
            .bool("strait.sync.group.offsets.rewind.enabled", false)?,
        checkpoints_topic_replication_factor: r.replication_factor(
            "checkpoints.topic.replication.factor",
            d.checkpoints_topic_replication_factor,
        )?,
        offset_syncs_topic_location: location(r)?,
    })
}

fn heartbeat_config(
    r: &KeyReader<'_>,
    input: &ConnectorInput<'_>,
) -> Result<HeartbeatConnectorConfig, ConfigError> {
    let d = HeartbeatConnectorConfig::default();
    // The heartbeat connector ignores `enabled` and always runs one task, as in MM2.
    r.mark_used("enabled");
    r.mark_used("tasks.max");
    let enabled = r.bool("emit.heartbeats.enabled", true)?;
    let (emit_heartbeats_enabled, emit_heartbeats_interval) = match r.interval_seconds(
        "emit.heartbeats.interval.seconds",
        d.emit_heartbeats_interval,
    )? {
        Some(i) => (enabled, i),
        None => (false, d.emit_heartbeats_interval),
    };
    Ok(HeartbeatConnectorConfig {
        name: input.name.clone(),
        emit_heartbeats_enabled,
        emit_heartbeats_interval,
        heartbeats_topic_replication_factor: r.replication_factor(
            "heartbeats.topic.replication.factor",
            d.heartbeats_topic_replication_factor,
        )?,
        heartbeats_cluster: None,
    })
}

/// Where the heartbeat connector writes: its `target.cluster.*`. Under Connect the records are
/// produced by the worker's producer, which `producer.override.*` redirects; both must name
/// the same cluster, or Connect would create the topic on one cluster and write to another.
fn heartbeat_target(
    r: &KeyReader<'_>,
    ctx: &ClientContext,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<Option<ClusterConnection>, ConfigError> {
    let target_key = "target.cluster.bootstrap.servers";
    let override_key = "producer.override.bootstrap.servers";
    let mut conn = match (r.contains(target_key), r.contains(override_key)) {
        (false, false) => return Ok(None),
        (false, true) => client_props::connection(r, "producer.override.", ctx, warnings)?,
        (true, _) => {
            let conn = client_props::connection(r, "target.cluster.", ctx, warnings)?;
            if let Some(other) = r.str(override_key)
                && !same_servers(other, &conn.bootstrap_servers)
            {
                return Err(r.error(
                    override_key,
                    format!(
                        "names other brokers ('{}') than {target_key} ('{}'); heartbeats \
                         must be created and written on one cluster",
                        r.shown(override_key),
                        r.shown(target_key)
                    ),
                ));
            }
            conn
        }
    };
    let mut extra = BTreeMap::new();
    client_props::overrides(
        r,
        "producer.override.",
        "target.cluster.",
        Some(&mut extra),
        "",
        warnings,
    )?;
    for (k, v) in extra {
        conn.client_overrides.entry(k).or_insert(v);
    }
    Ok(Some(conn))
}

/// Whether two `bootstrap.servers` lists name the same brokers (order and spaces aside).
pub(crate) fn same_servers(a: &str, b: &str) -> bool {
    let set = |s: &str| {
        let mut v: Vec<String> = s
            .split(',')
            .map(|x| x.trim().to_ascii_lowercase())
            .collect();
        v.sort();
        v
    };
    set(a) == set(b)
}

/// Client settings MM2 accepts for clients Strait does not have separately.
fn client_prefixes_without_effect(
    r: &KeyReader<'_>,
    kind: ConnectorKind,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<(), ConfigError> {
    let mut prefixes: Vec<(&str, &str)> = vec![
        ("consumer.override.", "source.cluster."),
        ("admin.override.", "target.cluster."),
        ("source.admin.", "source.cluster."),
        ("target.admin.", "target.cluster."),
        ("admin.", "source.cluster."),
        ("source.producer.", "source.cluster."),
        ("target.consumer.", "target.cluster."),
    ];
    if kind != ConnectorKind::Source {
        prefixes.extend([
            ("source.consumer.", "source.cluster."),
            ("consumer.", "source.cluster."),
            ("target.producer.", "target.cluster."),
            ("producer.", "target.cluster."),
        ]);
        if kind != ConnectorKind::Heartbeat {
            prefixes.push(("producer.override.", "target.cluster."));
        }
    }
    let reason = format!(
        "Strait's {} has no separate settings for this client",
        kind.simple_name()
    );
    for (prefix, cluster_prefix) in prefixes {
        client_props::overrides(r, prefix, cluster_prefix, None, &reason, warnings)?;
    }
    Ok(())
}

fn report_unused(r: &KeyReader<'_>, warnings: &mut Vec<ConfigWarning>) {
    for key in r.unused() {
        if keys::is_connector_key(key) {
            // Another Mirror connector's key: MM2 dedicated mode gives every connector all of
            // them, so this is expected.
            continue;
        }
        let message = unknown_key_message(key, "connector key", keys::all_known());
        warnings.push(ConfigWarning::new(r.at(key), message));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::settings::Setting;
    use crate::config::worker::ExactlyOnceSourceSupport;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Setting::plain(k, *v)))
            .collect()
    }

    const BASE: &[(&str, &str)] = &[
        ("source.cluster.alias", "A"),
        ("target.cluster.alias", "B"),
        ("source.cluster.bootstrap.servers", "a:9092"),
        ("target.cluster.bootstrap.servers", "b:9092"),
    ];

    fn run(
        kind: ConnectorKind,
        extra: &[(&str, &str)],
    ) -> Result<(ParsedConnector, Vec<ConfigWarning>), ConfigError> {
        run_on(&worker(ExactlyOnceSourceSupport::Disabled), kind, extra)
    }

    /// A worker with group `g`, a 60 s flush interval and `exactly.once.source.support`.
    pub(crate) fn worker(exactly_once_source: ExactlyOnceSourceSupport) -> ParsedWorker {
        ParsedWorker {
            config: crate::config::WorkerConfig {
                offset_storage_topic: "o".to_owned(),
                offset_storage_partitions: 25,
                offset_storage_replication_factor: 3,
                group_id: "g".to_owned(),
            },
            offset_flush_interval: Duration::from_secs(60),
            exactly_once_source,
        }
    }

    /// Reads connector `c` of `kind` on `worker`, with [`BASE`] and `extra` as its settings.
    pub(crate) fn run_on(
        worker: &ParsedWorker,
        kind: ConnectorKind,
        extra: &[(&str, &str)],
    ) -> Result<(ParsedConnector, Vec<ConfigWarning>), ConfigError> {
        let mut pairs = BASE.to_vec();
        pairs.extend_from_slice(extra);
        let s = settings(&pairs);
        let ctx = ClientContext::default();
        let input = ConnectorInput {
            kind,
            name: "c".to_owned(),
            settings: &s,
            at: Origin::file("f").with_object("connector c"),
            ctx: &ctx,
            worker,
        };
        let mut w = Vec::new();
        parse(&input, &mut w).map(|p| (p, w))
    }

    fn err(kind: ConnectorKind, extra: &[(&str, &str)]) -> String {
        run(kind, extra).unwrap_err().to_string()
    }

    #[test]
    fn producer_settings_that_break_ordering_are_refused_naming_the_key() {
        let e = err(
            ConnectorKind::Source,
            &[("producer.override.enable.idempotence", "false")],
        );
        assert!(
            e.contains("producer.override.enable.idempotence") && e.contains("idempotent"),
            "{e}"
        );
        let e = err(ConnectorKind::Source, &[("target.producer.acks", "1")]);
        assert!(
            e.contains("target.producer.acks") && e.contains("acks=all"),
            "{e}"
        );
        let e = err(ConnectorKind::Source, &[("producer.acks", "0")]);
        assert!(e.contains("producer.acks"), "{e}");
        // What keeps order is accepted, in either spelling.
        for ok in [
            ("producer.override.enable.idempotence", "true"),
            ("producer.override.acks", "all"),
            ("producer.acks", "-1"),
        ] {
            assert!(run(ConnectorKind::Source, &[ok]).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn retry_backoff_is_read_in_milliseconds() {
        let (p, _) = run(
            ConnectorKind::Source,
            &[("strait.retry.backoff.max.ms", "2500")],
        )
        .unwrap();
        let ConnectorConfig::Source(c) = p.config else {
            panic!()
        };
        assert_eq!(c.retry_backoff_max, Duration::from_millis(2500));
        let e = err(
            ConnectorKind::Source,
            &[("strait.retry.backoff.max.ms", "soon")],
        );
        assert!(e.contains("strait.retry.backoff.max.ms"), "{e}");
    }

    #[test]
    fn source_defaults_are_mm2s() {
        let (p, w) = run(ConnectorKind::Source, &[]).unwrap();
        assert!(w.is_empty(), "{w:?}");
        let ConnectorConfig::Source(c) = p.config else {
            panic!()
        };
        let d = SourceConnectorConfig {
            name: "c".to_owned(),
            ..Default::default()
        };
        assert_eq!(c, d);
        assert_eq!(p.policy, PolicyConfig::default());
        assert_eq!(
            (p.source_alias.as_str(), p.target_alias.as_str()),
            ("A", "B")
        );
    }

    #[test]
    fn source_keys() {
        let (p, w) = run(
            ConnectorKind::Source,
            &[
                ("tasks.max", "3"),
                ("topics", "test.*, orders"),
                ("refresh.topics.interval.seconds", "10"),
                ("sync.topic.acls.interval.seconds", "-1"),
                ("replication.factor", "-1"),
                ("offset-syncs.topic.location", "TARGET"),
                (
                    "replication.policy.class",
                    "org.apache.kafka.connect.mirror.IdentityReplicationPolicy",
                ),
                ("key.converter", BYTE_ARRAY_CONVERTER),
                ("target.producer.compression.type", "zstd"),
                ("producer.override.linger.ms", "20"),
                ("source.consumer.isolation.level", "read_committed"),
                ("source.consumer.bootstrap.servers", "a:9092"),
                ("groups", "g.*"),
                ("refresh.topic.interval.seconds", "5"),
                ("admin.timeout.ms", "1000"),
            ],
        )
        .unwrap();
        let ConnectorConfig::Source(c) = p.config else {
            panic!()
        };
        assert_eq!(c.tasks_max, 3);
        assert_eq!(c.topics, vec!["test.*", "orders"]);
        assert_eq!(c.refresh_topics_interval, Duration::from_secs(10));
        assert!(!c.sync_topic_acls_enabled);
        assert_eq!(c.replication_factor, -1);
        assert_eq!(c.offset_syncs_topic_location, OffsetSyncsLocation::Target);
        assert_eq!(c.compression_type, "zstd");
        assert_eq!(c.producer_overrides["linger.ms"], "20");
        assert_eq!(c.consumer_overrides["isolation.level"], "read_committed");
        assert_eq!(p.policy.kind, PolicyKind::Identity);
        let w: Vec<String> = w.iter().map(ToString::to_string).collect();
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].contains("'admin.timeout.ms': ignored"), "{w:?}");
        assert!(w[1].contains(
            "unknown connector key 'refresh.topic.interval.seconds' ignored (closest known key: 'refresh.topics.interval.seconds')"
        ), "{w:?}");
    }

    #[test]
    fn checkpoint_and_heartbeat() {
        let (p, _) = run(
            ConnectorKind::Checkpoint,
            &[
                ("sync.group.offsets.enabled", "true"),
                ("groups", "test.*"),
                ("refresh.groups.interval.seconds", "10"),
            ],
        )
        .unwrap();
        let ConnectorConfig::Checkpoint(c) = p.config else {
            panic!()
        };
        assert!(c.sync_group_offsets_enabled);
        assert!(!c.sync_group_offsets_rewind_enabled, "MM2 never rewinds");
        assert_eq!(c.groups, vec!["test.*"]);
        assert_eq!(c.refresh_groups_interval, Duration::from_secs(10));
        let (p, w) = run(
            ConnectorKind::Checkpoint,
            &[("strait.sync.group.offsets.rewind.enabled", "true")],
        )
        .unwrap();
        let ConnectorConfig::Checkpoint(c) = p.config else {
            panic!()
        };
        assert!(c.sync_group_offsets_rewind_enabled);
        assert!(w.is_empty(), "{w:?}");

        let (p, _) = run(
            ConnectorKind::Heartbeat,
            &[
                ("producer.override.bootstrap.servers", " b:9092 "),
                ("emit.heartbeats.interval.seconds", "5"),
            ],
        )
        .unwrap();
        let ConnectorConfig::Heartbeat(h) = p.config else {
            panic!()
        };
        assert_eq!(h.emit_heartbeats_interval, Duration::from_secs(5));
        assert_eq!(p.target.unwrap().bootstrap_servers, "b:9092");
    }

    #[test]
    fn invalid_connector_configs() {
        use ConnectorKind::*;
        type Case<'a> = (ConnectorKind, &'a [(&'a str, &'a str)], &'a str);
        let cases: &[Case<'_>] = &[
            (
                Source,
                &[("sync.topic.configs.enabled", "yes")],
                "f (connector c), key 'sync.topic.configs.enabled': 'yes' is not a boolean (expected true or false)",
            ),
            (
                Source,
                &[("refresh.topics.interval.seconds", "10s")],
                "f (connector c), key 'refresh.topics.interval.seconds': '10s' is not a number of seconds",
            ),
            (
                Source,
                &[("refresh.topics.interval.seconds", "0")],
                "interval of 0 seconds is not allowed",
            ),
            (
                Source,
                &[("tasks.max", "0")],
                "key 'tasks.max': 0 is too small (minimum 1)",
            ),
            (
                Source,
                &[("tasks.max", "many")],
                "key 'tasks.max': 'many' is not a valid u32",
            ),
            (
                Source,
                &[("topics", "orders[")],
                "key 'topics': 'orders[' is not a valid regular expression",
            ),
            (
                Checkpoint,
                &[("groups.exclude", "(unclosed")],
                "key 'groups.exclude': '(unclosed' is not a valid regular expression",
            ),
            (
                Source,
                &[("replication.policy.class", "com.example.MyPolicy")],
                "key 'replication.policy.class': 'com.example.MyPolicy' is not supported",
            ),
            (
                Source,
                &[(
                    "value.converter",
                    "org.apache.kafka.connect.json.JsonConverter",
                )],
                "key 'value.converter': 'org.apache.kafka.connect.json.JsonConverter' is not supported: Strait copies record bytes unchanged",
            ),
            (
                Source,
                &[("offset-syncs.topic.location", "middle")],
                "key 'offset-syncs.topic.location': 'middle' is not valid (expected source or target)",
            ),
            (
                Source,
                &[("use.defaults.from", "both")],
                "key 'use.defaults.from': 'both' is not valid",
            ),
            (
                Source,
                &[("replication.factor", "0")],
                "0 is not a valid replication factor",
            ),
            (
                Source,
                &[("topic.filter.class", "com.example.Filter")],
                "key 'topic.filter.class': 'com.example.Filter' is not supported",
            ),
            (
                Source,
                &[("transforms", "route")],
                "key 'transforms': not supported",
            ),
            (
                Source,
                &[("connector.class", "MirrorCheckpointConnector")],
                "does not match org.apache.kafka.connect.mirror.MirrorSourceConnector",
            ),
            (
                Source,
                &[("source.cluster.alias", " ")],
                "key 'source.cluster.alias': is required",
            ),
            (
                Source,
                &[("target.cluster.alias", "A")],
                "source and target aliases are both 'A'",
            ),
            (
                Source,
                &[("source.cluster.bootstrap.servers", "")],
                "key 'source.cluster.bootstrap.servers': is required",
            ),
            (
                Checkpoint,
                &[("emit.offset-syncs.enabled", "false")],
                "checkpoints are translated from offset syncs",
            ),
            (
                Heartbeat,
                &[("producer.override.bootstrap.servers", "elsewhere:9092")],
                "key 'producer.override.bootstrap.servers': names other brokers",
            ),
            (
                Source,
                &[("replication.policy.separator", "")],
                "key 'replication.policy.separator': must not be empty",
            ),
        ];
        for (kind, extra, expected) in cases {
            let e = err(*kind, extra);
            assert!(e.contains(expected), "got: {e}\nexpected: {expected}");
        }
    }

    #[test]
    fn class_names() {
        assert_eq!(
            ConnectorKind::from_class("org.apache.kafka.connect.mirror.MirrorHeartbeatConnector"),
            Some(ConnectorKind::Heartbeat)
        );
        assert_eq!(
            ConnectorKind::from_class("MirrorSourceConnector"),
            Some(ConnectorKind::Source)
        );
        assert_eq!(ConnectorKind::from_class("FileStreamSource"), None);
    }
}
