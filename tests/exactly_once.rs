//! Exactly-once replication on real brokers: a read_committed reader of the remote topic sees
//! each source record once, progress and records commit together, offset syncs name only
//! committed records, a refused record aborts its transaction without exposing what came
//! after it, a record the producer refuses never lets progress pass it, progress committed
//! behind another writer's open transaction is not missed, a target that denies
//! transactions stops the flow with an error naming the transactional id, and a partition's
//! producer that librdkafka gives up on is replaced (or, failing again at once, stops the
//! flow) with nothing lost or written twice. A producer fenced off goes on in place when the
//! target timed its transaction out, and stops when another process committed since. Faults (kill -9, scale-out, broker restarts) are in `tests/faults.rs`.
//! Needs `testbed/kafka.sh up`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::scenario::{
    self, Flow, Tally, create_topic_with, incompressible, kafka_acls, kafka_tool, numbered,
    partition_status, produce_values, progress_of, report, set_topic_config, values_of,
};
use common::{
    Cluster, Rec, Testbed, http_get, metric_value, read_topic, topic_counts, unique, wait_for,
    wait_until,
};
use rdkafka::ClientConfig;

const EOS: (&str, &str) = ("strait.exactly.once.enabled", "true");

/// The epoch of the one producer that wrote `topic`-`partition` on the target.
fn producer_epoch(tb: &Testbed, topic: &str, partition: i32) -> i64 {
    let listed = common::describe_producers(tb, Cluster::Target, topic, partition)
        .unwrap_or_else(|e| panic!("{e}"));
    let epochs: Vec<i64> = listed
        .lines()
        .skip_while(|l| !l.starts_with("ProducerId"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
        .collect();
    assert_eq!(epochs.len(), 1, "one producer expected:\n{listed}");
    epochs[0]
}

/// A flow with a target alias of its own, so that it alone writes its offset-syncs topic.
fn flow_with_own_alias(tb: &Testbed, topic: &str, extra: &[(&str, &str)]) -> (Flow, String) {
    let alias = unique("eos").replace('-', "");
    let flow = Flow::new(tb, topic, extra);
    flow.set_target_alias(&alias);
    (flow, alias)
}

/// Writes `committed` in one source transaction and `aborted` in another that aborts.
fn produce_in_transactions(
    config: &ClientConfig,
    topic: &str,
    committed: &[Vec<u8>],
    aborted: &[Vec<u8>],
) {
    use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
    let mut cfg = config.clone();
    cfg.set("transactional.id", unique("upstream-txn"));
    let p: ThreadedProducer<rdkafka::producer::DefaultProducerContext> = cfg.create().unwrap();
    p.init_transactions(Duration::from_secs(30)).unwrap();
    for (batch, commit) in [(committed, true), (aborted, false)] {
        p.begin_transaction().unwrap();
        for v in batch {
            p.send(BaseRecord::<[u8], [u8]>::to(topic).payload(v).partition(0))
                .map_err(|(e, _)| e)
                .unwrap();
        }
        if commit {
            p.commit_transaction(Duration::from_secs(30)).unwrap();
        } else {
            p.flush(Duration::from_secs(30)).unwrap();
            p.abort_transaction(Duration::from_secs(30)).unwrap();
        }
    }
}

/// The offset syncs of `topic` in `syncs_topic` on the source: (partition, upstream,
/// downstream).
fn offset_syncs(tb: &Testbed, syncs_topic: &str, topic: &str) -> Vec<(i32, i64, i64)> {
    let src = tb.plaintext_config(Cluster::Source);
    read_topic(&src, syncs_topic)
        .into_iter()
        .flatten()
        .filter_map(|(_, r)| {
            let s =
                strait::wire::OffsetSync::decode(r.key.as_deref()?, r.value.as_deref()?).ok()?;
            (s.topic == topic).then_some((s.partition, s.upstream_offset, s.downstream_offset))
        })
        .collect()
}

/// `a-0`..`a-9`, then one record of `len` incompressible bytes (source offset 10), then
/// `b-11`..`b-20`.
fn around_one_large_record(len: usize) -> Vec<Vec<u8>> {
    let mut all = numbered("a", 0..10);
    all.push(incompressible(len));
    all.extend(numbered("b", 11..21));
    all
}

/// Waits until `p` holds partition 0 of `topic` at the refused record (offset 10) with the
/// records before it committed on their own, lets retries run for `retrying`, and checks that
/// progress and the read_committed copy (`all[..10]`) still stop before it.
fn assert_held_at_the_refused_record(
    tb: &Testbed,
    flow: &Flow,
    p: &common::StraitProcess,
    (topic, remote): (&str, &str),
    all: &[Vec<u8>],
    retrying: Duration,
) {
    let addr = p.http_addr(Duration::from_secs(30));
    let blocked = wait_for(Duration::from_secs(90), || {
        partition_status(&addr, topic, 0).is_some_and(|ps| ps["blocked"]["offset"] == 10)
    });
    assert!(blocked, "never blocked at offset 10:\n{}", p.log_text());
    // The retry commits the records before the refused one on their own.
    let ok = wait_for(Duration::from_secs(60), || {
        progress_of(flow, tb, topic, 0) == Some(9)
    });
    assert!(
        ok,
        "the records before the refused one never committed (progress {:?}):\n{}",
        progress_of(flow, tb, topic, 0),
        p.log_text()
    );
    std::thread::sleep(retrying);
    assert_eq!(
        progress_of(flow, tb, topic, 0),
        Some(9),
        "progress past the refused record:\n{}",
        p.log_text()
    );
    let copy = values_of(&read_topic(&tb.plaintext_config(Cluster::Target), remote).remove(0));
    assert_eq!(
        copy,
        all[..10],
        "read_committed sees the records before the refused one, once, and nothing after it"
    );
}

/// Starts `flow` again (its log named `name`), waits until its progress covers `all` (one
/// partition), stops it, and asserts that the read_committed copy is exactly `all`, reporting
/// the tally as `scenario`.
fn restart_until_exact(
    tb: &Testbed,
    flow: &Flow,
    (topic, remote): (&str, &str),
    all: &[Vec<u8>],
    (name, scenario): (&str, &str),
) {
    let mut p = flow.start(name);
    let last = all.len() as i64 - 1;
    wait_until(Duration::from_secs(90), "everything replicated", || {
        progress_of(flow, tb, topic, 0) == Some(last)
    });
    p.signal("TERM");
    assert_eq!(p.wait(Duration::from_secs(60)), Some(0), "{}", p.log_text());
    let copy = values_of(&read_topic(&tb.plaintext_config(Cluster::Target), remote).remove(0));
    report(scenario, Tally::of_values(all, &copy));
    assert_eq!(
        copy, all,
        "the copy is exact: nothing skipped, nothing twice"
    );
}

#[test]
fn read_committed_copy_holds_each_record_once_and_syncs_name_committed_records() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let tgt = tb.plaintext_config(Cluster::Target);
    let topic = unique("eos");
    let remote = format!("source.{topic}");
    create_topic_with(&src, &topic, 3, &[]);
    for p in 0..3 {
        produce_values(&src, &topic, p, &numbered(&format!("p{p}"), 0..400));
    }
    // Records of an aborted source transaction are not source records: they must not appear.
    produce_in_transactions(
        &src,
        &topic,
        &numbered("txn-ok", 0..50),
        &numbered("txn-aborted", 0..50),
    );
    let (flow, alias) = flow_with_own_alias(&tb, &topic, &[EOS]);
    let mut p = flow.start("strait");
    // Partition 0 ends with transactions (aborted records are never read): wait on the others.
    wait_until(
        Duration::from_secs(90),
        "the first batch replicated",
        || (1..3).all(|part| progress_of(&flow, &tb, &topic, part) == Some(399)),
    );
    // More records while it runs.
    for part in 0..3 {
        produce_values(&src, &topic, part, &numbered(&format!("p{part}"), 400..900));
    }
    wait_until(
        Duration::from_secs(90),
        "the second batch replicated",
        || {
            let counts = topic_counts(&src, &topic).unwrap();
            (0..3).all(|part| {
                progress_of(&flow, &tb, &topic, part)
                    .is_some_and(|o| o + 1 >= counts[part as usize])
            })
        },
    );
    let addr = p.http_addr(Duration::from_secs(10));
    let (_, metrics) = http_get(&addr, "/metrics");
    let series = format!(
        "strait_source_transactions_committed_total{{source=\"source\",target=\"{alias}\",topic=\"{remote}\",partition=\"1\"}}"
    );
    assert!(
        metric_value(&metrics, &series).is_some_and(|v| v >= 1.0),
        "{series} missing or 0:\n{metrics}"
    );
    p.signal("TERM");
    assert_eq!(p.wait(Duration::from_secs(60)), Some(0), "{}", p.log_text());

    let source = read_topic(&src, &topic);
    let copy = read_topic(&tgt, &remote);
    for part in 0..3 {
        assert_eq!(
            values_of(&copy[part]),
            values_of(&source[part]),
            "partition {part}: the read_committed copy is the source's records, once each, in order"
        );
    }
    assert!(
        values_of(&copy[0])
            .iter()
            .all(|v| !v.starts_with(b"txn-aborted")),
        "aborted source records were copied"
    );
    // Transaction markers take offsets on the target: the copy was written transactionally.
    let highs = topic_counts(&tgt, &remote).unwrap();
    for part in 0..3 {
        assert!(
            highs[part] > copy[part].len() as i64,
            "partition {part}: {} offsets for {} records, so no transaction markers",
            highs[part],
            copy[part].len()
        );
    }
    // Every offset sync pairs a source record with its committed copy.
    let syncs = offset_syncs(&tb, &format!("mm2-offset-syncs.{alias}.internal"), &topic);
    assert!(!syncs.is_empty(), "no offset syncs");
    let by_offset: Vec<HashMap<i64, &Rec>> = copy
        .iter()
        .map(|recs| recs.iter().map(|(o, r)| (*o, r)).collect())
        .collect();
    let src_by_offset: Vec<HashMap<i64, &Rec>> = source
        .iter()
        .map(|recs| recs.iter().map(|(o, r)| (*o, r)).collect())
        .collect();
    for (part, up, down) in &syncs {
        let copy_rec = by_offset[*part as usize].get(down);
        let src_rec = src_by_offset[*part as usize].get(up);
        assert!(
            copy_rec.is_some() && copy_rec.map(|r| &r.value) == src_rec.map(|r| &r.value),
            "offset sync {part}: {up} -> {down} does not name the committed copy of the record"
        );
    }
    // One transactional id per partition, `<group.id>-<connector>-<topic>-<partition>`.
    let listed = kafka_tool(
        &tb,
        Cluster::Target,
        "org.apache.kafka.tools.TransactionsCommand",
        &["list"],
    );
    for part in 0..3 {
        let id = format!("{}-MirrorSourceConnector-{topic}-{part}", flow.group);
        assert!(
            listed.contains(&id),
            "transactional id {id} not listed:\n{listed}"
        );
    }
}

#[test]
fn a_refused_record_aborts_its_transaction_and_nothing_after_it_is_visible() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let tgt = tb.plaintext_config(Cluster::Target);
    let topic = unique("eostoolarge");
    let remote = format!("source.{topic}");
    create_topic_with(&src, &topic, 1, &[("max.message.bytes", "4000000")]);
    create_topic_with(&tgt, &remote, 1, &[]);
    // Incompressible, so the target's 1 MiB limit refuses it.
    let all = around_one_large_record(1_500_000);
    produce_values(&src, &topic, 0, &all);
    let (flow, alias) = flow_with_own_alias(
        &tb,
        &topic,
        &[
            EOS,
            ("sync.topic.configs.enabled", "false"),
            ("strait.retry.backoff.max.ms", "5000"),
        ],
    );
    let p = flow.start("strait");
    assert_held_at_the_refused_record(
        &tb,
        &flow,
        &p,
        (&topic, &remote),
        &all,
        Duration::from_secs(6),
    );
    let syncs = offset_syncs(&tb, &format!("mm2-offset-syncs.{alias}.internal"), &topic);
    assert!(
        syncs.iter().all(|(_, up, _)| *up < 10),
        "an offset sync for a record that was never committed: {syncs:?}"
    );
    assert!(
        p.log_text().contains("transaction aborted"),
        "{}",
        p.log_text()
    );

    set_topic_config(&tgt, &remote, "max.message.bytes", "4000000");
    wait_until(Duration::from_secs(90), "everything after the fix", || {
        progress_of(&flow, &tb, &topic, 0) == Some(20)
    });
    let copy = values_of(&read_topic(&tgt, &remote).remove(0));
    assert_eq!(
        copy, all,
        "the copy is exact: no record twice, none missing"
    );
    // Each abort leaves its producer behind: the next transaction is a new producer's, in a
    // new epoch. librdkafka gives an aborted transaction's purged records their sequence
    // numbers back, and a purged retry of a request that did land (a target timing out)
    // would make the next transaction's first record a "duplicate" the broker acknowledges
    // without writing. Kept, the producer stays in epoch 0 (a refusal bumps nothing).
    let aborts = p.log_text().matches("transaction aborted").count();
    let epoch = producer_epoch(&tb, &remote, 0);
    assert!(
        epoch >= i64::try_from(aborts).unwrap(),
        "{aborts} aborts, yet the partition's producer is in epoch {epoch}: a producer went on \
         after its transaction was aborted"
    );
    report(
        "eos-target-refuses-too-large",
        Tally {
            records: all.len(),
            missing: 0,
            duplicates: copy.len() - all.len(),
        },
    );
}

