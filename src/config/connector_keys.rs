//! The MM2 connector keys Strait knows, by connector, and the ones it accepts without acting
//! on them. Used to report unknown keys with the closest known one.

/// Keys of all three Mirror connectors (`MirrorConnectorConfig`) and Connect's own.
pub const SHARED: &[&str] = &[
    "name",
    "connector.class",
    "tasks.max",
    "enabled",
    "source.cluster.alias",
    "target.cluster.alias",
    "replication.policy.class",
    "replication.policy.separator",
    "replication.policy.internal.topic.separator.enabled",
    "offset-syncs.topic.location",
    "emit.offset-syncs.enabled",
    "key.converter",
    "value.converter",
    "header.converter",
];

/// MirrorSourceConnector keys (plus Strait's `strait.*` keys).
pub const SOURCE: &[&str] = &[
    "topics",
    "topics.exclude",
    "config.properties.exclude",
    "use.defaults.from",
    "refresh.topics.enabled",
    "refresh.topics.interval.seconds",
    "sync.topic.configs.enabled",
    "sync.topic.configs.interval.seconds",
    "sync.topic.acls.enabled",
    "sync.topic.acls.interval.seconds",
    "replication.factor",
    "offset-syncs.topic.replication.factor",
    "offset.lag.max",
    "heartbeats.replication.enabled",
    "strait.max.in.flight.bytes",
    "strait.retry.backoff.max.ms",
    "strait.target.writer",
    "strait.source.reader",
    // Exactly-once (KIP-618): Connect's source connector keys and Strait's own.
    "exactly.once.support",
    "transaction.boundary",
    "transaction.boundary.interval.ms",
    "strait.exactly.once.enabled",
    "strait.transactional.id.prefix",
];

/// MirrorCheckpointConnector keys (it also reads `topics` and `topics.exclude`), plus Strait's
/// `strait.sync.group.offsets.rewind.enabled`.
pub const CHECKPOINT: &[&str] = &[
    "groups",
    "groups.exclude",
    "refresh.groups.enabled",
    "refresh.groups.interval.seconds",
    "emit.checkpoints.enabled",
    "emit.checkpoints.interval.seconds",
    "sync.group.offsets.enabled",
    "sync.group.offsets.interval.seconds",
    "checkpoints.topic.replication.factor",
    "strait.sync.group.offsets.rewind.enabled",
];

/// MirrorHeartbeatConnector keys.
pub const HEARTBEAT: &[&str] = &[
    "emit.heartbeats.enabled",
    "emit.heartbeats.interval.seconds",
    "heartbeats.topic.replication.factor",
];

/// Keys MM2 or Connect define that have no effect in Strait (reported as warnings).
pub const NO_EFFECT: &[(&str, &str)] = &[
    (
        "admin.timeout.ms",
        "Strait uses librdkafka's request timeouts",
    ),
    (
        "consumer.poll.timeout.ms",
        "Strait does not poll in fixed slices",
    ),
    ("metric.reporters", "Strait exposes its own metrics"),
    (
        "use.incremental.alter.configs",
        "Strait always uses incremental config updates",
    ),
    (
        "add.source.alias.to.metrics",
        "Strait's metrics always name the source",
    ),
    ("errors.retry.timeout", "Strait retries until stopped"),
    ("errors.retry.delay.max.ms", "Strait retries until stopped"),
    ("errors.tolerance", "Strait never skips records"),
    ("errors.log.enable", "Strait logs every error"),
    (
        "errors.log.include.messages",
        "Strait never logs record contents",
    ),
    (
        "config.action.reload",
        "Strait reads its configuration at start",
    ),
];

/// Pluggable classes: only MM2's default implementation is available.
pub const DEFAULT_CLASS_ONLY: &[(&str, &str)] = &[
    (
        "topic.filter.class",
        "org.apache.kafka.connect.mirror.DefaultTopicFilter",
    ),
    (
        "group.filter.class",
        "org.apache.kafka.connect.mirror.DefaultGroupFilter",
    ),
    (
        "config.property.filter.class",
        "org.apache.kafka.connect.mirror.DefaultConfigPropertyFilter",
    ),
    (
        "forwarding.admin.class",
        "org.apache.kafka.clients.admin.ForwardingAdmin",
    ),
];

/// Keys that cannot be honoured at all.
pub const REJECTED: &[(&str, &str)] = &[
    (
        "transforms",
        "Strait copies records unchanged; Single Message Transforms cannot run",
    ),
    (
        "predicates",
        "Strait copies records unchanged; Single Message Transforms cannot run",
    ),
    (
        "offsets.storage.topic",
        "a connector-specific offsets topic is not supported yet; set the worker's offset.storage.topic",
    ),
];

/// Deprecated spellings (removed in Kafka 4.0) and their current keys.
pub const DEPRECATED: &[(&str, &str)] = &[
    ("topics.blacklist", "topics.exclude"),
    ("groups.blacklist", "groups.exclude"),
    ("config.properties.blacklist", "config.properties.exclude"),
];

/// Every known key, for suggestions.
pub fn all_known() -> impl Iterator<Item = &'static str> {
    SHARED
        .iter()
        .chain(SOURCE)
        .chain(CHECKPOINT)
        .chain(HEARTBEAT)
        .copied()
        .chain(NO_EFFECT.iter().map(|(k, _)| *k))
        .chain(DEFAULT_CLASS_ONLY.iter().map(|(k, _)| *k))
        .chain(REJECTED.iter().map(|(k, _)| *k))
        .chain(DEPRECATED.iter().map(|(k, _)| *k))
}

/// Whether any Mirror connector defines `key` (MM2 dedicated mode passes all such keys to all
/// three connectors, so one connector seeing another's keys is normal).
pub fn is_connector_key(key: &str) -> bool {
    SHARED
        .iter()
        .chain(SOURCE)
        .chain(CHECKPOINT)
        .chain(HEARTBEAT)
        .any(|k| *k == key)
        || NO_EFFECT.iter().any(|(k, _)| *k == key)
        || DEFAULT_CLASS_ONLY.iter().any(|(k, _)| *k == key)
        || DEPRECATED.iter().any(|(k, _)| *k == key)
}
