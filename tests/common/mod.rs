//! Shared helpers for integration tests: the test bed's env file, clients built from it, and
//! unique names so tests can run in parallel without seeing each other's leftovers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;

use strait::config::{
    ClusterConnection, Keystore, KeystoreSource, Sasl, SaslMechanism, Secret, SecurityProtocol,
    Tls, Truststore,
};
use strait::kafka::{ClientRole, client_config};

pub mod scenario;
pub mod seed;

/// The repository root (tests run with the package root as working directory).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Ends this test binary successfully with one line saying why: `cargo test` on a machine
/// without the Kafka test bed runs the unit tests and skips the integration tests, instead of
/// failing each one. `scripts/test.sh` (and so CI) sets `STRAIT_REQUIRE_TESTBED`, where a
/// missing bed is a failure.
fn skip_without_testbed() -> ! {
    let binary = std::env::args()
        .next()
        .and_then(|a| {
            let name = PathBuf::from(a).file_name()?.to_string_lossy().into_owned();
            // Cargo names test binaries `<file>-<hash>`.
            Some(
                name.rsplit_once('-')
                    .map_or(name.clone(), |(n, _)| n.to_owned()),
            )
        })
        .unwrap_or_default();
    // One line however many tests ask at once: the first holds the lock until the exit.
    static SKIPPING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _held = SKIPPING.lock();
    // Straight to stderr: the test harness would capture `eprintln!` and drop it on exit.
    let _ = writeln!(
        std::io::stderr(),
        "skipped tests/{binary}.rs: integration tests need the Kafka test bed; \
         run them with `bash scripts/test.sh` (brings the bed up)"
    );
    std::process::exit(0)
}

/// The running test bed, as `testbed/kafka.sh up` described it in its env file.
#[derive(Debug, Clone)]
pub struct Testbed {
    vars: HashMap<String, String>,
}

/// Which of the two clusters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cluster {
    /// The `source` cluster.
    Source,
    /// The `target` cluster.
    Target,
}

impl Cluster {
    fn prefix(self) -> &'static str {
        match self {
            Cluster::Source => "SOURCE",
            Cluster::Target => "TARGET",
        }
    }
}

/// Which listener of a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// No TLS, no authentication.
    Plaintext,
    /// TLS + SASL, with the given mechanism.
    SaslSsl(SaslMechanism),
}

/// Which of the test bed's client keystores (all hold the certificate `CN=strait-client`,
/// signed by the test bed's CA, and its key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKeystore {
    /// `KEYSTORE_JKS`, its key protected by `CLIENT_KEY_PASSWORD` (`ssl.key.password`).
    Jks,
    /// `KEYSTORE_P12`, one password.
    Pkcs12,
    /// `KEYSTORE_PEM`: the chain and the key encrypted with `CLIENT_KEY_PASSWORD`.
    PemFile,
    /// `CLIENT_CERT_PEM` and `CLIENT_KEY_PEM` given inline, the key unencrypted.
    PemInline,
}

