//! Source replication against the real test bed: every record on the target equals its source
//! record (key, value, headers, timestamp, partition, order), remote topics keep partitions
//! and configs, progress and offset syncs are written in MM2's formats.
//! Needs `testbed/kafka.sh up`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::Duration;

use rdkafka::admin::{
    AdminClient, AdminOptions, ConfigSource, NewTopic, ResourceSpecifier, TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use tokio::sync::watch;

use common::{
    Cluster, Testbed, flow_config, produce_samples, read_topic, topic_counts, unique, wait_until,
};
use strait::config::{SourceReader, TargetWriter};
use strait::flow::run_flow;
use strait::kafka::{ClientRole, client_config};
use strait::source::progress::ProgressStore;
use strait::wire::OffsetSync;

async fn create_topic_with(
    config: &rdkafka::ClientConfig,
    topic: &str,
    partitions: i32,
    configs: &[(&str, &str)],
) {
    let admin: AdminClient<DefaultClientContext> = config.create().unwrap();
    let mut t = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    for (k, v) in configs {
        t = t.set(k, v);
    }
    for r in admin
        .create_topics([&t], &AdminOptions::new())
        .await
        .unwrap()
    {
        r.unwrap();
    }
}

/// Explicitly set (topic-level) configs of a topic.
async fn topic_overrides(config: &rdkafka::ClientConfig, topic: &str) -> Vec<(String, String)> {
    let admin: AdminClient<DefaultClientContext> = config.create().unwrap();
    let res = admin
        .describe_configs([&ResourceSpecifier::Topic(topic)], &AdminOptions::new())
        .await
        .unwrap();
    let mut out: Vec<(String, String)> = res
        .into_iter()
        .flat_map(|r| r.unwrap().entries)
        .filter(|e| e.source == ConfigSource::DynamicTopic)
        .map(|e| (e.name, e.value.unwrap_or_default()))
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicates_three_topics_exactly() {
    three_topics_exactly(TargetWriter::Librdkafka, SourceReader::Librdkafka).await;
}

/// The same with Strait's own target writer (`strait.target.writer=wire`): every partition
/// bound for the broker in one request, and the same records, progress and offset syncs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicates_three_topics_exactly_with_the_wire_writer() {
    three_topics_exactly(TargetWriter::Wire, SourceReader::Librdkafka).await;
}

/// The same with Strait's own source reader as well (`strait.source.reader=wire`): batches
/// fetched as stored and passed to the target whole, under the same 1 MiB budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicates_three_topics_exactly_with_the_wire_reader() {
    three_topics_exactly(TargetWriter::Wire, SourceReader::Wire).await;
}

