//! The seed's deployment, as its users already have it, run by Strait against the test bed:
//! the KafkaConnect and the three KafkaConnectors of the seed (tests/fixtures/seed/), with the
//! ConfigMaps and Secrets the seed's `kubectl create` commands make, written as
//! `kubectl --dry-run=client -o yaml` writes them. Placeholders point at the test bed's
//! SASL_SSL listeners: a JKS truststore for the source, the PEM CA for the target.
//! Needs `testbed/kafka.sh up`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::Duration;

use common::seed::seed_files;
use common::{
    Cluster, StraitProcess, Testbed, create_topic, produce_samples, topic_counts, unique, wait_for,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeds_manifests_run_a_flow() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let tgt = tb.plaintext_config(Cluster::Target);
    let topic = unique("test.seed");
    create_topic(&src, &topic, 3).await;
    produce_samples(&src, &topic, 3, 0, 3_000);
    let dir = tempfile::tempdir().unwrap();
    let files = seed_files(
        &tb,
        dir.path(),
        &topic,
        &unique("seed"),
        "replicator",
        tb.var("REPLICATOR_PASSWORD"),
    );

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
