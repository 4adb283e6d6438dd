//! The seed's deployment, as its users already have it, run by Strait against the test bed:
//! the KafkaConnect and the three KafkaConnectors of the seed (tests/fixtures/seed/), with the
//! ConfigMaps and Secrets the seed's `kubectl create` commands make, written as
//! `kubectl --dry-run=client -o yaml` writes them. Placeholders point at the test bed's
//! SASL_SSL listeners: a JKS truststore for the source, the PEM CA for the target.
//! Needs `testbed/kafka.sh up`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use common::{
    Cluster, StraitProcess, Testbed, create_topic, produce_samples, repo_root, topic_counts,
    unique, wait_for,
};

fn config_map(name: &str, data: &[(&str, &str)]) -> String {
    let mut s = String::from("apiVersion: v1\ndata:\n");
    for (k, v) in data {
        s += &format!("  {k}: '{v}'\n");
    }
    s + &format!(
        "kind: ConfigMap\nmetadata:\n  creationTimestamp: null\n  name: {name}\n  namespace: repl\n"
    )
}

fn secret(name: &str, data: &[(&str, &[u8])]) -> String {
    let mut s = String::from("apiVersion: v1\ndata:\n");
    for (k, v) in data {
        s += &format!("  {k}: {}\n", STANDARD.encode(v));
    }
    s + &format!(
        "kind: Secret\nmetadata:\n  creationTimestamp: null\n  name: {name}\n  namespace: repl\n"
    )
}

