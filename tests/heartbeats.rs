//! Heartbeats against the real test bed: written in MM2's format to `heartbeats` on the cluster
//! the configuration names (here the source, as in the seed), every interval, and replicated to
//! the target as `<alias>.heartbeats`, where MM2's own client library finds the flow.
//! Needs `testbed/kafka.sh up`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use tokio::sync::watch;

use common::{Cluster, Listener, Testbed, flow_config, unique, wait_until};
use strait::config::{HeartbeatConnectorConfig, SaslMechanism};
use strait::flow::run_flow;
use strait::heartbeat::replication_latency;
use strait::wire::Heartbeat;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Heartbeats with `alias` as source in `topic` (partition 0), with their record timestamps.
fn heartbeats(config: &ClientConfig, topic: &str, alias: &str) -> Vec<(Heartbeat, i64)> {
    let mut cfg = config.clone();
    cfg.set("enable.partition.eof", "true")
        .set("group.id", "strait-test-reader");
    let consumer: BaseConsumer = cfg.create().unwrap();
    let Ok((low, high)) = consumer.fetch_watermarks(topic, 0, Duration::from_secs(5)) else {
        return Vec::new();
    };
    if high <= low {
        return Vec::new();
    }
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, rdkafka::Offset::Offset(low))
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        assert!(std::time::Instant::now() < deadline, "reading {topic}");
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                let hb = Heartbeat::decode(m.key().unwrap(), m.payload().unwrap()).unwrap();
                if hb.source_alias == alias {
                    out.push((hb, m.timestamp().to_millis().unwrap()));
                }
                if m.offset() + 1 >= high {
                    break;
                }
            }
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(_))) => break,
            _ => {}
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_on_source_are_replicated_to_target() {
    common::init_tracing();
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let tgt = tb.plaintext_config(Cluster::Target);
    // A flow alias of its own makes `<alias>.heartbeats` and the heartbeat key unique.
    let alias = unique("hb").replace('-', "");
    let mut flow = flow_config(&tb, &[&format!("{alias}-nothing")]);
    flow.source_alias = alias.clone();
    flow.heartbeat_connector = Some(HeartbeatConnectorConfig {
        emit_heartbeats_interval: Duration::from_secs(1),
        heartbeats_topic_replication_factor: 1,
        // The seed's set-up: heartbeats written to the source cluster.
        heartbeats_cluster: Some(
            tb.connection(Cluster::Source, Listener::SaslSsl(SaslMechanism::Plain)),
        ),
        ..HeartbeatConnectorConfig::default()
    });
    let started = now_ms();
    let (stop_tx, stop_rx) = watch::channel(false);
    let running = tokio::spawn(run_flow(flow, stop_rx));

    let remote = format!("{alias}.heartbeats");
    let (src2, tgt2, alias2, remote2) = (src.clone(), tgt.clone(), alias.clone(), remote.clone());
    let (on_source, on_target) = tokio::task::spawn_blocking(move || {
        wait_until(
            Duration::from_secs(60),
            "3 heartbeats on the source",
            || heartbeats(&src2, "heartbeats", &alias2).len() >= 3,
        );
        wait_until(
            Duration::from_secs(60),
            "3 replicated heartbeats on the target",
            || heartbeats(&tgt2, &remote2, &alias2).len() >= 3,
        );
        // The target first: every replica read is then also in the later source read.
        let on_target = heartbeats(&tgt2, &remote2, &alias2);
        (heartbeats(&src2, "heartbeats", &alias2), on_target)
    })
    .await
    .unwrap();
    stop_tx.send(true).unwrap();
    running.await.unwrap().unwrap();

    // MM2's values: key (source alias, target alias); timestamp = emit time = record time.
    for (hb, record_ts) in &on_source {
        assert_eq!(hb.target_alias, "target");
        assert_eq!(hb.timestamp_ms, *record_ts);
        assert!(hb.timestamp_ms >= started && hb.timestamp_ms <= now_ms());
    }
    // One per interval (1 s), in order.
    let ts: Vec<i64> = on_source.iter().map(|(h, _)| h.timestamp_ms).collect();
    for w in ts.windows(2) {
        let gap = w[1] - w[0];
        assert!(
            (700..=5000).contains(&gap),
            "heartbeat gap {gap} ms in {ts:?}"
        );
    }
    // The replicas carry the same heartbeats (a prefix of them, replication being behind).
    for (i, (hb, record_ts)) in on_target.iter().enumerate() {
        assert_eq!(hb, &on_source[i].0, "replicated heartbeat {i}");
        assert_eq!(*record_ts, hb.timestamp_ms);
        assert!(replication_latency(hb, now_ms()) < Duration::from_secs(120));
    }

    // MM2's client library sees the flow through the replicated heartbeats topic.
    let out = std::process::Command::new("java")
        .arg("-cp")
        .arg(format!("{}/*", tb.kafka_libs().display()))
        .arg(common::repo_root().join("tests/java/MirrorClientCheck.java"))
        .args([
            "heartbeats",
            &tb.bootstrap(Cluster::Target, Listener::Plaintext),
            &alias,
        ])
        .output()
        .expect("run java");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "java failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = |key: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key} ")))
            .unwrap_or_else(|| panic!("no {key} in {stdout}"))
            .to_owned()
    };
    assert_eq!(line("replicationHops"), "1");
    assert!(line("upstreamClusters").contains(&alias), "{stdout}");
    assert!(line("heartbeatTopics").contains(&remote), "{stdout}");
}
