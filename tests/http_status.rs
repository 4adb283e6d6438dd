//! The HTTP listener of `strait run` against the test bed: health, readiness, Prometheus
//! metrics, `/status`, Kafka Connect's read API, and that no secret shows in any output.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{
    Cluster, StraitProcess, Testbed, block_on, create_topic, flow_config, http_get, metric_value,
    produce_samples, strait_yaml, topic_counts, unique, wait_for, wait_until,
};
use serde_json::Value;

const PARTITIONS: i32 = 3;
const RECORDS: u64 = 300;

/// A running `strait run` replicating one fresh topic, with its HTTP address.
struct Running {
    process: StraitProcess,
    addr: String,
    topic: String,
    _dir: tempfile::TempDir,
    config: std::path::PathBuf,
}

fn start(tb: &Testbed, global_args: &[&str], env: &[(&str, &str)]) -> Running {
    let topic = unique("http");
    block_on(create_topic(
        &tb.plaintext_config(Cluster::Source),
        &topic,
        PARTITIONS,
    ));
    produce_samples(
        &tb.plaintext_config(Cluster::Source),
        &topic,
        PARTITIONS,
        0,
        RECORDS,
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("strait.yaml");
    std::fs::write(
        &config,
        strait_yaml(tb, &topic, &unique("http-group"), &unique("http-offsets")),
    )
    .unwrap();
    let process = StraitProcess::start_with(
        &config,
        &dir.path().join("strait.log"),
        global_args,
        &["--http-addr", "127.0.0.1:0"],
        env,
    );
    let addr = process.http_addr(Duration::from_secs(30));
    Running {
        process,
        addr,
        topic,
        _dir: dir,
        config,
    }
}

fn status(addr: &str) -> Value {
    let (code, body) = http_get(addr, "/status");
    assert_eq!(code, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

fn series(name: &str, topic: &str, partition: i32) -> String {
    format!(
        "{name}{{source=\"source\",target=\"target\",topic=\"source.{topic}\",partition=\"{partition}\"}}"
    )
}

#[test]
fn endpoints_follow_a_running_flow() {
    let tb = Testbed::get();
    let mut r = start(&tb, &[], &[]);
    let addr = r.addr.clone();

    // Alive at once. Whether the first /readyz still says 503 depends on how fast the flow
    // joins its group (on a quiet machine it is ready before the first request), so only a
    // 503 that does show up is checked for naming the flow.
    assert_eq!(http_get(&addr, "/healthz"), (200, "ok\n".to_owned()));
    let (code, body) = http_get(&addr, "/readyz");
    if code != 200 {
        assert_eq!(code, 503, "{body}");
        assert!(body.contains("source->target"), "{body}");
    }

    wait_until(Duration::from_secs(60), "/readyz 200", || {
        http_get(&addr, "/readyz").0 == 200
    });

    // Everything replicated: the per-partition record counts equal what the target holds.
    let target = tb.plaintext_config(Cluster::Target);
    let remote = format!("source.{}", r.topic);
    wait_until(Duration::from_secs(60), "all records on the target", || {
        topic_counts(&target, &remote).is_some_and(|c| c.iter().sum::<i64>() == RECORDS as i64)
    });
    let on_target = topic_counts(&target, &remote).unwrap();
    let mut metrics = String::new();
    let settled = wait_for(Duration::from_secs(30), || {
        metrics = http_get(&addr, "/metrics").1;
        (0..PARTITIONS).all(|p| {
            metric_value(
                &metrics,
                &series("strait_source_records_total", &r.topic, p),
            ) == Some(on_target[p as usize] as f64)
                && metric_value(&metrics, &series("strait_source_lag_records", &r.topic, p))
                    == Some(0.0)
        })
    });
    assert!(
        settled,
        "metrics never matched the target {on_target:?}:\n{metrics}"
    );
    for p in 0..PARTITIONS {
        let bytes = metric_value(&metrics, &series("strait_source_bytes_total", &r.topic, p));
        assert!(bytes.unwrap() > 0.0, "{metrics}");
        assert!(
            metric_value(
                &metrics,
                &series("strait_source_replication_latency_ms_max", &r.topic, p)
            )
            .unwrap()
                >= 0.0
        );
        assert_eq!(
            metric_value(&metrics, &series("strait_source_lag_seconds", &r.topic, p)),
            Some(0.0)
        );
    }
    assert!(metrics.contains("# TYPE strait_source_records_total counter"));
    assert_eq!(metric_value(&metrics, "strait_ready"), Some(1.0));
    assert_eq!(
        metric_value(
            &metrics,
            "strait_flow_state{source=\"source\",target=\"target\",state=\"RUNNING\"}"
        ),
        Some(1.0)
    );
    assert!(
        metric_value(
            &metrics,
            "strait_rebalances_total{source=\"source\",target=\"target\"}"
        )
        .unwrap()
            >= 1.0
    );
    assert_eq!(
        metric_value(
            &metrics,
            "strait_cluster_reachable{source=\"source\",target=\"target\",cluster=\"target\"}"
        ),
        Some(1.0)
    );

    // /status: the flow, its partitions with progress and lag.
    let s = status(&addr);
    assert_eq!(s["ready"]["ok"], true, "{s:#}");
    let flow = &s["flows"][0];
    assert_eq!(flow["name"], "source->target");
    assert_eq!(flow["state"], "RUNNING");
    assert_eq!(flow["stuck"], false);
    // Heartbeats topics on the source are replicated too: look at this test's topic only.
    let parts: Vec<&Value> = flow["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["topic"] == r.topic.as_str())
        .collect();
    assert_eq!(parts.len(), PARTITIONS as usize, "{flow:#}");
    for (p, part) in parts.iter().enumerate() {
        assert_eq!(part["topic"], r.topic.as_str());
        assert_eq!(part["remote_topic"], remote.as_str());
        assert_eq!(part["partition"], p);
        let per = RECORDS as i64 / PARTITIONS as i64;
        assert_eq!(part["next_offset"], per, "{part:#}");
        assert_eq!(part["end_offset"], per, "{part:#}");
        assert_eq!(part["lag_records"], 0);
        assert_eq!(part["records"], on_target[p]);
    }
    assert!(flow["totals"]["records"].as_u64().unwrap() >= RECORDS);

    // Kafka Connect's read API.
    let (code, body) = http_get(&addr, "/connectors");
    assert_eq!(code, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        serde_json::json!(["MirrorSourceConnector"])
    );
    let (code, body) = http_get(&addr, "/connectors/MirrorSourceConnector/status");
    assert_eq!(code, 200);
    let st: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(st["name"], "MirrorSourceConnector");
    assert_eq!(st["connector"]["state"], "RUNNING");
    assert!(
        st["connector"]["worker_id"]
            .as_str()
            .unwrap()
            .ends_with(&format!(":{}", addr.rsplit(':').next().unwrap()))
    );
    assert_eq!(st["tasks"].as_array().unwrap().len(), 1);
    assert_eq!(st["tasks"][0]["state"], "RUNNING");
    assert_eq!(st["type"], "source");
    let (code, body) = http_get(&addr, "/connectors/MirrorSourceConnector");
    assert_eq!(code, 200);
    let info: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        info["config"]["connector.class"],
        "org.apache.kafka.connect.mirror.MirrorSourceConnector"
    );
    assert_eq!(info["config"]["topics"], r.topic.as_str());
    let (code, body) = http_get(&addr, "/connectors/nope/status");
    assert_eq!(code, 404);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error_code"],
        404
    );

    r.process.signal("TERM");
    assert_eq!(
        r.process.wait(Duration::from_secs(60)),
        Some(0),
        "{}",
        r.process.log_text()
    );
}

#[test]
fn no_secret_in_any_output() {
    let tb = Testbed::get();
    let secrets: Vec<String> = [
        "REPLICATOR_PASSWORD",
        "TRUSTSTORE_JKS_PASSWORD",
        "ADMIN_PASSWORD",
    ]
    .iter()
    .map(|k| tb.var(k).to_owned())
    .collect();
    for s in &secrets {
        assert!(s.len() >= 8, "test bed secrets should be distinctive");
    }
    // JSON logs, debug level, librdkafka's security and broker debug contexts on.
    let mut r = start(
        &tb,
        &["--log-format", "json"],
        &[
            ("STRAIT_LOG", "debug"),
            ("STRAIT_KAFKA_DEBUG", "security,broker,conf"),
        ],
    );
    let addr = r.addr.clone();
    wait_until(Duration::from_secs(60), "/readyz 200", || {
        http_get(&addr, "/readyz").0 == 200
    });
    let mut outputs: Vec<(String, String)> = Vec::new();
    for path in [
        "/status",
        "/metrics",
        "/readyz",
        "/connectors?expand=status&expand=info",
        "/connectors/MirrorSourceConnector",
        "/connectors/MirrorSourceConnector/config",
        "/connectors/MirrorSourceConnector/status",
        "/",
    ] {
        let (code, body) = http_get(&addr, path);
        assert_eq!(code, 200, "{path}: {body}");
        outputs.push((path.to_owned(), body));
    }
    let validate = std::process::Command::new(env!("CARGO_BIN_EXE_strait"))
        .args(["validate", "-f"])
        .arg(&r.config)
        .output()
        .unwrap();
    assert!(validate.status.success());
    outputs.push((
        "validate stdout".into(),
        String::from_utf8_lossy(&validate.stdout).into(),
    ));
    outputs.push((
        "validate stderr".into(),
        String::from_utf8_lossy(&validate.stderr).into(),
    ));
    r.process.signal("TERM");
    assert_eq!(r.process.wait(Duration::from_secs(60)), Some(0));
    let log = r.process.log_text();
    assert!(log.contains("\"HTTP listener up\""), "JSON logs expected");
    outputs.push(("log".into(), log));

    for (what, text) in &outputs {
        assert!(
            what == "validate stderr" || !text.is_empty(),
            "{what} is empty"
        );
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "a secret appears in {what}");
        }
    }
}

