//! Reading replication progress from Kafka Connect's offsets topic: written transactionally
//! (Connect with exactly-once), left with an open transaction (read past at once with
//! at-least-once, waited for with exactly-once), shared with many connectors.
//! Needs `testbed/kafka.sh up`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::{Duration, Instant};

use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use common::scenario::create_topic_with;
use common::{Cluster, Testbed, unique};
use strait::source::progress::ProgressStore;
use strait::source::tracker::DueProgress;
use strait::wire::{SourcePartition, source_offset_key, source_offset_value};

const CONNECTOR: &str = "MirrorSourceConnector";

fn due(topic: &str, partition: i32, offset: i64) -> DueProgress {
    DueProgress {
        slot: 0,
        topic: topic.into(),
        partition,
        offset,
    }
}

fn key(topic: &str, partition: i32) -> Vec<u8> {
    source_offset_key(
        CONNECTOR,
        &SourcePartition {
            cluster: "source".to_owned(),
            topic: topic.to_owned(),
            partition,
        },
    )
}

#[test]
fn a_transactional_offsets_topic_with_an_open_transaction_is_read_promptly() {
    let tb = Testbed::get();
    let target = tb.plaintext_config(Cluster::Target);
    let topic = unique("txoffsets");
    create_topic_with(&target, &topic, 1, &[]);
    // Progress written as Kafka Connect writes it with exactly-once: in transactions, so
    // commit markers follow the records; then a transaction left open.
    let mut cfg = target.clone();
    cfg.set("transactional.id", unique("connect-eos"));
    let producer: BaseProducer = cfg.create().unwrap();
    producer.init_transactions(Duration::from_secs(30)).unwrap();
    producer.begin_transaction().unwrap();
    for (p, o) in [(0, 41), (1, 7)] {
        let (k, v) = (key("orders", p), source_offset_value(o));
        producer
            .send(BaseRecord::to(&topic).partition(0).key(&k).payload(&v))
            .unwrap();
    }
    producer
        .commit_transaction(Duration::from_secs(30))
        .unwrap();
    producer.begin_transaction().unwrap();
    let (k, v) = (key("orders", 0), source_offset_value(999));
    producer
        .send(BaseRecord::to(&topic).partition(0).key(&k).payload(&v))
        .unwrap();
    producer.flush(Duration::from_secs(30)).unwrap();

    let store = ProgressStore::new(&target, &topic, 1, CONNECTOR, "source").unwrap();
    let started = Instant::now();
    let read = store
        .read_for(
            &[("orders".to_owned(), 0), ("orders".to_owned(), 1)],
            Duration::from_secs(15),
        )
        .expect("the committed progress, not a timeout");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(read.get(&("orders".to_owned(), 0)), Some(&41), "{read:?}");
    assert_eq!(read.get(&("orders".to_owned(), 1)), Some(&7), "{read:?}");

    // Exactly-once reads wait for the open transaction: whether it commits decides the newest
    // progress, and taking the older one would replicate its records twice.
    let exact = ProgressStore::new(&target, &topic, 1, CONNECTOR, "source")
        .unwrap()
        .reading_to_high_watermark(true);
    let wanted = [("orders".to_owned(), 0)];
    let read = std::thread::scope(|s| {
        let reading = s.spawn(|| exact.read_for(&wanted, Duration::from_secs(60)));
        std::thread::sleep(Duration::from_secs(3));
        assert!(!reading.is_finished(), "the exact read did not wait");
        producer
            .commit_transaction(Duration::from_secs(30))
            .unwrap();
        reading.join().unwrap()
    })
    .expect("the progress committed behind the open transaction");
    assert_eq!(read.get(&wanted[0]), Some(&999), "{read:?}");
    drop(producer);
}

#[test]
fn a_shared_offsets_topic_is_read_where_the_keys_are_and_then_only_followed() {
    let tb = Testbed::get();
    let target = tb.plaintext_config(Cluster::Target);
    let topic = unique("sharedoffsets");
    create_topic_with(&target, &topic, 5, &[]);
    // Many other connectors' progress in the same topic.
    let others = ProgressStore::new(&target, &topic, 5, "SomeOtherConnector", "elsewhere").unwrap();
    let many: Vec<DueProgress> = (0..1000)
        .map(|i| due(&format!("other-{i}"), 0, i))
        .collect();
    others.write(&many, Duration::from_secs(30)).unwrap();

    // The process that owned the partition writes its progress; the next owner reads it.
    let previous = ProgressStore::new(&target, &topic, 5, CONNECTOR, "source").unwrap();
    previous
        .write(&[due("orders", 3, 10)], Duration::from_secs(30))
        .unwrap();
    let next = ProgressStore::new(&target, &topic, 5, CONNECTOR, "source").unwrap();
    let wanted = [("orders".to_owned(), 3)];
    let read = next.read_for(&wanted, Duration::from_secs(30)).unwrap();
    assert_eq!(read.get(&wanted[0]), Some(&10));
    let first = next.records_read();
    assert!(
        first < 600,
        "read {first} records: only the partition holding the key should be read, not all 1001"
    );

    // Handed back and forth: a newer write is seen, and only what was appended is read.
    previous
        .write(&[due("orders", 3, 20)], Duration::from_secs(30))
        .unwrap();
    let read = next.read_for(&wanted, Duration::from_secs(30)).unwrap();
    assert_eq!(read.get(&wanted[0]), Some(&20));
    assert_eq!(
        next.records_read() - first,
        1,
        "only the new record is read"
    );
}
