//! The fault suite: real brokers failing under a running flow, and Strait itself killed, on the
//! three-broker test bed (`scripts/faults.sh` brings it up, runs this file and prints the
//! table). Every scenario writes numbered records to the source all along, lets the fault hit
//! mid-stream, waits until the flow's progress covers the whole source, then checks the copy
//! twice: by an independent count of the remote topic (every source record there, none
//! foreign) and by `strait verify` (record by record, in order). Missing records fail the
//! scenario; duplicates (at-least-once replays after a crash) are counted and reported.
//! On a one-broker bed every scenario is skipped with one line saying how to run it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::scenario::{
    Flow, Load, Tally, coordinator_of, create_topic_with, elect_preferred_leaders, kafka_tool,
    leader_of, needs_three_brokers, node, reassign, report, tally,
};
use common::{Cluster, StraitProcess, Testbed, topic_counts, unique, wait_for};

/// Partitions of every scenario's topic.
const PARTITIONS: i32 = 6;
/// Records per second the load writes.
const RATE: u64 = 800;
/// The flow key that turns exactly-once on; such scenarios read the copy read_committed (as
/// every check here does) and must find no duplicate.
const EXACTLY_ONCE: (&str, &str) = ("strait.exactly.once.enabled", "true");

/// A transaction timeout past the target freezes below (45 s, on top of a transaction already
/// open): the coordinator must not time the transactions out, which fences their producers and
/// stops the flow (docs/exactly-once.md); what these scenarios test is the calls that outlast
/// their own timeout.
const LONG_TRANSACTIONS: (&str, &str) = ("producer.override.transaction.timeout.ms", "180000");

/// librdkafka's producer instead of Strait's own target writer (the default), as a flow with
/// a producer setting only librdkafka applies runs.
const LIBRDKAFKA_WRITER: (&str, &str) = ("strait.target.writer", "librdkafka");

/// One scenario's topic, flow and load.
struct Scenario {
    name: &'static str,
    tb: Testbed,
    topic: String,
    remote: String,
    flow: Flow,
    load: Option<Load>,
}

impl Scenario {
    /// A fresh topic with load running, and a flow over it (not started).
    fn start(name: &'static str, extra: &[(&str, &str)]) -> Option<Scenario> {
        let tb = Testbed::get();
        if !needs_three_brokers(&tb, name) {
            return None;
        }
        let src = tb.plaintext_config(Cluster::Source);
        let topic = unique(name);
        create_topic_with(&src, &topic, PARTITIONS, &[]);
        let mut keys = vec![("strait.retry.backoff.max.ms", "5000")];
        keys.extend_from_slice(extra);
        let flow = Flow::new(&tb, &topic, &keys);
        let load = Some(Load::start(&src, &topic, PARTITIONS, RATE));
        Some(Scenario {
            name,
            remote: format!("source.{topic}"),
            tb,
            topic,
            flow,
            load,
        })
    }

    fn process(&self, name: &str) -> StraitProcess {
        self.flow.start(name)
    }

    /// Waits until the remote topic exists on the target with every partition.
    fn wait_remote(&self) {
        let tgt = self.tb.plaintext_config(Cluster::Target);
        assert!(
            wait_for(Duration::from_secs(60), || topic_counts(&tgt, &self.remote)
                .is_some_and(
                    |c| c.len() == PARTITIONS as usize && c.iter().sum::<i64>() > 0
                )),
            "{} never appeared on the target",
            self.remote
        );
    }

