//! Helpers for tests that run a flow through a fault: a flow configuration with extra keys,
//! a running `strait` with its HTTP endpoints, replication progress, and admin operations
//! (deleting records, changing topic configs, ACLs) on the test bed.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminOptions, AlterConfig, ResourceSpecifier};

use super::{
    Cluster, StraitProcess, Testbed, admin_client, block_on, http_get, repo_root, strait_yaml,
    unique, wait_for,
};

/// One flow over the test bed, its files and names, ready to run as `strait` processes.
pub struct Flow {
    /// Holds the configuration and logs.
    pub dir: tempfile::TempDir,
    /// The configuration file.
    pub config: PathBuf,
    /// The flow's offsets topic on the target.
    pub offsets_topic: String,
    /// The flow's consumer group on the source.
    pub group: String,
}

impl Flow {
    /// A flow replicating `topics` (regex), with `extra` flow-level keys (`key: value` lines).
    ///
    /// `STRAIT_TEST_FLOW_KEYS` (`key=value;key=value`) adds keys to every flow that is not
    /// exactly-once, to run the suite under a setting, e.g.
    /// `STRAIT_TEST_FLOW_KEYS=strait.target.writer=librdkafka scripts/faults.sh`.
    pub fn new(tb: &Testbed, topics: &str, extra: &[(&str, &str)]) -> Flow {
        let from_env = std::env::var("STRAIT_TEST_FLOW_KEYS").unwrap_or_default();
        let exactly_once = extra.iter().any(|(k, _)| k.contains("exactly.once"));
        let env_keys: Vec<(&str, &str)> = from_env
            .split(';')
            .filter_map(|kv| kv.split_once('='))
            .filter(|_| !exactly_once)
            .collect();
        let extra: Vec<(&str, &str)> = env_keys.into_iter().chain(extra.iter().copied()).collect();
        let dir = tempfile::tempdir().unwrap();
        let offsets_topic = unique("offsets");
        let group = unique("group");
        // Internal and remote topics at the brokers' default replication factor: 1 on the
        // one-broker bed, 3 (min ISR 2) on the three-broker bed.
        let yaml = strait_yaml(tb, topics, &group, &offsets_topic)
            .replace("replication.factor: 1\n", "replication.factor: -1\n");
        let mut yaml = yaml;
        for (k, v) in &extra {
            yaml = set_flow_key(&yaml, k, v);
        }
        let config = dir.path().join("strait.yaml");
        std::fs::write(&config, yaml).unwrap();
        Flow {
            dir,
            config,
            offsets_topic,
            group,
        }
    }

    /// Starts `strait run` with its HTTP listener on a free port; `name` names its log.
    pub fn start(&self, name: &str) -> StraitProcess {
        self.start_with_env(name, &[])
    }

    /// [`Self::start`] with `env` added to the process's environment.
    pub fn start_with_env(&self, name: &str, env: &[(&str, &str)]) -> StraitProcess {
        StraitProcess::start_with(
            &self.config,
            &self.dir.path().join(format!("{name}.log")),
            &[],
            &["--http-addr", "127.0.0.1:0"],
            env,
        )
    }

    /// Gives the flow's target cluster the alias `alias`, so that this flow alone writes its
    /// offset-syncs topic (`mm2-offset-syncs.<alias>.internal`).
    pub fn set_target_alias(&self, alias: &str) {
        let yaml = std::fs::read_to_string(&self.config).unwrap().replacen(
            "      alias: target\n",
            &format!("      alias: {alias}\n"),
            1,
        );
        std::fs::write(&self.config, yaml).unwrap();
    }

    /// Runs `strait verify --json` on this flow for `topic` (a regex).
    pub fn verify(&self, topic: &str) -> (i32, serde_json::Value) {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_strait"))
            .args(["verify", "-f"])
            .arg(&self.config)
            .args(["--topic", topic, "--json", "--idle-timeout", "20"])
            .output()
            .expect("run strait verify");
        let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "verify printed no JSON ({e}): {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), json)
    }
}

