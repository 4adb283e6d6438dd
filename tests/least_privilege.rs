//! Least privilege, proven: the seed's flow (replication with topic config and ACL sync,
//! checkpoints with group offset sync, heartbeats; and again with exactly-once) runs as user
//! `strait-lp` holding exactly the ACLs of docs/permissions.md on a test bed whose authorizer
//! denies whatever no ACL allows, and `strait check` names each of those ACLs when it is taken
//! away.
//!
//! Needs a least-privilege test bed, which these tests refuse to run without:
//! `STRAIT_TESTBED_LEAST_PRIVILEGE=1 testbed/kafka.sh up`, then
//! `cargo test --test least_privilege -- --ignored` (CI runs them on a bed of their own).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminOptions, NewPartitions, ResourceSpecifier};
use strait::kafka::ffi::{
    self, AclBinding, AclBindingFilter, AclOperation, AclPermission, PatternType, ResourceType,
};

use common::scenario::set_topic_config;
use common::seed::seed_files;
use common::{
    Cluster, StraitProcess, Testbed, admin_client, block_on, commit_as_member, create_topic,
    produce_samples, read_topic, topic_counts, unique, wait_for,
};

/// The tests share ACLs on the bed's fixed names (the offset-syncs topic, `heartbeats`, the
/// cluster) and one of them takes ACLs away: they run one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const PRINCIPAL: &str = "User:strait-lp";
const TIMEOUT: Duration = Duration::from_secs(20);

/// Panics unless the bed denies by default: on a permissive bed these tests prove nothing.
fn least_privilege_bed() -> Testbed {
    let tb = Testbed::get();
    assert_eq!(
        tb.var("LEAST_PRIVILEGE"),
        "1",
        "these tests need a test bed that denies by default: \
         STRAIT_TESTBED_LEAST_PRIVILEGE=1 testbed/kafka.sh up (in a run folder of its own)"
    );
    tb
}

/// One documented ACL: on which cluster, for `PRINCIPAL`.
#[derive(Debug, Clone)]
struct Acl {
    cluster: Cluster,
    binding: AclBinding,
}

fn acl(
    cluster: Cluster,
    resource_type: ResourceType,
    name: &str,
    pattern_type: PatternType,
    operation: AclOperation,
) -> Acl {
    Acl {
        cluster,
        binding: AclBinding {
            resource_type,
            resource_name: name.to_owned(),
            pattern_type,
            principal: PRINCIPAL.to_owned(),
            host: "*".to_owned(),
            operation,
            permission: AclPermission::Allow,
        },
    }
}

/// The names of one run of the seed's flow.
struct Run {
    /// Makes the worker's names unique: `<run>-consumer-group`, `<run>-offsets-topic`.
    run: String,
    /// The replicated source topic (the seed's `topics`).
    topic: String,
    /// An application's consumer group on the source, checkpointed (the seed's `test.*`).
    app_group: String,
    /// The target cluster's alias (`useast` in the seed).
    target_alias: String,
}

impl Run {
    fn new(target_alias: &str) -> Run {
        let run = unique("lp");
        Run {
            topic: format!("test.{run}"),
            app_group: format!("test.{run}-app"),
            run,
            target_alias: target_alias.to_owned(),
        }
    }

    fn worker_group(&self) -> String {
        format!("{}-consumer-group", self.run)
    }

