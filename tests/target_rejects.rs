//! The target refuses a record: a record larger than the remote topic allows, writes denied by
//! an ACL, the remote topic deleted. The partition's status says why, progress never moves
//! past the refused record, nothing after it counts as replicated, and once the cause is
//! fixed the flow goes on by itself with nothing missing. Needs `testbed/kafka.sh up`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::Duration;

use common::scenario::{
    Flow, Tally, create_topic_with, delete_topic, incompressible, kafka_acls, numbered,
    partition_status, produce_values, progress_of, report, set_topic_config, values_of,
};
use common::{
    Cluster, StraitProcess, Testbed, http_get, metric_value, read_topic, unique, wait_for,
    wait_until,
};

/// One running case: the flow, its process and what it replicates.
struct Case<'a> {
    tb: &'a Testbed,
    flow: &'a Flow,
    topic: &'a str,
    p: &'a StraitProcess,
    addr: &'a str,
}

/// Waits until `/status` shows the partition blocked at `offset` with a reason containing
/// `why`; returns the reason.
fn wait_blocked(c: &Case<'_>, offset: i64, why: &str) -> String {
    let (p, addr, topic) = (c.p, c.addr, c.topic);
    let mut reason = String::new();
    let seen = wait_for(Duration::from_secs(120), || {
        let Some(ps) = partition_status(addr, topic, 0) else {
            return false;
        };
        let b = &ps["blocked"];
        reason = b["reason"].as_str().unwrap_or_default().to_owned();
        b["offset"] == offset && reason.to_lowercase().contains(why)
    });
    assert!(
        seen,
        "partition {topic}-0 never reported blocked at {offset} ({why}); last reason '{reason}'; \
         log:\n{}",
        p.log_text()
    );
    reason
}

/// While blocked: not ready with the reason, the blocked metric set, progress below the
/// refused record, and no record from it on the target before the fix.
fn assert_held(c: &Case<'_>, refused: i64) {
    let (addr, flow, tb, topic) = (c.addr, c.flow, c.tb, c.topic);
    let (code, body) = http_get(addr, "/readyz");
    assert_eq!(code, 503, "{body}");
    assert!(
        body.contains(&format!("{topic}-0 is blocked at source offset {refused}")),
        "{body}"
    );
    let (_, metrics) = http_get(addr, "/metrics");
    let series = format!(
        "strait_source_partition_blocked{{source=\"source\",target=\"target\",topic=\"source.{topic}\",partition=\"0\"}}"
    );
    assert_eq!(metric_value(&metrics, &series), Some(1.0), "{metrics}");
    // Let a retry or two fail, then look at progress: never past the refused record.
    std::thread::sleep(Duration::from_secs(8));
    let progress = progress_of(flow, tb, topic, 0);
    assert!(
        progress.is_some_and(|p| p < refused),
        "progress {progress:?} moved past the refused record {refused}"
    );
}

/// Waits until the remote topic holds `expected` in order (re-sent records after the refused
/// one allowed, nothing missing), the partition is unblocked and progress reached `last`.
fn assert_recovered(c: &Case<'_>, scenario: &str, expected: &[Vec<u8>], last: i64) {
    let (p, addr, flow, tb, topic) = (c.p, c.addr, c.flow, c.tb, c.topic);
    let tgt = tb.plaintext_config(Cluster::Target);
    let remote = format!("source.{topic}");
    wait_until(Duration::from_secs(120), "progress after the fix", || {
        progress_of(flow, tb, topic, 0) == Some(last)
    });
    let got = values_of(&read_topic(&tgt, &remote).remove(0));
    // Records sent after the refused one may have landed before it was retried; they are
    // sent again after it. So: every record one of the source's, and the source's records
    // all there in order.
    assert!(
        got.iter().all(|v| expected.contains(v)),
        "a record on the target that the source does not have"
    );
    let mut next = 0;
    for v in &got {
        if next < expected.len() && *v == expected[next] {
            next += 1;
        }
    }
    report(
        scenario,
        Tally {
            records: expected.len(),
            missing: expected.len() - next,
            duplicates: got.len().saturating_sub(next),
        },
    );
    assert_eq!(
        next,
        expected.len(),
        "only {next} of {} records on the target; log:\n{}",
        expected.len(),
        p.log_text()
    );
    wait_until(Duration::from_secs(30), "the block to clear", || {
        partition_status(addr, topic, 0).is_some_and(|ps| ps["blocked"].is_null())
    });
}

