//! `strait verify` against the test bed: a faithful copy passes (exit 0); a copy with a record
//! deleted, altered (value, header) or duplicated fails (exit 1) and the JSON report names the
//! partition and offset of each. The "remote" topics are written directly by a producer, so
//! every difference is exactly the one the test made.
//! Needs `testbed/kafka.sh up`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use serde_json::Value;

use common::{
    Cluster, Rec, Testbed, create_topic, produce_samples, read_topic, strait_yaml, unique,
};

/// What the copy does with one source record.
enum Edit {
    Keep,
    Skip,
    Replace(Rec),
    Twice,
}

/// Writes `records` (per partition, as read from the source) to `remote` on the target,
/// applying `edit(partition, index, record)`.
fn write_copy(
    target: &ClientConfig,
    remote: &str,
    records: &[Vec<(i64, Rec)>],
    edit: impl Fn(i32, usize, &Rec) -> Edit,
) {
    let mut cfg = target.clone();
    // Idempotence keeps the order exact across retries without waiting for each record.
    cfg.set("enable.idempotence", "true").set("linger.ms", "5");
    let producer: BaseProducer = cfg.create().unwrap();
    let send = |p: i32, r: &Rec| {
        let mut headers = OwnedHeaders::new();
        for (k, v) in &r.headers {
            headers = headers.insert(Header {
                key: k,
                value: v.as_deref(),
            });
        }
        let mut rec: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(remote)
            .partition(p)
            .timestamp(r.timestamp)
            .headers(headers);
        if let Some(k) = &r.key {
            rec = rec.key(k.as_slice());
        }
        if let Some(v) = &r.value {
            rec = rec.payload(v.as_slice());
        }
        producer.send(rec).map_err(|(e, _)| e).unwrap();
        producer.poll(Duration::ZERO);
    };
    for (p, recs) in records.iter().enumerate() {
        let p = p as i32;
        for (i, (_, r)) in recs.iter().enumerate() {
            match edit(p, i, r) {
                Edit::Keep => send(p, r),
                Edit::Skip => {}
                Edit::Replace(other) => send(p, &other),
                Edit::Twice => {
                    send(p, r);
                    send(p, r);
                }
            }
        }
    }
    producer.flush(Duration::from_secs(60)).unwrap();
}

/// A source topic of `partitions` partitions with `n` sample records, its records as read back,
/// and the remote topic's name (`source.<topic>`), created empty on the target.
async fn source_topic(
    tb: &Testbed,
    partitions: i32,
    n: u64,
) -> (String, Vec<Vec<(i64, Rec)>>, String) {
    let topic = unique("verify");
    let source = tb.plaintext_config(Cluster::Source);
    create_topic(&source, &topic, partitions).await;
    produce_samples(&source, &topic, partitions, 0, n);
    let records = read_topic(&source, &topic);
    let remote = format!("source.{topic}");
    create_topic(&tb.plaintext_config(Cluster::Target), &remote, partitions).await;
    (topic, records, remote)
}

/// Runs `strait verify -f <config> --topic <topic> ARGS`; exit code and stdout.
fn strait_verify(config: &Path, topic: &str, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_strait"))
        .args(["verify", "-f"])
        .arg(config)
        .args(["--topic", topic, "--parallelism", "3"])
        .args(args)
        .env("STRAIT_LOG", "warn,librdkafka=error")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains('\r'),
        "no progress bar without a terminal: {stderr}"
    );
    (out.status.code().unwrap_or(-1), stdout)
}

fn config_file(tb: &Testbed, topic: &str, dir: &Path) -> std::path::PathBuf {
    let path = dir.join("strait.yaml");
    let yaml = strait_yaml(
        tb,
        topic,
        &unique("verify-group"),
        &unique("verify-offsets"),
    );
    std::fs::write(&path, yaml).unwrap();
    path
}

fn partition(report: &Value, p: i64) -> &Value {
    report["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["partition"] == p)
        .unwrap_or_else(|| panic!("partition {p} in {report:#}"))
}

#[tokio::test]
async fn equal_topics_pass() {
    let tb = Testbed::get();
    let (topic, records, remote) = source_topic(&tb, 3, 300).await;
    write_copy(
        &tb.plaintext_config(Cluster::Target),
        &remote,
        &records,
        |_, _, _| Edit::Keep,
    );
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(&tb, &topic, dir.path());

    let (code, out) = strait_verify(&config, &topic, &["--json"]);
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["equal"], true);
    assert_eq!(report["summary"]["partitions"], 3);
    assert_eq!(report["summary"]["equal"], 3);
    assert_eq!(report["summary"]["source_records"], 300);
    for (p, recs) in records.iter().enumerate() {
        let e = partition(&report, p as i64);
        assert_eq!(e["status"], "equal", "{e:#}");
        assert_eq!(e["remote_topic"], remote.as_str());
        assert_eq!(e["matched"], recs.len() as u64);
        assert_eq!(e["target_records"], recs.len() as u64);
        assert_eq!(e["source_range"], serde_json::json!([0, recs.len()]));
        assert!(
            e.get("missing").is_none() && e.get("differing").is_none(),
            "{e:#}"
        );
    }

    // The table says the same.
    let (code, table) = strait_verify(&config, &topic, &[]);
    assert_eq!(code, 0, "{table}");
    assert!(
        table.contains("3 partitions: 3 equal, 0 different"),
        "{table}"
    );
}