    /// Stops the load, waits until progress covers every source record, stops `processes`
    /// cleanly, checks the copy, reports it and fails on anything missing.
    fn finish(mut self, processes: Vec<StraitProcess>) -> Tally {
        let (acked, failed) = self.load.take().map(Load::stop).unwrap_or_default();
        assert!(acked > 0, "the load wrote nothing");
        let ends = self.source_ends();
        let logs = || {
            processes
                .iter()
                .map(|p| p.log_text())
                .map(|l| l.lines().rev().take(40).collect::<Vec<_>>().join("\n"))
                .collect::<Vec<_>>()
                .join("\n----\n")
        };
        let done = wait_for(Duration::from_secs(240), || {
            let progress = self.progress();
            ends.iter()
                .all(|(p, end)| *end == 0 || progress.get(p).is_some_and(|o| *o + 1 >= *end))
        });
        assert!(
            done,
            "{}: progress never covered the source (ends {ends:?}, progress {:?}); what each \
             process says of the topic's partitions:\n{}\ntransactions open on the target:\n{}\n\
             logs (newest first):\n{}",
            self.name,
            self.progress(),
            processes
                .iter()
                .map(|p| partitions_said(p, &self.topic))
                .collect::<Vec<_>>()
                .join("\n----\n"),
            self.open_transactions(),
            logs()
        );
        if let Some(dir) = std::env::var_os("STRAIT_FAULTS_LOGS") {
            for (i, p) in processes.iter().enumerate() {
                let path = std::path::Path::new(&dir).join(format!("{}-{i}.log", self.name));
                let _ = std::fs::write(path, p.log_text());
            }
        }
        for mut p in processes {
            if p.running() {
                p.signal("TERM");
                assert_eq!(p.wait(Duration::from_secs(90)), Some(0), "{}", p.log_text());
            }
        }
        let t = tally(&self.tb, &self.topic, &self.remote);
        assert!(
            t.records as u64 >= acked,
            "the source holds {} records but {acked} were acknowledged to the load ({failed} failed)",
            t.records
        );
        let (code, json) = self.flow.verify(&self.topic);
        if let Some(dir) = std::env::var_os("STRAIT_FAULTS_LOGS") {
            let path = std::path::Path::new(&dir).join(format!("{}-verify.json", self.name));
            let _ = std::fs::write(path, json.to_string());
        }
        let mut verify_missing = 0;
        for p in json["partitions"].as_array().into_iter().flatten() {
            verify_missing += p["missing"]["count"].as_u64().unwrap_or(0);
            let problems: Vec<&str> = p["problems"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str())
                .filter(|v| *v != "duplicated")
                .collect();
            assert!(
                problems.is_empty(),
                "{}: strait verify found {problems:?} (exit {code}): {p}",
                self.name
            );
        }
        report(self.name, t);
        assert_eq!(t.missing, 0, "{}: records missing on the target", self.name);
        assert_eq!(
            verify_missing, 0,
            "{}: strait verify found records missing",
            self.name
        );
        t
    }

    /// The source's end offset per partition.
    fn source_ends(&self) -> HashMap<i32, i64> {
        use rdkafka::consumer::{BaseConsumer, Consumer};
        let c: BaseConsumer = self.tb.plaintext_config(Cluster::Source).create().unwrap();
        (0..PARTITIONS)
            .map(|p| {
                let (_, high) = c
                    .fetch_watermarks(&self.topic, p, Duration::from_secs(30))
                    .unwrap();
                (p, high)
            })
            .collect()
    }

    /// Target partitions (the offsets topic's and the remote topic's) whose last stable offset
    /// is behind their end: a transaction open on them hides everything after it from
    /// read_committed readers, progress included. With the producers' state the broker keeps
    /// (the open transaction's start offset), it tells a partition that stopped committing
    /// from one whose commits are hidden behind a transaction left open.
    fn open_transactions(&self) -> String {
        use rdkafka::consumer::{BaseConsumer, Consumer};
        let mut committed_config = self.tb.plaintext_config(Cluster::Target);
        committed_config.set("isolation.level", "read_committed");
        let mut all_config = self.tb.plaintext_config(Cluster::Target);
        all_config.set("isolation.level", "read_uncommitted");
        let (Ok(committed), Ok(all)) = (
            committed_config.create::<BaseConsumer>(),
            all_config.create::<BaseConsumer>(),
        ) else {
            return "no consumer to look with".to_owned();
        };
        let partitions = (0..5)
            .map(|p| (self.flow.offsets_topic.as_str(), p))
            .chain((0..PARTITIONS).map(|p| (self.remote.as_str(), p)));
        let mut found = Vec::new();
        for (topic, p) in partitions {
            let timeout = Duration::from_secs(10);
            let stable = committed.fetch_watermarks(topic, p, timeout).map(|w| w.1);
            let end = all.fetch_watermarks(topic, p, timeout).map(|w| w.1);
            match (stable, end) {
                (Ok(stable), Ok(end)) if stable < end => {
                    let producers = common::describe_producers(&self.tb, Cluster::Target, topic, p)
                        .unwrap_or_else(|e| e);
                    found.push(format!(
                        "{topic}-{p}: last stable offset {stable}, end {end}; producers:\n{producers}"
                    ));
                }
                (Ok(_), Ok(_)) => {}
                (stable, end) => found.push(format!("{topic}-{p}: {stable:?} {end:?}")),
            }
        }
        if found.is_empty() {
            "none".to_owned()
        } else {
            found.join("\n")
        }
    }