#[test]
fn a_target_denying_the_transactional_id_stops_the_flow_naming_it() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let topic = unique("eosdenied");
    create_topic_with(&src, &topic, 1, &[]);
    produce_values(&src, &topic, 0, &numbered("v", 0..5));
    let prefix = unique("denied");
    let flow = Flow::new(
        &tb,
        &topic,
        &[EOS, ("strait.transactional.id.prefix", prefix.as_str())],
    );
    let acl = |action: &str| {
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
                "--transactional-id",
                &prefix,
                "--resource-pattern-type",
                "prefixed",
            ],
        );
    };
    acl("--add");
    std::thread::sleep(Duration::from_secs(2));
    let mut p = flow.start("strait");
    let code = p.wait(Duration::from_secs(120));
    acl("--remove");
    let log = p.log_text();
    assert_eq!(code, Some(1), "{log}");
    // Whichever partition's producer is refused first is named: the flow may replicate other
    // topics of the bed too (heartbeats), all under the same prefix.
    let error = error_line(&log);
    assert!(
        error.contains(&format!("transactional id '{prefix}-"))
            && error.contains("TransactionalId"),
        "the error names the transactional id and the ACL needed:\n{log}"
    );
}

#[test]
fn progress_committed_behind_another_open_transaction_is_not_missed() {
    use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let tgt = tb.plaintext_config(Cluster::Target);
    let topic = unique("eosheld");
    let remote = format!("source.{topic}");
    create_topic_with(&src, &topic, 1, &[]);
    let mut all = numbered("v", 0..300);
    produce_values(&src, &topic, 0, &all);
    let (flow, _) = flow_with_own_alias(&tb, &topic, &[EOS]);
    let mut first = flow.start("first");
    wait_until(
        Duration::from_secs(90),
        "the first batch replicated",
        || progress_of(&flow, &tb, &topic, 0) == Some(299),
    );

    // Another writer's transaction, left open in the offsets-topic partition that holds this
    // flow's progress (a process killed between writing its progress and committing).
    let store = common::scenario::progress_store(&flow, &tb);
    let (_, _, at) = store.record_of(&topic, 0, 0);
    let mut cfg = tgt.clone();
    cfg.set("transactional.id", unique("holder"))
        .set("transaction.timeout.ms", "300000");
    let holder: ThreadedProducer<DefaultProducerContext> = cfg.create().unwrap();
    holder.init_transactions(Duration::from_secs(30)).unwrap();
    holder.begin_transaction().unwrap();
    holder
        .send(
            BaseRecord::<[u8], [u8]>::to(&flow.offsets_topic)
                .key(b"not progress".as_slice())
                .payload(b"{}".as_slice())
                .partition(at),
        )
        .map_err(|(e, _)| e)
        .unwrap();
    holder.flush(Duration::from_secs(30)).unwrap();

    // Replicated, and its progress committed after the open transaction's first record.
    let more = numbered("v", 300..600);
    produce_values(&src, &topic, 0, &more);
    all.extend(more);
    wait_until(
        Duration::from_secs(90),
        "the second batch committed",
        || read_topic(&tgt, &remote)[0].len() == 600,
    );
    first.signal("TERM");
    assert_eq!(
        first.wait(Duration::from_secs(60)),
        Some(0),
        "{}",
        first.log_text()
    );

    // The next process must not take the progress before the open transaction for the newest.
    let second = flow.start("second");
    let waits = wait_for(Duration::from_secs(30), || {
        second
            .log_text()
            .contains("offsets topic not read to its end yet")
    });
    // Time enough to replicate the second batch again, had the older progress been taken.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(
        read_topic(&tgt, &remote)[0].len(),
        600,
        "records replicated again: the second process took the progress before the open \
         transaction:\n{}",
        second.log_text()
    );
    assert!(
        waits,
        "the second process did not say what it waits for:\n{}",
        second.log_text()
    );
    holder.abort_transaction(Duration::from_secs(30)).unwrap();

    let last = numbered("v", 600..700);
    produce_values(&src, &topic, 0, &last);
    all.extend(last);
    wait_until(
        Duration::from_secs(90),
        "the third batch replicated",
        || progress_of(&flow, &tb, &topic, 0) == Some(699),
    );
    let copy = values_of(&read_topic(&tgt, &remote).remove(0));
    report(
        "eos-progress-behind-open-transaction",
        Tally::of_values(&all, &copy),
    );
    assert_eq!(
        copy, all,
        "the copy is exact: the second process started from the newest progress"
    );
}

