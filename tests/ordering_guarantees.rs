//! What keeps "replicated" honest: records and offset syncs written by idempotent producers
//! with acks=all, and settings that would break that refused before anything runs.
//! Needs `testbed/kafka.sh up`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::Duration;

use common::scenario::{Flow, create_topic_with, progress_of, set_flow_key};
use common::{Cluster, Testbed, produce_samples, producer_ids, unique, wait_until};

#[test]
fn offset_syncs_are_written_by_an_idempotent_producer() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let topic = unique("syncs");
    create_topic_with(&src, &topic, 1, &[]);
    produce_samples(&src, &topic, 1, 0, 300);
    // A target alias of its own, so this flow alone writes its offset-syncs topic.
    let alias = unique("tgt").replace('-', "");
    let flow = Flow::new(&tb, &topic, &[]);
    flow.set_target_alias(&alias);
    let mut p = flow.start("strait");
    wait_until(Duration::from_secs(90), "replication", || {
        progress_of(&flow, &tb, &topic, 0) == Some(299)
    });
    p.signal("TERM");
    assert_eq!(p.wait(Duration::from_secs(60)), Some(0), "{}", p.log_text());
    let syncs = format!("mm2-offset-syncs.{alias}.internal");
    let ids = producer_ids(&tb, Cluster::Source, &syncs, 0);
    assert_eq!(
        ids.len(),
        1,
        "one idempotent producer wrote {syncs} (none would mean syncs could be reordered): {ids:?}"
    );
}

#[test]
fn validate_refuses_a_producer_that_can_reorder() {
    let tb = Testbed::get();
    for (key, value) in [
        ("producer.override.enable.idempotence", "false"),
        ("producer.override.acks", "1"),
    ] {
        let flow = Flow::new(&tb, "anything", &[]);
        let yaml = set_flow_key(&std::fs::read_to_string(&flow.config).unwrap(), key, value);
        std::fs::write(&flow.config, yaml).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_strait"))
            .args(["validate", "-f"])
            .arg(&flow.config)
            .output()
            .expect("run strait validate");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(2), "{text}");
        assert!(
            text.contains(key) && text.contains("is not allowed"),
            "{text}"
        );
    }
}
