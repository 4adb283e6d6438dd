//! A Strimzi `KafkaMirrorMaker2` as Strimzi's own SCRAM-SHA-512 example writes it
//! (tests/fixtures/strimzi-mm2/v1-scram-sha-512-auth-mirror-maker-2.yaml), run by Strait
//! against the test bed: its bootstrap addresses pointed at the bed's SASL_SSL listeners, its
//! users at the bed's `replicator`, and the Secrets the operator would have made (cluster CA
//! certificates, the KafkaUsers' passwords) written as `kubectl -o yaml` writes them. Records
//! on the target must equal the source's, and a checkpoint of a source group must appear.
//! A second resource mirrors the other way (active/active), its source read with
//! SCRAM-SHA-256, in the same process. Strimzi 0.45's mTLS example, in v1beta2's old layout,
//! runs over the bed's mTLS listeners. Needs `testbed/kafka.sh up`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rdkafka::Message;

use common::{
    Cluster, StraitProcess, Testbed, assert_complete_in_order, commit_as_member, create_topic,
    produce_samples, read_topic, repo_root, topic_counts, unique, wait_for,
};
use rdkafka::ClientConfig;

const CHECKPOINTS_TOPIC: &str = "cluster-a.checkpoints.internal";

fn secret(name: &str, data: &[(&str, &[u8])]) -> String {
    let mut s = String::from("apiVersion: v1\ndata:\n");
    for (k, v) in data {
        s += &format!("  {k}: {}\n", STANDARD.encode(v));
    }
    s + &format!("kind: Secret\nmetadata:\n  creationTimestamp: null\n  name: {name}\n")
}

/// A second KafkaMirrorMaker2 for the way back (`cluster-b` -> `cluster-a`), replicating
/// `topic`.
fn reverse(tb: &Testbed, topic: &str, run: &str) -> String {
    let cluster = |alias: &str, bootstrap: &str, mechanism: &str| {
        format!(
            "    alias: {alias}\n    bootstrapServers: {bootstrap}\n    tls:\n      trustedCertificates:\n        \
             - secretName: {alias}-cluster-ca-cert\n          pattern: \"*.crt\"\n    authentication:\n      \
             type: {mechanism}\n      username: replicator\n      passwordSecret:\n        secretName: {alias}-user\n        \
             password: password\n"
        )
    };
    let source = cluster(
        "cluster-b",
        tb.var("TARGET_BOOTSTRAP_SASL_SSL"),
        "scram-sha-256",
    )
    .replace("\n    ", "\n      ");
    format!(
        "apiVersion: kafka.strimzi.io/v1\nkind: KafkaMirrorMaker2\nmetadata:\n  name: my-mirror-maker-2-back\nspec:\n  \
         replicas: 1\n  target:\n{}    groupId: {run}-back-group\n    configStorageTopic: {run}-back-configs\n    \
         offsetStorageTopic: {run}-back-offsets\n    statusStorageTopic: {run}-back-status\n    \
         config:\n      offset.storage.replication.factor: -1\n  mirrors:\n  - source:\n  {source}    \
         sourceConnector:\n      config:\n        replication.factor: -1\n        offset-syncs.topic.replication.factor: -1\n        \
         refresh.topics.interval.seconds: 2\n    topicsPattern: \"{topic}\"\n",
        cluster(
            "cluster-a",
            tb.var("SOURCE_BOOTSTRAP_SASL_SSL"),
            "scram-sha-512"
        ),
    )
}

/// The example's pieces that make a run take long, shortened; its patterns narrowed to
/// `topic` and `group`.
fn shortened(example: &str, topic: &str, group: &str) -> String {
    example
        .replace(
            "refresh.topics.interval.seconds: 600",
            "refresh.topics.interval.seconds: 2",
        )
        .replace(
            "refresh.groups.interval.seconds: 600",
            "refresh.groups.interval.seconds: 2",
        )
        .replace(
            "emit.checkpoints.interval.seconds: 60",
            "emit.checkpoints.interval.seconds: 2",
        )
        .replace(
            "sync.group.offsets.interval.seconds: 60",
            "sync.group.offsets.interval.seconds: 2",
        )
        .replace(
            "topicsPattern: \".*\"",
            &format!("topicsPattern: \"{topic}\""),
        )
        .replace(
            "groupsPattern: \".*\"",
            &format!("groupsPattern: \"{group}\""),
        )
}