impl Testbed {
    /// Reads the env file; panics with the command to run when the test bed is not up.
    /// `STRAIT_TESTBED_ENV` names the file, else `STRAIT_TESTBED_RUN/env` (a test bed started
    /// with `STRAIT_TESTBED_RUN`), else `testbed/run/env`.
    pub fn get() -> Testbed {
        let path = std::env::var_os("STRAIT_TESTBED_ENV")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("STRAIT_TESTBED_RUN").map(|d| PathBuf::from(d).join("env"))
            })
            .unwrap_or_else(|| repo_root().join("testbed/run/env"));
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if std::env::var_os("STRAIT_REQUIRE_TESTBED").is_some() => panic!(
                "the Kafka test bed is not up ({}: {e}): run `testbed/kafka.sh up` first",
                path.display()
            ),
            Err(_) => skip_without_testbed(),
        };
        let vars = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        Testbed { vars }
    }

    /// Brokers per cluster (`STRAIT_TESTBED_BROKERS` at `up`; 1 for older env files).
    pub fn brokers(&self) -> usize {
        self.vars
            .get("BROKERS")
            .and_then(|b| b.parse().ok())
            .unwrap_or(1)
    }

    /// One value of the env file.
    pub fn var(&self, key: &str) -> &str {
        self.vars
            .get(key)
            .unwrap_or_else(|| panic!("test bed env file has no {key}"))
    }

    /// Bootstrap address of a cluster's listener.
    pub fn bootstrap(&self, cluster: Cluster, listener: Listener) -> String {
        let suffix = match listener {
            Listener::Plaintext => "PLAINTEXT",
            Listener::SaslSsl(_) => "SASL_SSL",
        };
        self.var(&format!("{}_BOOTSTRAP_{suffix}", cluster.prefix()))
            .to_owned()
    }

    /// A connection to `cluster` over `listener` as user `replicator`, trusting the PEM CA.
    pub fn connection(&self, cluster: Cluster, listener: Listener) -> ClusterConnection {
        self.connection_as(
            cluster,
            listener,
            "replicator",
            self.var("REPLICATOR_PASSWORD"),
        )
    }

    /// A connection as a given user and password.
    pub fn connection_as(
        &self,
        cluster: Cluster,
        listener: Listener,
        user: &str,
        password: &str,
    ) -> ClusterConnection {
        let mut conn = ClusterConnection {
            bootstrap_servers: self.bootstrap(cluster, listener),
            ..ClusterConnection::default()
        };
        if let Listener::SaslSsl(mechanism) = listener {
            conn.security_protocol = SecurityProtocol::SaslSsl;
            conn.tls = Tls {
                truststore: Some(Truststore::PemFile(PathBuf::from(
                    self.var("TRUSTSTORE_PEM"),
                ))),
                ..Tls::default()
            };
            conn.sasl = Some(Sasl {
                mechanism,
                username: user.to_owned(),
                password: Secret::new(password),
            });
        }
        conn
    }

    /// A connection to `cluster`'s mTLS listener (SSL, client certificate required), trusting
    /// the PEM CA and presenting the certificate of `keystore` (`None`: no certificate).
    pub fn mtls_connection(
        &self,
        cluster: Cluster,
        keystore: Option<ClientKeystore>,
    ) -> ClusterConnection {
        ClusterConnection {
            bootstrap_servers: self.mtls_bootstrap(cluster),
            security_protocol: SecurityProtocol::Ssl,
            tls: Tls {
                truststore: Some(Truststore::PemFile(PathBuf::from(
                    self.var("TRUSTSTORE_PEM"),
                ))),
                keystore: keystore.map(|k| self.client_keystore(k)),
                verify_hostname: true,
            },
            ..ClusterConnection::default()
        }
    }

    /// Bootstrap address of a cluster's mTLS listener; panics with what to do when the test
    /// bed runs brokers started before that listener existed.
    pub fn mtls_bootstrap(&self, cluster: Cluster) -> String {
        let key = format!("{}_BOOTSTRAP_MTLS", cluster.prefix());
        self.vars.get(&key).cloned().unwrap_or_else(|| {
            panic!(
                "the test bed has no mTLS listener (its brokers were started before it \
                 existed): restart it with `testbed/kafka.sh down && testbed/kafka.sh up` \
                 (data is kept)"
            )
        })
    }

    /// One of the test bed's client keystores, as the configuration readers produce it.
    pub fn client_keystore(&self, which: ClientKeystore) -> Keystore {
        let path = |key: &str| PathBuf::from(self.var(key));
        let secret = |key: &str| Secret::new(self.var(key));
        let read = |key: &str| std::fs::read_to_string(self.var(key)).expect("client PEM");
        let (source, key_password) = match which {
            ClientKeystore::Jks => (
                KeystoreSource::Jks {
                    path: path("KEYSTORE_JKS"),
                    password: secret("KEYSTORE_JKS_PASSWORD"),
                },
                Some(secret("CLIENT_KEY_PASSWORD")),
            ),
            ClientKeystore::Pkcs12 => (
                KeystoreSource::Pkcs12 {
                    path: path("KEYSTORE_P12"),
                    password: secret("KEYSTORE_P12_PASSWORD"),
                },
                None,
            ),
            ClientKeystore::PemFile => (
                KeystoreSource::PemFile(path("KEYSTORE_PEM")),
                Some(secret("CLIENT_KEY_PASSWORD")),
            ),
            ClientKeystore::PemInline => (
                KeystoreSource::PemInline {
                    certificate_chain: read("CLIENT_CERT_PEM"),
                    key: Secret::new(read("CLIENT_KEY_PEM")),
                },
                None,
            ),
        };
        Keystore {
            source,
            key_password,
            config_key: "ssl.keystore.location".to_owned(),
        }
    }

    /// A client configuration for `cluster` over PLAINTEXT (the fast path for test set-up).
    pub fn plaintext_config(&self, cluster: Cluster) -> ClientConfig {
        client_config(
            &self.connection(cluster, Listener::Plaintext),
            "strait-test",
            ClientRole::TargetAdmin,
        )
        .expect("client config")
    }

    /// The Kafka jars of the test bed (for running Java tools).
    pub fn kafka_libs(&self) -> &Path {
        Path::new(self.var("KAFKA_LIBS"))
    }
}

