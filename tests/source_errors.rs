//! Errors of the source consumer and the target producers reach the status and, when retrying
//! cannot fix them, fail the flow visibly instead of being logged forever. Needs
//! `testbed/kafka.sh up`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::Duration;

use common::scenario::{Flow, create_topic_with, kafka_acls, progress_of};
use common::{
    Cluster, Testbed, assert_complete_in_order, produce_samples, read_topic, unique, wait_until,
};

#[test]
fn reading_denied_on_the_source_fails_the_flow_naming_the_error() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let topic = unique("readdenied");
    create_topic_with(&src, &topic, 1, &[]);
    produce_samples(&src, &topic, 1, 0, 10);
    // The replicating user may see the topic (so it is selected) but not read it.
    for (kind, op) in [("--allow-principal", "All"), ("--deny-principal", "Read")] {
        kafka_acls(
            &tb,
            Cluster::Source,
            &[
                "--add",
                "--force",
                kind,
                "User:replicator",
                "--operation",
                op,
                "--topic",
                &topic,
            ],
        );
    }
    let flow = Flow::new(&tb, &topic, &[]);
    let mut p = flow.start("strait");
    let code = p.wait(Duration::from_secs(90));
    let log = p.log_text();
    assert_eq!(code, Some(1), "the flow must fail, not warn forever: {log}");
    assert!(
        log.contains("reading from the source cluster failed for good")
            && log.to_lowercase().contains("authorization"),
        "{log}"
    );
}

/// Fails the producer `victim` names (see `STRAIT_TEST_FAIL_PRODUCER`) the way librdkafka
/// fails an idempotent producer whose sequence numbers fell out of step with a broker: the flow
/// stops promptly with an error naming `what` failed, and a restart replicates everything.
fn a_failed_producer_stops_the_flow(victim: &str, what: &str) {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let tgt = tb.plaintext_config(Cluster::Target);
    let topic = unique("fatal");
    let remote = format!("source.{topic}");
    create_topic_with(&src, &topic, 2, &[]);
    produce_samples(&src, &topic, 2, 0, 4000);
    // librdkafka's producers, whatever the suite runs under: the fault is one of theirs.
    let flow = Flow::new(&tb, &topic, &[("strait.target.writer", "librdkafka")]);
    let fault = format!("{victim}{topic}:0:700");
    let mut p = flow.start_with_env("failing", &[("STRAIT_TEST_FAIL_PRODUCER", &fault)]);
    // Promptly: the failed producer's records are never reported on, and a stop that waited
    // for them took its whole 45 s budget.
    let code = p.wait(Duration::from_secs(30));
    let log = p.log_text();
    assert_eq!(code, Some(1), "the flow stops within 30 s:\n{log}");
    let error = log
        .lines()
        .find(|l| l.contains("strait::cli::run"))
        .unwrap_or_else(|| panic!("no error line:\n{log}"));
    assert!(
        error.contains(&format!("the {what} failed for good"))
            && error.contains("STRAIT_TEST_FAIL_PRODUCER asked for it"),
        "the error names the producer and librdkafka's reason:\n{log}"
    );
    assert!(
        !log.contains("the target refused a record"),
        "a producer that failed is not a record the target refused:\n{log}"
    );

    let mut p = flow.start("restarted");
    wait_until(Duration::from_secs(90), "everything replicated", || {
        (0..2).all(|part| progress_of(&flow, &tb, &topic, part) == Some(1999))
    });
    p.signal("TERM");
    assert_eq!(p.wait(Duration::from_secs(60)), Some(0), "{}", p.log_text());
    let source = read_topic(&src, &topic);
    let copy = read_topic(&tgt, &remote);
    for part in 0..2 {
        assert_complete_in_order(&source[part], &copy[part], &format!("partition {part}"));
    }
}

#[test]
fn a_target_producer_librdkafka_gives_up_on_fails_the_flow_and_a_restart_misses_nothing() {
    a_failed_producer_stops_the_flow("", "target producer");
}

#[test]
fn an_offsets_topic_producer_librdkafka_gives_up_on_fails_the_flow() {
    a_failed_producer_stops_the_flow("progress@", "offsets-topic producer");
}

#[test]
fn an_offset_syncs_producer_librdkafka_gives_up_on_fails_the_flow() {
    a_failed_producer_stops_the_flow("offset-syncs@", "offset-syncs producer");
}
