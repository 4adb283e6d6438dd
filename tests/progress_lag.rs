//! Progress on the target is where a restarted or reassigned flow reads on from: while the
//! flow runs it must follow the acknowledged records within a few flush intervals, or a crash
//! or a lost group session copies far more records twice than the flush interval promises.
//! Needs `testbed/kafka.sh up`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::{Duration, Instant};

use common::scenario::{Flow, Load, create_topic_with, progress_store};
use common::{Cluster, Testbed, topic_counts, unique, wait_until};

/// Records per second over all partitions, as the fault suite's load.
const RATE: u64 = 800;
const PARTITIONS: i32 = 6;
/// How far behind the source's end progress may be, in seconds of load: the tests' flush
/// interval is 1 s; the rest is room for a loaded machine.
const LAG_ALLOWED: Duration = Duration::from_secs(6);

#[test]
fn progress_follows_a_steady_load_while_the_flow_runs() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let tgt = tb.plaintext_config(Cluster::Target);
    let topic = unique("progresslag");
    let remote = format!("source.{topic}");
    create_topic_with(&src, &topic, PARTITIONS, &[]);
    let flow = Flow::new(&tb, &topic, &[]);
    let load = Load::start(&src, &topic, PARTITIONS, RATE);
    let mut p = flow.start("strait");
    wait_until(Duration::from_secs(60), "records replicated", || {
        topic_counts(&tgt, &remote).is_some_and(|c| c.iter().all(|n| *n > 100))
    });

    let store = progress_store(&flow, &tb);
    // Each sample: when it was taken and the source's end offsets then.
    let mut ends: Vec<(Instant, Vec<i64>)> = Vec::new();
    let started = Instant::now();
    let mut checked = 0;
    // The most records any partition's progress was behind its source end at a sample.
    let mut worst = 0;
    while started.elapsed() < Duration::from_secs(30) {
        let now = Instant::now();
        let end = topic_counts(&src, &topic).unwrap();
        let written = store.read_all(Duration::from_secs(20)).unwrap();
        let progress: Vec<Option<i64>> = (0..PARTITIONS)
            .map(|part| written.get(&(topic.clone(), part)).copied())
            .collect();
        // The source's end as it was LAG_ALLOWED before this sample: progress must be past it.
        if let Some((_, before)) = ends
            .iter()
            .rev()
            .find(|(at, _)| now.duration_since(*at) >= LAG_ALLOWED)
        {
            for (part, (done, end)) in progress.iter().zip(before).enumerate() {
                assert!(
                    done.is_some_and(|d| d + 1 >= *end),
                    "{topic}-{part}: progress {done:?} is behind the source's end of {} s \
                     ago ({end}); ends now {:?}, progress {progress:?}\n{}",
                    LAG_ALLOWED.as_secs(),
                    end,
                    p.log_text()
                );
            }
            checked += 1;
        }
        for (done, end) in progress.iter().zip(&end) {
            worst = worst.max(end - done.map_or(0, |d| d + 1));
        }
        ends.push((now, end));
        std::thread::sleep(Duration::from_secs(1));
    }
    eprintln!(
        "{checked} samples checked; progress at most {worst} records behind the source's end"
    );
    assert!(checked >= 5, "only {checked} samples checked");
    let (acked, failed) = load.stop();
    assert!(
        acked > 0 && failed == 0,
        "load: {acked} acked, {failed} failed"
    );
    p.signal("TERM");
    assert_eq!(p.wait(Duration::from_secs(60)), Some(0), "{}", p.log_text());
}
