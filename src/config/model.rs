//! The resolved configuration model: what every reader (Strait YAML, `mm2.properties`, Strimzi
//! manifests) produces and what the clients are built from. Values here are final: config
//! providers are already resolved and defaults applied.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

use super::Secret;
// The policy's settings are the policy's own type (config depends on policy, never back).
pub use crate::policy::replication_policy::{PolicyConfig, PolicyKind};

/// How to reach one Kafka cluster.
#[derive(Debug, Clone, Default)]
pub struct ClusterConnection {
    /// `bootstrap.servers`: comma-separated `host:port` list.
    pub bootstrap_servers: String,
    /// `security.protocol`; defaults to PLAINTEXT as in Kafka.
    pub security_protocol: SecurityProtocol,
    /// TLS settings, used when the protocol is SSL or SASL_SSL.
    pub tls: Tls,
    /// SASL credentials, used when the protocol is SASL_PLAINTEXT or SASL_SSL.
    pub sasl: Option<Sasl>,
    /// Further librdkafka properties, passed through as given (already in librdkafka's names).
    pub client_overrides: BTreeMap<String, String>,
}

/// Kafka's `security.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SecurityProtocol {
    /// No TLS, no authentication.
    #[default]
    Plaintext,
    /// TLS, no SASL.
    Ssl,
    /// SASL without TLS.
    SaslPlaintext,
    /// SASL over TLS (the seed's clusters).
    SaslSsl,
}

impl SecurityProtocol {
    /// The name Kafka and librdkafka use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plaintext => "PLAINTEXT",
            Self::Ssl => "SSL",
            Self::SaslPlaintext => "SASL_PLAINTEXT",
            Self::SaslSsl => "SASL_SSL",
        }
    }

    /// Whether connections use TLS.
    pub fn uses_tls(self) -> bool {
        matches!(self, Self::Ssl | Self::SaslSsl)
    }

    /// Whether connections authenticate with SASL.
    pub fn uses_sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }
}

impl fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown `security.protocol` value.
#[derive(Debug, thiserror::Error)]
#[error("unknown security.protocol '{0}' (expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL)")]
pub struct UnknownSecurityProtocol(pub String);

impl FromStr for SecurityProtocol {
    type Err = UnknownSecurityProtocol;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "PLAINTEXT" => Ok(Self::Plaintext),
            "SSL" => Ok(Self::Ssl),
            "SASL_PLAINTEXT" => Ok(Self::SaslPlaintext),
            "SASL_SSL" => Ok(Self::SaslSsl),
            _ => Err(UnknownSecurityProtocol(s.to_owned())),
        }
    }
}

/// TLS settings of a connection.
#[derive(Debug, Clone)]
pub struct Tls {
    /// The CA certificates the broker's certificate is checked against; `None` uses the
    /// system's CA bundle.
    pub truststore: Option<Truststore>,
    /// The client's own certificate and key, for brokers that require client authentication
    /// (mutual TLS); `None` sends no client certificate.
    pub keystore: Option<Keystore>,
    /// Check that the broker's certificate names the host connected to
    /// (`ssl.endpoint.identification.algorithm=https`, Kafka's default).
    pub verify_hostname: bool,
}

impl Default for Tls {
    fn default() -> Self {
        Self {
            truststore: None,
            keystore: None,
            verify_hostname: true,
        }
    }
}

/// Where the trusted CA certificates come from.
#[derive(Debug, Clone)]
pub enum Truststore {
    /// A PEM file of one or more CA certificates.
    PemFile(PathBuf),
    /// PEM certificates given inline (Java's `ssl.truststore.certificates`).
    PemInline(String),
    /// A Java KeyStore file (`ssl.truststore.type=JKS`, Java's default).
    Jks {
        /// `ssl.truststore.location`.
        path: PathBuf,
        /// `ssl.truststore.password`; `None` skips the integrity check, as Java does.
        password: Option<Secret>,
    },
    /// A PKCS#12 file (`ssl.truststore.type=PKCS12`).
    Pkcs12 {
        /// `ssl.truststore.location`.
        path: PathBuf,
        /// `ssl.truststore.password`.
        password: Option<Secret>,
    },
}