/// A name no other test (or earlier run) uses: `<prefix>-<millis>-<counter>`.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    format!(
        "{prefix}-{millis}-{}",
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Creates a topic at the brokers' default replication factor, failing the test on any error.
pub async fn create_topic(config: &ClientConfig, topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = config.create().expect("admin client");
    let results = admin
        .create_topics(
            &[NewTopic::new(
                topic,
                partitions,
                TopicReplication::Fixed(-1),
            )],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
        )
        .await
        .expect("create_topics");
    for r in results {
        r.unwrap_or_else(|(t, e)| panic!("creating topic {t}: {e}"));
    }
}

/// A flow from the test bed's `source` to its `target` over SASL_SSL (PLAIN, PEM CA), with its
/// own offsets topic and group, replicating topics that match `topics` (regexes).
pub fn flow_config(tb: &Testbed, topics: &[&str]) -> strait::config::FlowConfig {
    use strait::config::{FlowConfig, PolicyConfig, SourceConnectorConfig, WorkerConfig};
    let sasl = Listener::SaslSsl(SaslMechanism::Plain);
    let sc = SourceConnectorConfig {
        topics: topics.iter().map(|s| (*s).to_owned()).collect(),
        replication_factor: 1,
        offset_syncs_topic_replication_factor: 1,
        refresh_topics_interval: Duration::from_secs(2),
        offset_flush_interval: Duration::from_secs(1),
        // `STRAIT_TEST_FLOW_KEYS=strait.source.reader=librdkafka` (or `=wire`) runs these flows
        // with that source reader, as the YAML flows of `scenario::Flow` do.
        source_reader: match std::env::var("STRAIT_TEST_FLOW_KEYS") {
            Ok(k) if k.contains("strait.source.reader=wire") => strait::config::SourceReader::Wire,
            Ok(k) if k.contains("strait.source.reader=librdkafka") => {
                strait::config::SourceReader::Librdkafka
            }
            _ => strait::config::SourceReader::Auto,
        },
        ..SourceConnectorConfig::default()
    };
    FlowConfig {
        source_alias: "source".to_owned(),
        target_alias: "target".to_owned(),
        source: tb.connection(Cluster::Source, sasl),
        target: tb.connection(Cluster::Target, sasl),
        policy: PolicyConfig::default(),
        worker: WorkerConfig {
            offset_storage_topic: unique("offsets"),
            offset_storage_partitions: 5,
            offset_storage_replication_factor: 1,
            group_id: unique("strait-group"),
        },
        source_connector: Some(sc),
        checkpoint_connector: None,
        heartbeat_connector: None,
    }
}

/// One record as tests write and compare it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rec {
    /// Key bytes.
    pub key: Option<Vec<u8>>,
    /// Value bytes (`None` = tombstone).
    pub value: Option<Vec<u8>>,
    /// Headers in order, duplicates kept.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// The record timestamp.
    pub timestamp: i64,
}

/// The i-th record of a deterministic mix: null keys, tombstones, empty values, duplicate and
/// null headers, and a few large values.
pub fn sample_record(i: u64) -> Rec {
    let key = (i % 10 != 3).then(|| format!("key-{i}").into_bytes());
    let value = match i % 10 {
        7 => None,
        5 => Some(Vec::new()),
        _ if i % 20_000 == 11 => Some(vec![(i % 251) as u8; 700 * 1024]),
        _ => Some(format!("value-{i}-{}", "x".repeat((i % 97) as usize)).into_bytes()),
    };
    let headers = match i % 3 {
        0 => vec![
            ("h".to_owned(), Some(b"1".to_vec())),
            ("h".to_owned(), Some(b"2".to_vec())),
            ("none".to_owned(), None),
        ],
        1 => vec![("seq".to_owned(), Some(i.to_be_bytes().to_vec()))],
        _ => vec![],
    };
    Rec {
        key,
        value,
        headers,
        timestamp: sample_time_base() + i as i64,
    }
}