    /// The ACLs docs/permissions.md lists for the seed's flow, and only those. Strait's own
    /// source topic ACLs are PREFIXED: ACL sync copies LITERAL topic ACLs to the remote topics,
    /// which would grant Strait's user more on the target than listed here.
    fn documented(&self, exactly_once: bool) -> Vec<Acl> {
        use AclOperation::*;
        use Cluster::{Source, Target};
        use PatternType::{Literal, Prefixed};
        use ResourceType::{Cluster as ClusterRes, Group, Topic, TransactionalId};
        let offset_syncs = format!("mm2-offset-syncs.{}.internal", self.target_alias);
        let offsets_topic = format!("{}-offsets-topic", self.run);
        let duties = format!("{}-strait-duties", self.worker_group());
        let mut acls = vec![
            // source: replication
            acl(Source, Topic, &self.topic, Prefixed, Read),
            acl(Source, Topic, &self.topic, Prefixed, DescribeConfigs),
            acl(Source, Group, &self.worker_group(), Literal, Read),
            // source: offset syncs (written by replication, read by checkpoints)
            acl(Source, Topic, &offset_syncs, Literal, Create),
            acl(Source, Topic, &offset_syncs, Literal, Write),
            acl(Source, Topic, &offset_syncs, Literal, Read),
            // source: ACL sync reads the source's ACLs
            acl(Source, ClusterRes, "kafka-cluster", Literal, Describe),
            // source: checkpoints read the groups `test.*` (the seed's `groups`)
            acl(Source, Group, "test.", Prefixed, Describe),
            // source: the seed's heartbeat connector writes to the source; the heartbeats are
            // replicated like any topic
            acl(Source, Topic, "heartbeats", Prefixed, Create),
            acl(Source, Topic, "heartbeats", Prefixed, Write),
            acl(Source, Topic, "heartbeats", Prefixed, Read),
            acl(Source, Topic, "heartbeats", Prefixed, DescribeConfigs),
            // target: remote topics (and the checkpoints topic, under the same prefix)
            acl(Target, Topic, "uswest.", Prefixed, Create),
            acl(Target, Topic, "uswest.", Prefixed, Write),
            acl(Target, Topic, "uswest.", Prefixed, Read),
            acl(Target, Topic, "uswest.", Prefixed, Alter),
            acl(Target, Topic, "uswest.", Prefixed, AlterConfigs),
            // target: progress, and the duties election that subscribes to it
            acl(Target, Topic, &offsets_topic, Literal, Create),
            acl(Target, Topic, &offsets_topic, Literal, Write),
            acl(Target, Topic, &offsets_topic, Literal, Read),
            acl(Target, Group, &duties, Literal, Read),
            // target: ACL sync creates ACLs
            acl(Target, ClusterRes, "kafka-cluster", Literal, Alter),
            // target: group offset sync commits the translated offsets of the groups `test.*`
            acl(Target, Group, "test.", Prefixed, Read),
        ];
        if exactly_once {
            let prefix = format!("{}-mirror-source-connector", self.worker_group());
            acls.push(acl(Target, TransactionalId, &prefix, Prefixed, Write));
        }
        acls
    }
}

fn admin_config(tb: &Testbed, cluster: Cluster) -> ClientConfig {
    tb.plaintext_config(cluster)
}

/// Creates ACLs as the super user (the PLAINTEXT listener's ANONYMOUS).
fn grant(tb: &Testbed, acls: &[Acl]) {
    for cluster in [Cluster::Source, Cluster::Target] {
        let bindings: Vec<AclBinding> = acls
            .iter()
            .filter(|a| a.cluster == cluster)
            .map(|a| a.binding.clone())
            .collect();
        let admin = admin_client(&admin_config(tb, cluster));
        for r in ffi::create_acls(&admin, &bindings, TIMEOUT).unwrap() {
            r.unwrap();
        }
    }
}

/// Deletes exactly one ACL; panics unless it existed.
fn revoke(tb: &Testbed, a: &Acl) {
    let admin = admin_client(&admin_config(tb, a.cluster));
    let b = &a.binding;
    let filter = AclBindingFilter {
        resource_type: b.resource_type,
        resource_name: Some(b.resource_name.clone()),
        pattern_type: b.pattern_type,
        principal: Some(b.principal.clone()),
        host: Some(b.host.clone()),
        operation: b.operation,
        permission: b.permission,
    };
    assert_eq!(
        ffi::delete_acls(&admin, &filter, TIMEOUT).unwrap(),
        1,
        "{b}"
    );
}

/// Deletes every ACL of `PRINCIPAL` (and of `User:alice`, whose ACL ACL sync copies) on both
/// clusters: each test starts from nothing, so what earlier runs granted cannot make a
/// permission look needless or present, and ends leaving nothing behind.
fn revoke_all(tb: &Testbed) {
    for cluster in [Cluster::Source, Cluster::Target] {
        let admin = admin_client(&admin_config(tb, cluster));
        for principal in [PRINCIPAL, "User:alice"] {
            let filter = AclBindingFilter {
                principal: Some(principal.to_owned()),
                ..AclBindingFilter::any()
            };
            ffi::delete_acls(&admin, &filter, TIMEOUT).unwrap();
        }
    }
}