#[test]
fn a_record_the_producer_refuses_holds_progress_before_it_across_a_restart() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let topic = unique("eosprodlimit");
    let remote = format!("source.{topic}");
    create_topic_with(&src, &topic, 1, &[]);
    // Over the producer's own size limit below: librdkafka refuses it before the target sees
    // it, so no transaction failure tells the commit about it.
    let all = around_one_large_record(5000);
    produce_values(&src, &topic, 0, &all);
    let (flow, _) = flow_with_own_alias(
        &tb,
        &topic,
        &[
            EOS,
            ("producer.override.max.request.size", "2000"),
            ("strait.retry.backoff.max.ms", "5000"),
        ],
    );
    let mut p = flow.start("small-limit");
    // Several retries, each refused again.
    assert_held_at_the_refused_record(
        &tb,
        &flow,
        &p,
        (&topic, &remote),
        &all,
        Duration::from_secs(12),
    );
    p.signal("TERM");
    assert_eq!(p.wait(Duration::from_secs(60)), Some(0), "{}", p.log_text());

    // The limit raised and the flow restarted: the refused record is the next one written.
    let yaml = std::fs::read_to_string(&flow.config).unwrap();
    let yaml = scenario::set_flow_key(&yaml, "producer.override.max.request.size", "1048576");
    std::fs::write(&flow.config, yaml).unwrap();
    restart_until_exact(
        &tb,
        &flow,
        (&topic, &remote),
        &all,
        ("raised-limit", "eos-producer-refuses-too-large"),
    );
}