    /// The flow's progress per partition of the topic.
    fn progress(&self) -> HashMap<i32, i64> {
        let store = strait::source::progress::ProgressStore::new(
            &self.tb.plaintext_config(Cluster::Target),
            &self.flow.offsets_topic,
            5,
            "MirrorSourceConnector",
            "source",
        )
        .unwrap();
        store
            .read_all(Duration::from_secs(30))
            .unwrap_or_default()
            .into_iter()
            .filter(|((t, _), _)| *t == self.topic)
            .map(|((_, p), o)| (p, o))
            .collect()
    }
}

/// The `/status` entries of `topic`'s partitions, from a process that may have exited.
fn partitions_said(p: &StraitProcess, topic: &str) -> String {
    let Some(addr) = p
        .log_text()
        .lines()
        .find_map(|l| Some(l.split_once("HTTP listener up addr=")?.1.trim().to_owned()))
    else {
        return "no HTTP listener".to_owned();
    };
    if std::net::TcpStream::connect(&addr).is_err() {
        return format!("{addr}: not answering (exited?)");
    }
    let (_, body) = common::http_get(&addr, "/status");
    let Ok(status) = serde_json::from_str::<serde_json::Value>(&body) else {
        return body;
    };
    // Whether the replication loop still turns tells a stalled partition from a stuck loop.
    let flows = status["flows"].as_array().into_iter().flatten();
    let loops = flows.clone().map(|f| {
        format!(
            "flow {}: state {}, replication loop last turned {} ms ago",
            f["name"], f["state"], f["replication_loop_ms_ago"]
        )
    });
    let partitions = flows
        .flat_map(|f| f["partitions"].as_array().into_iter().flatten())
        .filter(|e| e["topic"] == topic)
        .map(ToString::to_string);
    let said = loops.chain(partitions).collect::<Vec<_>>().join("\n");
    format!("{said}\nthread stacks:\n{}", p.thread_stacks())
}

/// Runs `fault` mid-stream with one Strait process.
fn with_one_process(s: Scenario, fault: impl FnOnce(&Scenario)) -> Tally {
    let p = s.process("strait");
    s.wait_remote();
    std::thread::sleep(Duration::from_secs(5));
    fault(&s);
    std::thread::sleep(Duration::from_secs(8));
    s.finish(vec![p])
}

/// Kills the broker leading partition 0 of `topic` on `cluster`, lets the flow run without it,
/// and starts it again.
fn kill_and_restart_leader(s: &Scenario, cluster: Cluster, topic: &str) {
    let leader = leader_of(&s.tb.plaintext_config(cluster), topic, 0);
    node(cluster, leader, "kill");
    std::thread::sleep(Duration::from_secs(12));
    node(cluster, leader, "start");
}

#[test]
fn source_partition_leader_killed_and_restarted() {
    let Some(s) = Scenario::start("source-leader-kill9", &[]) else {
        return;
    };
    let topic = s.topic.clone();
    with_one_process(s, |s| kill_and_restart_leader(s, Cluster::Source, &topic));
}

#[test]
fn target_partition_leader_killed_and_restarted() {
    target_leader_killed("target-leader-kill9", &[]);
}

#[test]
fn exactly_once_target_partition_leader_killed_and_restarted() {
    target_leader_killed("eos-target-leader-kill9", &[EXACTLY_ONCE]);
}

#[test]
fn librdkafka_writer_target_partition_leader_killed_and_restarted() {
    target_leader_killed("librdkafka-target-leader-kill9", &[LIBRDKAFKA_WRITER]);
}

fn target_leader_killed(name: &'static str, extra: &[(&str, &str)]) {
    let Some(s) = Scenario::start(name, extra) else {
        return;
    };
    let remote = s.remote.clone();
    let t = with_one_process(s, |s| kill_and_restart_leader(s, Cluster::Target, &remote));
    // The idempotent producer retries across the leader change without writing twice.
    assert_eq!(t.duplicates, 0, "duplicates after a target broker restart");
}

