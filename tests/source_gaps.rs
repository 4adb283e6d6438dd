//! Records that leave the source before Strait read them, and source partitions that go
//! backwards: never a silent jump. Needs `testbed/kafka.sh up`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::Duration;

use common::scenario::{Flow, create_topic_with, delete_records_before, delete_topic, status_json};
use common::{
    Cluster, Testbed, http_get, metric_value, produce_samples, read_topic, topic_counts, unique,
    wait_for,
};

fn total(config: &rdkafka::ClientConfig, topic: &str) -> i64 {
    topic_counts(config, topic).map_or(0, |c| c.iter().sum())
}

/// Runs the flow until the remote topic holds `n` records, then stops it cleanly.
fn replicate_until(flow: &Flow, tb: &Testbed, remote: &str, n: i64, name: &str) {
    let tgt = tb.plaintext_config(Cluster::Target);
    let mut p = flow.start(name);
    assert!(
        wait_for(Duration::from_secs(120), || total(&tgt, remote) >= n),
        "{remote} never reached {n} records: {}",
        p.log_text()
    );
    p.signal("TERM");
    assert_eq!(p.wait(Duration::from_secs(60)), Some(0), "{}", p.log_text());
}

#[test]
fn records_deleted_before_replication_are_reported_and_the_rest_replicated() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let tgt = tb.plaintext_config(Cluster::Target);
    let topic = unique("expired");
    let remote = format!("source.{topic}");
    create_topic_with(&src, &topic, 1, &[]);
    produce_samples(&src, &topic, 1, 0, 100);
    let flow = Flow::new(&tb, &topic, &[]);
    replicate_until(&flow, &tb, &remote, 100, "first");

    // While the flow is down, 100 more arrive and retention takes the first 50 of them.
    produce_samples(&src, &topic, 1, 100, 100);
    delete_records_before(&src, &topic, 0, 150);

    let p = flow.start("second");
    let addr = p.http_addr(Duration::from_secs(30));
    assert!(
        wait_for(Duration::from_secs(120), || total(&tgt, &remote) >= 150),
        "the retained records were not replicated: {} on the target; log:\n{}",
        total(&tgt, &remote),
        p.log_text()
    );
    // Exactly the records that still existed: 0..100 from before, then 150..200.
    let source_all: Vec<_> = (0..200).map(common::sample_record).collect();
    let target: Vec<_> = read_topic(&tgt, &remote).remove(0);
    let expected: Vec<_> = source_all[..100]
        .iter()
        .chain(&source_all[150..])
        .cloned()
        .collect();
    let got: Vec<_> = target.into_iter().map(|(_, r)| r).collect();
    assert_eq!(got.len(), expected.len(), "records on the target");
    assert!(got == expected, "the target is not 0..100 then 150..200");

    // The jump is reported: log line with the exact range, metric, status.
    let log = p.log_text();
    assert!(
        log.contains("source offsets 100..=149 are not on the target"),
        "no warning naming the range: {log}"
    );
    let (_, metrics) = http_get(&addr, "/metrics");
    let series = format!(
        "strait_source_records_expired_total{{source=\"source\",target=\"target\",topic=\"{remote}\",partition=\"0\"}}"
    );
    assert_eq!(metric_value(&metrics, &series), Some(50.0), "{metrics}");
    let status = status_json(&addr);
    let expired = &status["flows"][0]["expired"][0];
    assert_eq!(expired["topic"], topic.as_str());
    assert_eq!(expired["records"], 50);
    assert_eq!(expired["last_first_offset"], 100);
    assert_eq!(expired["last_last_offset"], 149);
    assert_eq!(status["flows"][0]["totals"]["records_expired"], 50);
}

#[test]
fn a_source_topic_recreated_is_replicated_from_its_new_start() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let tgt = tb.plaintext_config(Cluster::Target);
    let topic = unique("recreated");
    let remote = format!("source.{topic}");
    create_topic_with(&src, &topic, 1, &[]);
    produce_samples(&src, &topic, 1, 0, 50);
    let flow = Flow::new(&tb, &topic, &[]);
    replicate_until(&flow, &tb, &remote, 50, "first");

    // The topic is deleted and made again with fewer records than the progress says.
    delete_topic(&src, &topic);
    create_topic_with(&src, &topic, 1, &[]);
    produce_samples(&src, &topic, 1, 1000, 10);

    let p = flow.start("second");
    assert!(
        wait_for(Duration::from_secs(120), || total(&tgt, &remote) >= 60),
        "the recreated topic's records were skipped: {} on the target; log:\n{}",
        total(&tgt, &remote),
        p.log_text()
    );
    let got: Vec<_> = read_topic(&tgt, &remote)
        .remove(0)
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    let new: Vec<_> = (1000..1010).map(common::sample_record).collect();
    assert_eq!(got[50..], new[..], "the new records follow the old ones");
    assert!(
        p.log_text().contains("went back from offset 50 to 0"),
        "no warning: {}",
        p.log_text()
    );
}

#[test]
fn auto_offset_reset_none_fails_naming_the_partition() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let topic = unique("resetnone");
    let remote = format!("source.{topic}");
    create_topic_with(&src, &topic, 1, &[]);
    produce_samples(&src, &topic, 1, 0, 20);

    // Without progress, `none` leaves nowhere to start: the flow fails, as MM2's task does.
    let strict = Flow::new(&tb, &topic, &[("consumer.auto.offset.reset", "none")]);
    let mut p = strict.start("none-fresh");
    assert_eq!(p.wait(Duration::from_secs(90)), Some(1), "{}", p.log_text());
    let log = p.log_text();
    // The partition named is this topic's, or that of a heartbeats topic (`heartbeats`, or a
    // remote one such as `a.heartbeats` that other flows left on the source), which every flow
    // replicates too when it exists.
    let named = log
        .lines()
        .filter_map(|l| {
            l.split("no replication progress for source partition ")
                .nth(1)
        })
        .filter_map(|rest| rest.split(' ').next())
        .any(|p| p == format!("{topic}-0") || p.ends_with("heartbeats-0"));
    assert!(named && log.contains("auto.offset.reset is none"), "{log}");

    // With progress that fell out of the log, `none` fails naming the partition.
    let flow = Flow::new(&tb, &topic, &[]);
    replicate_until(&flow, &tb, &remote, 20, "first");
    produce_samples(&src, &topic, 1, 20, 20);
    delete_records_before(&src, &topic, 0, 30);
    let yaml = common::scenario::set_flow_key(
        &std::fs::read_to_string(&flow.config).unwrap(),
        "consumer.auto.offset.reset",
        "none",
    );
    std::fs::write(&flow.config, yaml).unwrap();
    let mut p = flow.start("none-out-of-range");
    assert_eq!(p.wait(Duration::from_secs(90)), Some(1), "{}", p.log_text());
    let log = p.log_text();
    assert!(
        log.contains("out of range and auto.offset.reset is none")
            && log.contains(&format!("{topic}-0 (next offset 20, log 30..40)")),
        "{log}"
    );
}