/// librdkafka's fatal-error state, raised on purpose where its real causes (a producer's
/// sequence numbers out of step with a broker after timeouts) come only by timing.
/// The line of `log` where `strait run` reports the error that stopped it.
fn error_line(log: &str) -> &str {
    log.lines()
        .find(|l| l.contains("strait::cli::run"))
        .unwrap_or_else(|| panic!("no error line:\n{log}"))
}

/// Asserts that the read_committed copy of every partition of `topic` on `remote` is the
/// source's records, once each and in order, and reports the tally as `scenario`.
fn assert_exact_copy(tb: &Testbed, (topic, remote): (&str, &str), scenario: &str) {
    let source = read_topic(&tb.plaintext_config(Cluster::Source), topic);
    let copy = read_topic(&tb.plaintext_config(Cluster::Target), remote);
    assert_eq!(
        source.len(),
        copy.len(),
        "partition counts of {topic} and {remote}"
    );
    let mut tally = Tally {
        records: 0,
        missing: 0,
        duplicates: 0,
    };
    for (part, (source, copy)) in source.iter().zip(&copy).enumerate() {
        let (want, got) = (values_of(source), values_of(copy));
        tally.records += want.len();
        tally.missing += want.len().saturating_sub(got.len());
        tally.duplicates += got.len().saturating_sub(want.len());
        assert_eq!(
            got, want,
            "partition {part}: the read_committed copy is the source's records, once each, in order"
        );
    }
    report(scenario, tally);
}

