//! The librdkafka admin wrappers in `strait::kafka::ffi`, against the real test bed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminOptions, ConfigSource, ResourceSpecifier};
use rdkafka::config::ClientConfig;

use common::{
    Cluster, GroupMember, Listener, Testbed, admin_client, block_on, commit_as_member,
    create_topic, unique, wait_until,
};
use strait::config::SaslMechanism;
use strait::kafka::ffi::{
    self, AclBinding, AclBindingFilter, AclOperation, AclPermission, CommittedOffset, ConfigOp,
    ErrorCode, GroupState, PatternType, ResourceType, Subject,
};
use strait::kafka::{ClientRole, client_config};

const T: Duration = Duration::from_secs(30);

fn setup(partitions: i32) -> (ClientConfig, String) {
    common::init_tracing();
    let config = Testbed::get().plaintext_config(Cluster::Target);
    let topic = unique("ffi");
    block_on(create_topic(&config, &topic, partitions));
    (config, topic)
}

fn sorted(mut offsets: Vec<CommittedOffset>) -> Vec<CommittedOffset> {
    offsets.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    offsets
}

fn committed(topic: &str, partition: i32, offset: i64, metadata: &str) -> CommittedOffset {
    CommittedOffset {
        topic: topic.to_owned(),
        partition,
        offset,
        metadata: metadata.to_owned(),
    }
}

fn group_state(admin: &impl ffi::KafkaHandle, group: &str) -> Option<GroupState> {
    ffi::list_consumer_groups(admin, T)
        .unwrap()
        .into_iter()
        .find(|g| g.group_id == group)
        .map(|g| g.state)
}

#[test]
fn offsets_committed_by_a_member_are_listed_back_exactly() {
    let (config, topic) = setup(3);
    let group = unique("ffi-group");
    commit_as_member(
        &config,
        &group,
        &topic,
        &[(0, 5, "m-0"), (1, 7, ""), (2, 42, "métadonnée, 2")],
    );
    let admin = admin_client(&config);

    let offsets = sorted(ffi::list_consumer_group_offsets(&admin, &group, T).unwrap());
    assert_eq!(
        offsets,
        vec![
            committed(&topic, 0, 5, "m-0"),
            committed(&topic, 1, 7, ""),
            committed(&topic, 2, 42, "métadonnée, 2"),
        ]
    );

    // The member closed, so the group is Empty (the broker may need a moment to process the
    // LeaveGroup), and it is a real consumer group, not a simple one.
    wait_until(T, "group listed as Empty", || {
        group_state(&admin, &group) == Some(GroupState::Empty)
    });
    let listing = ffi::list_consumer_groups(&admin, T)
        .unwrap()
        .into_iter()
        .find(|g| g.group_id == group)
        .unwrap();
    assert!(!listing.is_simple, "{listing:?}");

    let described = ffi::describe_consumer_groups(&admin, &[&group], T).unwrap();
    assert_eq!(described.len(), 1);
    assert_eq!(described[0].group_id, group);
    assert_eq!(described[0].state, GroupState::Empty);
    assert_eq!(described[0].members, 0);
    assert_eq!(described[0].error, None);
}