/// A partition whose log ends with an aborted transaction: the consumer never returns those
/// records nor the markers, yet once they are passed the lag must read 0 and the partition
/// must not look stalled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_markers_and_aborted_records_do_not_count_as_lag() {
    use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
    use strait::flow::run_flow_with_status;
    use strait::status::Registry;
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let topic = unique("http-txn");
    create_topic(&src, &topic, 1).await;
    let mut pcfg = src.clone();
    pcfg.set("transactional.id", unique("http-txn-producer"));
    let producer: ThreadedProducer<DefaultProducerContext> = pcfg.create().unwrap();
    let timeout = Duration::from_secs(30);
    producer.init_transactions(timeout).unwrap();
    for (n, commit) in [(10, true), (5, false)] {
        producer.begin_transaction().unwrap();
        for i in 0..n {
            let v = format!("v{i}");
            producer
                .send(
                    BaseRecord::<[u8], [u8]>::to(&topic)
                        .partition(0)
                        .payload(v.as_bytes()),
                )
                .unwrap();
        }
        // Flushed first, so that the aborted records really are in the log.
        producer.flush(timeout).unwrap();
        if commit {
            producer.commit_transaction(timeout).unwrap();
        } else {
            producer.abort_transaction(timeout).unwrap();
        }
    }

    common::init_tracing();
    let flow = flow_config(&tb, &[&topic]);
    let registry = Registry::new();
    let status = registry.add_flow(&flow);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(run_flow_with_status(flow, stop_rx, status));
    let r = registry.clone();
    let t = topic.clone();
    let part = tokio::task::spawn_blocking(move || {
        let mut last = None;
        let mut flow_state = String::new();
        let ok = wait_for(Duration::from_secs(60), || {
            let snap = r.snapshot();
            flow_state = format!(
                "{:?} {:?}",
                snap.flows[0].state, snap.flows[0].ready.reasons
            );
            last = snap.flows[0]
                .partitions
                .iter()
                .find(|p| p.topic == t)
                .cloned();
            last.as_ref().is_some_and(|p| {
                // 10 records, a commit marker, 5 aborted records, an abort marker.
                p.end_offset == Some(17) && p.lag_records == Some(0)
            })
        });
        assert!(ok, "lag never reached 0: {last:#?} ({flow_state})");
        last.unwrap()
    })
    .await
    .unwrap();
    assert_eq!(part.next_offset, Some(17));
    assert_eq!(part.records, 10);
    assert!(!part.stalled);
    stop_tx.send(true).unwrap();
    running.await.unwrap().unwrap();
}