/// Brokers frozen (SIGSTOP) until dropped, so a failing scenario never leaves a cluster
/// frozen for the next one.
struct Frozen {
    cluster: Cluster,
    nodes: Vec<i32>,
}

impl Frozen {
    fn new(cluster: Cluster, nodes: &[i32]) -> Frozen {
        for n in nodes {
            node(cluster, *n, "stop");
        }
        Frozen {
            cluster,
            nodes: nodes.to_vec(),
        }
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        for n in &self.nodes {
            node(self.cluster, *n, "cont");
        }
    }
}

/// Freezes every broker of `cluster` for 45 s, past every client timeout, then thaws them.
fn freeze_cluster(cluster: Cluster) {
    let frozen = Frozen::new(cluster, &[1, 2, 3]);
    std::thread::sleep(Duration::from_secs(45));
    drop(frozen);
}

/// Freezes the broker leading partition 0 for longer than librdkafka's request timeout (30 s),
/// then thaws it: its session with the controller expires, leadership moves, requests to it
/// time out, and it comes back with a stale view.
fn freeze_leader(s: &Scenario, cluster: Cluster, topic: &str) {
    let leader = leader_of(&s.tb.plaintext_config(cluster), topic, 0);
    let frozen = Frozen::new(cluster, &[leader]);
    std::thread::sleep(Duration::from_secs(40));
    drop(frozen);
}

#[test]
fn target_broker_frozen_past_the_request_timeout() {
    target_broker_frozen("target-broker-sigstop", &[]);
}

#[test]
fn librdkafka_writer_target_broker_frozen_past_the_request_timeout() {
    target_broker_frozen("librdkafka-target-broker-sigstop", &[LIBRDKAFKA_WRITER]);
}

/// Commits of the transactions whose records the frozen broker leads (or whose coordinator it
/// is) outlast their timeout, and so do aborts while it stays frozen: librdkafka goes on with
/// them in the background, and the flow must wait them out, neither stopping nor taking a
/// commit still under way for failed. Partitions of live leaders are not watched here: a
/// transaction's commit holds every partition's reading until it ends (docs/exactly-once.md).
#[test]
fn exactly_once_target_broker_frozen_past_the_request_timeout() {
    let Some(s) = Scenario::start(
        "eos-target-broker-sigstop",
        &[EXACTLY_ONCE, LONG_TRANSACTIONS],
    ) else {
        return;
    };
    let remote = s.remote.clone();
    let t = with_one_process(s, |s| freeze_leader(s, Cluster::Target, &remote));
    assert_eq!(t.duplicates, 0, "duplicates with exactly-once");
}

/// Every target broker frozen for longer than a commit may take (30 s): commits time out with
/// their records unacknowledged, and the aborts after them too. librdkafka goes on with each in
/// the background; the flow must call it again until it ends, never take a commit still under
/// way for failed (aborting it then is refused) nor stop.
#[test]
fn exactly_once_target_cluster_frozen_past_the_commit_timeout() {
    let Some(s) = Scenario::start(
        "eos-target-cluster-sigstop",
        &[EXACTLY_ONCE, LONG_TRANSACTIONS],
    ) else {
        return;
    };
    let p = s.process("strait");
    s.wait_remote();
    std::thread::sleep(Duration::from_secs(5));
    freeze_cluster(Cluster::Target);
    std::thread::sleep(Duration::from_secs(8));
    let log = p.log_text();
    let name = s.name;
    let t = s.finish(vec![p]);
    assert_eq!(t.duplicates, 0, "duplicates with exactly-once");
    // A commit whose records the frozen target had not acknowledged yet waits for them: the
    // transaction is whole, and aborting it would only replicate it again.
    assert!(
        !log.contains("commit failed: Flush error"),
        "{name}: a commit waiting for acknowledgements was aborted:\n{log}"
    );
    // Which way each run went, for the table's reader: timing decides.
    println!(
        "[{name}] calls waited for again: {}, transactions aborted: {}, producers replaced: {}",
        log.matches("waiting for it again").count(),
        log.matches("transaction aborted").count(),
        log.matches("replacing it and reading").count()
    );
}

fn target_broker_frozen(name: &'static str, extra: &[(&str, &str)]) {
    let Some(s) = Scenario::start(name, extra) else {
        return;
    };
    with_one_process(s, freeze_target_leader_watching_the_others);
}