#[test]
fn active_group_is_described_with_members_and_refuses_alter() {
    let (config, topic) = setup(2);
    let group = unique("ffi-active");
    let admin = admin_client(&config);
    let member = GroupMember::join(&config, &group, &topic);
    member.wait_assigned(T);

    wait_until(T, "group Stable with one member", || {
        let d = ffi::describe_consumer_groups(&admin, &[&group], T).unwrap();
        d.len() == 1 && d[0].state == GroupState::Stable && d[0].members == 1
    });
    assert_eq!(group_state(&admin, &group), Some(GroupState::Stable));

    let results = ffi::alter_consumer_group_offsets(
        &admin,
        &group,
        &[(&topic, 0, 3, "x"), (&topic, 1, 4, "")],
        T,
    )
    .unwrap();
    assert_eq!(results.len(), 2);
    for r in &results {
        let e = r
            .error
            .as_ref()
            .unwrap_or_else(|| panic!("accepted: {r:?}"));
        assert!(e.is_group_active(), "{e}");
        println!("alter on an active group: {e}");
        assert_eq!(
            e.subject,
            Subject::GroupPartition {
                group: group.clone(),
                topic: topic.clone(),
                partition: r.partition
            }
        );
        assert_eq!(e.op, "AlterConsumerGroupOffsets");
    }
    // Nothing was committed.
    assert_eq!(
        ffi::list_consumer_group_offsets(&admin, &group, T).unwrap(),
        vec![]
    );

    // Once the member left, the same alter goes through.
    drop(member);
    wait_until(T, "group Empty", || {
        group_state(&admin, &group) == Some(GroupState::Empty)
    });
    let results = ffi::alter_consumer_group_offsets(
        &admin,
        &group,
        &[(&topic, 0, 3, "x"), (&topic, 1, 4, "")],
        T,
    )
    .unwrap();
    assert!(results.iter().all(|r| r.error.is_none()), "{results:?}");
    assert_eq!(
        sorted(ffi::list_consumer_group_offsets(&admin, &group, T).unwrap()),
        vec![committed(&topic, 0, 3, "x"), committed(&topic, 1, 4, "")]
    );
}

#[test]
fn alter_offsets_of_an_empty_group_then_read_them_back() {
    let (config, topic) = setup(3);
    let group = unique("ffi-alter");
    let admin = admin_client(&config);

    // A group that never had members (as MM2's checkpoint sync writes them on the target).
    let results = ffi::alter_consumer_group_offsets(
        &admin,
        &group,
        &[(&topic, 0, 100, "from-upstream"), (&topic, 2, 0, "")],
        T,
    )
    .unwrap();
    let mut got: Vec<_> = results
        .iter()
        .map(|r| (r.topic.as_str(), r.partition, r.offset, r.error.clone()))
        .collect();
    got.sort_by_key(|g| g.1);
    assert_eq!(
        got,
        vec![(topic.as_str(), 0, 100, None), (topic.as_str(), 2, 0, None)]
    );
    assert_eq!(
        sorted(ffi::list_consumer_group_offsets(&admin, &group, T).unwrap()),
        vec![
            committed(&topic, 0, 100, "from-upstream"),
            committed(&topic, 2, 0, "")
        ]
    );

    // Overwrite one, add one: the others stay.
    ffi::alter_consumer_group_offsets(
        &admin,
        &group,
        &[(&topic, 0, 150, "m2"), (&topic, 1, 9, "m1")],
        T,
    )
    .unwrap();
    assert_eq!(
        sorted(ffi::list_consumer_group_offsets(&admin, &group, T).unwrap()),
        vec![
            committed(&topic, 0, 150, "m2"),
            committed(&topic, 1, 9, "m1"),
            committed(&topic, 2, 0, "")
        ]
    );
    let listing = ffi::list_consumer_groups(&admin, T)
        .unwrap()
        .into_iter()
        .find(|g| g.group_id == group)
        .expect("group listed");
    assert_eq!(listing.state, GroupState::Empty);

    // Arguments librdkafka rejects before sending: negative offsets, duplicates, NUL bytes.
    let e =
        ffi::alter_consumer_group_offsets(&admin, &group, &[(&topic, 0, -1, "")], T).unwrap_err();
    assert_eq!(e.code, ErrorCode::INVALID_ARG, "{e}");
    let e = ffi::alter_consumer_group_offsets(
        &admin,
        &group,
        &[(&topic, 0, 1, ""), (&topic, 0, 2, "")],
        T,
    )
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::INVALID_ARG, "{e}");
    let e = ffi::alter_consumer_group_offsets(&admin, "bad\0group", &[(&topic, 0, 1, "")], T)
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::INVALID_ARG, "{e}");
    assert_eq!(e.subject, Subject::Group("bad\0group".to_owned()));
    // Nothing to do is not an error.
    assert_eq!(
        ffi::alter_consumer_group_offsets(&admin, &group, &[], T).unwrap(),
        vec![]
    );
}

