//! Which topics are replicated and how remote topics follow their sources: new topics picked
//! up within the refresh interval, partitions added on the source followed, the Identity
//! policy, and cycles never replicated back.
//! Needs `testbed/kafka.sh up`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewPartitions};
use rdkafka::client::DefaultClientContext;
use tokio::sync::watch;

use common::{
    Cluster, Testbed, create_topic, flow_config, produce_samples, topic_counts, unique, wait_until,
};
use strait::config::{FlowConfig, PolicyKind};
use strait::flow::run_flow;

/// Runs `flow` in the background until the returned sender says stop.
fn start(
    flow: FlowConfig,
) -> (
    watch::Sender<bool>,
    tokio::task::JoinHandle<Result<(), strait::flow::FlowError>>,
) {
    let (tx, rx) = watch::channel(false);
    (tx, tokio::spawn(run_flow(flow, rx)))
}

async fn wait_counts(topic: String, expected: Vec<i64>, what: &'static str) {
    let tgt = Testbed::get().plaintext_config(Cluster::Target);
    tokio::task::spawn_blocking(move || {
        wait_until(Duration::from_secs(60), what, || {
            topic_counts(&tgt, &topic).is_some_and(|c| c == expected)
        })
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_topics_and_new_partitions_are_followed() {
    common::init_tracing();
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let prefix = unique("follow");
    let first = format!("{prefix}-a");
    create_topic(&src, &first, 2).await;
    produce_samples(&src, &first, 2, 0, 100);
    let (stop, running) = start(flow_config(&tb, &[&format!("{prefix}-.*")]));
    wait_counts(format!("source.{first}"), vec![50, 50], "the first topic").await;

    // A topic created while the flow runs is replicated within the refresh interval (2 s).
    let second = format!("{prefix}-b");
    create_topic(&src, &second, 3).await;
    produce_samples(&src, &second, 3, 0, 90);
    wait_counts(
        format!("source.{second}"),
        vec![30, 30, 30],
        "a new matching topic",
    )
    .await;

    // Partitions added on the source appear on the target, and their records follow.
    let admin: AdminClient<DefaultClientContext> = src.create().unwrap();
    for r in admin
        .create_partitions([&NewPartitions::new(&first, 4)], &AdminOptions::new())
        .await
        .unwrap()
    {
        r.unwrap();
    }
    produce_samples(&src, &first, 4, 1000, 40);
    wait_counts(
        format!("source.{first}"),
        vec![60, 60, 10, 10],
        "the added partitions",
    )
    .await;

    stop.send(true).unwrap();
    running.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_policy_keeps_names() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let topic = unique("identity");
    create_topic(&src, &topic, 2).await;
    produce_samples(&src, &topic, 2, 0, 20);
    let mut flow = flow_config(&tb, &[&topic]);
    flow.policy.kind = PolicyKind::Identity;
    let (stop, running) = start(flow);
    wait_counts(topic.clone(), vec![10, 10], "the same name on the target").await;
    stop.send(true).unwrap();
    running.await.unwrap().unwrap();
    let tgt = tb.plaintext_config(Cluster::Target);
    assert_eq!(topic_counts(&tgt, &format!("source.{topic}")), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_that_came_from_the_target_are_not_sent_back() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let tgt = tb.plaintext_config(Cluster::Target);
    let base = unique("cycle");
    // `target.<x>` on the source is the target's own data replicated here: a cycle.
    let looped = format!("target.{base}");
    let plain = format!("{base}-plain");
    create_topic(&src, &looped, 1).await;
    create_topic(&src, &plain, 1).await;
    produce_samples(&src, &looped, 1, 0, 5);
    produce_samples(&src, &plain, 1, 0, 5);
    let (stop, running) = start(flow_config(&tb, &[".*cycle.*"]));
    wait_counts(format!("source.{plain}"), vec![5], "the plain topic").await;
    stop.send(true).unwrap();
    running.await.unwrap().unwrap();
    assert_eq!(
        topic_counts(&tgt, &format!("source.{looped}")),
        None,
        "a cycle was replicated"
    );
}