/// As [`freeze_leader`] on the target, checking that the partitions other brokers lead are
/// written while it is frozen. The controller fences the frozen broker (out of every ISR)
/// within its session timeout (9 s), after which their `acks=all` writes complete again; a
/// writer that made them wait on the frozen broker would hold them until its request to it
/// timed out (30 s). So between 14 s and 26 s into the freeze each of them must grow.
fn freeze_target_leader_watching_the_others(s: &Scenario) {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let config = s.tb.plaintext_config(Cluster::Target);
    let frozen_node = leader_of(&config, &s.remote, 0);
    let others: Vec<i32> = (1..PARTITIONS)
        .filter(|p| leader_of(&config, &s.remote, *p) != frozen_node)
        .collect();
    let consumer: BaseConsumer = config.create().unwrap();
    let ends = || -> Vec<i64> {
        others
            .iter()
            .map(|p| {
                consumer
                    .fetch_watermarks(&s.remote, *p, Duration::from_secs(10))
                    .unwrap_or_else(|e| panic!("end of {}-{p} on the target: {e}", s.remote))
                    .1
            })
            .collect()
    };
    ends();
    let frozen = Frozen::new(Cluster::Target, &[frozen_node]);
    std::thread::sleep(Duration::from_secs(14));
    let early = ends();
    std::thread::sleep(Duration::from_secs(12));
    let late = ends();
    std::thread::sleep(Duration::from_secs(14));
    drop(frozen);
    println!(
        "[{}] target node {frozen_node} frozen; partitions {others:?} of other leaders at 14 s {early:?}, at 26 s {late:?}",
        s.name
    );
    assert!(
        !others.is_empty(),
        "every partition is led by node {frozen_node}: nothing to watch"
    );
    for ((p, e), l) in others.iter().zip(&early).zip(&late) {
        assert!(
            l > e,
            "[{}] {}-{p}, led by a live broker, was not written between 14 s and 26 s into \
             the freeze of node {frozen_node} ({e} -> {l})",
            s.name,
            s.remote
        );
    }
}

/// The broker coordinating the flow's source consumer group frozen past the group session:
/// the session expires, the partitions are lost and come back from the progress on the target.
/// Progress follows the acknowledged records within a flush interval or two, so what is copied
/// again is a few seconds of the load at most (CI once found 17 052 duplicates, 21 s of it,
/// when the broker frozen in `source-broker-sigstop` was also the coordinator).
#[test]
fn source_group_coordinator_frozen_past_the_session_timeout() {
    let Some(s) = Scenario::start("source-coordinator-sigstop", &[]) else {
        return;
    };
    let group = s.flow.group.clone();
    let t = with_one_process(s, |s| {
        let coordinator = coordinator_of(&s.tb, Cluster::Source, &group);
        let frozen = Frozen::new(Cluster::Source, &[coordinator]);
        std::thread::sleep(Duration::from_secs(40));
        drop(frozen);
    });
    // RATE records a second in all: 10 s of the load, the session timeout and a few flushes.
    let bound = RATE as usize * 10;
    assert!(
        t.duplicates <= bound,
        "{} duplicates: more than 10 s of the load ({bound}) copied again",
        t.duplicates
    );
}

/// A source broker frozen past the request timeout, the flow's group session outlasting the
/// freeze: what is watched is the fetcher alone. (With the default 10 s session, a frozen
/// broker that coordinates the group, or one that holds up the coordinator's writes and the
/// heartbeats queued behind them, ends the session and the partitions wait for the group:
/// `source-coordinator-sigstop`.)
#[test]
fn source_broker_frozen_past_the_request_timeout() {
    let Some(s) = Scenario::start(
        "source-broker-sigstop",
        &[("source.consumer.session.timeout.ms", "60000")],
    ) else {
        return;
    };
    let mut stalled = Vec::new();
    with_one_process(s, |s| stalled = freeze_source_leader_watching_the_copy(s));
    // Checked after the copy is (its logs kept with STRAIT_FAULTS_LOGS).
    assert!(stalled.is_empty(), "{}", stalled.join("\n"));
}