#[test]
fn unknown_groups_and_timeouts() {
    common::init_tracing();
    let config = Testbed::get().plaintext_config(Cluster::Target);
    let admin = admin_client(&config);
    let group = unique("ffi-never");

    let listed = ffi::list_consumer_group_offsets(&admin, &group, T);
    println!("offsets of an unknown group: {listed:?}");
    match listed {
        Ok(offsets) => assert_eq!(offsets, vec![]),
        Err(e) => assert!(e.is_group_not_found(), "{e}"),
    }
    let d = ffi::describe_consumer_groups(&admin, &[&group], T).unwrap();
    println!("description of an unknown group: {d:?}");
    assert_eq!(d.len(), 1);
    assert!(
        d[0].state == GroupState::Dead
            || d[0].error.as_ref().is_some_and(|e| e.is_group_not_found()),
        "{d:?}"
    );
    assert!(group_state(&admin, &group).is_none());
    assert_eq!(
        ffi::describe_consumer_groups(&admin, &[], T).unwrap(),
        vec![]
    );

    // Nothing listens on port 1: every call ends with a typed timeout, on time.
    let mut dead = ClientConfig::new();
    dead.set("bootstrap.servers", "127.0.0.1:1");
    let dead = admin_client(&dead);
    let timeout = Duration::from_secs(2);
    let check = |what: &str, r: Result<(), ffi::AdminError>| {
        let e = r.expect_err(what);
        println!("{what} on a dead cluster: {e}");
        assert!(e.is_timeout(), "{what}: {e}");
    };
    let started = Instant::now();
    check(
        "list groups",
        ffi::list_consumer_groups(&dead, timeout).map(drop),
    );
    // Describing fans out per group, so the timeout is that group's error.
    let d = ffi::describe_consumer_groups(&dead, &[&group], timeout).unwrap();
    assert_eq!(d.len(), 1);
    let e = d[0].error.as_ref().expect("describe error");
    assert!(e.is_timeout(), "{e}");
    assert_eq!(e.subject, Subject::Group(group.clone()));
    check(
        "list offsets",
        ffi::list_consumer_group_offsets(&dead, &group, timeout).map(drop),
    );
    check(
        "alter offsets",
        ffi::alter_consumer_group_offsets(&dead, &group, &[("t", 0, 1, "")], timeout).map(drop),
    );
    check(
        "alter configs",
        ffi::incremental_alter_configs(&dead, "t", &[ConfigOp::Delete("retention.ms")], timeout),
    );
    check(
        "describe acls",
        ffi::describe_acls(&dead, &AclBindingFilter::any(), timeout).map(drop),
    );
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(6 * 2 + 6 * 3),
        "timeouts took {elapsed:?}"
    );
}