/// Sample timestamps start an hour ago: old enough to be distinct from append times, recent
/// enough that the brokers' retention never deletes them during a test.
fn sample_time_base() -> i64 {
    static BASE: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *BASE.get_or_init(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
            - 3_600_000
    })
}

/// Produces `n` sample records (starting at index `first`) round-robin over `partitions`.
pub fn produce_samples(config: &ClientConfig, topic: &str, partitions: i32, first: u64, n: u64) {
    use rdkafka::message::{Header, OwnedHeaders};
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let mut cfg = config.clone();
    cfg.set("linger.ms", "20").set("compression.type", "lz4");
    let producer: BaseProducer = cfg.create().expect("producer");
    for i in first..first + n {
        let r = sample_record(i);
        let mut headers = OwnedHeaders::new();
        for (k, v) in &r.headers {
            headers = headers.insert(Header {
                key: k,
                value: v.as_deref(),
            });
        }
        let mut rec: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic)
            .partition((i % partitions as u64) as i32)
            .timestamp(r.timestamp)
            .headers(headers);
        if let Some(k) = &r.key {
            rec = rec.key(k.as_slice());
        }
        if let Some(v) = &r.value {
            rec = rec.payload(v.as_slice());
        }
        let mut rec = rec;
        loop {
            match producer.send(rec) {
                Ok(()) => break,
                Err((_, back)) => {
                    producer.poll(Duration::from_millis(50));
                    rec = back;
                }
            }
        }
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(60)).expect("flush");
}

/// Reads every record of `topic` partition by partition, up to the current end.
pub fn read_topic(config: &ClientConfig, topic: &str) -> Vec<Vec<(i64, Rec)>> {
    use rdkafka::Message;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::Headers;
    let mut cfg = config.clone();
    cfg.set("group.id", unique("reader"))
        .set("enable.auto.commit", "false")
        // Transaction markers (exactly-once copies) take offsets no record is read at: the
        // end of a partition is where the consumer says it is.
        .set("enable.partition.eof", "true");
    let consumer: BaseConsumer = cfg.create().expect("consumer");
    let md = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    let parts = md.topics()[0].partitions().len() as i32;
    let mut out = Vec::new();
    for p in 0..parts {
        // Leadership may still be moving after a fault (a thawed broker taking its partitions
        // back): a leader that just gave one up answers NOT_LEADER until the metadata catches up.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let (low, high) = loop {
            match consumer.fetch_watermarks(topic, p, Duration::from_secs(10)) {
                Ok(w) => break w,
                Err(e) if std::time::Instant::now() < deadline => {
                    eprintln!("watermarks of {topic}-{p}: {e}; asking again");
                    std::thread::sleep(Duration::from_millis(500));
                }
                Err(e) => panic!("watermarks of {topic}-{p}: {e}"),
            }
        };
        // Typed: with kube's dependencies (ordered-float's Add impls) `o + 1` below no longer
        // infers on its own.
        let mut recs: Vec<(i64, Rec)> = Vec::new();
        if high > low {
            let mut tpl = rdkafka::TopicPartitionList::new();
            tpl.add_partition_offset(topic, p, rdkafka::Offset::Offset(low))
                .expect("tpl");
            consumer.assign(&tpl).expect("assign");
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            while recs.last().map_or(low, |(o, _)| o + 1) < high {
                assert!(std::time::Instant::now() < deadline, "reading {topic}/{p}");
                let m = match consumer.poll(Duration::from_millis(200)) {
                    None => continue,
                    Some(Err(rdkafka::error::KafkaError::PartitionEOF(_))) => break,
                    Some(m) => m.expect("message"),
                };
                let headers = m
                    .headers()
                    .map(|hs| {
                        hs.iter()
                            .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                            .collect()
                    })
                    .unwrap_or_default();
                recs.push((
                    m.offset(),
                    Rec {
                        key: m.key().map(<[u8]>::to_vec),
                        value: m.payload().map(<[u8]>::to_vec),
                        headers,
                        timestamp: m.timestamp().to_millis().unwrap_or(-1),
                    },
                ));
            }
        }
        out.push(recs);
    }
    out
}