/// `strait check -v` on the files: exit code and output.
fn strait_check(files: &[PathBuf]) -> (i32, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_strait"));
    cmd.args(["check", "-v", "--timeout", "15"]);
    for f in files {
        cmd.arg("-f").arg(f);
    }
    let out = cmd.output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

/// One permission line of `strait check`: (cluster label, resource, operation).
type Line = (String, String, String);

/// The lines of `strait check` with the given verdict (`ok`, `MISSING`, `unknown`).
fn lines(output: &str, verdict: &str) -> BTreeSet<Line> {
    output
        .lines()
        .filter_map(|l| l.strip_prefix(verdict))
        .filter(|l| l.starts_with(' '))
        .map(|l| {
            let l = l.trim_start();
            let (cluster, rest) = l.split_once(": ").unwrap();
            let what = rest.split(" (needed by").next().unwrap();
            let (resource, op) = what.rsplit_once(' ').unwrap();
            (cluster.to_owned(), resource.to_owned(), op.to_owned())
        })
        .collect()
}

/// The `strait check` lines an ACL covers: same cluster, resource type and operation, and a
/// name the ACL's pattern matches.
fn covered_by(a: &Acl, granted: &BTreeSet<Line>) -> BTreeSet<Line> {
    let label = match a.cluster {
        Cluster::Source => "source 'uswest'",
        Cluster::Target => "target 'useast'",
    };
    let b = &a.binding;
    let op = strait::permissions::operation_name(b.operation);
    granted
        .iter()
        .filter(|(c, resource, o)| {
            c == label
                && o == op
                && match b.resource_type {
                    ResourceType::Cluster => resource == "Cluster",
                    ResourceType::TransactionalId => {
                        resource == &format!("TransactionalId '{}' (prefixed)", b.resource_name)
                    }
                    t => {
                        let kind = if t == ResourceType::Topic {
                            "Topic"
                        } else {
                            "Group"
                        };
                        resource
                            .strip_prefix(&format!("{kind} '"))
                            .and_then(|r| r.strip_suffix('\''))
                            .is_some_and(|name| match b.pattern_type {
                                PatternType::Prefixed => name.starts_with(&b.resource_name),
                                _ => name == b.resource_name,
                            })
                    }
                }
        })
        .cloned()
        .collect()
}

/// Prepares the source (topic with records, the application's committed offsets, an ACL of
/// another user for ACL sync to copy) and writes the seed's files for `strait-lp`.
async fn prepare(tb: &Testbed, r: &Run, dir: &std::path::Path) -> Vec<PathBuf> {
    let src = admin_config(tb, Cluster::Source);
    create_topic(&src, &r.topic, 3).await;
    produce_samples(&src, &r.topic, 3, 0, 600);
    for p in 0..3 {
        commit_as_member(&src, &r.app_group, &r.topic, &[(p, 100, "")]);
    }
    // Another user's LITERAL ACL on the replicated topic: ACL sync copies it to the remote one.
    let admin = admin_client(&src);
    let alice = AclBinding {
        resource_type: ResourceType::Topic,
        resource_name: r.topic.clone(),
        pattern_type: PatternType::Literal,
        principal: "User:alice".to_owned(),
        host: "*".to_owned(),
        operation: AclOperation::Read,
        permission: AclPermission::Allow,
    };
    for res in ffi::create_acls(&admin, &[alice], TIMEOUT).unwrap() {
        res.unwrap();
    }
    let mut files = seed_files(
        tb,
        dir,
        &r.topic,
        &r.run,
        "strait-lp",
        tb.var("LP_PASSWORD"),
    );
    // Checkpoints and group offset sync every 2 s instead of MM2's 60 s, so the test need not
    // wait minutes for the first synced offsets ...
    let connectors = dir.join("connectors.yaml");
    let text = std::fs::read_to_string(&connectors).unwrap().replace(
        "    sync.group.offsets.enabled: true\n",
        "    sync.group.offsets.enabled: true\n    emit.checkpoints.interval.seconds: 2\n    \
         sync.group.offsets.interval.seconds: 2\n",
    );
    // ... and topic configs every 2 s instead of every 10 minutes.
    let text = text.replacen(
        "    refresh.topics.interval.seconds: 2\n",
        "    refresh.topics.interval.seconds: 2\n    sync.topic.configs.interval.seconds: 2\n",
        1,
    );
    assert!(text.contains("sync.topic.configs.interval.seconds: 2"));
    assert!(text.contains("sync.group.offsets.interval.seconds: 2"));
    std::fs::write(&connectors, text).unwrap();
    if r.target_alias != "useast" {
        let cm = dir.join("useast-config.yaml");
        let text = std::fs::read_to_string(&cm)
            .unwrap()
            .replace("alias: 'useast'", &format!("alias: '{}'", r.target_alias));
        std::fs::write(&cm, text).unwrap();
    }
    files.sort_by_key(|f| !f.ends_with("kafka-connect.yaml"));
    files
}

/// Enables exactly-once in the seed's MirrorSourceConnector.
fn enable_exactly_once(files: &[PathBuf]) {
    let connectors = files
        .iter()
        .find(|f| f.ends_with("connectors.yaml"))
        .unwrap();
    let text = std::fs::read_to_string(connectors).unwrap().replacen(
        "    refresh.topics.interval.seconds: 2\n",
        "    refresh.topics.interval.seconds: 2\n    strait.exactly.once.enabled: true\n",
        1,
    );
    assert!(text.contains("strait.exactly.once.enabled"));
    std::fs::write(connectors, text).unwrap();
}

/// `-f <file>` for every file but the first (which `StraitProcess` gets).
fn more_args(files: &[PathBuf]) -> Vec<&str> {
    files[1..]
        .iter()
        .flat_map(|f| ["-f", f.to_str().unwrap()])
        .collect()
}

/// Runs the flow until the records, heartbeats, the checkpoint and the synced group offsets
/// are on the target; stops it cleanly. Returns its log.
async fn run_flow(tb: &Testbed, r: &Run, dir: &std::path::Path, files: &[PathBuf]) -> String {
    let more = more_args(files);
    let mut strait = StraitProcess::start_with(
        &files[0],
        &dir.join("strait.log"),
        &[],
        &[&more[..], &["--http-addr", "127.0.0.1:0"]].concat(),
        &[],
    );
    let tgt = admin_config(tb, Cluster::Target);
    let remote = format!("uswest.{}", r.topic);
    let (t, rem, group) = (tgt.clone(), remote.clone(), r.app_group.clone());
    let done = tokio::task::spawn_blocking(move || {
        wait_for(Duration::from_secs(120), || {
            let records = topic_counts(&t, &rem).is_some_and(|c| c.iter().sum::<i64>() >= 600);
            let beats = topic_counts(&t, "uswest.heartbeats").is_some_and(|c| c[0] > 0);
            let checkpoints = topic_counts(&t, "uswest.checkpoints.internal")
                .is_some_and(|c| c.iter().sum::<i64>() > 0);
            records && beats && checkpoints && synced_offsets(&t, &group, &rem).len() == 3
        })
    })
    .await
    .unwrap();
    let log = strait.log_text();
    assert!(
        done,
        "records, heartbeats, checkpoints or synced offsets missing on the target: {log}"
    );
    // The source grows and changes a config: the remote topic follows (Alter and AlterConfigs
    // on the target are used, not only checked).
    let src = admin_config(tb, Cluster::Source);
    let source_admin = admin_client(&src);
    let grown = source_admin
        .create_partitions(
            [&NewPartitions::new(&r.topic, 4)],
            &AdminOptions::new().operation_timeout(Some(TIMEOUT)),
        )
        .await
        .unwrap();
    for g in grown {
        g.unwrap();
    }
    let (s2, topic, t, rem) = (src.clone(), r.topic.clone(), tgt.clone(), remote.clone());
    let followed = tokio::task::spawn_blocking(move || {
        set_topic_config(&s2, &topic, "retention.ms", "123456789");
        produce_samples(&s2, &topic, 4, 600, 40);
        wait_for(Duration::from_secs(60), || {
            topic_counts(&t, &rem).is_some_and(|c| c.len() == 4 && c[3] >= 10)
                && topic_config(&t, &rem, "retention.ms").as_deref() == Some("123456789")
        })
    })
    .await
    .unwrap();
    assert!(
        followed,
        "the remote topic did not grow or take the source's config: {}",
        strait.log_text()
    );
    strait.signal("TERM");
    assert_eq!(
        strait.wait(Duration::from_secs(60)),
        Some(0),
        "{}",
        strait.log_text()
    );
    strait.log_text()
}

/// One config value of a topic, as the broker describes it.
fn topic_config(config: &ClientConfig, topic: &str, key: &str) -> Option<String> {
    let admin = admin_client(config);
    let described = block_on(admin.describe_configs(
        [&ResourceSpecifier::Topic(topic)],
        &AdminOptions::new().request_timeout(Some(TIMEOUT)),
    ))
    .ok()?;
    let resource = described.into_iter().next()?.ok()?;
    resource.get(key).and_then(|e| e.value.clone())
}

/// The group's committed offsets on the target for `topic`, by partition.
fn synced_offsets(tgt: &ClientConfig, group: &str, topic: &str) -> Vec<(i32, i64)> {
    let admin = admin_client(tgt);
    ffi::list_consumer_group_offsets(&admin, group, Duration::from_secs(10))
        .unwrap_or_default()
        .into_iter()
        .filter(|o| o.topic == topic && o.offset >= 0)
        .map(|o| (o.partition, o.offset))
        .collect()
}

/// What holds after a flow with exactly the documented ACLs: the copy equals the source, the
/// group's offsets were translated exactly, ACL sync copied the other user's ACL, and nothing
/// was refused on the way.
fn assert_flow_result(tb: &Testbed, r: &Run, log: &str) {
    let (src, tgt) = (
        admin_config(tb, Cluster::Source),
        admin_config(tb, Cluster::Target),
    );
    let remote = format!("uswest.{}", r.topic);
    let source = read_topic(&src, &r.topic);
    let target = read_topic(&tgt, &remote);
    assert_eq!(source.len(), target.len());
    for (p, (s, t)) in source.iter().zip(&target).enumerate() {
        let s: Vec<_> = s.iter().map(|(_, rec)| rec).collect();
        let t: Vec<_> = t.iter().map(|(_, rec)| rec).collect();
        assert!(s == t, "partition {p}: the copy differs from the source");
    }
    // The application's offset 100 was translated exactly: the target group resumes at the
    // copy of source record 100 (with exactly-once, transaction markers shift remote offsets).
    let offsets = synced_offsets(&tgt, &r.app_group, &remote);
    assert_eq!(offsets.len(), 3, "{offsets:?}");
    for (p, offset) in offsets {
        let p = usize::try_from(p).unwrap();
        let at_source = source[p]
            .iter()
            .find(|(o, _)| *o == 100)
            .map(|(_, rec)| rec);
        let at_target = target[p]
            .iter()
            .find(|(o, _)| *o >= offset)
            .map(|(_, rec)| rec);
        assert!(
            at_source.is_some() && at_source == at_target,
            "partition {p}: group offset {offset} on the target is not source offset 100"
        );
    }
    let target_admin = admin_client(&tgt);
    let filter = AclBindingFilter {
        resource_type: ResourceType::Topic,
        resource_name: Some(remote.clone()),
        principal: Some("User:alice".to_owned()),
        ..AclBindingFilter::any()
    };
    let copied = ffi::describe_acls(&target_admin, &filter, TIMEOUT).unwrap();
    assert!(
        copied.iter().any(|a| a.operation == AclOperation::Read),
        "ACL sync did not copy alice's Read to {remote}: {copied:?}"
    );
    for denied in ["AUTHORIZATION_FAILED", "not authorized", "Authorization"] {
        assert!(
            !log.contains(denied),
            "a request was refused ({denied}) with the documented ACLs:\n{log}"
        );
    }
    assert!(!log.contains(tb.var("LP_PASSWORD")), "a secret leaked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a least-privilege test bed: STRAIT_TESTBED_LEAST_PRIVILEGE=1 testbed/kafka.sh up"]
async fn the_seed_flow_runs_with_exactly_the_documented_acls_and_check_names_each_one() {
    let _serial = SERIAL.lock().await;
    let tb = least_privilege_bed();
    revoke_all(&tb);
    let r = Run::new("useast");
    let dir = tempfile::tempdir().unwrap();
    let files = prepare(&tb, &r, dir.path()).await;

    // A wrong password: the check fails naming the cluster and the user, not the password.
    let wrong_dir = tempfile::tempdir().unwrap();
    let wrong = "not-the-password-4711";
    let wrong_files = seed_files(&tb, wrong_dir.path(), &r.topic, &r.run, "strait-lp", wrong);
    let (code, out) = strait_check(&wrong_files);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("not checked") && out.contains("authentication failed as user 'strait-lp'"),
        "{out}"
    );
    assert!(!out.contains(wrong), "a secret leaked: {out}");

    // Before any ACL: the check fails, naming what the flow would trip over first.
    let (code, out) = strait_check(&files);
    assert_eq!(code, 1, "{out}");
    let missing = lines(&out, "MISSING");
    assert!(
        missing.contains(&(
            "source 'uswest'".to_owned(),
            format!("Group '{}'", r.worker_group()),
            "Read".to_owned()
        )),
        "{out}"
    );
    assert!(!out.contains(tb.var("LP_PASSWORD")), "a secret leaked");

    // With the documented ACLs, the check passes before the first run: nothing is missing
    // (what cannot be known before the remote topics exist is listed as such).
    let acls = r.documented(false);
    grant(&tb, &acls);
    let (code, out) = strait_check(&files);
    assert_eq!(code, 0, "{out}");
    assert!(lines(&out, "MISSING").is_empty(), "{out}");

    let log = run_flow(&tb, &r, dir.path(), &files).await;
    assert_flow_result(&tb, &r, &log);

    // After the run everything exists: every needed permission is verified and granted.
    let (code, out) = strait_check(&files);
    assert_eq!(code, 0, "{out}");
    assert!(lines(&out, "unknown").is_empty(), "{out}");
    let granted = lines(&out, "ok");

    // No more: each documented ACL is needed, and the check names exactly what it covers.
    let mut all_covered = BTreeSet::new();
    for a in &acls {
        let expected = covered_by(a, &granted);
        assert!(
            !expected.is_empty(),
            "the check does not need {}; granted:\n{out}",
            a.binding
        );
        all_covered.extend(expected.iter().cloned());
        revoke(&tb, a);
        let (code, without) = strait_check(&files);
        grant(&tb, std::slice::from_ref(a));
        assert_eq!(code, 1, "without {}:\n{without}", a.binding);
        assert_eq!(
            lines(&without, "MISSING"),
            expected,
            "without {}:\n{without}",
            a.binding
        );
    }
    // ... and together they cover everything the check asks for.
    assert_eq!(all_covered, granted);
    revoke_all(&tb);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a least-privilege test bed: STRAIT_TESTBED_LEAST_PRIVILEGE=1 testbed/kafka.sh up"]
async fn exactly_once_runs_with_the_documented_acls_and_check_names_the_transactional_id() {
    let _serial = SERIAL.lock().await;
    let tb = least_privilege_bed();
    revoke_all(&tb);
    let r = Run::new("useast");
    let dir = tempfile::tempdir().unwrap();
    let files = prepare(&tb, &r, dir.path()).await;
    enable_exactly_once(&files);
    let acls = r.documented(true);
    grant(&tb, &acls);
    let (code, out) = strait_check(&files);
    assert_eq!(code, 0, "{out}");

    let log = run_flow(&tb, &r, dir.path(), &files).await;
    assert_flow_result(&tb, &r, &log);
    // Transaction markers take offsets on the target: the copy was written transactionally.
    let remote = format!("uswest.{}", r.topic);
    let offsets: i64 = topic_counts(&admin_config(&tb, Cluster::Target), &remote)
        .unwrap()
        .iter()
        .sum();
    assert!(
        offsets > 600,
        "no transaction markers on {remote}: {offsets} offsets"
    );

    let (code, out) = strait_check(&files);
    assert_eq!(code, 0, "{out}");
    let prefix = format!("{}-mirror-source-connector", r.worker_group());
    let txn: Line = (
        "target 'useast'".to_owned(),
        format!("TransactionalId '{prefix}' (prefixed)"),
        "Write".to_owned(),
    );
    assert!(lines(&out, "ok").contains(&txn), "{out}");
    let eos_acl = acls.last().unwrap();
    revoke(&tb, eos_acl);
    let (code, without) = strait_check(&files);
    grant(&tb, std::slice::from_ref(eos_acl));
    assert_eq!(code, 1, "{without}");
    assert_eq!(
        lines(&without, "MISSING"),
        BTreeSet::from([txn]),
        "{without}"
    );

    // At flow start, a missing permission is logged by name (the flow goes on: ACL sync is
    // what lacks it here, and it only warns).
    let cluster_describe = acls
        .iter()
        .find(|a| a.cluster == Cluster::Source && a.binding.resource_type == ResourceType::Cluster)
        .unwrap();
    revoke(&tb, cluster_describe);
    let mut strait = StraitProcess::start_with(
        &files[0],
        &dir.path().join("start-check.log"),
        &[],
        &[&more_args(&files)[..], &["--http-addr", "127.0.0.1:0"]].concat(),
        &[],
    );
    let logged = wait_for(Duration::from_secs(60), || {
        strait.log_text().lines().any(|l| {
            l.contains("a permission this flow needs is missing")
                && l.contains("source 'uswest'")
                && l.contains("Cluster Describe")
        })
    });
    strait.signal("TERM");
    strait.wait(Duration::from_secs(60));
    assert!(
        logged,
        "no error naming Cluster Describe: {}",
        strait.log_text()
    );
    assert!(
        !strait.log_text().contains(tb.var("LP_PASSWORD")),
        "a secret leaked"
    );
    revoke_all(&tb);
}