/// As [`freeze_leader`] on the source, checking that what the source holds is copied while
/// the broker is frozen. Partitions other brokers lead are read all along; the frozen broker's
/// get new leaders once the controller fences it (9 s), and the fetcher, asking for leaders
/// again while its request to the frozen broker is overdue, reads them there. (Their new
/// records may wait longer: the load's producer has requests of its own out to the frozen
/// broker.) A fetcher that waited for the frozen broker's answer would copy nothing until its
/// request timed out (30 s). So 26 s into the freeze the target must hold every record the
/// source held at 14 s; returns the partitions where it did not.
fn freeze_source_leader_watching_the_copy(s: &Scenario) -> Vec<String> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let frozen_node = leader_of(&s.tb.plaintext_config(Cluster::Source), &s.topic, 0);
    let source: BaseConsumer = s.tb.plaintext_config(Cluster::Source).create().unwrap();
    let target: BaseConsumer = s.tb.plaintext_config(Cluster::Target).create().unwrap();
    // A partition whose end cannot be read now (its leader the frozen broker still) is None.
    let ends = |consumer: &BaseConsumer, topic: &str| -> Vec<Option<i64>> {
        (0..PARTITIONS)
            .map(|p| {
                consumer
                    .fetch_watermarks(topic, p, Duration::from_secs(5))
                    .ok()
                    .map(|w| w.1)
            })
            .collect()
    };
    let frozen = Frozen::new(Cluster::Source, &[frozen_node]);
    std::thread::sleep(Duration::from_secs(14));
    let held = ends(&source, &s.topic);
    std::thread::sleep(Duration::from_secs(12));
    let copied = ends(&target, &s.remote);
    std::thread::sleep(Duration::from_secs(14));
    drop(frozen);
    println!(
        "[{}] source node {frozen_node} frozen; the source's ends at 14 s {held:?}, the copy's \
         at 26 s {copied:?}",
        s.name
    );
    held.iter()
        .zip(&copied)
        .enumerate()
        .filter_map(|(p, (h, c))| match (h, c) {
            (Some(h), Some(c)) if c >= h => None,
            (None, _) => None,
            _ => Some(format!(
                "[{}] {}-{p}: the source held {h:?} records 14 s into the freeze of source node \
                 {frozen_node}, the copy {c:?} at 26 s",
                s.name, s.remote
            )),
        })
        .collect()
}

/// A whole cluster unreachable past every client timeout (a network partition between Strait
/// and it, as SIGSTOP leaves connections open and unanswered), then back: the flow waits it
/// out, neither stopping nor losing or skipping a record, and goes on by itself.
fn cluster_frozen(name: &'static str, cluster: Cluster) {
    let Some(s) = Scenario::start(name, &[]) else {
        return;
    };
    let mut p = s.process("strait");
    s.wait_remote();
    std::thread::sleep(Duration::from_secs(5));
    freeze_cluster(cluster);
    std::thread::sleep(Duration::from_secs(8));
    assert!(p.running(), "{name}: strait exited:\n{}", p.log_text());
    s.finish(vec![p]);
}

#[test]
fn target_cluster_frozen_past_the_request_timeout() {
    cluster_frozen("target-cluster-sigstop", Cluster::Target);
}

#[test]
fn source_cluster_frozen_past_the_request_timeout() {
    cluster_frozen("source-cluster-sigstop", Cluster::Source);
}

#[test]
fn partitions_reassigned_and_leaders_elected_on_both_clusters() {
    reassigned_and_elected("reassign-and-elect", &[]);
}

#[test]
fn librdkafka_writer_partitions_reassigned_and_leaders_elected_on_both_clusters() {
    reassigned_and_elected("librdkafka-reassign-and-elect", &[LIBRDKAFKA_WRITER]);
}

fn reassigned_and_elected(name: &'static str, extra: &[(&str, &str)]) {
    let Some(s) = Scenario::start(name, extra) else {
        return;
    };
    with_one_process(s, |s| {
        for (cluster, topic) in [(Cluster::Source, &s.topic), (Cluster::Target, &s.remote)] {
            // Partition 0's preferred leader becomes another broker, then leaders move there.
            let leader = leader_of(&s.tb.plaintext_config(cluster), topic, 0);
            let others: Vec<i32> = (1..=3).filter(|b| *b != leader).collect();
            reassign(&s.tb, cluster, topic, 0, &[others[0], others[1], leader]);
            elect_preferred_leaders(&s.tb, cluster, topic, PARTITIONS);
            let now = leader_of(&s.tb.plaintext_config(cluster), topic, 0);
            assert_ne!(now, leader, "leadership of {topic}-0 did not move");
        }
    });
}