/// Number of records per partition currently in `topic` (high - low watermark), or None when
/// the topic does not exist.
pub fn topic_counts(config: &ClientConfig, topic: &str) -> Option<Vec<i64>> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = config.create().expect("consumer");
    let md = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .ok()?;
    let t = md.topics().first()?;
    if t.error().is_some() || t.partitions().is_empty() {
        return None;
    }
    (0..t.partitions().len() as i32)
        .map(|p| {
            consumer
                .fetch_watermarks(topic, p, Duration::from_secs(10))
                .ok()
                .map(|(l, h)| h - l)
        })
        .collect()
}

/// Waits until `check` returns true, panicking with `what` after `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + timeout;
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Sends Strait's logs to the test's captured output (shown when a test fails).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("STRAIT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// A Strait YAML configuration for one flow over the test bed's SASL_SSL listeners (JKS
/// truststore for the source, PEM for the target, as in the seed), replicating topics that
/// match `topics`, keeping its state in `offsets_topic` and coordinating through `group`.
pub fn strait_yaml(tb: &Testbed, topics: &str, group: &str, offsets_topic: &str) -> String {
    strait_yaml_with(tb, "source", topics, group, offsets_topic)
}

/// [`strait_yaml`] with the source cluster's alias given.
pub fn strait_yaml_with(
    tb: &Testbed,
    source_alias: &str,
    topics: &str,
    group: &str,
    offsets_topic: &str,
) -> String {
    let jaas = format!(
        "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"replicator\" password=\"{}\";",
        tb.var("REPLICATOR_PASSWORD")
    );
    format!(
        r#"flows:
  - source:
      alias: {source_alias}
      bootstrap.servers: "{sb}"
      security.protocol: SASL_SSL
      sasl.mechanism: PLAIN
      sasl.jaas.config: '{jaas}'
      ssl.truststore.location: "{jks}"
      ssl.truststore.password: "{jkspw}"
    target:
      alias: target
      bootstrap.servers: "{tbs}"
      security.protocol: SASL_SSL
      sasl.mechanism: PLAIN
      sasl.jaas.config: '{jaas}'
      ssl.truststore.type: PEM
      ssl.truststore.location: "{pem}"
    connectors: [source]
    topics: "{topics}"
    replication.factor: 1
    offset-syncs.topic.replication.factor: 1
    refresh.topics.interval.seconds: 2
    worker:
      group.id: "{group}"
      offset.storage.topic: "{offsets_topic}"
      offset.storage.partitions: 5
      offset.storage.replication.factor: 1
      offset.flush.interval.ms: 1000
"#,
        sb = tb.var("SOURCE_BOOTSTRAP_SASL_SSL"),
        tbs = tb.var("TARGET_BOOTSTRAP_SASL_SSL"),
        jks = tb.var("TRUSTSTORE_JKS"),
        jkspw = tb.var("TRUSTSTORE_JKS_PASSWORD"),
        pem = tb.var("TRUSTSTORE_PEM"),
    )
}

/// A `strait` child process; killed when dropped.
pub struct StraitProcess {
    child: std::process::Child,
    /// Where its stderr goes.
    pub log: PathBuf,
}

/// The log filter of the Strait processes tests start: `STRAIT_TEST_LOG` when set (to trace a
/// scenario at debug level, say), else info.
fn strait_log() -> String {
    std::env::var("STRAIT_TEST_LOG").unwrap_or_else(|_| "info,librdkafka=warn".to_owned())
}

impl StraitProcess {
    /// Starts `strait run -f <config>` with its log in `log`.
    pub fn start(config: &Path, log: &Path) -> StraitProcess {
        let file = std::fs::File::create(log).expect("log file");
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_strait"))
            .args(["run", "-f"])
            .arg(config)
            .env("STRAIT_LOG", strait_log())
            .stdout(std::process::Stdio::null())
            .stderr(file)
            .spawn()
            .expect("spawn strait");
        StraitProcess {
            child,
            log: log.to_owned(),
        }
    }

    /// Sends a signal (`TERM`, `KILL`, ...).
    pub fn signal(&self, sig: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{sig} failed");
    }

    /// Waits for the process to exit, returning its exit code.
    pub fn wait(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code();
            }
            if std::time::Instant::now() > deadline {
                panic!(
                    "strait did not exit within {timeout:?}; log: {}",
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Whether it still runs.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().ok().flatten().is_none()
    }

    /// Every thread's stack, from gdb when the machine has it: what a process that stopped
    /// moving is waiting on, for a failing test to show.
    pub fn thread_stacks(&self) -> String {
        let out = std::process::Command::new("gdb")
            .args(["-p", &self.child.id().to_string(), "-batch", "-nx", "-q"])
            .args(["-ex", "set pagination off", "-ex", "thread apply all bt 30"])
            .output();
        match out {
            Ok(o) => {
                let text = String::from_utf8_lossy(&o.stdout);
                // Only the frames: gdb's banner and symbol-loading chatter say nothing.
                text.lines()
                    .filter(|l| l.starts_with("Thread ") || l.starts_with('#'))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
            Err(e) => format!("no thread stacks (gdb: {e})"),
        }
    }

    /// Its log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for StraitProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A test failing on something else (an HTTP call to a process that exited, say) still
        // shows what the process said; its log goes with the test's temporary folder.
        if std::thread::panicking() {
            let log = self.log_text();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            eprintln!("--- last lines of the strait log ---\n{}", tail.join("\n"));
        }
    }
}

/// Checks that `target` holds every record of `source` in order, allowing re-sent runs after a
/// restart (at-least-once); returns the number of duplicates.
pub fn assert_complete_in_order(source: &[(i64, Rec)], target: &[(i64, Rec)], what: &str) -> usize {
    let mut next = 0usize;
    for (i, (_, rec)) in target.iter().enumerate() {
        if next < source.len() && source[next].1 == *rec {
            next += 1;
            continue;
        }
        // A replay must restart at an earlier source record.
        let Some(j) = source[..next].iter().rposition(|(_, s)| s == rec) else {
            panic!("{what}: target record {i} is not a source record in order: {rec:?}");
        };
        next = j + 1;
    }
    assert_eq!(
        next,
        source.len(),
        "{what}: only {next} of {} source records on the target",
        source.len()
    );
    target.len() - source.len()
}

/// Waits until `check` returns true; false after `timeout`.
pub fn wait_for(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    while !check() {
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    true
}

/// The real MirrorMaker 2, run by `testbed/kafka.sh mm2 start`; stopped (by pid) when dropped.
pub struct Mm2Process {
    name: String,
    _dir: tempfile::TempDir,
}

impl Mm2Process {
    /// Starts MM2 (dedicated mode) with the given `mm2.properties` content.
    pub fn start(properties: &str) -> Mm2Process {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("mm2.properties");
        std::fs::write(&file, properties).expect("write mm2.properties");
        let name = unique("mm2");
        let status = std::process::Command::new("bash")
            .arg(repo_root().join("testbed/kafka.sh"))
            .args(["mm2", "start"])
            .arg(&file)
            .arg(&name)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("run testbed/kafka.sh");
        assert!(status.success(), "testbed/kafka.sh mm2 start failed");
        Mm2Process { name, _dir: dir }
    }

    /// Stops MM2 cleanly (SIGTERM, waiting for it to exit).
    pub fn stop(&self) {
        let _ = std::process::Command::new("bash")
            .arg(repo_root().join("testbed/kafka.sh"))
            .args(["mm2", "stop", &self.name])
            .stdout(std::process::Stdio::null())
            .status();
    }
}

impl Drop for Mm2Process {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An `mm2.properties` for one flow `source_alias -> target` over the test bed's SASL_SSL
/// listeners (JKS truststore for the source, PEM for the target), replicating `topics`, with
/// everything single-replica and offsets flushed every second. `extra` lines are appended.
pub fn mm2_properties(tb: &Testbed, source_alias: &str, topics: &str, extra: &str) -> String {
    let jaas = format!(
        "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"replicator\" password=\"{}\";",
        tb.var("REPLICATOR_PASSWORD")
    );
    format!(
        "clusters = {s}, target
{s}.bootstrap.servers = {sb}
{s}.security.protocol = SASL_SSL
{s}.sasl.mechanism = PLAIN
{s}.sasl.jaas.config = {jaas}
{s}.ssl.truststore.location = {jks}
{s}.ssl.truststore.password = {jkspw}
target.bootstrap.servers = {tbs}
target.security.protocol = SASL_SSL
target.sasl.mechanism = PLAIN
target.sasl.jaas.config = {jaas}
target.ssl.truststore.type = PEM
target.ssl.truststore.location = {pem}
{s}->target.enabled = true
{s}->target.topics = {topics}
target->{s}.enabled = false
emit.heartbeats.enabled = false
emit.checkpoints.enabled = false
sync.topic.acls.enabled = false
refresh.topics.interval.seconds = 5
replication.factor = 1
offset-syncs.topic.replication.factor = 1
checkpoints.topic.replication.factor = 1
heartbeats.topic.replication.factor = 1
offset.storage.replication.factor = 1
status.storage.replication.factor = 1
config.storage.replication.factor = 1
offset.flush.interval.ms = 1000
{extra}
",
        s = source_alias,
        sb = tb.var("SOURCE_BOOTSTRAP_SASL_SSL"),
        jks = tb.var("TRUSTSTORE_JKS"),
        jkspw = tb.var("TRUSTSTORE_JKS_PASSWORD"),
        tbs = tb.var("TARGET_BOOTSTRAP_SASL_SSL"),
        pem = tb.var("TRUSTSTORE_PEM"),
    )
}

/// An admin client from a client configuration.
pub fn admin_client(config: &ClientConfig) -> AdminClient<DefaultClientContext> {
    config.create().expect("admin client")
}

/// Runs a future to completion on a runtime of its own (for async helpers in sync tests).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// Joins `group` with a real consumer subscribed to `topic`, waits for its assignment, commits
/// `offsets` (`(partition, offset, metadata)`) as that member, and leaves the group.
pub fn commit_as_member(
    config: &ClientConfig,
    group: &str,
    topic: &str,
    offsets: &[(i32, i64, &str)],
) {
    use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
    let mut cfg = config.clone();
    cfg.set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest");
    let consumer: BaseConsumer = cfg.create().expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while consumer.assignment().expect("assignment").count() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no assignment for {group}"
        );
        let _ = consumer.poll(Duration::from_millis(100));
    }
    let mut tpl = rdkafka::TopicPartitionList::new();
    for &(partition, offset, metadata) in offsets {
        tpl.add_partition_offset(topic, partition, rdkafka::Offset::Offset(offset))
            .expect("tpl");
        if !metadata.is_empty() {
            tpl.find_partition(topic, partition)
                .expect("partition")
                .set_metadata(metadata);
        }
    }
    consumer.commit(&tpl, CommitMode::Sync).expect("commit");
    // Dropping the consumer closes it: it leaves the group.
}

/// A consumer that is a member of a group: subscribed, and polled on a thread of its own until
/// dropped (then it closes and leaves the group).
pub struct GroupMember {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    assigned: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl GroupMember {
    /// Joins `group`, subscribed to `topic`.
    pub fn join(config: &ClientConfig, group: &str, topic: &str) -> GroupMember {
        use rdkafka::consumer::{BaseConsumer, Consumer};
        use std::sync::Arc;
        use std::sync::atomic::AtomicBool;
        let mut cfg = config.clone();
        cfg.set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest");
        let consumer: BaseConsumer = cfg.create().expect("consumer");
        consumer.subscribe(&[topic]).expect("subscribe");
        let stop = Arc::new(AtomicBool::new(false));
        let assigned = Arc::new(AtomicBool::new(false));
        let thread = {
            let (stop, assigned) = (stop.clone(), assigned.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let _ = consumer.poll(Duration::from_millis(100));
                    if consumer
                        .assignment()
                        .map(|a| a.count() > 0)
                        .unwrap_or(false)
                    {
                        assigned.store(true, Ordering::Relaxed);
                    }
                }
            })
        };
        GroupMember {
            stop,
            assigned,
            thread: Some(thread),
        }
    }

    /// Waits until the member has partitions assigned.
    pub fn wait_assigned(&self, timeout: Duration) {
        wait_until(timeout, "group member assignment", || {
            self.assigned.load(Ordering::Relaxed)
        });
    }
}

impl Drop for GroupMember {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---- HTTP endpoints (issue 7) ----

impl StraitProcess {
    /// Starts `strait [global_args] run -f <config> [run_args]` with `env` added and its log
    /// in `log`.
    pub fn start_with(
        config: &Path,
        log: &Path,
        global_args: &[&str],
        run_args: &[&str],
        env: &[(&str, &str)],
    ) -> StraitProcess {
        let file = std::fs::File::create(log).expect("log file");
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_strait"));
        cmd.args(global_args)
            .args(["run", "-f"])
            .arg(config)
            .args(run_args)
            .env("STRAIT_LOG", strait_log())
            .stdout(std::process::Stdio::null())
            .stderr(file);
        for (k, v) in env {
            cmd.env(k, v);
        }
        StraitProcess {
            child: cmd.spawn().expect("spawn strait"),
            log: log.to_owned(),
        }
    }

    /// Waits for the "HTTP listener up" log line and returns the address it names (text or
    /// JSON logs).
    pub fn http_addr(&self, timeout: Duration) -> String {
        let mut found = None;
        wait_until(timeout, "the HTTP listener's log line", || {
            found = self
                .log_text()
                .lines()
                .find(|l| l.contains("HTTP listener up"))
                .and_then(|l| {
                    let (_, rest) = l
                        .split_once("addr=")
                        .or_else(|| l.split_once("\"addr\":\""))?;
                    Some(
                        rest.chars()
                            .take_while(|c| !c.is_whitespace() && *c != '"')
                            .collect::<String>(),
                    )
                });
            found.is_some()
        });
        found.expect("address")
    }
}

/// `GET http://<addr><path>` (HTTP/1.0, so the body is not chunked): status code and body.
pub fn http_get(addr: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect to strait's HTTP listener");
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").expect("request");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("response");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, body.to_owned())
}

/// The value of one Prometheus sample, matched by name and exact label set as written.
pub fn metric_value(metrics: &str, name_and_labels: &str) -> Option<f64> {
    metrics.lines().find_map(|l| {
        let rest = l.strip_prefix(name_and_labels)?;
        rest.strip_prefix(' ')?.trim().parse().ok()
    })
}

/// Kafka's own `kafka-transactions describe-producers` for a topic partition: the table of
/// the producers `cluster` tracks there (idempotent or transactional ones only), or what the
/// tool said when it failed.
pub fn describe_producers(
    tb: &Testbed,
    cluster: Cluster,
    topic: &str,
    partition: i32,
) -> Result<String, String> {
    let out = std::process::Command::new("bash")
        .arg(repo_root().join("testbed/kafka.sh"))
        .args([
            "java",
            "org.apache.kafka.tools.TransactionsCommand",
            "--bootstrap-server",
        ])
        .arg(tb.bootstrap(cluster, Listener::Plaintext))
        .args(["describe-producers", "--topic", topic, "--partition"])
        .arg(partition.to_string())
        .output()
        .map_err(|e| format!("run TransactionsCommand: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!("{text}{}", String::from_utf8_lossy(&out.stderr)))
    }
}

/// The ids of the producers `cluster` tracks for a topic partition ([`describe_producers`]).
pub fn producer_ids(tb: &Testbed, cluster: Cluster, topic: &str, partition: i32) -> Vec<String> {
    describe_producers(tb, cluster, topic, partition)
        .unwrap_or_else(|e| panic!("{e}"))
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// One outcome the target writer's `Sender` reports: a batch's partition, its records' tags, and its base offset or why not.
pub type Outcome = (i32, Vec<i64>, Result<i64, String>);

/// Collects a `Sender`'s outcomes.
#[derive(Default)]
pub struct Outcomes(pub std::sync::Mutex<Vec<Outcome>>);

impl strait::kafka::writer::Deliver for Outcomes {
    fn delivered(
        &self,
        _topic: &str,
        partition: i32,
        records: &[(i64, i64)],
        outcome: Result<i64, &strait::kafka::writer::WriterError>,
    ) {
        let tags = records.iter().map(|r| r.0).collect();
        self.0
            .lock()
            .unwrap()
            .push((partition, tags, outcome.map_err(ToString::to_string)));
    }
}
