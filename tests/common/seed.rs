//! The seed's deployment files (tests/fixtures/seed/) pointed at the test bed: the
//! KafkaConnect and the three KafkaConnectors, with the ConfigMaps and Secrets the seed's
//! `kubectl create` commands make, written as `kubectl --dry-run=client -o yaml` writes them.
//! Placeholders point at the test bed's SASL_SSL listeners: a JKS truststore for the source,
//! the PEM CA for the target.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{Testbed, repo_root};

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

/// Writes the seed's files for the test bed into `dir`, logging in as `user` with `password`
/// on both clusters; returns them in `-f` order. `run` makes the worker's group and offsets
/// topic unique: `<run>-consumer-group`, `<run>-offsets-topic`.
pub fn seed_files(
    tb: &Testbed,
    dir: &Path,
    topic: &str,
    run: &str,
    user: &str,
    password: &str,
) -> Vec<std::path::PathBuf> {
    let fixtures = repo_root().join("tests/fixtures/seed");
    let jaas = format!(
        "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"{user}\" password=\"{password}\";"
    );
    // The seed's KafkaConnect, pointed at the test bed's target; its state names made unique
    // so reruns start fresh.
    let connect = std::fs::read_to_string(fixtures.join("kafka-connect.yaml"))
        .unwrap()
        .replace(
            "useast-kafka-bootstrap.kafka-useast:9093",
            tb.var("TARGET_BOOTSTRAP_SASL_SSL"),
        )
        .replace("username: replicator-useast", &format!("username: {user}"))
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
            secret("useast-password", &[("pass", password.as_bytes())]),
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