fn write(dir: &Path, files: Vec<(&str, String)>) -> Vec<PathBuf> {
    files
        .into_iter()
        .map(|(name, text)| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        })
        .collect()
}

/// Writes the SCRAM example, adapted to the test bed, the way back, and their Secrets into
/// `dir`.
fn scram_files(
    tb: &Testbed,
    dir: &Path,
    (topic, back_topic): (&str, &str),
    group: &str,
    run: &str,
) -> Vec<PathBuf> {
    let example = std::fs::read_to_string(
        repo_root().join("tests/fixtures/strimzi-mm2/v1-scram-sha-512-auth-mirror-maker-2.yaml"),
    )
    .unwrap();
    // Only what ties the example to its Kubernetes clusters, and what makes a rerun start fresh
    // and finish within the test's time, changes.
    let mm2 = shortened(&example, topic, group)
        .replace(
            "cluster-a-kafka-bootstrap:9093",
            tb.var("SOURCE_BOOTSTRAP_SASL_SSL"),
        )
        .replace(
            "cluster-b-kafka-bootstrap:9093",
            tb.var("TARGET_BOOTSTRAP_SASL_SSL"),
        )
        .replace("username: cluster-a-user", "username: replicator")
        .replace("username: cluster-b-user", "username: replicator")
        .replace(
            "groupId: my-mirror-maker-2-group",
            &format!("groupId: {run}-group"),
        )
        .replace(
            "offsetStorageTopic: my-mirror-maker-2-offset",
            &format!("offsetStorageTopic: {run}-offsets"),
        );
    assert_eq!(mm2.matches("127.0.0.1:").count(), 2, "{mm2}");
    let ca = std::fs::read(tb.var("TRUSTSTORE_PEM")).unwrap();
    let password = tb.var("REPLICATOR_PASSWORD").as_bytes();
    write(
        dir,
        vec![
            ("mirror-maker-2.yaml", mm2),
            ("mirror-maker-2-back.yaml", reverse(tb, back_topic, run)),
            (
                "secrets.yaml",
                [
                    secret("cluster-a-cluster-ca-cert", &[("ca.crt", &ca)]),
                    secret("cluster-b-cluster-ca-cert", &[("ca.crt", &ca)]),
                    secret("cluster-a-user", &[("password", password)]),
                    secret("cluster-b-user", &[("password", password)]),
                ]
                .join("---\n"),
            ),
        ],
    )
}

/// Writes Strimzi 0.45's mTLS example (v1beta2, old layout), adapted to the test bed, and the
/// KafkaUser Secrets holding the bed's client certificate and key, into `dir`.
fn mtls_files(tb: &Testbed, dir: &Path, topic: &str, group: &str, run: &str) -> Vec<PathBuf> {
    let example = std::fs::read_to_string(
        repo_root().join("tests/fixtures/strimzi-mm2/v1beta2-tls-auth-mirror-maker-2.yaml"),
    )
    .unwrap();
    // The old layout keeps the Connect group and offsets topic in the connect cluster's
    // config; made unique so reruns start fresh.
    let mm2 = shortened(&example, topic, group)
        .replace(
            "cluster-a-kafka-bootstrap:9093",
            tb.var("SOURCE_BOOTSTRAP_MTLS"),
        )
        .replace(
            "cluster-b-kafka-bootstrap:9093",
            tb.var("TARGET_BOOTSTRAP_MTLS"),
        )
        .replace(
            "        offset.storage.replication.factor: -1\n",
            &format!(
                "        offset.storage.replication.factor: -1\n        group.id: {run}-group\n        \
                 offset.storage.topic: {run}-offsets\n"
            ),
        );
    assert_eq!(mm2.matches("127.0.0.1:").count(), 2, "{mm2}");
    let ca = std::fs::read(tb.var("TRUSTSTORE_PEM")).unwrap();
    let cert = std::fs::read(tb.var("CLIENT_CERT_PEM")).unwrap();
    let key = std::fs::read(tb.var("CLIENT_KEY_PEM")).unwrap();
    let user = |name: &str| secret(name, &[("user.crt", &cert), ("user.key", &key)]);
    write(
        dir,
        vec![
            ("mirror-maker-2.yaml", mm2),
            (
                "secrets.yaml",
                [
                    secret("cluster-a-cluster-ca-cert", &[("ca.crt", &ca)]),
                    secret("cluster-b-cluster-ca-cert", &[("ca.crt", &ca)]),
                    user("cluster-a-user"),
                    user("cluster-b-user"),
                ]
                .join("---\n"),
            ),
        ],
    )
}

