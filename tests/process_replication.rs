//! Strait as users run it: the `strait` binary with a YAML configuration, killed with -9 in the
//! middle of a large replication and restarted, and several processes sharing one flow.
//! Needs `testbed/kafka.sh up`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::Duration;

use strait::source::progress::ProgressStore;

use common::{
    Cluster, StraitProcess, Testbed, assert_complete_in_order, create_topic, produce_samples,
    read_topic, strait_yaml, topic_counts, unique, wait_for, wait_until,
};

/// Records of `topic` the flow's progress says are replicated (sum over partitions of
/// offset + 1). Other topics the flow replicates (`heartbeats`) do not count.
fn progress_total(target: &rdkafka::ClientConfig, offsets_topic: &str, topic: &str) -> i64 {
    let Ok(store) = ProgressStore::new(target, offsets_topic, 5, "MirrorSourceConnector", "source")
    else {
        return 0;
    };
    store
        .read_all(Duration::from_secs(10))
        .map(|p| {
            p.iter()
                .filter(|((t, _), _)| t == topic)
                .map(|(_, o)| o + 1)
                .sum()
        })
        .unwrap_or(0)
}

fn total(config: &rdkafka::ClientConfig, topic: &str) -> i64 {
    topic_counts(config, topic).map_or(0, |c| c.iter().sum())
}

/// Every source partition is on the target, in order; returns the duplicates (at-least-once).
fn verify(tb: &Testbed, topic: &str) -> usize {
    let src = read_topic(&tb.plaintext_config(Cluster::Source), topic);
    let tgt = read_topic(
        &tb.plaintext_config(Cluster::Target),
        &format!("source.{topic}"),
    );
    assert_eq!(src.len(), tgt.len(), "partition count of source.{topic}");
    src.iter()
        .zip(&tgt)
        .enumerate()
        .map(|(p, (s, t))| assert_complete_in_order(s, t, &format!("{topic}/{p}")))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_and_restart_loses_nothing() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let tgt = tb.plaintext_config(Cluster::Target);
    let topic = unique("kill9");
    create_topic(&src, &topic, 4).await;
    let n: u64 = 300_000;
    produce_samples(&src, &topic, 4, 0, n);

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("strait.yaml");
    let offsets_topic = unique("kill9-offsets");
    std::fs::write(
        &config,
        strait_yaml(&tb, &topic, &unique("kill9-group"), &offsets_topic),
    )
    .unwrap();
    // The first process reads with librdkafka's consumer under a tiny in-flight budget, so
    // that the kill lands mid-way however fast the machine is (Strait's own reader passes
    // whole batches, each past such a budget); the second reads with Strait's own, from the
    // progress the first wrote.
    let slow_config = dir.path().join("slow.yaml");
    std::fs::write(
        &slow_config,
        std::fs::read_to_string(&config).unwrap().replace(
            "    replication.factor: 1\n",
            "    replication.factor: 1\n    strait.max.in.flight.bytes: 32768\n    \
             strait.source.reader: librdkafka\n",
        ),
    )
    .unwrap();
    let remote = format!("source.{topic}");

    // Kill it once some progress is on the target and replication is still under way.
    let mut first = StraitProcess::start(&slow_config, &dir.path().join("first.log"));
    let t = tgt.clone();
    let (offsets, watched) = (offsets_topic.clone(), topic.clone());
    let progressed = tokio::task::spawn_blocking(move || {
        let mut seen = 0;
        let found = wait_for(Duration::from_secs(120), || {
            seen = progress_total(&t, &offsets, &watched);
            seen >= (n / 5) as i64
        });
        found.then_some(seen)
    })
    .await
    .unwrap();
    first.signal("KILL");
    first.wait(Duration::from_secs(10));
    let Some(progress_at_kill) = progressed else {
        panic!("no progress written: {}", first.log_text());
    };
    // Produce requests the broker had already received still land after the kill: count once
    // the target has settled.
    let mut at_kill = total(&tgt, &remote);
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let now = total(&tgt, &remote);
        if now == at_kill {
            break;
        }
        at_kill = now;
    }
    assert!(
        at_kill < n as i64,
        "killed too late to test anything ({at_kill} of {n})"
    );

    let mut second = StraitProcess::start(&config, &dir.path().join("second.log"));
    let (t, r) = (tgt.clone(), remote.clone());
    let done = tokio::task::spawn_blocking(move || {
        // Re-sent records count too, so wait for the target to stop growing as well.
        let mut last = -1;
        wait_for(Duration::from_secs(180), || {
            let now = total(&t, &r);
            let settled = now >= n as i64 && now == last;
            last = now;
            if !settled {
                std::thread::sleep(Duration::from_secs(2));
            }
            settled
        })
    })
    .await
    .unwrap();
    assert!(
        done,
        "not every record arrived after the restart ({} of {n}); log:\n{}",
        total(&tgt, &remote),
        second.log_text()
    );
    second.signal("TERM");
    assert_eq!(
        second.wait(Duration::from_secs(60)),
        Some(0),
        "clean stop: {}",
        second.log_text()
    );

    let duplicates = tokio::task::spawn_blocking(move || verify(&Testbed::get(), &topic))
        .await
        .unwrap();
    eprintln!(
        "kill -9 at {at_kill} of {n} records: every record on the target, {duplicates} duplicates"
    );
    // A restart re-sends only what followed the last progress written: at most what was on
    // the target at the kill minus the progress already seen before it.
    eprintln!("progress seen before the kill: {progress_at_kill} records");
    assert!(
        duplicates as i64 <= at_kill - progress_at_kill,
        "{duplicates} duplicates, but only {} records were past the progress seen",
        at_kill - progress_at_kill
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_share_a_flow_and_hand_over_on_stop() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let tgt = tb.plaintext_config(Cluster::Target);
    let topic = unique("scale");
    create_topic(&src, &topic, 6).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("strait.yaml");
    std::fs::write(
        &config,
        strait_yaml(
            &tb,
            &topic,
            &unique("scale-group"),
            &unique("scale-offsets"),
        ),
    )
    .unwrap();
    let remote = format!("source.{topic}");

    let mut procs: Vec<StraitProcess> = (0..3)
        .map(|i| StraitProcess::start(&config, &dir.path().join(format!("p{i}.log"))))
        .collect();
    produce_samples(&src, &topic, 6, 0, 30_000);
    let (t, r) = (tgt.clone(), remote.clone());
    tokio::task::spawn_blocking(move || {
        wait_until(Duration::from_secs(120), "the first batch", || {
            total(&t, &r) >= 30_000
        })
    })
    .await
    .unwrap();
    // Each process got a share of the six partitions.
    let owned = |p: &StraitProcess| p.log_text().matches("replicating partition").count();
    tokio::task::spawn_blocking({
        let logs: Vec<_> = procs.iter().map(|p| p.log.clone()).collect();
        move || {
            wait_until(
                Duration::from_secs(60),
                "all three processes to own partitions",
                || {
                    logs.iter().all(|l| {
                        std::fs::read_to_string(l)
                            .unwrap_or_default()
                            .contains("replicating partition")
                    })
                },
            )
        }
    })
    .await
    .unwrap();

    // Stop one: its partitions move to the others, with nothing lost.
    let mut stopped = procs.remove(0);
    stopped.signal("TERM");
    assert_eq!(
        stopped.wait(Duration::from_secs(60)),
        Some(0),
        "{}",
        stopped.log_text()
    );
    assert!(owned(&stopped) > 0);
    produce_samples(&src, &topic, 6, 30_000, 30_000);
    let (t, r) = (tgt.clone(), remote.clone());
    tokio::task::spawn_blocking(move || {
        wait_until(Duration::from_secs(120), "the second batch", || {
            total(&t, &r) >= 60_000
        })
    })
    .await
    .unwrap();
    for p in &mut procs {
        assert!(p.running(), "{}", p.log_text());
        p.signal("TERM");
    }
    for p in &mut procs {
        assert_eq!(p.wait(Duration::from_secs(60)), Some(0), "{}", p.log_text());
    }
    let duplicates = tokio::task::spawn_blocking(move || verify(&Testbed::get(), &topic))
        .await
        .unwrap();
    // Clean hand-overs write progress before letting go: nothing is sent twice.
    assert_eq!(duplicates, 0, "duplicates after clean hand-overs");
}