/// A client keystore: the certificate chain and private key a client authenticates with
/// (`ssl.keystore.*`, `ssl.key.password`).
#[derive(Debug, Clone)]
pub struct Keystore {
    /// Where the certificate chain and key are.
    pub source: KeystoreSource,
    /// `ssl.key.password`: decrypts the private key. For JKS and PKCS#12 the keystore password
    /// is used when it is not set, as Kafka does; a PEM key is encrypted only when it is set.
    pub key_password: Option<Secret>,
    /// The configuration key that named the keystore, as written (e.g.
    /// `source.cluster.ssl.keystore.location`), so errors at connection time can name it.
    pub config_key: String,
}

/// Where a client keystore's certificate chain and key are.
#[derive(Debug, Clone)]
pub enum KeystoreSource {
    /// A Java KeyStore file (`ssl.keystore.type=JKS`, Java's default).
    Jks {
        /// `ssl.keystore.location`.
        path: PathBuf,
        /// `ssl.keystore.password` (required, as in Kafka).
        password: Secret,
    },
    /// A PKCS#12 file (`ssl.keystore.type=PKCS12`).
    Pkcs12 {
        /// `ssl.keystore.location`.
        path: PathBuf,
        /// `ssl.keystore.password` (required, as in Kafka).
        password: Secret,
    },
    /// A PEM file holding the certificate chain and the private key
    /// (`ssl.keystore.type=PEM` with `ssl.keystore.location`).
    PemFile(PathBuf),
    /// PEM text given inline (`ssl.keystore.certificate.chain` and `ssl.keystore.key`).
    PemInline {
        /// `ssl.keystore.certificate.chain`: the client certificate first, then its chain.
        certificate_chain: String,
        /// `ssl.keystore.key`: the PKCS#8 private key.
        key: Secret,
    },
}

/// SASL mechanisms Strait speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaslMechanism {
    /// `PLAIN` (the seed's clusters).
    Plain,
    /// `SCRAM-SHA-256`.
    ScramSha256,
    /// `SCRAM-SHA-512`.
    ScramSha512,
}

impl SaslMechanism {
    /// The name Kafka and librdkafka use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::ScramSha256 => "SCRAM-SHA-256",
            Self::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

/// An unknown or unsupported `sasl.mechanism` value.
#[derive(Debug, thiserror::Error)]
#[error("unsupported sasl.mechanism '{0}' (expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)")]
pub struct UnknownSaslMechanism(pub String);

impl FromStr for SaslMechanism {
    type Err = UnknownSaslMechanism;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "PLAIN" => Ok(Self::Plain),
            "SCRAM-SHA-256" => Ok(Self::ScramSha256),
            "SCRAM-SHA-512" => Ok(Self::ScramSha512),
            _ => Err(UnknownSaslMechanism(s.to_owned())),
        }
    }
}

/// SASL username/password credentials.
#[derive(Debug, Clone)]
pub struct Sasl {
    /// The mechanism.
    pub mechanism: SaslMechanism,
    /// The user name (not secret; it appears in ACLs and logs).
    pub username: String,
    /// The password.
    pub password: Secret,
}

/// Everything Strait runs: one or more replication flows.
#[derive(Debug, Clone, Default)]
pub struct StraitConfig {
    /// The flows, each one source alias to one target alias.
    pub flows: Vec<FlowConfig>,
}

