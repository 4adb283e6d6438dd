//! The producers Strait keeps for its own records (progress, offset syncs, heartbeats,
//! checkpoints, exactly-once partitions): every delivery outcome reaches its sender, and at
//! rest the thread serving them sleeps instead of spinning. Needs `testbed/kafka.sh up`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::Duration;

use common::{Cluster, Testbed, block_on, create_topic, read_topic, unique};
use strait::kafka::polled_producer::{AckContext, AckedRecord, PolledProducer};
use strait::status::checkpoint::now_ms;

/// The tests look at this process's threads by name: one at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// CPU ticks (1/100 s) used so far by this process's threads named `name`.
fn thread_ticks(name: &str) -> u64 {
    let mut ticks = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if &stat[open + 1..close] != name {
            continue;
        }
        // After the name: state, then 10 fields, then utime and stime.
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        ticks += fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    }
    ticks
}

#[test]
fn outcomes_reach_their_senders_and_the_serving_thread_sleeps_at_rest() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    common::init_tracing();
    let tb = Testbed::get();
    let mut config = tb.plaintext_config(Cluster::Target);
    config
        .set("acks", "all")
        .set("linger.ms", "0")
        .set("message.timeout.ms", "5000");
    let topic = unique("polled");
    block_on(create_topic(&config, &topic, 1));
    let producer = PolledProducer::create(&config, AckContext).unwrap();

    let send = |value: &[u8], partition: i32| {
        let acked = producer.send_acked(AckedRecord {
            topic: &topic,
            partition,
            key: b"k",
            value,
            // Now: a record stamped long ago is the broker's to delete at once (retention).
            timestamp: now_ms(),
        });
        match acked {
            Ok(ack) => block_on(ack).expect("the outcome is always handed back"),
            Err(e) => Err(e),
        }
    };
    send(b"first", 0).expect("the first record is acknowledged");

    // Idle: five seconds without an event. rdkafka's own polling thread spins through the
    // end of each 100 ms wait, about 45 ms of CPU in that time; this one parks.
    let before = thread_ticks("strait-reports");
    std::thread::sleep(Duration::from_secs(5));
    let idle = thread_ticks("strait-reports") - before;
    assert!(idle <= 1, "the serving thread used {idle} ticks at rest");

    // A report coming after the rest wakes it.
    send(b"second", 0).expect("a record after the rest is acknowledged");
    // A refused record's outcome comes back as an error, not never.
    let refused = send(b"nowhere", 7).expect_err("partition 7 does not exist");
    assert!(
        refused.to_string().contains("Unknown partition")
            || refused.to_string().contains("UnknownPartition"),
        "{refused}"
    );

    let got: Vec<Vec<u8>> = read_topic(&tb.plaintext_config(Cluster::Target), &topic)[0]
        .iter()
        .map(|(_, r)| r.value.clone().unwrap())
        .collect();
    assert_eq!(got, vec![b"first".to_vec(), b"second".to_vec()]);

    // Dropping stops the thread at once (rdkafka's waits out its poll).
    drop(producer);
    assert_eq!(
        threads_named("strait-reports"),
        0,
        "the serving thread is gone"
    );
}

/// How many of this process's threads are named `name`.
fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim_end() == name)
        })
        .count()
}

#[test]
fn flush_returns_once_every_outcome_is_served() {
    use rdkafka::producer::{BaseRecord, Producer};
    use strait::kafka::CountingContext;
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    common::init_tracing();
    let tb = Testbed::get();
    let mut config = tb.plaintext_config(Cluster::Target);
    // A long linger: flushing must send what lingers at once, not wait it out.
    config.set("acks", "all").set("linger.ms", "30000");
    let topic = unique("polled-flush");
    block_on(create_topic(&config, &topic, 3));
    let producer = PolledProducer::create(&config, CountingContext::default()).unwrap();
    for i in 0..500 {
        let value = format!("v{i}");
        producer
            .send(
                BaseRecord::<[u8], [u8]>::to(&topic)
                    .partition(i % 3)
                    .key(b"k")
                    .payload(value.as_bytes()),
            )
            .map_err(|(e, _)| e)
            .unwrap();
    }
    producer
        .flush(Duration::from_secs(20))
        .expect("every record acknowledged well before the linger ends");
    // The outcomes were served before flush returned, by the producer's own thread.
    assert_eq!(producer.context().acked(), 500);
    assert_eq!(producer.context().failed(), 0);
    let counts: usize = read_topic(&tb.plaintext_config(Cluster::Target), &topic)
        .iter()
        .map(Vec::len)
        .sum();
    assert_eq!(counts, 500);
}