/// Whether the checkpoints topic holds a checkpoint of `group`.
fn has_checkpoint(tb: &Testbed, group: &str) -> bool {
    let cfg = tb.plaintext_config(Cluster::Target);
    let Ok(mut reader) =
        strait::checkpoint::log_reader::PartitionZeroReader::open(&cfg, CHECKPOINTS_TOPIC)
    else {
        return false;
    };
    let mut found = false;
    let _ = reader.read_to_end(Duration::from_secs(10), |m| {
        if let (Some(k), Some(v)) = (m.key(), m.payload())
            && strait::wire::Checkpoint::decode(k, v).is_ok_and(|c| c.group == group)
        {
            found = true;
        }
    });
    found
}

/// `strait validate -f ...`: asserts success and returns its output.
fn validate(files: &[PathBuf]) -> String {
    let mut validate = std::process::Command::new(env!("CARGO_BIN_EXE_strait"));
    validate.arg("validate");
    for f in files {
        validate.arg("-f").arg(f);
    }
    let out = validate.output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    text
}

/// `strait run -f ...` on an ephemeral HTTP port.
fn run(files: &[PathBuf], dir: &Path) -> StraitProcess {
    let mut args: Vec<&str> = Vec::new();
    for f in &files[1..] {
        args.extend(["-f", f.to_str().unwrap()]);
    }
    args.extend(["--http-addr", "127.0.0.1:0"]);
    StraitProcess::start_with(&files[0], &dir.join("strait.log"), &[], &args, &[])
}

/// Waits for all `n` records of `topic` (on `from`) on `remote` (on `to`), then asserts they
/// are the same, partition by partition, in order.
async fn assert_mirrored(
    strait: &StraitProcess,
    (from, topic): (&ClientConfig, &str),
    (to, remote): (&ClientConfig, &str),
    n: i64,
) {
    let (t, r) = (to.clone(), remote.to_owned());
    let arrived = tokio::task::spawn_blocking(move || {
        wait_for(Duration::from_secs(90), || {
            topic_counts(&t, &r).is_some_and(|c| c.iter().sum::<i64>() == n)
        })
    })
    .await
    .unwrap();
    assert!(
        arrived,
        "records did not arrive on {remote}: {}",
        strait.log_text()
    );
    let (f, t, (tp, rp)) = (
        from.clone(),
        to.clone(),
        (topic.to_owned(), remote.to_owned()),
    );
    let (source, target) =
        tokio::task::spawn_blocking(move || (read_topic(&f, &tp), read_topic(&t, &rp)))
            .await
            .unwrap();
    assert_eq!(source.len(), target.len());
    for (p, (s, t)) in source.iter().zip(&target).enumerate() {
        assert_eq!(s.len(), t.len(), "partition {p}");
        assert_complete_in_order(s, t, &format!("partition {p}"));
    }
}