#[test]
fn a_record_too_large_for_the_target_holds_its_partition_until_the_limit_is_raised() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let tgt = tb.plaintext_config(Cluster::Target);
    let topic = unique("toolarge");
    let remote = format!("source.{topic}");
    create_topic_with(&src, &topic, 1, &[("max.message.bytes", "4000000")]);
    // The remote topic exists already with the target's default limit (1 MiB), and config
    // sync is off, so the source's larger limit does not follow.
    create_topic_with(&tgt, &remote, 1, &[]);
    let mut values = numbered("a", 0..10);
    values.push(incompressible(1_500_000));
    values.extend(numbered("b", 11..21));
    produce_values(&src, &topic, 0, &values);

    let flow = Flow::new(
        &tb,
        &topic,
        &[
            ("sync.topic.configs.enabled", "false"),
            ("strait.retry.backoff.max.ms", "5000"),
        ],
    );
    let p = flow.start("strait");
    let addr = p.http_addr(Duration::from_secs(30));
    let case = Case {
        tb: &tb,
        flow: &flow,
        topic: &topic,
        p: &p,
        addr: &addr,
    };
    let reason = wait_blocked(&case, 10, "too large");
    assert_held(&case, 10);
    let on_target = values_of(&read_topic(&tgt, &remote).remove(0));
    assert_eq!(
        on_target[..10],
        values[..10],
        "the records before it arrived"
    );
    assert!(
        !on_target.contains(&values[10]),
        "the refused record is not there"
    );
    assert!(
        p.log_text().contains("the target refused a record"),
        "no warning: {}",
        p.log_text()
    );
    assert!(!reason.is_empty());

    // The operator raises the remote topic's limit: the next retry writes it, and the rest.
    set_topic_config(&tgt, &remote, "max.message.bytes", "4000000");
    assert_recovered(&case, "target-refuses-too-large", &values, 20);
}

#[test]
fn writes_denied_by_an_acl_hold_the_partition_until_granted() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let tgt = tb.plaintext_config(Cluster::Target);
    let topic = unique("denied");
    let remote = format!("source.{topic}");
    create_topic_with(&src, &topic, 1, &[]);
    create_topic_with(&tgt, &remote, 1, &[]);
    let first = numbered("a", 0..10);
    produce_values(&src, &topic, 0, &first);

    let flow = Flow::new(
        &tb,
        &topic,
        &[
            ("sync.topic.acls.enabled", "false"),
            ("strait.retry.backoff.max.ms", "5000"),
        ],
    );
    let p = flow.start("strait");
    let addr = p.http_addr(Duration::from_secs(30));
    let case = Case {
        tb: &tb,
        flow: &flow,
        topic: &topic,
        p: &p,
        addr: &addr,
    };
    wait_until(Duration::from_secs(60), "the first records", || {
        progress_of(&flow, &tb, &topic, 0) == Some(9)
    });

    // Writes by the replicating user are denied from now on (everything else stays allowed).
    let acl = |action: &str| {
        kafka_acls(
            &tb,
            Cluster::Target,
            &[
                action,
                "--force",
                "--allow-principal",
                "User:replicator",
                "--operation",
                "All",
                "--topic",
                &remote,
            ],
        );
        kafka_acls(
            &tb,
            Cluster::Target,
            &[
                action,
                "--force",
                "--deny-principal",
                "User:replicator",
                "--operation",
                "Write",
                "--topic",
                &remote,
            ],
        );
    };
    acl("--add");
    // ACLs reach every broker's authorizer through the metadata log: give them a moment.
    std::thread::sleep(Duration::from_secs(2));
    let mut values = first.clone();
    values.extend(numbered("b", 10..20));
    produce_values(&src, &topic, 0, &values[10..]);
    wait_blocked(&case, 10, "authorization");
    assert_held(&case, 10);

    acl("--remove");
    assert_recovered(&case, "target-denies-write", &values, 19);
}

#[test]
fn a_deleted_remote_topic_holds_the_partition_until_it_exists_again() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let tgt = tb.plaintext_config(Cluster::Target);
    let topic = unique("deleted");
    let remote = format!("source.{topic}");
    create_topic_with(&src, &topic, 1, &[]);
    let first = numbered("a", 0..10);
    produce_values(&src, &topic, 0, &first);

    // Topic refresh is slow here, so Strait does not make the topic again itself at once.
    let flow = Flow::new(
        &tb,
        &topic,
        &[
            ("refresh.topics.interval.seconds", "3600"),
            ("strait.retry.backoff.max.ms", "5000"),
        ],
    );
    let p = flow.start("strait");
    let addr = p.http_addr(Duration::from_secs(30));
    let case = Case {
        tb: &tb,
        flow: &flow,
        topic: &topic,
        p: &p,
        addr: &addr,
    };
    wait_until(Duration::from_secs(60), "the first records", || {
        progress_of(&flow, &tb, &topic, 0) == Some(9)
    });

    delete_topic(&tgt, &remote);
    let second = numbered("b", 10..20);
    produce_values(&src, &topic, 0, &second);
    // The first refusal may be librdkafka tearing down the deleted partition's queue
    // (BrokerDestroy, seen under load); the retries then name the missing topic.
    let reason = wait_blocked(&case, 10, "topic");
    assert!(reason.to_lowercase().contains("topic"), "reason: {reason}");
    assert_held(&case, 10);

    // The operator makes the remote topic again: the records written after the deletion
    // arrive in it, and the log says that the earlier ones are gone from the target.
    create_topic_with(&tgt, &remote, 1, &[]);
    assert_recovered(&case, "remote-topic-deleted", &second, 19);
    assert!(
        p.log_text().contains("went back from 9 to 0"),
        "no warning that the remote partition went back: {}",
        p.log_text()
    );
}