/// The target is rebuilt empty (remote topic and offsets topic gone) while the source group
/// still says everything was replicated: Strait replicates everything again and says why,
/// instead of trusting the group and skipping the data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_rebuilt_empty_is_replicated_again_not_skipped() {
    use rdkafka::admin::{AdminClient, AdminOptions};
    use rdkafka::client::DefaultClientContext;

    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let tgt = tb.plaintext_config(Cluster::Target);
    let topic = unique("rebuilt");
    create_topic(&src, &topic, 2).await;
    produce_samples(&src, &topic, 2, 0, 1_000);
    let offsets_topic = unique("rebuilt-offsets");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("strait.yaml");
    std::fs::write(
        &config,
        strait_yaml(&tb, &topic, &unique("rebuilt-group"), &offsets_topic),
    )
    .unwrap();
    let remote = format!("source.{topic}");

    let mut first = StraitProcess::start(&config, &dir.path().join("first.log"));
    let (t, r) = (tgt.clone(), remote.clone());
    tokio::task::spawn_blocking(move || {
        wait_until(Duration::from_secs(60), "the first copy", || {
            total(&t, &r) >= 1_000
        })
    })
    .await
    .unwrap();
    first.signal("TERM");
    assert_eq!(
        first.wait(Duration::from_secs(60)),
        Some(0),
        "{}",
        first.log_text()
    );

    // "Rebuild" the target: its copy and the flow's offsets topic are gone.
    let admin: AdminClient<DefaultClientContext> = tgt.create().unwrap();
    for r in admin
        .delete_topics(&[&remote, &offsets_topic], &AdminOptions::new())
        .await
        .unwrap()
    {
        r.unwrap();
    }
    let (t, r) = (tgt.clone(), remote.clone());
    tokio::task::spawn_blocking(move || {
        wait_until(Duration::from_secs(30), "the deletion", || {
            topic_counts(&t, &r).is_none()
        })
    })
    .await
    .unwrap();

    let mut second = StraitProcess::start(&config, &dir.path().join("second.log"));
    let (t, r) = (tgt.clone(), remote.clone());
    let done = tokio::task::spawn_blocking(move || {
        wait_for(Duration::from_secs(60), || total(&t, &r) >= 1_000)
    })
    .await
    .unwrap();
    assert!(done, "not replicated again: {}", second.log_text());
    second.signal("TERM");
    assert_eq!(
        second.wait(Duration::from_secs(60)),
        Some(0),
        "{}",
        second.log_text()
    );
    assert!(
        second
            .log_text()
            .contains("the target was rebuilt or its offsets topic replaced"),
        "the restart must say why it replicates again: {}",
        second.log_text()
    );
    let dups = tokio::task::spawn_blocking(move || verify(&Testbed::get(), &topic))
        .await
        .unwrap();
    assert_eq!(dups, 0);
}