#[tokio::test]
async fn deleted_altered_and_duplicated_records_are_named() {
    let tb = Testbed::get();
    let (topic, records, remote) = source_topic(&tb, 5, 250).await;
    // Each partition gets one kind of damage at index 20 (partition 0 stays faithful).
    let at = 20;
    write_copy(
        &tb.plaintext_config(Cluster::Target),
        &remote,
        &records,
        |p, i, r| {
            if i != at {
                return Edit::Keep;
            }
            match p {
                1 => Edit::Skip,
                2 => Edit::Replace(Rec {
                    value: Some(b"tampered".to_vec()),
                    ..r.clone()
                }),
                3 => {
                    let mut headers = r.headers.clone();
                    headers.push(("added".to_owned(), Some(b"x".to_vec())));
                    Edit::Replace(Rec {
                        headers,
                        ..r.clone()
                    })
                }
                4 => Edit::Twice,
                _ => Edit::Keep,
            }
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(&tb, &topic, dir.path());

    let (code, out) = strait_verify(&config, &topic, &["--json"]);
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["equal"], false);
    assert_eq!(report["summary"]["equal"], 1);
    assert_eq!(report["summary"]["different"], 4);
    let source_offset = |p: usize| records[p][at].0;

    let p0 = partition(&report, 0);
    assert_eq!(p0["status"], "equal", "{p0:#}");

    let p1 = partition(&report, 1);
    assert_eq!(p1["status"], "different");
    assert_eq!(p1["problems"], serde_json::json!(["missing"]), "{p1:#}");
    assert_eq!(p1["missing"]["count"], 1);
    assert_eq!(p1["missing"]["first_source_offset"], source_offset(1));
    assert_eq!(p1["target_records"], records[1].len() as u64 - 1);

    let p2 = partition(&report, 2);
    assert_eq!(p2["problems"], serde_json::json!(["differing"]), "{p2:#}");
    assert_eq!(p2["differing"]["count"], 1);
    assert_eq!(p2["differing"]["first_source_offset"], source_offset(2));
    assert_eq!(p2["differing"]["first_target_offset"], at as u64);
    assert_eq!(p2["differing"]["fields"], serde_json::json!(["value"]));

    let p3 = partition(&report, 3);
    assert_eq!(p3["problems"], serde_json::json!(["differing"]), "{p3:#}");
    assert_eq!(p3["differing"]["first_source_offset"], source_offset(3));
    assert_eq!(p3["differing"]["fields"], serde_json::json!(["headers"]));

    let p4 = partition(&report, 4);
    assert_eq!(p4["problems"], serde_json::json!(["duplicated"]), "{p4:#}");
    assert_eq!(p4["duplicated"]["count"], 1);
    assert_eq!(p4["duplicated"]["first_target_offset"], at as u64 + 1);
    assert_eq!(p4["duplicated"]["source_offset"], source_offset(4));

    // The table names them too.
    let (code, table) = strait_verify(&config, &topic, &[]);
    assert_eq!(code, 1, "{table}");
    assert!(
        table.contains(&format!(
            "1 missing from source offset {}",
            source_offset(1)
        )),
        "{table}"
    );
    assert!(
        table.contains("1 duplicated from target offset 21"),
        "{table}"
    );
    assert!(table.contains("NOT EQUAL"), "{table}");

    // From a source offset after the deleted record, partition 1 is equal: the start of the
    // copy is found, not assumed to be at the same offset.
    let from = (source_offset(1) + 5).to_string();
    let (code, out) = strait_verify(
        &config,
        &topic,
        &["--json", "--partition", "1", "--from-offset", &from],
    );
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(code, 0, "{report:#}");
    let p1 = partition(&report, 1);
    assert_eq!(p1["source_range"][0], source_offset(1) + 5);
    assert_eq!(p1["target_range"][0], source_offset(1) + 4, "{p1:#}");
}

#[tokio::test]
async fn missing_remote_topic_is_all_missing() {
    let tb = Testbed::get();
    let topic = unique("verify-absent");
    let source = tb.plaintext_config(Cluster::Source);
    create_topic(&source, &topic, 1).await;
    produce_samples(&source, &topic, 1, 0, 10);
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(&tb, &topic, dir.path());
    let (code, out) = strait_verify(&config, &topic, &["--json"]);
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(code, 1, "{report:#}");
    let p0 = partition(&report, 0);
    assert_eq!(p0["missing"]["count"], 10, "{p0:#}");
    assert_eq!(p0["missing"]["first_source_offset"], 0);
    assert_eq!(p0["missing"]["at_end"], 10);
}
