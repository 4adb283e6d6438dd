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
    pub fn new(tb: &Testbed, topics: &str, extra: &[(&str, &str)]) -> Flow {
        let dir = tempfile::tempdir().unwrap();
        let offsets_topic = unique("offsets");
        let group = unique("group");
        // Internal and remote topics at the brokers' default replication factor: 1 on the
        // one-broker bed, 3 (min ISR 2) on the three-broker bed.
        let yaml = strait_yaml(tb, topics, &group, &offsets_topic)
            .replace("replication.factor: 1\n", "replication.factor: -1\n");
        let mut yaml = yaml;
        for (k, v) in extra {
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
        StraitProcess::start_with(
            &self.config,
            &self.dir.path().join(format!("{name}.log")),
            &[],
            &["--http-addr", "127.0.0.1:0"],
            &[],
        )
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

/// The progress the flow wrote for `topic`/`partition` (last source offset replicated).
pub fn progress_of(flow: &Flow, tb: &Testbed, topic: &str, partition: i32) -> Option<i64> {
    let target = tb.plaintext_config(Cluster::Target);
    let store = strait::source::progress::ProgressStore::new(
        &target,
        &flow.offsets_topic,
        5,
        "MirrorSourceConnector",
        "source",
    )
    .ok()?;
    store
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
