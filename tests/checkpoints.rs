//! Checkpoints and consumer-group offset sync against the real test bed: a group commits on
//! the source; Strait checkpoints it in MM2's format, syncs the target group, and a consumer
//! that fails over to the target resumes exactly where it stopped. MM2's own client library
//! reads the same answer from Strait's checkpoints as `strait offsets translate` prints.
//! Needs `testbed/kafka.sh up`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use tokio::sync::watch;

use common::{
    Cluster, GroupMember, Listener, Testbed, commit_as_member, create_topic, flow_config,
    produce_samples, read_topic, strait_yaml, topic_counts, unique, wait_until,
};
use strait::checkpoint::checkpoints_topic::read_checkpoints;
use strait::checkpoint::run_checkpointer;
use strait::checkpoint::translator::TranslationKind;
use strait::config::{CheckpointConnectorConfig, FlowConfig};
use strait::flow::run_flow;
use strait::kafka::ffi;
use strait::status::checkpoint::{
    CheckpointStatusHandle, GroupStatus, GroupSyncState, SkipReason, Untranslated, snapshots,
};

const CHECKPOINTS_TOPIC: &str = "source.checkpoints.internal";

/// A checkpoint connector for groups and topics starting with `prefix`, everything every second.
fn checkpoint_connector(prefix: &str, sync: bool) -> CheckpointConnectorConfig {
    CheckpointConnectorConfig {
        topics: vec![format!("{prefix}-.*")],
        groups: vec![format!("{prefix}-.*")],
        refresh_groups_interval: Duration::from_secs(1),
        emit_checkpoints_interval: Duration::from_secs(1),
        sync_group_offsets_enabled: sync,
        sync_group_offsets_interval: Duration::from_secs(1),
        checkpoints_topic_replication_factor: 1,
        ..CheckpointConnectorConfig::default()
    }
}

/// A flow replicating `<prefix>-.*` with checkpoints (and group sync when `sync`).
fn flow(tb: &Testbed, prefix: &str, sync: bool) -> FlowConfig {
    let mut flow = flow_config(tb, &[&format!("{prefix}-.*")]);
    flow.checkpoint_connector = Some(checkpoint_connector(prefix, sync));
    flow
}

/// The status of `group` in whichever running checkpointer has it.
fn group_status(group: &str) -> Option<GroupStatus> {
    snapshots()
        .into_iter()
        .find_map(|s| s.groups.get(group).cloned())
}

/// The group's committed offsets on the target, by partition of `topic`.
fn target_offsets(tb: &Testbed, group: &str, topic: &str) -> BTreeMap<i32, (i64, String)> {
    let admin = common::admin_client(&tb.plaintext_config(Cluster::Target));
    ffi::list_consumer_group_offsets(&admin, group, Duration::from_secs(10))
        .unwrap_or_default()
        .into_iter()
        .filter(|o| o.topic == topic && o.offset >= 0)
        .map(|o| (o.partition, (o.offset, o.metadata)))
        .collect()
}

/// Waits until every source record is on the target.
async fn wait_replicated(tb: &Testbed, remote: &str, n: i64) {
    let tgt = tb.plaintext_config(Cluster::Target);
    let remote = remote.to_owned();
    tokio::task::spawn_blocking(move || {
        wait_until(Duration::from_secs(120), "records on the target", || {
            topic_counts(&tgt, &remote).is_some_and(|c| c.iter().sum::<i64>() == n)
        });
    })
    .await
    .unwrap();
}

/// Waits (off the runtime) until `check` holds.
async fn wait_for(what: &'static str, check: impl FnMut() -> bool + Send + 'static) {
    tokio::task::spawn_blocking(move || wait_until(Duration::from_secs(90), what, check))
        .await
        .unwrap();
}

/// Waits until the target group `group` holds `offset` for partition 0 of `topic`.
async fn wait_target_offset(
    what: &'static str,
    tb: &Testbed,
    group: &str,
    topic: &str,
    offset: i64,
) {
    let (tb, group, topic) = (tb.clone(), group.to_owned(), topic.to_owned());
    wait_for(what, move || {
        target_offsets(&tb, &group, &topic)
            .get(&0)
            .is_some_and(|o| o.0 == offset)
    })
    .await;
}