const FAIL_PRODUCER: &str = "STRAIT_TEST_FAIL_PRODUCER";

/// How many lines of `log` contain `what`.
fn count_lines(log: &str, what: &str) -> usize {
    log.lines().filter(|l| l.contains(what)).count()
}

#[test]
fn a_producer_librdkafka_gives_up_on_is_replaced_and_its_partition_read_again() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let topic = unique("eosrenew");
    let remote = format!("source.{topic}");
    create_topic_with(&src, &topic, 2, &[]);
    for part in 0..2 {
        produce_values(&src, &topic, part, &numbered(&format!("p{part}"), 0..3000));
    }
    let (flow, _) = flow_with_own_alias(&tb, &topic, &[EOS]);
    // Each partition's producer fails once, mid-stream, with records sent and not committed.
    let faults = format!("{topic}:0:1000,{topic}:1:2000");
    let mut p = flow.start_with_env("strait", &[(FAIL_PRODUCER, &faults)]);
    wait_until(Duration::from_secs(120), "everything replicated", || {
        (0..2).all(|part| progress_of(&flow, &tb, &topic, part) == Some(2999))
    });
    // The replaced producers go on with new records.
    for part in 0..2 {
        produce_values(
            &src,
            &topic,
            part,
            &numbered(&format!("p{part}"), 3000..3500),
        );
    }
    wait_until(
        Duration::from_secs(90),
        "the new records replicated",
        || (0..2).all(|part| progress_of(&flow, &tb, &topic, part) == Some(3499)),
    );
    assert!(p.running(), "the flow stopped:\n{}", p.log_text());
    let log = p.log_text();
    assert_eq!(
        count_lines(&log, "replacing it and reading the partition again"),
        2,
        "one replacement per partition:\n{log}"
    );
    assert_eq!(
        count_lines(&log, "the target refused a record"),
        0,
        "a producer that failed is not a record the target refused:\n{log}"
    );
    p.signal("TERM");
    assert_eq!(p.wait(Duration::from_secs(60)), Some(0), "{}", p.log_text());

    assert_exact_copy(&tb, (&topic, &remote), "eos-producer-fatal-replaced");
}

