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

/// Topic config changes on the source reach the remote topic at the next config sync; an
/// override removed on the source is removed on the target (`use.defaults.from=target`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_configs_follow_the_source() {
    use rdkafka::admin::{AlterConfig, ConfigSource, ResourceSpecifier};
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let tgt = tb.plaintext_config(Cluster::Target);
    let topic = unique("configs");
    create_topic(&src, &topic, 1).await;
    let admin: AdminClient<DefaultClientContext> = src.create().unwrap();
    let set = |cfg: Vec<(&'static str, &'static str)>| {
        let admin = &admin;
        let topic = topic.clone();
        async move {
            let mut alter = AlterConfig::new(ResourceSpecifier::Topic(&topic));
            for (k, v) in &cfg {
                alter = alter.set(k, v);
            }
            for r in admin
                .alter_configs([&alter], &AdminOptions::new())
                .await
                .unwrap()
            {
                r.unwrap();
            }
        }
    };
    set(vec![("retention.ms", "3600000"), ("segment.ms", "7200000")]).await;

    let mut flow = flow_config(&tb, &[&topic]);
    if let Some(sc) = flow.source_connector.as_mut() {
        sc.sync_topic_configs_interval = Duration::from_secs(1);
    }
    let (stop, running) = start(flow);
    let remote = format!("source.{topic}");
    let overrides = |tgt: rdkafka::ClientConfig, remote: String| async move {
        let admin: AdminClient<DefaultClientContext> = tgt.create().unwrap();
        let res = admin
            .describe_configs([&ResourceSpecifier::Topic(&remote)], &AdminOptions::new())
            .await
            .unwrap();
        let mut out: Vec<(String, String)> = res
            .into_iter()
            .flat_map(|r| r.map(|c| c.entries).unwrap_or_default())
            .filter(|e| e.source == ConfigSource::DynamicTopic)
            .map(|e| (e.name, e.value.unwrap_or_default()))
            .collect();
        out.sort();
        out
    };
    let wait_for_overrides = |expected: Vec<(&str, &str)>| {
        let expected: Vec<(String, String)> = expected
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let (tgt, remote) = (tgt.clone(), remote.clone());
        async move {
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            loop {
                let got = overrides(tgt.clone(), remote.clone()).await;
                if got == expected {
                    return;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "remote configs {got:?}, expected {expected:?}"
                );
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    };
    wait_for_overrides(vec![("retention.ms", "3600000"), ("segment.ms", "7200000")]).await;
    // Legacy AlterConfigs replaces the topic's whole config: segment.ms goes back to default.
    set(vec![("retention.ms", "1800000")]).await;
    wait_for_overrides(vec![("retention.ms", "1800000")]).await;
    stop.send(true).unwrap();
    running.await.unwrap().unwrap();
}

/// ACLs on replicated topics are copied with MM2's rules: READ kept, ALLOW WRITE dropped,
/// ALLOW ALL narrowed to READ.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_acls_are_copied_with_mm2_rules() {
    common::init_tracing();
    use strait::kafka::ffi::{
        AclBinding, AclBindingFilter, AclOperation, AclPermission, PatternType, ResourceType,
        create_acls, describe_acls,
    };
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let tgt = tb.plaintext_config(Cluster::Target);
    let topic = unique("acls");
    create_topic(&src, &topic, 1).await;
    let acl = |principal: &str, op: AclOperation| AclBinding {
        resource_type: ResourceType::Topic,
        resource_name: topic.clone(),
        pattern_type: PatternType::Literal,
        principal: principal.to_owned(),
        host: "*".to_owned(),
        operation: op,
        permission: AclPermission::Allow,
    };
    let src_admin: AdminClient<DefaultClientContext> = src.create().unwrap();
    for r in create_acls(
        &src_admin,
        &[
            acl("User:reader", AclOperation::Read),
            acl("User:writer", AclOperation::Write),
            acl("User:owner", AclOperation::All),
            // With ACLs on the topic, the replicator needs its own to see and read it.
            acl("User:replicator", AclOperation::Read),
            acl("User:replicator", AclOperation::Describe),
            acl("User:replicator", AclOperation::DescribeConfigs),
        ],
        Duration::from_secs(30),
    )
    .unwrap()
    {
        r.unwrap();
    }
    let mut flow = flow_config(&tb, &[&topic]);
    if let Some(sc) = flow.source_connector.as_mut() {
        sc.sync_topic_acls_interval = Duration::from_secs(1);
    }
    let (stop, running) = start(flow);
    let remote = format!("source.{topic}");
    let tgt_admin: AdminClient<DefaultClientContext> = tgt.create().unwrap();
    let filter = AclBindingFilter {
        resource_type: ResourceType::Topic,
        resource_name: Some(remote.clone()),
        pattern_type: PatternType::Literal,
        ..AclBindingFilter::any()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut got = loop {
        let mut got: Vec<(String, AclOperation)> =
            describe_acls(&tgt_admin, &filter, Duration::from_secs(10))
                .unwrap()
                .into_iter()
                .map(|a| (a.principal, a.operation))
                .collect();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        if got.len() >= 5 || std::time::Instant::now() > deadline {
            break got;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    stop.send(true).unwrap();
    running.await.unwrap().unwrap();
    got.sort_by_key(|(p, op)| format!("{p}{op:?}"));
    assert_eq!(
        got,
        vec![
            ("User:owner".to_owned(), AclOperation::Read),
            ("User:reader".to_owned(), AclOperation::Read),
            ("User:replicator".to_owned(), AclOperation::Describe),
            ("User:replicator".to_owned(), AclOperation::DescribeConfigs),
            ("User:replicator".to_owned(), AclOperation::Read),
        ],
        "ALLOW WRITE must not be copied, ALLOW ALL becomes READ"
    );
}

/// The topic refresh and a rebalance may grow the same remote topic at the same moment; the
/// broker refuses the second request, and that must not stop the flow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn growing_a_remote_topic_twice_at_once_succeeds() {
    use strait::source::topics::{ReplicatedTopic, TopicAdmin};
    let tb = Testbed::get();
    let (src, tgt) = (
        tb.plaintext_config(Cluster::Source),
        tb.plaintext_config(Cluster::Target),
    );
    let topic = unique("grow-race");
    let remote = format!("source.{topic}");
    create_topic(&src, &topic, 6).await;
    create_topic(&tgt, &remote, 2).await;
    let flow = flow_config(&tb, &[&topic]);
    let sc = flow.source_connector.clone().unwrap();
    let admin = TopicAdmin::new(&src, &tgt, &sc).unwrap();
    let wanted = [ReplicatedTopic {
        source: topic.as_str().into(),
        remote: remote.as_str().into(),
        partitions: 6,
    }];
    let (a, b) = tokio::join!(
        admin.ensure_remote_topics(&wanted),
        admin.ensure_remote_topics(&wanted)
    );
    a.unwrap();
    b.unwrap();
    assert_eq!(partitions_reaching(&tgt, &remote, 6), Some(6));
}

/// A rebalance gives a process only some partitions, and it makes the remote topic before
/// replicating them: the topic must still get every source partition, or the partitions other
/// processes were given at the same moment have no remote partition to go to (their records
/// were refused and went out of order; process_replication.rs saw it in CI).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_topic_made_for_some_partitions_gets_all_of_the_sources() {
    use strait::source::topics::{ReplicatedTopic, TopicAdmin};
    let tb = Testbed::get();
    let (src, tgt) = (
        tb.plaintext_config(Cluster::Source),
        tb.plaintext_config(Cluster::Target),
    );
    let topic = unique("made-for-some");
    let remote = format!("source.{topic}");
    create_topic(&src, &topic, 6).await;
    let flow = flow_config(&tb, &[&topic]);
    let sc = flow.source_connector.clone().unwrap();
    let admin = TopicAdmin::new(&src, &tgt, &sc).unwrap();
    // Partitions 0 and 3 assigned: the highest is 3.
    let wanted = [ReplicatedTopic {
        source: topic.as_str().into(),
        remote: remote.as_str().into(),
        partitions: 4,
    }];
    admin.ensure_remote_topics(&wanted).await.unwrap();
    assert_eq!(partitions_reaching(&tgt, &remote, 6), Some(6));
}

/// The partition count of `topic` once it reaches `wanted`, or the last one seen after 15 s:
/// the metadata of a topic just created or grown may lag behind.
fn partitions_reaching(
    config: &rdkafka::ClientConfig,
    topic: &str,
    wanted: usize,
) -> Option<usize> {
    let mut seen = None;
    common::wait_for(Duration::from_secs(15), || {
        seen = topic_counts(config, topic).map(|c| c.len());
        seen == Some(wanted)
    });
    seen
}

/// Another process creates the remote topic, with fewer partitions, at the moment this one
/// does: whichever wins, the topic ends with every partition this one needs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_topic_created_short_by_another_at_the_same_moment_is_grown() {
    use rdkafka::admin::{NewTopic, TopicReplication};
    use strait::source::topics::{ReplicatedTopic, TopicAdmin};
    let tb = Testbed::get();
    let (src, tgt) = (
        tb.plaintext_config(Cluster::Source),
        tb.plaintext_config(Cluster::Target),
    );
    let other: AdminClient<DefaultClientContext> = tgt.create().unwrap();
    for round in 0..8 {
        let topic = unique("created-short");
        let remote = format!("source.{topic}");
        create_topic(&src, &topic, 6).await;
        let flow = flow_config(&tb, &[&topic]);
        let sc = flow.source_connector.clone().unwrap();
        let admin = TopicAdmin::new(&src, &tgt, &sc).unwrap();
        let wanted = [ReplicatedTopic {
            source: topic.as_str().into(),
            remote: remote.as_str().into(),
            partitions: 6,
        }];
        let short = NewTopic::new(&remote, 2, TopicReplication::Fixed(1));
        if round % 2 == 0 {
            let (ours, _theirs) = tokio::join!(
                admin.ensure_remote_topics(&wanted),
                other.create_topics([&short], &AdminOptions::new())
            );
            ours.unwrap();
        } else {
            // Just created: the broker that answers the listing may not show it yet, and the
            // create is then refused as a duplicate.
            other
                .create_topics([&short], &AdminOptions::new())
                .await
                .unwrap();
            admin.ensure_remote_topics(&wanted).await.unwrap();
        }
        assert_eq!(partitions_reaching(&tgt, &remote, 6), Some(6), "{remote}");
    }
}