async fn three_topics_exactly(writer: TargetWriter, reader: SourceReader) {
    common::init_tracing();
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let tgt = tb.plaintext_config(Cluster::Target);
    let prefix = unique("exact");
    let topics: Vec<String> = (0..3).map(|i| format!("{prefix}-t{i}")).collect();
    for t in &topics {
        create_topic_with(
            &src,
            t,
            4,
            &[
                ("retention.ms", "86400000"),
                ("min.insync.replicas", "1"),
                ("max.message.bytes", "2000000"),
            ],
        )
        .await;
    }
    // An excluded topic and an internal-looking one sit beside them and must be left alone.
    let excluded = format!("{prefix}-skip");
    create_topic_with(&src, &excluded, 1, &[]).await;
    let internal = format!("{prefix}-x.internal");
    create_topic_with(&src, &internal, 1, &[]).await;

    let per_topic: u64 = std::env::var("STRAIT_TEST_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(34_000);
    for (i, t) in topics.iter().enumerate() {
        produce_samples(&src, t, 4, i as u64 * per_topic, per_topic);
    }
    produce_samples(&src, &excluded, 1, 0, 10);
    produce_samples(&src, &internal, 1, 0, 10);

    let mut flow = flow_config(&tb, &[&format!("{prefix}-.*")]);
    if let Some(sc) = flow.source_connector.as_mut() {
        sc.topics_exclude.push(format!("{prefix}-skip"));
        // Three target producers share the 12 partitions, and a 1 MiB budget keeps
        // backpressure engaged: order per partition must survive both.
        sc.tasks_max = 3;
        sc.max_in_flight_bytes = 1024 * 1024;
        sc.target_writer = writer;
        sc.source_reader = reader;
    }
    let offsets_topic = flow.worker.offset_storage_topic.clone();
    let target_conn = flow.target.clone();
    let (stop_tx, stop_rx) = watch::channel(false);
    let running = tokio::spawn(run_flow(flow, stop_rx));

    let remote: Vec<String> = topics.iter().map(|t| format!("source.{t}")).collect();
    let tgt2 = tgt.clone();
    let remote2 = remote.clone();
    tokio::task::spawn_blocking(move || {
        wait_until(
            Duration::from_secs(240),
            "all records on the target",
            || {
                remote2.iter().all(|r| {
                    topic_counts(&tgt2, r)
                        .is_some_and(|c| c.iter().sum::<i64>() == per_topic as i64)
                })
            },
        )
    })
    .await
    .unwrap();

    stop_tx.send(true).unwrap();
    running.await.unwrap().expect("the flow stops cleanly");

    for (t, r) in topics.iter().zip(&remote) {
        let (src_parts, tgt_parts) = {
            let (s, g, t, r) = (src.clone(), tgt.clone(), t.clone(), r.clone());
            tokio::task::spawn_blocking(move || (read_topic(&s, &t), read_topic(&g, &r)))
                .await
                .unwrap()
        };
        assert_eq!(tgt_parts.len(), 4, "{r} keeps the source's 4 partitions");
        for (p, (s, g)) in src_parts.iter().zip(&tgt_parts).enumerate() {
            assert_eq!(s.len(), g.len(), "{r} partition {p}: record count");
            for ((so, sr), (_, gr)) in s.iter().zip(g) {
                assert_eq!(
                    sr, gr,
                    "{t} partition {p} offset {so} differs on the target"
                );
            }
        }
        // Configs set on the source topic arrive; the excluded ones (MM2 defaults) do not.
        let overrides = topic_overrides(&tgt, r).await;
        assert!(
            overrides.contains(&("retention.ms".to_owned(), "86400000".to_owned())),
            "{overrides:?}"
        );
        assert!(
            overrides.contains(&("max.message.bytes".to_owned(), "2000000".to_owned())),
            "{overrides:?}"
        );
        assert!(
            !overrides.iter().any(|(k, _)| k == "min.insync.replicas"),
            "{overrides:?}"
        );
    }
    for left_alone in [&excluded, &internal] {
        assert_eq!(
            topic_counts(&tgt, &format!("source.{left_alone}")),
            None,
            "{left_alone} must not be replicated"
        );
    }

    // Progress in MM2's Connect format: the last upstream offset of every partition.
    let target_cfg = client_config(&target_conn, "test", ClientRole::TargetAdmin).unwrap();
    let store = ProgressStore::new(
        &target_cfg,
        &offsets_topic,
        5,
        "MirrorSourceConnector",
        "source",
    )
    .unwrap();
    let progress = store.read_all(Duration::from_secs(30)).unwrap();
    for t in &topics {
        for p in 0..4 {
            let n = (per_topic / 4) as i64;
            assert_eq!(
                progress.get(&(t.clone(), p)),
                Some(&(n - 1)),
                "progress of {t}/{p}"
            );
        }
    }

    // Offset syncs in MM2's byte format on the source cluster: fresh topics map 1:1, and the
    // newest sync per partition (what compaction keeps) points at the end.
    let syncs_topic = "mm2-offset-syncs.target.internal";
    let syncs = {
        let s = src.clone();
        tokio::task::spawn_blocking(move || read_topic(&s, syncs_topic))
            .await
            .unwrap()
    };
    let mut latest = std::collections::HashMap::new();
    for (_, rec) in syncs.into_iter().flatten() {
        let sync =
            OffsetSync::decode(rec.key.as_deref().unwrap(), rec.value.as_deref().unwrap()).unwrap();
        if topics.contains(&sync.topic) {
            assert_eq!(sync.upstream_offset, sync.downstream_offset, "{sync:?}");
            latest.insert((sync.topic.clone(), sync.partition), sync.upstream_offset);
        }
    }
    for t in &topics {
        for p in 0..4 {
            assert_eq!(
                latest.get(&(t.clone(), p)),
                Some(&((per_topic / 4) as i64 - 1)),
                "last sync of {t}/{p}"
            );
        }
    }
}

/// Aborted transactions and transaction markers stay on the source: only committed records are
/// replicated (read_committed), and offsets past the gaps still translate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborted_transactions_are_not_replicated() {
    use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let tgt = tb.plaintext_config(Cluster::Target);
    let topic = unique("txn");
    create_topic_with(&src, &topic, 1, &[]).await;
    let mut pcfg = src.clone();
    pcfg.set("transactional.id", unique("txn-producer"));
    // Threaded: delivery reports are served in the background, as aborts require.
    let producer: ThreadedProducer<DefaultProducerContext> = pcfg.create().unwrap();
    let timeout = Duration::from_secs(30);
    producer.init_transactions(timeout).unwrap();
    let send_batch = |label: &str, n: usize, commit: bool| {
        producer.begin_transaction().unwrap();
        for i in 0..n {
            let value = format!("{label}-{i}");
            producer
                .send(
                    BaseRecord::<[u8], [u8]>::to(&topic)
                        .partition(0)
                        .payload(value.as_bytes()),
                )
                .unwrap();
        }
        if commit {
            producer.commit_transaction(timeout).unwrap();
        } else {
            producer.abort_transaction(timeout).unwrap();
        }
    };
    send_batch("first", 10, true);
    send_batch("aborted", 5, false);
    send_batch("second", 10, true);

    let flow = flow_config(&tb, &[&topic]);
    let (stop_tx, stop_rx) = watch::channel(false);
    let running = tokio::spawn(run_flow(flow, stop_rx));
    let remote = format!("source.{topic}");
    let (t, r) = (tgt.clone(), remote.clone());
    tokio::task::spawn_blocking(move || {
        wait_until(Duration::from_secs(60), "the committed records", || {
            topic_counts(&t, &r).is_some_and(|c| c == vec![20])
        })
    })
    .await
    .unwrap();
    stop_tx.send(true).unwrap();
    running.await.unwrap().unwrap();
    let got: Vec<String> = tokio::task::spawn_blocking(move || read_topic(&tgt, &remote))
        .await
        .unwrap()
        .remove(0)
        .into_iter()
        .map(|(_, r)| String::from_utf8(r.value.unwrap()).unwrap())
        .collect();
    let expected: Vec<String> = (0..10)
        .map(|i| format!("first-{i}"))
        .chain((0..10).map(|i| format!("second-{i}")))
        .collect();
    assert_eq!(got, expected);
}