#[test]
fn a_producer_failing_again_soon_after_its_replacement_stops_the_flow_and_a_restart_loses_nothing()
{
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let topic = unique("eosrenewagain");
    let remote = format!("source.{topic}");
    create_topic_with(&src, &topic, 1, &[]);
    let all = numbered("v", 0..3000);
    produce_values(&src, &topic, 0, &all);
    let (flow, _) = flow_with_own_alias(&tb, &topic, &[EOS]);
    let faults = format!("{topic}:0:500,{topic}:0:1500");
    let mut p = flow.start_with_env("failing", &[(FAIL_PRODUCER, &faults)]);
    let code = p.wait(Duration::from_secs(120));
    let log = p.log_text();
    assert_eq!(code, Some(1), "the flow stops:\n{log}");
    let id = format!("{}-MirrorSourceConnector-{topic}-0", flow.group);
    let error = error_line(&log);
    assert!(
        error.contains(&format!("transactional id '{id}'")) && error.contains(FAIL_PRODUCER),
        "the error names the partition's transactional id and librdkafka's reason:\n{log}"
    );
    assert_eq!(
        count_lines(&log, "replacing it and reading the partition again"),
        1,
        "replaced once, then stopped:\n{log}"
    );

    restart_until_exact(
        &tb,
        &flow,
        (&topic, &remote),
        &all,
        ("restarted", "eos-producer-fatal-twice-stops"),
    );
}