/// Fails over: a consumer of `group` on the target reads `topic` from the group's committed
/// offsets to the end. Returns, per partition, the record timestamps read (which identify
/// sample records uniquely).
fn resume_on_target(tgt: &ClientConfig, group: &str, topic: &str) -> BTreeMap<i32, Vec<i64>> {
    let mut cfg = tgt.clone();
    cfg.set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest");
    let consumer: BaseConsumer = cfg.create().unwrap();
    let md = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    let partitions = md.topics()[0].partitions().len() as i32;
    let highs: Vec<i64> = (0..partitions)
        .map(|p| {
            consumer
                .fetch_watermarks(topic, p, Duration::from_secs(10))
                .unwrap()
                .1
        })
        .collect();
    consumer.subscribe(&[topic]).unwrap();
    let mut read: BTreeMap<i32, Vec<i64>> = (0..partitions).map(|p| (p, Vec::new())).collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        // Done when every partition's position reached its end.
        let done = consumer
            .assignment()
            .is_ok_and(|a| a.count() == partitions as usize)
            && consumer.position().is_ok_and(|pos| {
                (0..partitions).all(|p| {
                    pos.find_partition(topic, p)
                        .and_then(|e| e.offset().to_raw())
                        .is_some_and(|o| o >= highs[p as usize])
                })
            });
        if done {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "resuming {group} on the target"
        );
        if let Some(m) = consumer.poll(Duration::from_millis(200)) {
            let m = m.unwrap();
            read.get_mut(&m.partition())
                .unwrap()
                .push(m.timestamp().to_millis().unwrap());
        }
    }
    read
}

/// The record timestamp of `group`'s newest checkpoint per partition, read from the
/// checkpoints topic.
async fn checkpoint_record_times(tb: &Testbed, group: &str) -> BTreeMap<i32, i64> {
    let cfg = tb.plaintext_config(Cluster::Target);
    let group = group.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut reader =
            strait::checkpoint::log_reader::PartitionZeroReader::open(&cfg, CHECKPOINTS_TOPIC)
                .unwrap();
        let mut times = BTreeMap::new();
        reader
            .read_to_end(Duration::from_secs(30), |m| {
                let c = strait::wire::Checkpoint::decode(m.key().unwrap(), m.payload().unwrap())
                    .unwrap();
                if c.group == group {
                    times.insert(c.partition, m.timestamp().to_millis().unwrap());
                }
            })
            .unwrap();
        times
    })
    .await
    .unwrap()
}