/// Writes the seed's files for the test bed into `dir`; returns them in `-f` order.
fn seed_files(tb: &Testbed, dir: &Path, topic: &str, run: &str) -> Vec<std::path::PathBuf> {
    let fixtures = repo_root().join("tests/fixtures/seed");
    let jaas = format!(
        "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"replicator\" password=\"{}\";",
        tb.var("REPLICATOR_PASSWORD")
    );
    // The seed's KafkaConnect, pointed at the test bed's target; its state names made unique
    // so reruns start fresh.
    let connect = std::fs::read_to_string(fixtures.join("kafka-connect.yaml"))
        .unwrap()
        .replace(
            "useast-kafka-bootstrap.kafka-useast:9093",
            tb.var("TARGET_BOOTSTRAP_SASL_SSL"),
        )
        .replace("username: replicator-useast", "username: replicator")
        .replace(
            "repl-uswest-useast-consumer-group",
            &format!("{run}-consumer-group"),
        )
        .replace(
            "repl-uswest-useast-offsets-topic",
            &format!("{run}-offsets-topic"),
        );
    // The seed's connectors unchanged but for one thing on a one-broker test bed: the topics
    // Strait creates use the broker's default replication factor instead of MM2's 2-3. On the
    // three-broker bed (STRAIT_TESTBED_BROKERS=3) they run exactly as written.
    let single_broker = "    key.converter: org.apache.kafka.connect.converters.ByteArrayConverter\n    replication.factor: -1\n    offset-syncs.topic.replication.factor: -1\n    checkpoints.topic.replication.factor: -1\n    heartbeats.topic.replication.factor: -1\n";
    let mut connectors = std::fs::read_to_string(fixtures.join("connectors.yaml")).unwrap();
    if tb.brokers() == 1 {
        connectors = connectors.replace(
            "    key.converter: org.apache.kafka.connect.converters.ByteArrayConverter\n",
            single_broker,
        );
    }
    let connectors = connectors.replace(
        "refresh.topics.interval.seconds: 10",
        "refresh.topics.interval.seconds: 2",
    );
    let files = [
        ("kafka-connect.yaml", connect),
        ("connectors.yaml", connectors),
        (
            "uswest-config.yaml",
            config_map(
                "uswest-config",
                &[
                    ("alias", "uswest"),
                    ("bootstrap.servers", tb.var("SOURCE_BOOTSTRAP_SASL_SSL")),
                    ("security.protocol", "SASL_SSL"),
                    ("sasl.mechanism", "PLAIN"),
                    // Where the seed mounts the truststore volume; here, the test bed's file.
                    ("ssl.truststore.location", tb.var("TRUSTSTORE_JKS")),
                ],
            ),
        ),
        (
            "uswest-secret.yaml",
            secret(
                "uswest-secret",
                &[
                    (
                        "ssl.truststore.password",
                        tb.var("TRUSTSTORE_JKS_PASSWORD").as_bytes(),
                    ),
                    (
                        "truststore.jks",
                        &std::fs::read(tb.var("TRUSTSTORE_JKS")).unwrap(),
                    ),
                    ("sasl.jaas.config", jaas.as_bytes()),
                ],
            ),
        ),
        (
            "useast-config.yaml",
            config_map("useast-config", &[("alias", "useast")]),
        ),
        (
            "useast-password.yaml",
            secret(
                "useast-password",
                &[("pass", tb.var("REPLICATOR_PASSWORD").as_bytes())],
            ),
        ),
        (
            "useast-cert.yaml",
            secret(
                "useast-cert",
                &[("ca.crt", &std::fs::read(tb.var("TRUSTSTORE_PEM")).unwrap())],
            ),
        ),
        (
            "replication-config.yaml",
            config_map("replication-config", &[("topics", topic)]),
        ),
    ];
    files
        .into_iter()
        .map(|(name, text)| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeds_manifests_run_a_flow() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let tgt = tb.plaintext_config(Cluster::Target);
    let topic = unique("test.seed");
    create_topic(&src, &topic, 3).await;
    produce_samples(&src, &topic, 3, 0, 3_000);
    let dir = tempfile::tempdir().unwrap();
    let files = seed_files(&tb, dir.path(), &topic, &unique("seed"));

    // `strait validate` resolves the seed and shows no secret.
    let mut validate = std::process::Command::new(env!("CARGO_BIN_EXE_strait"));
    validate.arg("validate");
    for f in &files {
        validate.arg("-f").arg(f);
    }
    let out = validate.output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("uswest->useast"), "{text}");
    assert!(
        !text.contains(tb.var("REPLICATOR_PASSWORD")),
        "a secret leaked: {text}"
    );

    let more: Vec<String> = files[1..]
        .iter()
        .flat_map(|f| ["-f".to_owned(), f.display().to_string()])
        .collect();
    let more: Vec<&str> = more.iter().map(String::as_str).collect();
    let mut strait = StraitProcess::start_with(
        &files[0],
        &dir.path().join("strait.log"),
        &[],
        &[&more[..], &["--http-addr", "127.0.0.1:0"]].concat(),
        &[],
    );
    let remote = format!("uswest.{topic}");
    let (t, r) = (tgt.clone(), remote.clone());
    let arrived = tokio::task::spawn_blocking(move || {
        wait_for(Duration::from_secs(90), || {
            topic_counts(&t, &r).is_some_and(|c| c.iter().sum::<i64>() == 3_000)
        })
    })
    .await
    .unwrap();
    assert!(
        arrived,
        "records did not arrive on {remote}: {}",
        strait.log_text()
    );
    // The heartbeat connector of the seed writes to the source; heartbeats come back replicated.
    let (t, h) = (tgt.clone(), "uswest.heartbeats".to_owned());
    let beats = tokio::task::spawn_blocking(move || {
        wait_for(Duration::from_secs(60), || {
            topic_counts(&t, &h).is_some_and(|c| c.iter().sum::<i64>() > 0)
        })
    })
    .await
    .unwrap();
    assert!(beats, "no replicated heartbeats: {}", strait.log_text());
    strait.signal("TERM");
    assert_eq!(
        strait.wait(Duration::from_secs(60)),
        Some(0),
        "{}",
        strait.log_text()
    );
    assert!(!strait.log_text().contains(tb.var("REPLICATOR_PASSWORD")));
    // Every line a flow logs names the flow (its tracing span): the runner, the replication
    // thread, the checkpointer and the heartbeat emitter alike.
    let log = strait.log_text();
    for message in [
        "cluster reachable",
        "replicating partition",
        "checkpointer ready",
        "emitting heartbeats",
        "stopped cleanly",
    ] {
        let line = log
            .lines()
            .find(|l| l.contains(message))
            .unwrap_or_else(|| panic!("no '{message}' line in the log: {log}"));
        assert!(
            line.contains("flow{flow=uswest->useast}"),
            "the '{message}' line does not name its flow: {line}"
        );
    }
}