/// Commits offsets of `group` on the source's `topic` (3 partitions) and waits for its
/// checkpoint on the target.
async fn assert_checkpointed(strait: &StraitProcess, src: &ClientConfig, topic: &str, group: &str) {
    let (s, g, tp) = (src.clone(), group.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || {
        commit_as_member(&s, &g, &tp, &[(0, 500, ""), (1, 500, ""), (2, 500, "")]);
    })
    .await
    .unwrap();
    let g = group.to_owned();
    let checkpointed = tokio::task::spawn_blocking(move || {
        wait_for(Duration::from_secs(90), || {
            has_checkpoint(&Testbed::get(), &g)
        })
    })
    .await
    .unwrap();
    assert!(
        checkpointed,
        "no checkpoint of {group} in {CHECKPOINTS_TOPIC}: {}",
        strait.log_text()
    );
}

fn stop(mut strait: StraitProcess) -> String {
    strait.signal("TERM");
    assert_eq!(
        strait.wait(Duration::from_secs(60)),
        Some(0),
        "{}",
        strait.log_text()
    );
    strait.log_text()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strimzis_scram_example_and_the_way_back() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let tgt = tb.plaintext_config(Cluster::Target);
    let topic = unique("test.kmm2");
    let back_topic = unique("test.kmm2-back");
    let group = unique("kmm2-group");
    create_topic(&src, &topic, 3).await;
    produce_samples(&src, &topic, 3, 0, 3_000);
    create_topic(&tgt, &back_topic, 2).await;
    produce_samples(&tgt, &back_topic, 2, 0, 1_000);
    let dir = tempfile::tempdir().unwrap();
    let files = scram_files(
        &tb,
        dir.path(),
        (&topic, &back_topic),
        &group,
        &unique("kmm2"),
    );

    // `strait validate` shows both flows and no secret.
    let text = validate(&files);
    assert!(text.contains("flow cluster-a->cluster-b"), "{text}");
    assert!(text.contains("flow cluster-b->cluster-a"), "{text}");
    for mechanism in ["SCRAM-SHA-512", "SCRAM-SHA-256"] {
        assert!(
            text.contains(&format!(
                "sasl: {mechanism} user 'replicator' password [redacted]"
            )),
            "{text}"
        );
    }
    assert!(
        !text.contains(tb.var("REPLICATOR_PASSWORD")),
        "a secret leaked: {text}"
    );

    let strait = run(&files, dir.path());
    assert_mirrored(
        &strait,
        (&src, &topic),
        (&tgt, &format!("cluster-a.{topic}")),
        3_000,
    )
    .await;
    // The way back runs in the same process.
    assert_mirrored(
        &strait,
        (&tgt, &back_topic),
        (&src, &format!("cluster-b.{back_topic}")),
        1_000,
    )
    .await;
    assert_checkpointed(&strait, &src, &topic, &group).await;
    let log = stop(strait);
    assert!(!log.contains(tb.var("REPLICATOR_PASSWORD")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strimzis_v1beta2_mtls_example() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let tgt = tb.plaintext_config(Cluster::Target);
    let topic = unique("test.kmm2-mtls");
    let group = unique("kmm2-mtls-group");
    create_topic(&src, &topic, 3).await;
    produce_samples(&src, &topic, 3, 0, 2_000);
    let dir = tempfile::tempdir().unwrap();
    let files = mtls_files(&tb, dir.path(), &topic, &group, &unique("kmm2-mtls"));

    let text = validate(&files);
    assert!(text.contains("flow cluster-a->cluster-b"), "{text}");
    assert!(text.contains("key [redacted]"), "{text}");
    assert!(
        text.contains("is deprecated and removed in kafka.strimzi.io/v1"),
        "{text}"
    );
    let key = std::fs::read_to_string(tb.var("CLIENT_KEY_PEM")).unwrap();
    let key_body = key.lines().nth(1).unwrap();
    assert!(!text.contains(key_body), "a secret leaked: {text}");

    let strait = run(&files, dir.path());
    assert_mirrored(
        &strait,
        (&src, &topic),
        (&tgt, &format!("cluster-a.{topic}")),
        2_000,
    )
    .await;
    assert_checkpointed(&strait, &src, &topic, &group).await;
    let log = stop(strait);
    assert!(!log.contains(key_body));
}
