//! Errors of the source consumer reach the status and, when retrying cannot fix them, fail the
//! flow visibly instead of being logged forever. Needs `testbed/kafka.sh up`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::Duration;

use common::scenario::{Flow, create_topic_with, kafka_acls};
use common::{Cluster, Testbed, produce_samples, unique};

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