#[test]
fn strait_killed_twenty_times_with_three_processes() {
    killed_twenty_times("strait-kill9-x20", &[]);
}

#[test]
fn exactly_once_strait_killed_twenty_times_with_three_processes() {
    // Each partition's next owner fences the killed one and aborts its open transaction.
    if let Some(t) = killed_twenty_times("eos-strait-kill9-x20", &[EXACTLY_ONCE]) {
        assert_eq!(t.duplicates, 0, "duplicates with exactly-once");
    }
}

#[test]
fn librdkafka_writer_strait_killed_twenty_times_with_three_processes() {
    killed_twenty_times("librdkafka-strait-kill9-x20", &[LIBRDKAFKA_WRITER]);
}

fn killed_twenty_times(name: &'static str, extra: &[(&str, &str)]) -> Option<Tally> {
    let s = Scenario::start(name, extra)?;
    let mut procs: Vec<StraitProcess> = (0..3).map(|i| s.process(&format!("p{i}-0"))).collect();
    s.wait_remote();
    let started = Instant::now();
    for round in 1..=20 {
        std::thread::sleep(Duration::from_secs(3));
        let i = round % 3;
        procs[i].signal("KILL");
        procs[i].wait(Duration::from_secs(10));
        procs[i] = s.process(&format!("p{i}-{round}"));
    }
    eprintln!("20 kills in {:?}", started.elapsed());
    std::thread::sleep(Duration::from_secs(5));
    Some(s.finish(procs))
}

#[test]
fn exactly_once_zombie_process_never_commits() {
    let Some(s) = Scenario::start("eos-zombie-sigstop", &[EXACTLY_ONCE]) else {
        return;
    };
    let mut zombie = s.process("zombie");
    s.wait_remote();
    let mut other = s.process("other");
    std::thread::sleep(Duration::from_secs(15));
    // Frozen past its session timeout (10 s): the other process takes every partition over and
    // fences its transactional ids while it still holds open transactions.
    zombie.signal("STOP");
    std::thread::sleep(Duration::from_secs(30));
    zombie.signal("CONT");
    std::thread::sleep(Duration::from_secs(15));
    // Fenced, it fails its flow and exits; otherwise it hands over as it learns it was
    // dropped. Either way, nothing it wrote after the takeover may be visible.
    if zombie.running() {
        zombie.signal("TERM");
    }
    let code = zombie.wait(Duration::from_secs(90));
    let log = zombie.log_text();
    eprintln!(
        "zombie exited {code:?}; fenced: {}; replaced its producers before learning it lost \
         the partitions: {}",
        log.contains("fenced") || log.contains("Fenced"),
        log.contains("another process took the partition over")
    );
    // The other process committed all along, so a zombie that replaces its fenced-off producers
    // (it may, before its consumer learns it lost the partitions) finds that progress and stops;
    // the other, fenced by it once, finds its own and goes on.
    assert!(
        !log.contains("going on from the last commit"),
        "the zombie took the other process's progress for its own:\n{log}"
    );
    assert!(
        other.running(),
        "the other process stopped:\n{}",
        other.log_text()
    );
    let t = s.finish(vec![other]);
    assert_eq!(t.duplicates, 0, "a zombie's records became visible");
}

#[test]
fn scaled_from_one_process_to_three_and_back() {
    scaled_one_three_one("scale-1-3-1", &[]);
}

#[test]
fn exactly_once_scaled_from_one_process_to_three_and_back() {
    scaled_one_three_one("eos-scale-1-3-1", &[EXACTLY_ONCE]);
}

fn scaled_one_three_one(name: &'static str, extra: &[(&str, &str)]) {
    let Some(s) = Scenario::start(name, extra) else {
        return;
    };
    let first = s.process("p0");
    s.wait_remote();
    std::thread::sleep(Duration::from_secs(6));
    let mut added: Vec<StraitProcess> = (1..3).map(|i| s.process(&format!("p{i}"))).collect();
    std::thread::sleep(Duration::from_secs(15));
    for p in &mut added {
        p.signal("TERM");
        assert_eq!(p.wait(Duration::from_secs(90)), Some(0), "{}", p.log_text());
    }
    std::thread::sleep(Duration::from_secs(6));
    let t = s.finish(vec![first]);
    // Clean hand-overs re-send nothing.
    assert_eq!(
        t.duplicates, 0,
        "duplicates after clean scale-out and scale-in"
    );
}