/// The topic's config once `settled` holds for it (or after 15 s, for the assertion to say
/// what it is).
fn settled_config(
    config: &ClientConfig,
    topic: &str,
    settled: impl Fn(&[(String, Option<String>, ConfigSource)]) -> bool,
) -> Vec<(String, Option<String>, ConfigSource)> {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let c = topic_config(config, topic);
        if settled(&c) || std::time::Instant::now() > deadline {
            return c;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn topic_config(config: &ClientConfig, topic: &str) -> Vec<(String, Option<String>, ConfigSource)> {
    let admin = admin_client(config);
    let res =
        block_on(admin.describe_configs(&[ResourceSpecifier::Topic(topic)], &AdminOptions::new()))
            .unwrap();
    let resource = res.into_iter().next().unwrap().unwrap();
    resource
        .entries
        .into_iter()
        .map(|e| (e.name, e.value, e.source))
        .collect()
}

fn entry(entries: &[(String, Option<String>, ConfigSource)], name: &str) -> (Option<String>, bool) {
    let (_, value, source) = entries.iter().find(|(n, _, _)| n == name).unwrap();
    (value.clone(), *source == ConfigSource::DynamicTopic)
}

#[test]
fn incremental_alter_configs_set_then_delete() {
    let (config, topic) = setup(1);
    let admin = admin_client(&config);
    let before = topic_config(&config, &topic);
    let (default_retention, dynamic) = entry(&before, "retention.ms");
    assert!(!dynamic);

    ffi::incremental_alter_configs(
        &admin,
        &topic,
        &[
            ConfigOp::Set("retention.ms", "12345678"),
            ConfigOp::Set("cleanup.policy", "compact"),
        ],
        T,
    )
    .unwrap();
    // The broker applies a change once it reaches its copy of the metadata log: a describe
    // right after the alter may still see the old value.
    let after = settled_config(&config, &topic, |c| {
        entry(c, "retention.ms") == (Some("12345678".into()), true)
    });
    assert_eq!(
        entry(&after, "retention.ms"),
        (Some("12345678".into()), true)
    );
    assert_eq!(
        entry(&after, "cleanup.policy"),
        (Some("compact".into()), true)
    );

    // Deleting one leaves the other alone (what `AlterConfigs` would not do).
    ffi::incremental_alter_configs(&admin, &topic, &[ConfigOp::Delete("retention.ms")], T).unwrap();
    let deleted = settled_config(&config, &topic, |c| !entry(c, "retention.ms").1);
    assert_eq!(entry(&deleted, "retention.ms"), (default_retention, false));
    assert_eq!(
        entry(&deleted, "cleanup.policy"),
        (Some("compact".into()), true)
    );

    // Errors name the topic and carry the broker's code.
    let e =
        ffi::incremental_alter_configs(&admin, &topic, &[ConfigOp::Set("no.such.config", "1")], T)
            .unwrap_err();
    assert_eq!(e.code, ErrorCode::INVALID_CONFIG, "{e}");
    assert_eq!(e.subject, Subject::Topic(topic.clone()));
    let missing = unique("ffi-missing");
    let e =
        ffi::incremental_alter_configs(&admin, &missing, &[ConfigOp::Set("retention.ms", "1")], T)
            .unwrap_err();
    assert_eq!(e.code, ErrorCode::UNKNOWN_TOPIC_OR_PART, "{e}");
    assert_eq!(e.subject, Subject::Topic(missing));
    ffi::incremental_alter_configs(&admin, &topic, &[], T).unwrap();
}

#[test]
fn created_acl_is_described_back() {
    common::init_tracing();
    let config = Testbed::get().plaintext_config(Cluster::Target);
    let admin = admin_client(&config);
    // An ACL on a topic nobody uses: it restricts only that topic name.
    let name = unique("ffi-acl");
    let binding = AclBinding {
        resource_type: ResourceType::Topic,
        resource_name: name.clone(),
        pattern_type: PatternType::Literal,
        principal: "User:replicator".into(),
        host: "*".into(),
        operation: AclOperation::Read,
        permission: AclPermission::Allow,
    };
    let results = ffi::create_acls(&admin, std::slice::from_ref(&binding), T).unwrap();
    assert_eq!(results, vec![Ok(())]);

    let filter = AclBindingFilter {
        resource_type: ResourceType::Topic,
        resource_name: Some(name.clone()),
        pattern_type: PatternType::Literal,
        ..AclBindingFilter::any()
    };
    // ACL changes propagate to every broker's authorizer asynchronously.
    wait_until(T, "ACL described", || {
        ffi::describe_acls(&admin, &filter, T).unwrap() == vec![binding.clone()]
    });
    let matching = ffi::describe_acls(
        &admin,
        &AclBindingFilter {
            pattern_type: PatternType::Match,
            principal: Some("User:replicator".into()),
            operation: AclOperation::Read,
            ..filter.clone()
        },
        T,
    )
    .unwrap();
    assert!(matching.contains(&binding), "{matching:?}");
    let all = ffi::describe_acls(&admin, &AclBindingFilter::any(), T).unwrap();
    assert!(all.contains(&binding));
    // No ACL for a principal that has none.
    assert_eq!(
        ffi::describe_acls(
            &admin,
            &AclBindingFilter {
                principal: Some(format!("User:{}", unique("nobody"))),
                ..filter.clone()
            },
            T
        )
        .unwrap(),
        vec![]
    );

    // `Any` is for filters only: rejected before sending, naming the binding.
    let bad = AclBinding {
        operation: AclOperation::Any,
        ..binding.clone()
    };
    let e = ffi::create_acls(&admin, std::slice::from_ref(&bad), T).unwrap_err();
    assert_eq!(e.code, ErrorCode::INVALID_ARG, "{e}");
    assert_eq!(e.subject, Subject::Acl(bad.to_string()));
}

#[test]
fn calls_over_sasl_ssl_as_replicator() {
    let (config, topic) = setup(2);
    let group = unique("ffi-sasl");
    commit_as_member(
        &config,
        &group,
        &topic,
        &[(0, 11, "over-sasl"), (1, 12, "")],
    );

    let tb = Testbed::get();
    let sasl = client_config(
        &tb.connection(
            Cluster::Target,
            Listener::SaslSsl(SaslMechanism::ScramSha512),
        ),
        "strait-test",
        ClientRole::TargetAdmin,
    )
    .unwrap();
    let admin = admin_client(&sasl);
    assert_eq!(
        sorted(ffi::list_consumer_group_offsets(&admin, &group, T).unwrap()),
        vec![
            committed(&topic, 0, 11, "over-sasl"),
            committed(&topic, 1, 12, "")
        ]
    );
    wait_until(T, "group Empty over SASL_SSL", || {
        group_state(&admin, &group) == Some(GroupState::Empty)
    });
    let results =
        ffi::alter_consumer_group_offsets(&admin, &group, &[(&topic, 1, 20, "sasl")], T).unwrap();
    assert!(results.iter().all(|r| r.error.is_none()), "{results:?}");
    // Works on a plain `Client` too (here a consumer's).
    let consumer: rdkafka::consumer::BaseConsumer = sasl.create().unwrap();
    assert_eq!(
        sorted(
            ffi::list_consumer_group_offsets(
                rdkafka::consumer::Consumer::client(&consumer),
                &group,
                T
            )
            .unwrap()
        ),
        vec![
            committed(&topic, 0, 11, "over-sasl"),
            committed(&topic, 1, 20, "sasl")
        ]
    );
}

/// Resident set size of this process, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Leak sanity check: every call, success and error paths, many times; RSS must stay flat.
/// `cargo test --test kafka_admin_ffi -- --ignored --nocapture leak`
#[test]
#[ignore]
fn leak_check_rss_stays_flat() {
    let (config, topic) = setup(2);
    let admin = admin_client(&config);
    let group = unique("ffi-leak");
    let name = unique("ffi-leak-acl");
    let binding = AclBinding {
        resource_type: ResourceType::Topic,
        resource_name: name.clone(),
        pattern_type: PatternType::Literal,
        principal: "User:replicator".into(),
        host: "*".into(),
        operation: AclOperation::Read,
        permission: AclPermission::Allow,
    };
    let filter = AclBindingFilter {
        resource_name: Some(name),
        ..AclBindingFilter::any()
    };
    let round = |i: usize| {
        ffi::list_consumer_groups(&admin, T).unwrap();
        ffi::describe_consumer_groups(&admin, &[&group, "ffi-leak-unknown"], T).unwrap();
        ffi::alter_consumer_group_offsets(
            &admin,
            &group,
            &[(&topic, 0, i as i64, "some metadata")],
            T,
        )
        .unwrap();
        ffi::list_consumer_group_offsets(&admin, &group, T).unwrap();
        ffi::incremental_alter_configs(
            &admin,
            &topic,
            &[ConfigOp::Set("retention.ms", "3600000")],
            T,
        )
        .unwrap();
        ffi::incremental_alter_configs(&admin, &topic, &[ConfigOp::Set("no.such", "1")], T)
            .unwrap_err();
        ffi::create_acls(&admin, std::slice::from_ref(&binding), T).unwrap();
        ffi::describe_acls(&admin, &filter, T).unwrap();
        let bad = AclBinding {
            operation: AclOperation::Any,
            ..binding.clone()
        };
        ffi::create_acls(&admin, &[bad], T).unwrap_err();
        ffi::alter_consumer_group_offsets(&admin, "bad\0", &[(&topic, 0, 1, "")], T).unwrap_err();
    };
    let rounds: usize = std::env::var("FFI_LEAK_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    for i in 0..50 {
        round(i);
    }
    let start = rss_kib();
    for i in 0..rounds {
        round(i);
        if i % 100 == 99 {
            println!(
                "after {} rounds: RSS {} KiB (start {start})",
                i + 1,
                rss_kib()
            );
        }
    }
    let grown = rss_kib().saturating_sub(start);
    println!("RSS grew {grown} KiB over {rounds} rounds of 10 calls");
    assert!(grown < 8 * 1024, "RSS grew {grown} KiB");
}