/// A process paused (a stalled VM, a throttled container) past its transactions' timeout, but
/// not past its group session: the target aborts the transactions it left open, which fences
/// their producers exactly as another process taking the partitions over would. The progress
/// on the target is still this process's, so it replaces the producers in place and goes on,
/// where it used to stop; a read_committed reader sees every source record once.
#[test]
fn a_transaction_the_target_times_out_fences_its_producer_and_the_flow_goes_on() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let tgt = tb.plaintext_config(Cluster::Target);
    let topic = unique("eostimedout");
    let remote = format!("source.{topic}");
    const PARTITIONS: i32 = 4;
    const PAUSES: u32 = 4;
    create_topic_with(&src, &topic, PARTITIONS, &[]);
    let (flow, _) = flow_with_own_alias(
        &tb,
        &topic,
        &[
            EOS,
            ("producer.override.transaction.timeout.ms", "3000"),
            ("source.consumer.session.timeout.ms", "120000"),
        ],
    );
    let load = scenario::Load::start(&src, &topic, PARTITIONS, 400);
    let mut p = flow.start("paused");
    wait_until(Duration::from_secs(60), "records replicated", || {
        topic_counts(&tgt, &remote).is_some_and(|c| c.iter().all(|n| *n > 50))
    });
    // Paused with transactions open: the coordinator aborts them after 3 s, at its next
    // check for timed-out transactions (every 10 s by default). A pause that lands while every
    // transaction is committing (their end already sent, the next not yet begun on the
    // broker) leaves the coordinator nothing to time out (seen once in CI): paused again.
    let producer_hit = |log: &str| {
        count_lines(log, "producer was fenced off") + count_lines(log, "producer failed for good")
    };
    for pause in 1..=PAUSES {
        std::thread::sleep(Duration::from_millis(300));
        p.signal("STOP");
        std::thread::sleep(Duration::from_secs(20));
        p.signal("CONT");
        let until = std::time::Instant::now() + Duration::from_secs(15);
        while producer_hit(&p.log_text()) == 0 && std::time::Instant::now() < until {
            std::thread::sleep(Duration::from_millis(200));
        }
        if producer_hit(&p.log_text()) > 0 {
            break;
        }
        eprintln!("pause {pause} of {PAUSES} hit no open transaction");
    }
    let (acked, failed) = load.stop();
    assert!(
        acked > 0 && failed == 0,
        "load: {acked} acked, {failed} failed"
    );
    let ends = topic_counts(&src, &topic).unwrap();
    wait_until(Duration::from_secs(120), "everything replicated", || {
        (0..PARTITIONS).all(|part| {
            let end = ends[part as usize];
            end == 0 || progress_of(&flow, &tb, &topic, part) == Some(end - 1)
        })
    });
    assert!(p.running(), "the flow stopped:\n{}", p.log_text());
    let log = p.log_text();
    // Which the producer sees first is a race with the pause: the coordinator's fencing
    // (PRODUCER_FENCED or INVALID_PRODUCER_EPOCH on its next request), or its own records
    // timed out on resuming, whose abort then finds the transaction already ended by the
    // coordinator (INVALID_TXN_STATE, fatal). Either way the producer is replaced in place.
    let fenced = count_lines(&log, "producer was fenced off");
    let went_on = count_lines(&log, "going on from the last commit");
    let failed = count_lines(&log, "producer failed for good; replacing it");
    eprintln!("producers fenced off: {fenced}, replaced in place: {went_on}, failed: {failed}");
    assert!(
        fenced + failed > 0 && went_on == fenced,
        "producers failed by the timed-out transactions, each replaced in place:\n{log}"
    );
    p.signal("TERM");
    assert_eq!(p.wait(Duration::from_secs(60)), Some(0), "{}", p.log_text());

    assert_exact_copy(&tb, (&topic, &remote), "eos-transactions-timed-out");
}