#[test]
fn stopped_within_the_grace_period_while_the_target_is_frozen() {
    let Some(s) = Scenario::start("stop-target-frozen", &[]) else {
        return;
    };
    let mut p = s.process("first");
    s.wait_remote();
    std::thread::sleep(Duration::from_secs(5));
    let frozen = Frozen::new(Cluster::Target, &[1, 2, 3]);
    std::thread::sleep(Duration::from_secs(3));
    let asked = Instant::now();
    p.signal("TERM");
    // Thaw the target whatever happens, or every later scenario would meet a frozen cluster.
    let stopped = wait_for(Duration::from_secs(85), || !p.running());
    let took = asked.elapsed();
    drop(frozen);
    assert!(
        stopped,
        "still running 85 s after SIGTERM: {}",
        p.log_text()
    );
    let code = p.wait(Duration::from_secs(1));
    // Kubernetes kills the pod 90 s after SIGTERM (deploy/): stopping must fit well inside.
    assert!(
        took < Duration::from_secs(75),
        "stopping took {took:?} with the target frozen; log:\n{}",
        p.log_text()
    );
    eprintln!("stopped in {took:?} (exit {code:?}) with the target frozen");
    let second = s.process("second");
    s.finish(vec![second]);
}

/// A produce quota on the target for the replicating user, lifted when dropped.
struct Throttle<'a>(&'a Testbed);

impl<'a> Throttle<'a> {
    fn on(tb: &'a Testbed, bytes_per_second: u32) -> Throttle<'a> {
        let rate = format!("producer_byte_rate={bytes_per_second}");
        kafka_tool(
            tb,
            Cluster::Target,
            "kafka.admin.ConfigCommand",
            &[
                "--alter",
                "--add-config",
                &rate,
                "--entity-type",
                "users",
                "--entity-name",
                "replicator",
            ],
        );
        Throttle(tb)
    }
}

impl Drop for Throttle<'_> {
    fn drop(&mut self) {
        kafka_tool(
            self.0,
            Cluster::Target,
            "kafka.admin.ConfigCommand",
            &[
                "--alter",
                "--delete-config",
                "producer_byte_rate",
                "--entity-type",
                "users",
                "--entity-name",
                "replicator",
            ],
        );
    }
}

#[test]
fn hand_over_waits_out_a_slow_target() {
    let Some(s) = Scenario::start("handover-slow-target", &[]) else {
        return;
    };
    let mut first = s.process("first");
    s.wait_remote();
    std::thread::sleep(Duration::from_secs(5));
    // The target throttles the replicating user's writes (a produce quota far below the
    // load), so records pile up in flight; then a second process joins and the first must
    // hand partitions over while their records are slow to be acknowledged. It waits them
    // out, then hands over: nothing missing, nothing sent twice.
    let throttle = Throttle::on(&s.tb, 2048);
    std::thread::sleep(Duration::from_secs(10));
    let second = s.process("second");
    std::thread::sleep(Duration::from_secs(75));
    drop(throttle);
    std::thread::sleep(Duration::from_secs(15));
    assert!(
        first.running(),
        "the first process gave up during the hand-over: {}",
        first.log_text()
    );
    let t = s.finish(vec![first, second]);
    assert_eq!(t.duplicates, 0, "a hand-over that waited re-sends nothing");
}

#[test]
fn hand_over_waits_out_a_target_without_quorum() {
    let Some(s) = Scenario::start("handover-target-no-quorum", &[]) else {
        return;
    };
    let mut first = s.process("first");
    s.wait_remote();
    std::thread::sleep(Duration::from_secs(5));
    // Two of the three target brokers freeze: acks=all writes cannot complete (no second
    // in-sync replica, no controller quorum to shrink the ISR), yet the third broker still
    // answers, so a second process can start and join. The first must hand partitions over
    // with records unacknowledged for over a minute: it waits them out, without failing and
    // without writing progress past them.
    let frozen = Frozen::new(Cluster::Target, &[2, 3]);
    let second = s.process("second");
    std::thread::sleep(Duration::from_secs(80));
    drop(frozen);
    std::thread::sleep(Duration::from_secs(15));
    assert!(
        first.running(),
        "the first process gave up during the hand-over: {}",
        first.log_text()
    );
    s.finish(vec![first, second]);
}