/// One replication flow (MM2's `A->B`): the three connectors' settings over one pair of
/// clusters. Field defaults are MM2's (`Default` impls below), so a reader only sets what the
/// user wrote.
#[derive(Debug, Clone)]
pub struct FlowConfig {
    /// `source.cluster.alias` (required by MM2).
    pub source_alias: String,
    /// `target.cluster.alias` (MM2 default `target`).
    pub target_alias: String,
    /// How to reach the source cluster (`source.cluster.*`).
    pub source: ClusterConnection,
    /// How to reach the target cluster (`target.cluster.*`).
    pub target: ClusterConnection,
    /// `replication.policy.*`.
    pub policy: PolicyConfig,
    /// The Kafka Connect worker settings the flow's state lives in (offsets topic, group).
    pub worker: WorkerConfig,
    /// MirrorSourceConnector settings; `None` when the flow has no source connector.
    pub source_connector: Option<SourceConnectorConfig>,
    /// MirrorCheckpointConnector settings; `None` when the flow has no checkpoint connector.
    pub checkpoint_connector: Option<CheckpointConnectorConfig>,
    /// MirrorHeartbeatConnector settings; `None` when the flow has no heartbeat connector.
    pub heartbeat_connector: Option<HeartbeatConnectorConfig>,
}

impl FlowConfig {
    /// The flow's name as MM2 writes it: `<source>-><target>`.
    pub fn name(&self) -> String {
        format!("{}->{}", self.source_alias, self.target_alias)
    }
}

/// Kafka Connect worker settings that decide where a flow keeps its state on the target, so a
/// flow can move between MM2 and Strait without replicating again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerConfig {
    /// `offset.storage.topic`: where replication progress lives (Connect's format). MM2
    /// dedicated mode uses `mm2-offsets.<source alias>.internal`.
    pub offset_storage_topic: String,
    /// `offset.storage.partitions` when Strait has to create the topic (Connect default 25).
    pub offset_storage_partitions: i32,
    /// `offset.storage.replication.factor` (-1 = broker default).
    pub offset_storage_replication_factor: i16,
    /// `group.id` of the Connect cluster; Strait's processes coordinate through a consumer
    /// group derived from it on the source cluster.
    pub group_id: String,
}

/// Where offset syncs are written (`offset-syncs.topic.location`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OffsetSyncsLocation {
    /// On the source cluster, named after the target alias (MM2's default).
    #[default]
    Source,
    /// On the target cluster, named after the source alias.
    Target,
}

/// Where topic config defaults come from when syncing configs (`use.defaults.from`, KIP-894).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UseDefaultsFrom {
    /// Source defaults become explicit settings on the target.
    Source,
    /// Source defaults are left to the target's defaults (MM2's default).
    #[default]
    Target,
}