/// Small values `prefix-i`.
pub fn numbered(prefix: &str, range: std::ops::Range<usize>) -> Vec<Vec<u8>> {
    range
        .map(|i| format!("{prefix}-{i}").into_bytes())
        .collect()
}

/// Bytes no compression shrinks (a size limit applies to the compressed batch).
pub fn incompressible(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// The values of records as read back.
pub fn values_of(recs: &[(i64, super::Rec)]) -> Vec<Vec<u8>> {
    recs.iter()
        .map(|(_, r)| r.value.clone().unwrap_or_default())
        .collect()
}

/// Sets a flow-level key of a YAML made by `strait_yaml`: replaces its line, or adds one.
pub fn set_flow_key(yaml: &str, key: &str, value: &str) -> String {
    let line = format!("    {key}: \"{value}\"");
    let prefix = format!("    {key}:");
    if yaml.lines().any(|l| l.starts_with(&prefix)) {
        yaml.lines()
            .map(|l| {
                if l.starts_with(&prefix) {
                    line.as_str()
                } else {
                    l
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    } else {
        yaml.replacen(
            "    replication.factor: -1\n",
            &format!("    replication.factor: -1\n{line}\n"),
            1,
        )
    }
}

/// `/status` of a process as JSON.
pub fn status_json(addr: &str) -> serde_json::Value {
    let (code, body) = http_get(addr, "/status");
    assert_eq!(code, 200, "/status: {body}");
    serde_json::from_str(&body).unwrap()
}

/// The first flow's partition entry for `topic`/`partition` in `/status`, if assigned.
pub fn partition_status(addr: &str, topic: &str, partition: i64) -> Option<serde_json::Value> {
    let s = status_json(addr);
    s["flows"][0]["partitions"]
        .as_array()?
        .iter()
        .find(|p| p["topic"] == topic && p["partition"] == partition)
        .cloned()
}

/// A reader and writer of the progress `flow` keeps on the target.
pub fn progress_store(flow: &Flow, tb: &Testbed) -> strait::source::progress::ProgressStore {
    strait::source::progress::ProgressStore::new(
        &tb.plaintext_config(Cluster::Target),
        &flow.offsets_topic,
        5,
        "MirrorSourceConnector",
        "source",
    )
    .expect("progress store")
}

/// The progress the flow wrote for `topic`/`partition` (last source offset replicated).
pub fn progress_of(flow: &Flow, tb: &Testbed, topic: &str, partition: i32) -> Option<i64> {
    progress_store(flow, tb)
        .read_all(Duration::from_secs(20))
        .ok()?
        .get(&(topic.to_owned(), partition))
        .copied()
}

/// Creates a topic at the brokers' default replication factor with the given configs.
pub fn create_topic_with(
    config: &ClientConfig,
    topic: &str,
    partitions: i32,
    configs: &[(&str, &str)],
) {
    use rdkafka::admin::{NewTopic, TopicReplication};
    let admin = admin_client(config);
    let mut new = NewTopic::new(topic, partitions, TopicReplication::Fixed(-1));
    for (k, v) in configs {
        new = new.set(k, v);
    }
    let r = block_on(admin.create_topics(
        [&new],
        &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
    ))
    .expect("create topics");
    for e in r {
        e.unwrap_or_else(|(t, e)| panic!("creating topic {t}: {e}"));
    }
}

/// Deletes the records of `topic`/`partition` before `before` (DeleteRecords).
pub fn delete_records_before(config: &ClientConfig, topic: &str, partition: i32, before: i64) {
    let admin = admin_client(config);
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, rdkafka::Offset::Offset(before))
        .unwrap();
    let r = block_on(admin.delete_records(&tpl, &AdminOptions::new())).expect("delete records");
    for e in r.elements() {
        assert!(
            e.error().is_ok(),
            "deleting records of {topic}: {:?}",
            e.error()
        );
    }
}

/// Sets one config of a topic (AlterConfigs: other dynamic configs of the topic are reset).
pub fn set_topic_config(config: &ClientConfig, topic: &str, key: &str, value: &str) {
    let admin = admin_client(config);
    let alter = AlterConfig::new(ResourceSpecifier::Topic(topic)).set(key, value);
    let r = block_on(admin.alter_configs([&alter], &AdminOptions::new())).expect("alter configs");
    for e in r {
        assert!(e.is_ok(), "altering {topic}: {e:?}");
    }
}

/// Deletes a topic and waits until the cluster no longer lists it.
pub fn delete_topic(config: &ClientConfig, topic: &str) {
    let admin = admin_client(config);
    let r = block_on(admin.delete_topics(&[topic], &AdminOptions::new())).expect("delete");
    for e in r {
        assert!(e.is_ok(), "deleting {topic}: {e:?}");
    }
    assert!(
        wait_for(Duration::from_secs(30), || super::topic_counts(
            config, topic
        )
        .is_none()),
        "{topic} still listed after deletion"
    );
}

/// Runs Kafka's `AclCommand` against a cluster's PLAINTEXT listener (a super user there).
pub fn kafka_acls(tb: &Testbed, cluster: Cluster, args: &[&str]) {
    let bootstrap = tb.bootstrap(cluster, super::Listener::Plaintext);
    let out = std::process::Command::new("bash")
        .arg(repo_root().join("testbed/kafka.sh"))
        .args([
            "java",
            "org.apache.kafka.tools.AclCommand",
            "--bootstrap-server",
        ])
        .arg(&bootstrap)
        .args(args)
        .output()
        .expect("run AclCommand");
    assert!(
        out.status.success(),
        "AclCommand {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A log file's text.
pub fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Produces one record per value to `topic`/`partition` (key = the value's index as text),
/// waiting for every acknowledgement; values may be larger than librdkafka's default limit.
pub fn produce_values(config: &ClientConfig, topic: &str, partition: i32, values: &[Vec<u8>]) {
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let mut cfg = config.clone();
    cfg.set("message.max.bytes", (8 * 1024 * 1024).to_string())
        .set("enable.idempotence", "true");
    let producer: BaseProducer<strait::kafka::CountingContext> = cfg
        .create_with_context(strait::kafka::CountingContext::default())
        .expect("producer");
    for (i, v) in values.iter().enumerate() {
        let key = i.to_string();
        let mut record = BaseRecord::to(topic)
            .partition(partition)
            .key(&key)
            .payload(v);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((e, r)) => {
                    assert!(
                        e.rdkafka_error_code() == Some(rdkafka::error::RDKafkaErrorCode::QueueFull),
                        "producing to {topic}: {e}"
                    );
                    producer.poll(Duration::from_millis(50));
                    record = r;
                }
            }
        }
    }
    producer.flush(Duration::from_secs(60)).expect("flush");
    let ctx = producer.context();
    assert_eq!(
        (ctx.acked(), ctx.failed()),
        (values.len() as u64, 0),
        "producing to {topic}: {:?}",
        ctx.last_error()
    );
}

// ---- faults on the three-broker test bed ----

/// Whether the test bed has three brokers per cluster; prints why a test is skipped if not.
pub fn needs_three_brokers(tb: &Testbed, test: &str) -> bool {
    if tb.brokers() >= 3 {
        return true;
    }
    eprintln!(
        "skipped {test}: needs the three-broker test bed (STRAIT_TESTBED_BROKERS=3 testbed/kafka.sh up, \
         or scripts/faults.sh)"
    );
    false
}

/// Runs `testbed/kafka.sh node CLUSTER N ACTION` (kill, stop, cont, start) on this test bed.
pub fn node(cluster: Cluster, n: i32, action: &str) {
    let name = match cluster {
        Cluster::Source => "source",
        Cluster::Target => "target",
    };
    let out = std::process::Command::new("bash")
        .arg(repo_root().join("testbed/kafka.sh"))
        .args(["node", name, &n.to_string(), action])
        .output()
        .expect("run testbed/kafka.sh node");
    assert!(
        out.status.success(),
        "node {name} {n} {action}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The broker (node id) leading `topic`/`partition`, from the cluster's metadata.
pub fn leader_of(config: &ClientConfig, topic: &str, partition: i32) -> i32 {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = config.create().expect("consumer");
    let md = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    md.topics()[0]
        .partitions()
        .iter()
        .find(|p| p.id() == partition)
        .map(|p| p.leader())
        .expect("partition in metadata")
}

/// Runs a class of Kafka's own tools against a cluster's PLAINTEXT listener.
pub fn kafka_tool(tb: &Testbed, cluster: Cluster, class: &str, args: &[&str]) -> String {
    let bootstrap = tb.bootstrap(cluster, super::Listener::Plaintext);
    let out = std::process::Command::new("bash")
        .arg(repo_root().join("testbed/kafka.sh"))
        .args(["java", class, "--bootstrap-server"])
        .arg(&bootstrap)
        .args(args)
        .output()
        .expect("run a Kafka tool");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{class} {args:?}: {text}");
    text
}

/// The broker coordinating consumer group `group` on `cluster`, as Kafka's own
/// `kafka-consumer-groups.sh --describe --state` names it ("host:port (id)").
pub fn coordinator_of(tb: &Testbed, cluster: Cluster, group: &str) -> i32 {
    let out = kafka_tool(
        tb,
        cluster,
        "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
        &["--describe", "--group", group, "--state"],
    );
    out.lines()
        .find(|l| l.starts_with(group))
        .and_then(|l| {
            let open = l.find('(')?;
            let close = open + l[open..].find(')')?;
            l[open + 1..close].trim().parse().ok()
        })
        .unwrap_or_else(|| panic!("no coordinator of group {group} in:\n{out}"))
}

/// Moves `topic`/`partition`'s replicas to `replicas` (the first becomes preferred leader) and
/// waits until the reassignment completed.
pub fn reassign(tb: &Testbed, cluster: Cluster, topic: &str, partition: i32, replicas: &[i32]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("reassign.json");
    let list: Vec<String> = replicas.iter().map(i32::to_string).collect();
    std::fs::write(
        &file,
        format!(
            r#"{{"version":1,"partitions":[{{"topic":"{topic}","partition":{partition},"replicas":[{}]}}]}}"#,
            list.join(",")
        ),
    )
    .unwrap();
    let file = file.to_string_lossy().into_owned();
    let class = "org.apache.kafka.tools.reassign.ReassignPartitionsCommand";
    kafka_tool(
        tb,
        cluster,
        class,
        &["--reassignment-json-file", &file, "--execute"],
    );
    assert!(
        wait_for(Duration::from_secs(120), || {
            kafka_tool(
                tb,
                cluster,
                class,
                &["--reassignment-json-file", &file, "--verify"],
            )
            .contains("is completed")
        }),
        "reassignment of {topic}-{partition} did not complete"
    );
}

/// Moves leadership of every partition of `topic` back to its preferred replica.
pub fn elect_preferred_leaders(tb: &Testbed, cluster: Cluster, topic: &str, partitions: i32) {
    for p in 0..partitions {
        let p = p.to_string();
        // "No election needed" is not an error: the tool exits 0 either way for a valid input.
        let _ = kafka_tool(
            tb,
            cluster,
            "org.apache.kafka.tools.LeaderElectionCommand",
            &[
                "--election-type",
                "PREFERRED",
                "--topic",
                topic,
                "--partition",
                &p,
            ],
        );
    }
}

/// Writes numbered records to every partition of a topic at a steady rate from a thread of its
/// own (acks=all, idempotent), through broker faults, until stopped.
pub struct Load {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<(u64, u64)>>,
}

impl Load {
    /// Starts writing `rate` records per second to `topic` (`partitions` partitions).
    pub fn start(config: &ClientConfig, topic: &str, partitions: i32, rate: u64) -> Load {
        use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (cfg, topic, flag) = (config.clone(), topic.to_owned(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut cfg = cfg;
            cfg.set("enable.idempotence", "true")
                .set("acks", "all")
                .set("linger.ms", "5")
                .set("message.timeout.ms", "300000");
            let producer: BaseProducer<strait::kafka::CountingContext> = cfg
                .create_with_context(strait::kafka::CountingContext::default())
                .expect("load producer");
            let started = std::time::Instant::now();
            let mut seq: u64 = 0;
            while !flag.load(Ordering::Acquire) {
                let due = started.elapsed().as_secs_f64() * rate as f64;
                while (seq as f64) < due {
                    let key = format!("r{seq}");
                    let value = format!("{seq:012}-{}", "v".repeat(80));
                    let partition = (seq % partitions as u64) as i32;
                    let record = BaseRecord::to(&topic)
                        .partition(partition)
                        .key(&key)
                        .payload(&value);
                    if producer.send(record).is_err() {
                        // Queue full (a broker down): let it drain, then go on.
                        producer.poll(Duration::from_millis(50));
                        break;
                    }
                    seq += 1;
                }
                // Not poll(5 ms): rdkafka waits its last millisecond out in poll(0) calls,
                // a fifth of a core taken from the brokers under test.
                producer.poll(Duration::ZERO);
                std::thread::sleep(Duration::from_millis(5));
            }
            let _ = producer.flush(Duration::from_secs(300));
            let ctx = producer.context();
            (ctx.acked(), ctx.failed())
        });
        Load {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops writing; returns (acknowledged, failed) records.
    pub fn stop(mut self) -> (u64, u64) {
        self.stop.store(true, std::sync::atomic::Ordering::Release);
        self.thread
            .take()
            .map(|t| t.join().expect("load thread"))
            .unwrap_or((0, 0))
    }
}

/// What a scenario found: source records, and how many are missing on the target or there
/// more than once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Records in the source topic.
    pub records: usize,
    /// Source records not on the target.
    pub missing: usize,
    /// Target records beyond the first copy of each source record.
    pub duplicates: usize,
}

impl Tally {
    /// `got` against `want`, the source's values in order: what is missing, and what is
    /// there more than once, by count.
    pub fn of_values(want: &[Vec<u8>], got: &[Vec<u8>]) -> Tally {
        Tally {
            records: want.len(),
            missing: want.len().saturating_sub(got.len()),
            duplicates: got.len().saturating_sub(want.len()),
        }
    }
}

/// A record by its key and value (the load numbers both).
type RecordId<'a> = (&'a Option<Vec<u8>>, &'a Option<Vec<u8>>);

/// Counts, independently of Strait, every source record of `topic` on the remote topic, by
/// key and value: missing ones, repeated ones, and none that the source does not have.
pub fn tally(tb: &Testbed, topic: &str, remote: &str) -> Tally {
    use std::collections::HashMap;
    let src = super::read_topic(&tb.plaintext_config(Cluster::Source), topic);
    let tgt = super::read_topic(&tb.plaintext_config(Cluster::Target), remote);
    assert_eq!(
        src.len(),
        tgt.len(),
        "partition counts of {topic} and {remote}"
    );
    let mut t = Tally {
        records: 0,
        missing: 0,
        duplicates: 0,
    };
    for (p, (s, d)) in src.iter().zip(&tgt).enumerate() {
        let mut seen: HashMap<RecordId<'_>, usize> = HashMap::new();
        for (_, r) in d {
            *seen.entry((&r.key, &r.value)).or_default() += 1;
        }
        let mut matched = 0;
        for (_, r) in s {
            match seen.get(&(&r.key, &r.value)) {
                Some(n) if *n > 0 => {
                    matched += 1;
                    t.duplicates += n - 1;
                }
                _ => t.missing += 1,
            }
        }
        // Source records are distinct, so every distinct target record matched one of them.
        assert_eq!(
            seen.len(),
            matched,
            "{remote}/{p}: target records the source partition does not have"
        );
        t.records += s.len();
    }
    t
}

/// Adds a scenario's row to the fault suite's report (`STRAIT_FAULTS_REPORT`), if asked for.
pub fn report(scenario: &str, t: Tally) {
    use std::io::Write;
    eprintln!(
        "scenario {scenario}: {} records, {} missing, {} duplicates",
        t.records, t.missing, t.duplicates
    );
    let Ok(path) = std::env::var("STRAIT_FAULTS_REPORT") else {
        return;
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("report file");
    writeln!(
        f,
        "{scenario}\t{}\t{}\t{}",
        t.records, t.missing, t.duplicates
    )
    .expect("report");
}