/// `flow` deployed a second time by mistake: the same offsets topic, offset syncs and
/// transactional ids, but a consumer group of its own, so neither learns of the other.
fn same_flow_in_another_group(flow: &Flow) -> Flow {
    let dir = tempfile::tempdir().unwrap();
    let group = unique("group");
    let yaml = std::fs::read_to_string(&flow.config)
        .unwrap()
        .replace(&flow.group, &group);
    let config = dir.path().join("strait.yaml");
    std::fs::write(&config, yaml).unwrap();
    Flow {
        dir,
        config,
        offsets_topic: flow.offsets_topic.clone(),
        group,
    }
}

/// A process fenced off by another that then committed (here a second deployment of the flow
/// with another consumer group, so the first never learns from its group that it lost the
/// partitions) must not take the fencing for a transaction the target timed out: once its new
/// producer has fenced the other back, it finds the other's progress on the target and stops,
/// naming the transactional id. The other, fenced once, finds its own progress and goes on;
/// the copy has every record once.
#[test]
fn a_process_fenced_off_by_another_that_committed_stops_and_the_copy_stays_exact() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let topic = unique("eosfencedoff");
    let remote = format!("source.{topic}");
    create_topic_with(&src, &topic, 2, &[]);
    let prefix = unique("eosprefix");
    let (first, _) = flow_with_own_alias(
        &tb,
        &topic,
        &[
            EOS,
            ("strait.transactional.id.prefix", &prefix),
            ("source.consumer.session.timeout.ms", "120000"),
        ],
    );
    let second = same_flow_in_another_group(&first);
    let produce = |range: std::ops::Range<usize>| {
        for part in 0..2 {
            produce_values(
                &src,
                &topic,
                part,
                &numbered(&format!("p{part}"), range.clone()),
            );
        }
    };
    let replicated_to =
        |last: i64| (0..2).all(|part| progress_of(&first, &tb, &topic, part) == Some(last));
    produce(0..1000);
    let mut a = first.start("first");
    wait_until(Duration::from_secs(60), "the first copy", || {
        replicated_to(999)
    });
    // Frozen while the second deployment fences its producers and commits.
    a.signal("STOP");
    let mut b = second.start("second");
    produce(1000..2000);
    wait_until(Duration::from_secs(60), "the second's copy", || {
        replicated_to(1999)
    });
    a.signal("CONT");
    let code = a.wait(Duration::from_secs(60));
    let log = a.log_text();
    assert_eq!(code, Some(1), "the fenced-off process stops:\n{log}");
    let error = error_line(&log);
    assert!(
        error.contains(&format!("transactional id '{prefix}-{topic}-"))
            && error.contains("another process took the partition over"),
        "the error names the transactional id and why:\n{log}"
    );
    assert_eq!(
        count_lines(&log, "going on from the last commit"),
        0,
        "{log}"
    );

    produce(2000..3000);
    wait_until(Duration::from_secs(90), "the rest", || replicated_to(2999));
    assert!(b.running(), "the second stopped:\n{}", b.log_text());
    let b_log = b.log_text();
    assert!(
        count_lines(&b_log, "going on from the last commit") >= 1,
        "the second, fenced back once, went on from its own progress:\n{b_log}"
    );
    b.signal("TERM");
    assert_eq!(b.wait(Duration::from_secs(60)), Some(0), "{}", b.log_text());

    assert_exact_copy(&tb, (&topic, &remote), "eos-fenced-off-by-another");
}