/// MirrorSourceConnector settings, with MM2's names and defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceConnectorConfig {
    /// The connector's name: the first element of its offsets-topic keys. `MirrorSourceConnector`
    /// in MM2 dedicated mode; the KafkaConnector's `metadata.name` under Strimzi.
    pub name: String,
    /// `enabled` (default true; MM2 dedicated mode defaults flows to false).
    pub enabled: bool,
    /// `tasks.max` (default 1): how many target producers each process runs side by side (up
    /// to 8), each with its own connection, in-flight window and compression thread.
    pub tasks_max: u32,
    /// `topics`: regexes (whole-name match) of topics to replicate (default `.*`).
    pub topics: Vec<String>,
    /// `topics.exclude`: regexes of topics never replicated; excludes win.
    pub topics_exclude: Vec<String>,
    /// `config.properties.exclude`: regexes of topic config names not replicated.
    pub config_properties_exclude: Vec<String>,
    /// `use.defaults.from`.
    pub use_defaults_from: UseDefaultsFrom,
    /// `refresh.topics.enabled` (default true).
    pub refresh_topics_enabled: bool,
    /// `refresh.topics.interval.seconds` (default 600).
    pub refresh_topics_interval: Duration,
    /// `sync.topic.configs.enabled` (default true).
    pub sync_topic_configs_enabled: bool,
    /// `sync.topic.configs.interval.seconds` (default 600).
    pub sync_topic_configs_interval: Duration,
    /// `sync.topic.acls.enabled` (default true).
    pub sync_topic_acls_enabled: bool,
    /// `sync.topic.acls.interval.seconds` (default 600).
    pub sync_topic_acls_interval: Duration,
    /// `replication.factor` of new remote topics (default 2; -1 = broker default).
    pub replication_factor: i16,
    /// `emit.offset-syncs.enabled` (default true).
    pub emit_offset_syncs_enabled: bool,
    /// `offset-syncs.topic.location` (default source).
    pub offset_syncs_topic_location: OffsetSyncsLocation,
    /// `offset-syncs.topic.replication.factor` (default 3; -1 = broker default).
    pub offset_syncs_topic_replication_factor: i16,
    /// `offset.lag.max` (default 100).
    pub offset_lag_max: i64,
    /// `heartbeats.replication.enabled` (default true).
    pub heartbeats_replication_enabled: bool,
    /// `offset.flush.interval.ms` of the worker (default 60000): how often delayed offset syncs
    /// are published, as Connect's offset commit does.
    pub offset_flush_interval: Duration,
    /// Strait: bytes of records sent to the target but not yet acknowledged before fetching
    /// pauses (default 16 MiB).
    pub max_in_flight_bytes: u64,
    /// Strait: the longest wait between two retries of a partition held at a record the
    /// target refused (`strait.retry.backoff.max.ms`, default 60000; retries start at 5 s
    /// and double).
    pub retry_backoff_max: Duration,
    /// Strait: `compression.type` of the target producer (default lz4).
    pub compression_type: String,
    /// Further source consumer settings (`source.consumer.*`, `consumer.*`), librdkafka names.
    pub consumer_overrides: BTreeMap<String, String>,
    /// Further target producer settings (`target.producer.*`, `producer.*`), librdkafka names.
    pub producer_overrides: BTreeMap<String, String>,
    /// Exactly-once replication (KIP-618), when on: records and progress are written to the
    /// target in one transaction per commit interval.
    pub exactly_once: Option<ExactlyOnceConfig>,
    /// Strait: what writes replicated records to the target (`strait.target.writer`).
    pub target_writer: TargetWriter,
    /// Strait: what reads the source for replication (`strait.source.reader`).
    pub source_reader: SourceReader,
}

/// What reads the source for replication (`strait.source.reader`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SourceReader {
    /// `auto` (default): `wire` where the flow writes with the wire writer and no source
    /// consumer setting is one the fetcher would not apply (`client.rack`); `librdkafka`
    /// then.
    #[default]
    Auto,
    /// `librdkafka`: librdkafka's consumer reads records one by one.
    Librdkafka,
    /// `wire`: Strait's own fetcher reads record batches as stored, and the wire writer passes
    /// those it can unchanged (`src/kafka/fetch/`). Needs the wire writer; not with
    /// exactly-once.
    Wire,
}

impl SourceReader {
    /// The value of `strait.source.reader` that names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Librdkafka => "librdkafka",
            Self::Wire => "wire",
        }
    }
}

/// What writes replicated records to the target (`strait.target.writer`); the flow's choice
/// is [`SourceConnectorConfig::writer_choice`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TargetWriter {
    /// `auto` (default): `wire` unless exactly-once is on or a producer or target client
    /// setting is one the wire writer would not apply; `librdkafka` then.
    #[default]
    Auto,
    /// `librdkafka`: librdkafka's producer, one request per partition.
    Librdkafka,
    /// `wire`: Strait's own writer, one request per broker (`src/kafka/writer/`). Not with
    /// exactly-once, whose transactions stay on librdkafka.
    Wire,
}

impl TargetWriter {
    /// The value of `strait.target.writer` that names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Librdkafka => "librdkafka",
            Self::Wire => "wire",
        }
    }
}

/// Exactly-once replication settings (KIP-618's keys, resolved).
///
/// On when the worker has `exactly.once.source.support=enabled` or the source connector has
/// `strait.exactly.once.enabled=true`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExactlyOnceConfig {
    /// Start of every transactional id; each replicated source partition writes with
    /// `<prefix>-<topic>-<partition>` (`strait.transactional.id.prefix`, default
    /// `<group.id>-<connector name>`, as Connect's `<group.id>-<connector>-<task>`).
    pub transactional_id_prefix: String,
    /// How often each partition's transaction is committed (`transaction.boundary`:
    /// `poll`, the default, is every 100 ms; `interval` is `transaction.boundary.interval.ms`,
    /// default the worker's `offset.flush.interval.ms`).
    pub commit_interval: Duration,
    /// The producer's `transaction.timeout.ms` (default 60000, Java's).
    pub transaction_timeout: Duration,
    /// `exactly.once.support=required`: the flow refuses to run without exactly-once.
    pub required: bool,
}