/// Runs the `strait` binary; returns whether it succeeded, its stdout and its stderr.
fn strait(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_strait"))
        .args(args)
        .env("STRAIT_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A Strait YAML file for the test bed's `source -> target` flow (what the CLI reads).
fn cli_config(tb: &Testbed, dir: &std::path::Path) -> String {
    let path = dir.join("strait.yaml");
    std::fs::write(
        &path,
        strait_yaml(
            tb,
            "unused-.*",
            &unique("cli-group"),
            &unique("cli-offsets"),
        ),
    )
    .unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_resumes_exactly_where_the_source_group_stopped() {
    common::init_tracing();
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let tgt = tb.plaintext_config(Cluster::Target);
    let prefix = unique("cp");
    let topic = format!("{prefix}-orders");
    let remote = format!("source.{topic}");
    create_topic(&src, &topic, 3).await;
    produce_samples(&src, &topic, 3, 0, 3000);

    let (stop_tx, stop_rx) = watch::channel(false);
    let running = tokio::spawn(run_flow(flow(&tb, &prefix, true), stop_rx));
    wait_replicated(&tb, &remote, 3000).await;

    // The application consumed part of each partition on the source and committed.
    let group = format!("{prefix}-app");
    let committed: [(i32, i64, &str); 3] = [(0, 437, "m0"), (1, 512, ""), (2, 290, "m2")];
    commit_as_member(&src, &group, &topic, &committed);

    // Group sync writes the translation to the (absent) target group.
    let (tb2, group2, remote2) = (tb.clone(), group.clone(), remote.clone());
    wait_for("target group synced", move || {
        target_offsets(&tb2, &group2, &remote2).len() == 3
    })
    .await;
    let synced = target_offsets(&tb, &group, &remote);
    let status = group_status(&group).expect("group in the status");
    assert!(
        matches!(
            status.sync,
            GroupSyncState::Synced { .. } | GroupSyncState::UpToDate { .. }
        ),
        "{:?}",
        status.sync
    );
    let src2 = src.clone();
    let topic2 = topic.clone();
    let source_records = tokio::task::spawn_blocking(move || read_topic(&src2, &topic2))
        .await
        .unwrap();
    let tgt2 = tgt.clone();
    let remote2 = remote.clone();
    let target_records = tokio::task::spawn_blocking(move || read_topic(&tgt2, &remote2))
        .await
        .unwrap();

    // Fail over: the same group resumes on the target.
    let (tgt2, group2, remote2) = (tgt.clone(), group.clone(), remote.clone());
    let resumed = tokio::task::spawn_blocking(move || resume_on_target(&tgt2, &group2, &remote2))
        .await
        .unwrap();

    let mut strait_rereads = 0;
    let mut mm2_rereads = 0;
    let mut mm2_untranslated = 0;
    for (p, upstream, metadata) in committed {
        // Sample timestamps are unique: they map a record back to its source offset.
        let by_ts: HashMap<i64, i64> = source_records[p as usize]
            .iter()
            .map(|(o, r)| (r.timestamp, *o))
            .collect();
        let read_offsets: Vec<i64> = resumed[&p].iter().map(|ts| by_ts[ts]).collect();
        let reread = read_offsets.iter().filter(|o| **o < upstream).count();
        let expected: Vec<i64> = source_records[p as usize]
            .iter()
            .map(|(o, _)| *o)
            .filter(|o| *o >= upstream)
            .collect();
        let after: Vec<i64> = read_offsets
            .iter()
            .copied()
            .filter(|o| *o >= upstream)
            .collect();
        assert_eq!(
            after, expected,
            "partition {p}: every record after the committed point, in order"
        );
        strait_rereads += reread;

        // The exact downstream offset of the committed record, and MM2's rule on the same syncs.
        let exact = target_records[p as usize]
            .iter()
            .find(|(_, r)| by_ts[&r.timestamp] == upstream)
            .map(|(o, _)| *o)
            .unwrap();
        assert_eq!(
            synced[&p],
            (exact, metadata.to_owned()),
            "partition {p} synced offset"
        );
        let ps = status.partitions.iter().find(|x| x.partition == p).unwrap();
        assert_eq!(ps.committed, upstream);
        assert_eq!(ps.translated, Some(exact));
        assert_eq!(ps.kind, Some(TranslationKind::Exact));
        // MM2's rule on the same syncs (None: MM2 would not checkpoint the partition at all).
        if let Some(mm2) = ps.mm2 {
            assert!(mm2 <= exact, "MM2's rule never goes past the exact offset");
            mm2_rereads += (exact - mm2) as usize;
        } else {
            mm2_untranslated += 1;
        }
    }
    eprintln!(
        "re-read after failover (3 partitions, committed 437/512/290 of 1000 each): \
         Strait {strait_rereads}; MM2's rule on the same offset syncs {mm2_rereads} \
         ({mm2_untranslated} partitions not translatable by it)"
    );
    assert_eq!(strait_rereads, 0);

    // The checkpoint records, decoded: renamed topic, offsets, metadata carried.
    let cfg = tb.plaintext_config(Cluster::Target);
    let group2 = group.clone();
    let store = tokio::task::spawn_blocking(move || {
        read_checkpoints(
            &cfg,
            CHECKPOINTS_TOPIC,
            Some(&group2),
            Duration::from_secs(30),
        )
        .unwrap()
    })
    .await
    .unwrap();
    for (p, upstream, metadata) in committed {
        let c = store.get(&group, &remote, p).expect("checkpoint");
        assert_eq!(c.upstream_offset, upstream);
        assert_eq!(c.downstream_offset, synced[&p].0);
        assert_eq!(c.metadata, metadata);
    }

    // MM2's client library reads the same offsets from Strait's checkpoints as the CLI prints.
    let dir = tempfile::tempdir().unwrap();
    let config = cli_config(&tb, dir.path());
    let (ok, stdout, stderr) = strait(&[
        "offsets",
        "translate",
        "-f",
        &config,
        "--group",
        &group,
        "--json",
    ]);
    assert!(ok, "strait offsets translate failed: {stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let mut from_cli: Vec<String> = json["offsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            format!(
                "{} {} {} {}",
                o["topic"].as_str().unwrap(),
                o["partition"],
                o["offset"],
                o["metadata"].as_str().unwrap()
            )
            .trim()
            .to_owned()
        })
        .collect();
    from_cli.sort();
    let out = std::process::Command::new("java")
        .arg("-cp")
        .arg(format!("{}/*", tb.kafka_libs().display()))
        .arg(common::repo_root().join("tests/java/MirrorClientCheck.java"))
        .args([
            "translate",
            &tb.bootstrap(Cluster::Target, Listener::Plaintext),
            "source",
            &group,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "java: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let from_java: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(from_java, from_cli);
    assert_eq!(from_java.len(), 3);

    // The table form, and the live translation next to MM2's rule.
    let (ok, stdout, stderr) = strait(&[
        "offsets",
        "translate",
        "-f",
        &config,
        "--group",
        &group,
        "--live",
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("exact"), "{stdout}");
    // Applying again changes nothing: the target group already holds the checkpoints.
    let (ok, stdout, stderr) = strait(&[
        "offsets",
        "apply",
        "-f",
        &config,
        "--group",
        &group,
        "--dry-run",
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(plan["changes"].as_array().unwrap().len(), 0, "{stdout}");
    assert_eq!(plan["unchanged"], 3);

    stop_tx.send(true).unwrap();
    running.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_sync_respects_the_target() {
    common::init_tracing();
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let tgt = tb.plaintext_config(Cluster::Target);
    let prefix = unique("gs");
    let topic = format!("{prefix}-events");
    let remote = format!("source.{topic}");
    create_topic(&src, &topic, 1).await;
    produce_samples(&src, &topic, 1, 0, 1000);
    let (stop_tx, stop_rx) = watch::channel(false);
    let running = tokio::spawn(run_flow(flow(&tb, &prefix, true), stop_rx));
    wait_replicated(&tb, &remote, 1000).await;

    // A group consuming on the target is never overwritten.
    let active = format!("{prefix}-active");
    let member = GroupMember::join(&tgt, &active, &remote);
    member.wait_assigned(Duration::from_secs(60));
    commit_as_member(&src, &active, &topic, &[(0, 300, "")]);
    // A group further along on the target is never rewound.
    let ahead = format!("{prefix}-ahead");
    commit_as_member(&tgt, &ahead, &remote, &[(0, 900, "")]);
    commit_as_member(&src, &ahead, &topic, &[(0, 300, "")]);

    let (a, b) = (active.clone(), ahead.clone());
    wait_for("every group's sync state", move || {
        let skipped = |g: &str, want: fn(&SkipReason) -> bool| {
            group_status(g).is_some_and(
                |s| matches!(&s.sync, GroupSyncState::Skipped { reason, .. } if want(reason)),
            )
        };
        skipped(&a, |r| matches!(r, SkipReason::ActiveOnTarget { .. }))
            && skipped(&b, |r| matches!(r, SkipReason::AheadOnTarget { .. }))
    })
    .await;
    assert!(
        target_offsets(&tb, &active, &remote).is_empty(),
        "active group written"
    );
    assert_eq!(
        target_offsets(&tb, &ahead, &remote)[&0].0,
        900,
        "ahead group rewound"
    );
    if let Some(GroupSyncState::Skipped {
        reason: SkipReason::AheadOnTarget { partitions },
        ..
    }) = group_status(&ahead).map(|s| s.sync)
    {
        let p = &partitions[0];
        // Not Strait's write: someone else put the group there.
        assert_eq!((p.target, p.checkpoint, p.source_reset), (900, 300, false));
    }

    // Once the active group's consumers leave, it is synced.
    drop(member);
    wait_target_offset(
        "active group synced after its members left",
        &tb,
        &active,
        &remote,
        300,
    )
    .await;

    stop_tx.send(true).unwrap();
    running.await.unwrap().unwrap();
}

/// A group synced to the target at 800 is reset to 200 on the source. MM2 never moves a target
/// group back, and neither does Strait by default; with
/// `strait.sync.group.offsets.rewind.enabled` the reset is followed (the target group still
/// holds exactly what Strait wrote, so nobody consumed there).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_sync_rewinds_a_target_group_only_when_enabled() {
    common::init_tracing();
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    for rewind in [false, true] {
        let prefix = unique(if rewind { "rw" } else { "norw" });
        let topic = format!("{prefix}-events");
        let remote = format!("source.{topic}");
        create_topic(&src, &topic, 1).await;
        produce_samples(&src, &topic, 1, 0, 1000);
        let mut flow = flow(&tb, &prefix, true);
        if let Some(cc) = flow.checkpoint_connector.as_mut() {
            cc.sync_group_offsets_rewind_enabled = rewind;
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        let running = tokio::spawn(run_flow(flow, stop_rx));
        wait_replicated(&tb, &remote, 1000).await;

        // Committed on the source, checkpointed, synced to the (absent) target group.
        let group = format!("{prefix}-app");
        commit_as_member(&src, &group, &topic, &[(0, 800, "")]);
        wait_target_offset("target group synced at 800", &tb, &group, &remote, 800).await;

        // The source group is reset: the checkpoint follows it back (MM2's rule).
        commit_as_member(&src, &group, &topic, &[(0, 200, "")]);
        let (cfg, g, rt) = (
            tb.plaintext_config(Cluster::Target),
            group.clone(),
            remote.clone(),
        );
        wait_for("checkpoint of the reset", move || {
            read_checkpoints(&cfg, CHECKPOINTS_TOPIC, Some(&g), Duration::from_secs(30))
                .unwrap()
                .get(&g, &rt, 0)
                .is_some_and(|c| (c.upstream_offset, c.downstream_offset) == (200, 200))
        })
        .await;

        if rewind {
            // The round that moves the group back shows it on the status for one sync interval
            // only (the next says the group is up to date): the offset is what stays.
            wait_target_offset(
                "the target group moved back to 200",
                &tb,
                &group,
                &remote,
                200,
            )
            .await;
        } else {
            // Every round after that checkpoint leaves the group ahead, and says so.
            let g = group.clone();
            wait_for("a sync round leaving the group ahead", move || {
                matches!(
                    group_status(&g).map(|s| s.sync),
                    Some(GroupSyncState::Skipped {
                        reason: SkipReason::AheadOnTarget { partitions },
                        ..
                    }) if partitions[0].checkpoint == 200
                )
            })
            .await;
            let status = group_status(&group).map(|s| s.sync);
            let now = target_offsets(&tb, &group, &remote)[&0].0;
            assert_eq!(now, 800, "target group moved back by default: {status:?}");
            let Some(GroupSyncState::Skipped {
                reason: SkipReason::AheadOnTarget { partitions },
                ..
            }) = status
            else {
                panic!("reset group not left ahead: {status:?}");
            };
            // The status says the partition is ahead because of a source reset.
            let p = &partitions[0];
            assert_eq!((p.target, p.checkpoint, p.source_reset), (800, 200, true));
        }
        stop_tx.send(true).unwrap();
        running.await.unwrap().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_apply_writes_checkpoints_and_refuses_active_groups() {
    common::init_tracing();
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let tgt = tb.plaintext_config(Cluster::Target);
    let prefix = unique("ap");
    let topic = format!("{prefix}-t");
    let remote = format!("source.{topic}");
    create_topic(&src, &topic, 2).await;
    produce_samples(&src, &topic, 2, 0, 600);
    // Checkpoints only: the target group is left to the operator.
    let (stop_tx, stop_rx) = watch::channel(false);
    let running = tokio::spawn(run_flow(flow(&tb, &prefix, false), stop_rx));
    wait_replicated(&tb, &remote, 600).await;
    let group = format!("{prefix}-app");
    commit_as_member(&src, &group, &topic, &[(0, 123, ""), (1, 250, "x")]);
    let cfg = tb.plaintext_config(Cluster::Target);
    let g = group.clone();
    wait_for("checkpoints", move || {
        read_checkpoints(&cfg, CHECKPOINTS_TOPIC, Some(&g), Duration::from_secs(30))
            .unwrap()
            .len()
            == 2
    })
    .await;
    assert_eq!(
        group_status(&group).map(|s| s.sync),
        Some(GroupSyncState::Disabled)
    );
    let dir = tempfile::tempdir().unwrap();
    let config = cli_config(&tb, dir.path());
    let apply = |extra: &[&str]| {
        let mut args = vec!["offsets", "apply", "-f", &config, "--group", &group];
        args.extend_from_slice(extra);
        strait(&args)
    };

    // Without --execute, apply is a dry run: it shows the plan and writes nothing.
    let (ok, stdout, stderr) = apply(&[]);
    assert!(ok, "{stderr}");
    assert!(
        target_offsets(&tb, &group, &remote).is_empty(),
        "apply without --execute wrote: {stdout}"
    );
    assert!(stdout.contains("CHECKPOINT AGE"), "{stdout}");
    assert!(
        stdout.contains("dry run: nothing was written. To write these 2 offsets to group")
            && stdout.contains("run again with --execute."),
        "{stdout}"
    );
    // One row per partition: topic, partition, current, new, checkpoint age, action.
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .filter(|l| l.starts_with(&remote))
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    for (row, (p, to)) in rows.iter().zip([("0", "123"), ("1", "250")]) {
        assert_eq!(&row[1..4], &[p, "-", to], "{stdout}");
        assert!(
            row[4].ends_with('s') && row[4] != "-",
            "age {}: {stdout}",
            row[4]
        );
        assert_eq!(&row[5..], &["would", "write"], "{stdout}");
    }

    // The same as JSON (--dry-run still accepted): each checkpoint's record time and age.
    let (ok, stdout, stderr) = apply(&["--dry-run", "--json"]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("dry run: nothing was written"), "{stderr}");
    let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (&plan["dry_run"], &plan["written"]),
        (&true.into(), &false.into())
    );
    let record_times = checkpoint_record_times(&tb, &group).await;
    let now = strait::status::checkpoint::now_ms();
    let changes: Vec<(i64, i64)> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let p = c["partition"].as_i64().unwrap();
            let at = c["checkpoint_timestamp_ms"].as_i64().unwrap();
            assert_eq!(at, record_times[&(p as i32)], "{stdout}");
            let age = c["checkpoint_age_ms"].as_i64().unwrap();
            assert!((0..=now - at).contains(&age), "{stdout}");
            (p, c["to"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(changes, vec![(0, 123), (1, 250)]);
    assert!(
        target_offsets(&tb, &group, &remote).is_empty(),
        "dry run wrote"
    );

    // An active group is refused, and the refusal is the whole answer.
    let member = GroupMember::join(&tgt, &group, &remote);
    member.wait_assigned(Duration::from_secs(60));
    for extra in [&["--execute"][..], &[]] {
        let (ok, stdout, stderr) = apply(extra);
        assert!(!ok, "{stdout}");
        assert!(
            stderr.contains("is active on the target") && stderr.contains("nothing was written"),
            "{stderr}"
        );
        assert_eq!(stdout, "", "nothing but the refusal");
    }
    drop(member);

    let (ok, stdout, stderr) = apply(&["--execute"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("wrote 2 offsets"), "{stdout}");
    assert!(!stdout.contains("dry run"), "{stdout}");
    let written = target_offsets(&tb, &group, &remote);
    assert_eq!(written[&0], (123, String::new()));
    assert_eq!(written[&1], (250, "x".to_owned()));

    // Again: nothing left to write.
    let (ok, stdout, stderr) = apply(&["--execute"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("2 partitions already at their checkpoint")
            && stdout.contains("nothing to write"),
        "{stdout}"
    );

    stop_tx.send(true).unwrap();
    running.await.unwrap().unwrap();
}

/// While the offset syncs are still being read, nothing translates; the source groups'
/// offsets are then read once at start (for the status) and on the emit interval, not in a
/// tight retry loop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loading_offset_syncs_do_not_multiply_source_offset_requests() {
    common::init_tracing();
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let prefix = unique("ld");
    let topic = format!("{prefix}-t");
    create_topic(&src, &topic, 1).await;
    produce_samples(&src, &topic, 1, 0, 10);
    let groups: Vec<String> = (0..3).map(|i| format!("{prefix}-app{i}")).collect();
    for g in &groups {
        commit_as_member(&src, g, &topic, &[(0, 5, "")]);
    }
    // No source side writes offset syncs for this target alias: its offset-syncs topic never
    // appears, so the checkpointer stays "loading" for the whole test.
    let mut flow = flow(&tb, &prefix, false);
    let flow_target_alias = unique("nosyncs");
    flow.target_alias = flow_target_alias.clone();
    if let Some(cc) = flow.checkpoint_connector.as_mut() {
        cc.emit_checkpoints_interval = Duration::from_secs(60);
    }
    let status = CheckpointStatusHandle::new("loading");
    let (_leader_tx, leader_rx) = watch::channel(true);
    let (stop_tx, stop_rx) = watch::channel(false);
    let running = tokio::spawn(run_checkpointer(
        flow,
        leader_rx,
        stop_rx,
        status.clone(),
        None,
    ));
    let st = status.clone();
    wait_for("the groups in the status", move || {
        st.snapshot().groups.len() == 3
    })
    .await;
    // Several seconds of loading: a 500 ms retry would have read each group's offsets again
    // and again by now.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let s = status.snapshot();
    assert!(!s.offset_syncs_loaded);
    assert_eq!(
        s.source_offset_requests, 3,
        "one ListConsumerGroupOffsets per group while loading"
    );
    for g in &groups {
        let p = &s.groups[g].partitions;
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].untranslated, Some(Untranslated::SyncsLoading));
    }

    // The offset-syncs topic appears (empty): loading ends, and the groups are read again at
    // once rather than a minute later, at the next interval.
    let syncs_topic = format!("mm2-offset-syncs.{}.internal", flow_target_alias);
    create_topic(&src, &syncs_topic, 1).await;
    let started = std::time::Instant::now();
    let st = status.clone();
    let g = groups.clone();
    wait_for(
        "the groups read again once the offset syncs loaded",
        move || {
            let s = st.snapshot();
            s.offset_syncs_loaded
                && s.source_offset_requests == 6
                && g.iter()
                    .all(|g| s.groups[g].partitions[0].untranslated == Some(Untranslated::NoSyncs))
        },
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(30));
    stop_tx.send(true).unwrap();
    running.await.unwrap().unwrap();
}

/// The target offset of the source record at `upstream` in each remote partition, found by
/// the sample records' unique timestamps.
fn exact_offsets(
    source: &[Vec<(i64, common::Rec)>],
    target: &[Vec<(i64, common::Rec)>],
    committed: &[(i32, i64)],
) -> Vec<i64> {
    committed
        .iter()
        .map(|&(p, upstream)| {
            let s = &source[p as usize];
            let t = &target[p as usize];
            match s.iter().find(|(o, _)| *o == upstream) {
                Some((_, rec)) => {
                    t.iter()
                        .find(|(_, r)| r.timestamp == rec.timestamp)
                        .unwrap()
                        .0
                }
                // The group is at the end: the next record will get the next offset.
                None => t.last().map_or(0, |(o, _)| o + 1),
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strait_and_mm2_translate_the_same_data() {
    common::init_tracing();
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let tgt = tb.plaintext_config(Cluster::Target);
    let prefix = unique("vs");
    let topic = format!("{prefix}-orders");
    create_topic(&src, &topic, 3).await;
    produce_samples(&src, &topic, 3, 0, 3000);

    // The same topic replicated twice: by Strait (alias `source`) and by the real MM2 (an alias
    // of its own, offset syncs on the target so the two never share a sync topic).
    let (stop_tx, stop_rx) = watch::channel(false);
    let running = tokio::spawn(run_flow(flow(&tb, &prefix, false), stop_rx));
    let mm2_alias = unique("mm").replace('-', "");
    let extra = format!(
        "emit.checkpoints.enabled = true\n\
         emit.checkpoints.interval.seconds = 1\n\
         refresh.groups.interval.seconds = 1\n\
         offset-syncs.topic.location = target\n\
         {mm2_alias}->target.groups = {prefix}-.*\n"
    );
    let mm2 = common::Mm2Process::start(&common::mm2_properties(&tb, &mm2_alias, &topic, &extra));
    let strait_remote = format!("source.{topic}");
    let mm2_remote = format!("{mm2_alias}.{topic}");
    wait_replicated(&tb, &strait_remote, 3000).await;
    wait_replicated(&tb, &mm2_remote, 3000).await;

    // One group stopped part-way through, one consumed everything.
    let partway = format!("{prefix}-partway");
    let caught_up = format!("{prefix}-caughtup");
    let cases: [(&str, [(i32, i64); 3]); 2] = [
        (&partway, [(0, 437), (1, 512), (2, 290)]),
        (&caught_up, [(0, 1000), (1, 1000), (2, 1000)]),
    ];
    for (group, committed) in &cases {
        let offsets: Vec<(i32, i64, &str)> = committed.iter().map(|&(p, o)| (p, o, "")).collect();
        commit_as_member(&src, group, &topic, &offsets);
    }
    let source_records = read_topic(&src, &topic);
    let strait_records = read_topic(&tgt, &strait_remote);
    let mm2_records = read_topic(&tgt, &mm2_remote);

    for (group, committed) in cases {
        let (cfg, g, c) = (tgt.clone(), group.to_owned(), committed);
        let mm2_topic = format!("{mm2_alias}.checkpoints.internal");
        // Both have checkpointed the committed offsets (MM2 only once its offset syncs cover
        // them: for the caught-up group, after its next offset flush).
        let (strait_cps, mm2_cps) = tokio::task::spawn_blocking(move || {
            let current = |topic: &str| {
                let store =
                    read_checkpoints(&cfg, topic, Some(&g), Duration::from_secs(30)).unwrap();
                c.iter()
                    .map(|&(p, up)| {
                        store
                            .group(&g)
                            .find(|cp| cp.partition == p && cp.upstream_offset == up)
                            .map(|cp| cp.downstream_offset)
                    })
                    .collect::<Option<Vec<i64>>>()
            };
            let mut found = (None, None);
            wait_until(
                Duration::from_secs(180),
                "checkpoints from Strait and MM2",
                || {
                    found = (current(CHECKPOINTS_TOPIC), current(&mm2_topic));
                    found.0.is_some() && found.1.is_some()
                },
            );
            // Checkpoints only move forward; give both several emit and flush intervals to
            // settle, so the figures are each one's steady state, not a race.
            std::thread::sleep(Duration::from_secs(6));
            (
                current(CHECKPOINTS_TOPIC).unwrap(),
                current(&mm2_topic).unwrap(),
            )
        })
        .await
        .unwrap();
        let strait_exact = exact_offsets(&source_records, &strait_records, &committed);
        let mm2_exact = exact_offsets(&source_records, &mm2_records, &committed);
        let mut rereads = (0, 0);
        for i in 0..3 {
            // Neither may skip a record; what lies between checkpoint and exact is read again.
            assert!(strait_cps[i] <= strait_exact[i] && mm2_cps[i] <= mm2_exact[i]);
            rereads.0 += strait_exact[i] - strait_cps[i];
            rereads.1 += mm2_exact[i] - mm2_cps[i];
        }
        eprintln!(
            "group {group} committed {committed:?}: records re-read after failover: \
             Strait {} (checkpoints {strait_cps:?}), MM2 {} (checkpoints {mm2_cps:?})",
            rereads.0, rereads.1
        );
        assert_eq!(rereads.0, 0, "Strait translates exactly");
        assert!(rereads.1 >= rereads.0);
    }
    mm2.stop();
    stop_tx.send(true).unwrap();
    running.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_policy_syncs_groups_under_the_same_topic_name() {
    common::init_tracing();
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let prefix = unique("id");
    let topic = format!("{prefix}-same");
    create_topic(&src, &topic, 2).await;
    produce_samples(&src, &topic, 2, 0, 400);
    let mut flow = flow(&tb, &prefix, true);
    flow.policy.kind = strait::config::PolicyKind::Identity;
    let (stop_tx, stop_rx) = watch::channel(false);
    let running = tokio::spawn(run_flow(flow, stop_rx));
    // Identity: the remote topic has the source's name.
    wait_replicated(&tb, &topic, 400).await;
    let group = format!("{prefix}-app");
    commit_as_member(&src, &group, &topic, &[(0, 150, ""), (1, 200, "")]);
    let (tb2, g, t) = (tb.clone(), group.clone(), topic.clone());
    // The first sync may still use MM2's rule (the offset syncs that make it exact can arrive
    // a moment later); checkpoints only move forward, so wait for the exact offsets.
    wait_for("identity group synced", move || {
        let o = target_offsets(&tb2, &g, &t);
        o.get(&0).map(|x| x.0) == Some(150) && o.get(&1).map(|x| x.0) == Some(200)
    })
    .await;
    let synced = target_offsets(&tb, &group, &topic);
    assert_eq!(synced[&0].0, 150);
    assert_eq!(synced[&1].0, 200);
    let status = group_status(&group).unwrap();
    assert!(
        status
            .partitions
            .iter()
            .all(|p| p.downstream_topic == topic && p.kind == Some(TranslationKind::Exact))
    );
    stop_tx.send(true).unwrap();
    running.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_of_one_flow_checkpoint_once() {
    common::init_tracing();
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let prefix = unique("once");
    let topic = format!("{prefix}-t");
    let remote = format!("source.{topic}");
    create_topic(&src, &topic, 2).await;
    produce_samples(&src, &topic, 2, 0, 200);
    // The same flow twice (same worker group): they share the work and elect one leader.
    let flow = flow(&tb, &prefix, true);
    let (stop_tx, stop_rx) = watch::channel(false);
    let a = tokio::spawn(run_flow(flow.clone(), stop_rx.clone()));
    let b = tokio::spawn(run_flow(flow, stop_rx));
    wait_replicated(&tb, &remote, 200).await;
    let group = format!("{prefix}-app");
    commit_as_member(&src, &group, &topic, &[(0, 40, ""), (1, 60, "")]);
    let (tb2, g, r) = (tb.clone(), group.clone(), remote.clone());
    wait_for("group synced", move || {
        target_offsets(&tb2, &g, &r).len() == 2
    })
    .await;
    // Several emit rounds later, each checkpoint was still written once: one checkpointer ran.
    // A checkpointer writes a group's checkpoint again when its translation changes (a first
    // one made before the last offset syncs arrived, then the exact one), so what must not
    // repeat is the same checkpoint: a second checkpointer would write each one it reaches,
    // the last, exact one at least, a second time.
    let cfg = tb.plaintext_config(Cluster::Target);
    let g = group.clone();
    let records = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_secs(3));
        let mut reader =
            strait::checkpoint::log_reader::PartitionZeroReader::open(&cfg, CHECKPOINTS_TOPIC)
                .unwrap();
        let mut mine = Vec::new();
        reader
            .read_to_end(Duration::from_secs(30), |m| {
                let c = strait::wire::Checkpoint::decode(m.key().unwrap(), m.payload().unwrap())
                    .unwrap();
                if c.group == g {
                    mine.push((c.partition, c.upstream_offset, c.downstream_offset));
                }
            })
            .unwrap();
        mine
    })
    .await
    .unwrap();
    let mut sorted = records.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        records.len(),
        "a checkpoint written twice: {records:?}"
    );
    let mut groups: Vec<(i32, i64)> = records.iter().map(|(p, up, _)| (*p, *up)).collect();
    groups.sort();
    groups.dedup();
    assert_eq!(groups, vec![(0, 40), (1, 60)], "{records:?}");
    let active = snapshots()
        .iter()
        .filter(|s| s.groups.contains_key(&group) && s.active)
        .count();
    assert_eq!(active, 1);
    stop_tx.send(true).unwrap();
    a.await.unwrap().unwrap();
    b.await.unwrap().unwrap();
}
