//! A flow moves between the real MirrorMaker 2 and Strait without replicating again: both keep
//! replication progress in the same Kafka Connect offsets topic, in the same bytes.
//! Needs `testbed/kafka.sh up`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::Duration;

use common::{
    Cluster, Mm2Process, StraitProcess, Testbed, assert_complete_in_order, create_topic,
    mm2_properties, produce_samples, read_topic, strait_yaml_with, topic_counts, unique, wait_for,
};

const PARTITIONS: i32 = 3;
const BATCH: u64 = 3_000;

/// A source alias of its own, so concurrent MM2 runs never share a Connect cluster.
fn alias() -> String {
    unique("h").replace('-', "")
}

fn total(config: &rdkafka::ClientConfig, topic: &str) -> i64 {
    topic_counts(config, topic).map_or(0, |c| c.iter().sum())
}

/// Waits until the remote topic holds `n` records and stops growing.
async fn settle(tb: &Testbed, remote: &str, n: u64, who: &str, log: Option<&StraitProcess>) {
    let (t, r) = (tb.plaintext_config(Cluster::Target), remote.to_owned());
    let done = tokio::task::spawn_blocking(move || {
        let mut last = -1;
        wait_for(Duration::from_secs(240), || {
            let now = total(&t, &r);
            let settled = now >= n as i64 && now == last;
            last = now;
            if !settled {
                std::thread::sleep(Duration::from_secs(1));
            }
            settled
        })
    })
    .await
    .unwrap();
    let now = total(&tb.plaintext_config(Cluster::Target), remote);
    let log = log.map(StraitProcess::log_text).unwrap_or_default();
    assert!(
        done,
        "{who}: {remote} holds {now} records, expected {n}\n{log}"
    );
}

/// Every source record is on the target once, in order; returns the duplicates.
fn duplicates(tb: &Testbed, topic: &str, remote: &str) -> usize {
    let src = read_topic(&tb.plaintext_config(Cluster::Source), topic);
    let tgt = read_topic(&tb.plaintext_config(Cluster::Target), remote);
    src.iter()
        .zip(&tgt)
        .enumerate()
        .map(|(p, (s, t))| assert_complete_in_order(s, t, &format!("{remote}/{p}")))
        .sum()
}

fn strait_config(
    tb: &Testbed,
    dir: &std::path::Path,
    alias: &str,
    topic: &str,
) -> std::path::PathBuf {
    // MM2 dedicated mode's names: connector `MirrorSourceConnector`, offsets topic
    // `mm2-offsets.<alias>.internal`, group `<alias>-mm2`.
    let path = dir.join("strait.yaml");
    let yaml = strait_yaml_with(
        tb,
        alias,
        topic,
        &unique("handover-group"),
        &format!("mm2-offsets.{alias}.internal"),
    )
    .replace(
        "      offset.storage.partitions: 5\n",
        "      offset.storage.partitions: 25\n",
    );
    std::fs::write(&path, yaml).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mm2_to_strait_hand_over_does_not_replicate_again() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let alias = alias();
    let topic = unique("m2s");
    let remote = format!("{alias}.{topic}");
    create_topic(&src, &topic, PARTITIONS).await;
    produce_samples(&src, &topic, PARTITIONS, 0, BATCH);

    let mm2 = Mm2Process::start(&mm2_properties(&tb, &alias, &topic, ""));
    settle(&tb, &remote, BATCH, "MM2", None).await;
    mm2.stop();

    produce_samples(&src, &topic, PARTITIONS, BATCH, BATCH);
    let dir = tempfile::tempdir().unwrap();
    let config = strait_config(&tb, dir.path(), &alias, &topic);
    let mut strait = StraitProcess::start(&config, &dir.path().join("strait.log"));
    settle(&tb, &remote, 2 * BATCH, "Strait after MM2", Some(&strait)).await;
    strait.signal("TERM");
    assert_eq!(
        strait.wait(Duration::from_secs(60)),
        Some(0),
        "{}",
        strait.log_text()
    );
    assert!(
        strait.log_text().contains("start=Offset("),
        "Strait must resume from MM2's progress: {}",
        strait.log_text()
    );

    let dups = tokio::task::spawn_blocking(move || duplicates(&Testbed::get(), &topic, &remote))
        .await
        .unwrap();
    eprintln!(
        "MM2 -> Strait: {} records, {dups} replicated twice",
        2 * BATCH
    );
    assert_eq!(dups, 0, "Strait replicated again what MM2 had replicated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strait_to_mm2_hand_over_does_not_replicate_again() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let alias = alias();
    let topic = unique("s2m");
    let remote = format!("{alias}.{topic}");
    create_topic(&src, &topic, PARTITIONS).await;
    produce_samples(&src, &topic, PARTITIONS, 0, BATCH);

    let dir = tempfile::tempdir().unwrap();
    let config = strait_config(&tb, dir.path(), &alias, &topic);
    let mut strait = StraitProcess::start(&config, &dir.path().join("strait.log"));
    settle(&tb, &remote, BATCH, "Strait", Some(&strait)).await;
    strait.signal("TERM");
    assert_eq!(
        strait.wait(Duration::from_secs(60)),
        Some(0),
        "{}",
        strait.log_text()
    );

    produce_samples(&src, &topic, PARTITIONS, BATCH, BATCH);
    let mm2 = Mm2Process::start(&mm2_properties(&tb, &alias, &topic, ""));
    settle(&tb, &remote, 2 * BATCH, "MM2 after Strait", None).await;
    mm2.stop();

    let dups = tokio::task::spawn_blocking(move || duplicates(&Testbed::get(), &topic, &remote))
        .await
        .unwrap();
    eprintln!(
        "Strait -> MM2: {} records, {dups} replicated twice",
        2 * BATCH
    );
    assert_eq!(dups, 0, "MM2 replicated again what Strait had replicated");
}