/// The commit interval of `transaction.boundary=poll`. Connect commits after every batch a
/// task's `poll()` returns; Strait streams records without such batches, so it commits each
/// partition's transaction this often instead, which keeps end-to-end latency near Connect's.
pub const POLL_COMMIT_INTERVAL: Duration = Duration::from_millis(100);

/// `transaction.timeout.ms` unless configured: the Java producer's default.
pub const DEFAULT_TRANSACTION_TIMEOUT: Duration = Duration::from_secs(60);

/// Connect's `offset.storage.partitions` default (used when Strait creates the offsets topic).
pub const DEFAULT_OFFSET_STORAGE_PARTITIONS: i32 = 25;
/// Connect's `offset.storage.replication.factor` default.
pub const DEFAULT_OFFSET_STORAGE_REPLICATION_FACTOR: i16 = 3;
/// Connect's `offset.flush.interval.ms` default.
pub const DEFAULT_OFFSET_FLUSH_INTERVAL: Duration = Duration::from_secs(60);

/// MM2's default `topics.exclude`.
pub const DEFAULT_TOPICS_EXCLUDE: &[&str] = &[r".*[\-\.]internal", r".*\.replica", r"__.*"];

/// MM2's default `config.properties.exclude`.
pub const DEFAULT_CONFIG_PROPERTIES_EXCLUDE: &[&str] = &[
    r"follower\.replication\.throttled\.replicas",
    r"leader\.replication\.throttled\.replicas",
    r"message\.timestamp\.difference\.max\.ms",
    r"message\.timestamp\.type",
    r"unclean\.leader\.election\.enable",
    r"min\.insync\.replicas",
];

/// MM2's default `groups.exclude`.
pub const DEFAULT_GROUPS_EXCLUDE: &[&str] = &[r"console-consumer-.*", r"connect-.*", r"__.*"];

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

impl Default for SourceConnectorConfig {
    fn default() -> Self {
        Self {
            name: "MirrorSourceConnector".to_owned(),
            enabled: true,
            tasks_max: 1,
            topics: vec![".*".to_owned()],
            topics_exclude: strings(DEFAULT_TOPICS_EXCLUDE),
            config_properties_exclude: strings(DEFAULT_CONFIG_PROPERTIES_EXCLUDE),
            use_defaults_from: UseDefaultsFrom::Target,
            refresh_topics_enabled: true,
            refresh_topics_interval: Duration::from_secs(600),
            sync_topic_configs_enabled: true,
            sync_topic_configs_interval: Duration::from_secs(600),
            sync_topic_acls_enabled: true,
            sync_topic_acls_interval: Duration::from_secs(600),
            replication_factor: 2,
            emit_offset_syncs_enabled: true,
            offset_syncs_topic_location: OffsetSyncsLocation::Source,
            offset_syncs_topic_replication_factor: 3,
            offset_lag_max: 100,
            heartbeats_replication_enabled: true,
            offset_flush_interval: DEFAULT_OFFSET_FLUSH_INTERVAL,
            max_in_flight_bytes: 4 * 1024 * 1024,
            retry_backoff_max: Duration::from_secs(60),
            compression_type: "lz4".to_owned(),
            consumer_overrides: BTreeMap::new(),
            producer_overrides: BTreeMap::new(),
            exactly_once: None,
            target_writer: TargetWriter::Auto,
            source_reader: SourceReader::Auto,
        }
    }
}

