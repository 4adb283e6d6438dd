//! Proves the test bed runs the real MirrorMaker 2: MM2 (dedicated mode, started with
//! `testbed/kafka.sh mm2 start`) replicates one topic from `source` to `target` over the
//! SASL_SSL listeners (JKS truststore for the source, PEM for the target, as in the seed), and
//! the remote topic `source.<topic>` holds every record.
//! Needs `testbed/kafka.sh up`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

use common::{Cluster, Mm2Process, Testbed, create_topic, mm2_properties, unique};

#[tokio::test]
async fn real_mirrormaker2_replicates_a_topic() {
    let tb = Testbed::get();
    let topic = unique("mm2proof");
    let source = tb.plaintext_config(Cluster::Source);
    create_topic(&source, &topic, 2).await;

    let producer: FutureProducer = source.create().unwrap();
    let n = 200;
    for i in 0..n {
        let key = format!("key-{i}");
        let value = format!("value-{i}");
        producer
            .send(
                FutureRecord::to(&topic)
                    .partition(i % 2)
                    .key(&key)
                    .payload(&value),
                Duration::from_secs(30),
            )
            .await
            .map_err(|(e, _)| e)
            .unwrap();
    }

    let _mm2 = Mm2Process::start(&mm2_properties(&tb, "source", &topic, ""));

    // Read the remote topic until every record arrived (MM2 needs a while to start).
    let remote = format!("source.{topic}");
    let mut ccfg = tb.plaintext_config(Cluster::Target);
    ccfg.set("group.id", unique("mm2proof-reader"));
    let consumer: BaseConsumer = ccfg.create().unwrap();
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut assigned = false;
    let mut got = Vec::new();
    while got.len() < n as usize && Instant::now() < deadline {
        if !assigned {
            let md = consumer
                .fetch_metadata(Some(&remote), Duration::from_secs(5))
                .unwrap();
            let parts = md.topics()[0].partitions().len();
            if parts == 0 {
                std::thread::sleep(Duration::from_millis(500));
                continue;
            }
            assert_eq!(parts, 2, "remote topic keeps the partition count");
            let mut tpl = TopicPartitionList::new();
            for p in 0..parts as i32 {
                tpl.add_partition_offset(&remote, p, Offset::Beginning)
                    .unwrap();
            }
            consumer.assign(&tpl).unwrap();
            assigned = true;
        }
        if let Some(m) = consumer.poll(Duration::from_millis(500)) {
            let m = m.unwrap();
            let key = String::from_utf8(m.key().unwrap().to_vec()).unwrap();
            let value = String::from_utf8(m.payload().unwrap().to_vec()).unwrap();
            got.push((m.partition(), key, value));
        }
    }
    assert_eq!(got.len(), n as usize, "records on {remote}");
    for (partition, key, value) in &got {
        let i: i32 = key.trim_start_matches("key-").parse().unwrap();
        assert_eq!(*value, format!("value-{i}"));
        assert_eq!(*partition, i % 2, "same partition as on the source");
    }
}