/// MirrorCheckpointConnector settings, with MM2's names and defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointConnectorConfig {
    /// The connector's name (`MirrorCheckpointConnector` in dedicated mode).
    pub name: String,
    /// `enabled` (default true).
    pub enabled: bool,
    /// `tasks.max` (default 1).
    pub tasks_max: u32,
    /// `topics` as for the source connector: only offsets on these topics are checkpointed.
    pub topics: Vec<String>,
    /// `topics.exclude`.
    pub topics_exclude: Vec<String>,
    /// `groups`: regexes of consumer groups to checkpoint (default `.*`).
    pub groups: Vec<String>,
    /// `groups.exclude`.
    pub groups_exclude: Vec<String>,
    /// `refresh.groups.enabled` (default true).
    pub refresh_groups_enabled: bool,
    /// `refresh.groups.interval.seconds` (default 600).
    pub refresh_groups_interval: Duration,
    /// `emit.checkpoints.enabled` (default true).
    pub emit_checkpoints_enabled: bool,
    /// `emit.checkpoints.interval.seconds` (default 60).
    pub emit_checkpoints_interval: Duration,
    /// `sync.group.offsets.enabled` (default false; the seed turns it on).
    pub sync_group_offsets_enabled: bool,
    /// `sync.group.offsets.interval.seconds` (default 60).
    pub sync_group_offsets_interval: Duration,
    /// Strait: `strait.sync.group.offsets.rewind.enabled` (default false, MM2's behaviour).
    /// When true, group sync moves a target partition back to follow a reset of the source
    /// group, provided the target still holds exactly the offset Strait wrote there (nobody
    /// consumed on the target since).
    pub sync_group_offsets_rewind_enabled: bool,
    /// `checkpoints.topic.replication.factor` (default 3).
    pub checkpoints_topic_replication_factor: i16,
    /// `offset-syncs.topic.location` (must match the source connector's).
    pub offset_syncs_topic_location: OffsetSyncsLocation,
}

impl Default for CheckpointConnectorConfig {
    fn default() -> Self {
        Self {
            name: "MirrorCheckpointConnector".to_owned(),
            enabled: true,
            tasks_max: 1,
            topics: vec![".*".to_owned()],
            topics_exclude: strings(DEFAULT_TOPICS_EXCLUDE),
            groups: vec![".*".to_owned()],
            groups_exclude: strings(DEFAULT_GROUPS_EXCLUDE),
            refresh_groups_enabled: true,
            refresh_groups_interval: Duration::from_secs(600),
            emit_checkpoints_enabled: true,
            emit_checkpoints_interval: Duration::from_secs(60),
            sync_group_offsets_enabled: false,
            sync_group_offsets_interval: Duration::from_secs(60),
            sync_group_offsets_rewind_enabled: false,
            checkpoints_topic_replication_factor: 3,
            offset_syncs_topic_location: OffsetSyncsLocation::Source,
        }
    }
}

/// MirrorHeartbeatConnector settings, with MM2's names and defaults.
#[derive(Debug, Clone)]
pub struct HeartbeatConnectorConfig {
    /// The connector's name (`MirrorHeartbeatConnector` in dedicated mode).
    pub name: String,
    /// `emit.heartbeats.enabled` (default true).
    pub emit_heartbeats_enabled: bool,
    /// `emit.heartbeats.interval.seconds` (default 1).
    pub emit_heartbeats_interval: Duration,
    /// `heartbeats.topic.replication.factor` (default 3).
    pub heartbeats_topic_replication_factor: i16,
    /// The cluster heartbeats are written to: the heartbeat connector's `target.cluster.*`
    /// (the seed points it at the source cluster). `None` means the flow's target.
    pub heartbeats_cluster: Option<ClusterConnection>,
}

impl Default for HeartbeatConnectorConfig {
    fn default() -> Self {
        Self {
            name: "MirrorHeartbeatConnector".to_owned(),
            emit_heartbeats_enabled: true,
            emit_heartbeats_interval: Duration::from_secs(1),
            heartbeats_topic_replication_factor: 3,
            heartbeats_cluster: None,
        }
    }
}
