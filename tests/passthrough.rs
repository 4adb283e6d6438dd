//! Compressed batch passthrough against real brokers (issue 15): batches fetched from the
//! source as stored (`kafka::fetch`), left out where read_committed says so, and written to
//! the target unchanged but for their producer fields (`writer::passthrough`), read back by
//! librdkafka record for record. Needs `testbed/kafka.sh up`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::scenario::create_topic_with;
use common::{Cluster, Listener, Outcomes, Rec, Testbed, produce_samples, read_topic, unique};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use strait::config::SaslMechanism;
use strait::kafka::fetch::{FetchSettings, Fetcher};
use strait::kafka::record_batch::RawBatch;
use strait::kafka::writer::{
    Codec, PartitionWrite, PassRefused, PassedBatch, Payload, Sender, SenderSettings, WireProducer,
    WriterSettings,
};

fn settings(codec: Codec) -> WriterSettings {
    WriterSettings {
        client_id: "strait-passthrough-test".to_owned(),
        codec,
        ..WriterSettings::default()
    }
}

/// A fetcher of the source over SASL_SSL.
fn fetcher(tb: &Testbed, read_committed: bool) -> Fetcher {
    let settings = FetchSettings {
        max_wait: Duration::from_millis(50),
        read_committed,
        ..FetchSettings::default()
    };
    let cluster = tb.connection(Cluster::Source, Listener::SaslSsl(SaslMechanism::Plain));
    Fetcher::new(
        &cluster,
        "strait-passthrough-test",
        Duration::from_secs(30),
        settings,
    )
    .expect("fetcher")
}

/// Every batch of `topic` to deliver, per partition, until each partition reaches the high
/// watermark its first answer gave.
fn fetch_everything(
    tb: &Testbed,
    topic: &str,
    partitions: i32,
    read_committed: bool,
) -> Vec<Vec<RawBatch>> {
    let mut f = fetcher(tb, read_committed);
    for p in 0..partitions {
        f.assign(topic, p, 0);
    }
    let mut out: Vec<Vec<RawBatch>> = vec![Vec::new(); partitions as usize];
    let mut ends: HashMap<i32, i64> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while (0..partitions).any(|p| f.position(topic, p).is_some()) {
        assert!(Instant::now() < deadline, "fetching {topic}: {f:?}");
        for got in f.fetch().expect("a round") {
            assert_eq!(got.error_code, 0, "partition {}", got.partition);
            let end = *ends.entry(got.partition).or_insert(got.high_watermark);
            assert_eq!(f.position(topic, got.partition), Some(got.next_offset));
            out[got.partition as usize].extend(got.batches);
            if got.next_offset >= end {
                f.revoke(topic, got.partition);
            }
        }
    }
    out
}

/// Committed and aborted transactions among plain records, on every partition.
fn produce_with_transactions(tb: &Testbed, topic: &str, partitions: i32) {
    let src = tb.plaintext_config(Cluster::Source);
    produce_samples(&src, topic, partitions, 0, 300);
    let mut pcfg = src.clone();
    pcfg.set("transactional.id", unique("passthrough-txn"))
        .set("compression.type", "lz4")
        .set("linger.ms", "20");
    let producer: ThreadedProducer<DefaultProducerContext> = pcfg.create().unwrap();
    let timeout = Duration::from_secs(30);
    producer.init_transactions(timeout).unwrap();
    for (round, commit) in [(0, true), (1, false), (2, true), (3, false)] {
        producer.begin_transaction().unwrap();
        for i in 0..30 {
            let value = format!(
                "txn-{round}-{i}-{}",
                if commit { "committed" } else { "aborted" }
            );
            let key = format!("k{i}");
            producer
                .send(
                    BaseRecord::<[u8], [u8]>::to(topic)
                        .partition(i % partitions)
                        .key(key.as_bytes())
                        .payload(value.as_bytes()),
                )
                .unwrap();
        }
        if commit {
            producer.commit_transaction(timeout).unwrap();
        } else {
            // Written first: an abort purges what librdkafka has not sent yet, and the
            // aborted records must be in the log for the fetch to leave them out.
            producer.flush(timeout).unwrap();
            producer.abort_transaction(timeout).unwrap();
        }
    }
    produce_samples(&src, topic, partitions, 300, 300);
}

#[test]
fn fetched_batches_pass_through_and_read_back_record_for_record() {
    let tb = Testbed::get();
    let (src, tgt) = (
        tb.plaintext_config(Cluster::Source),
        tb.plaintext_config(Cluster::Target),
    );
    let topic = unique("passthrough");
    let remote = format!("source.{topic}");
    create_topic_with(&src, &topic, 3, &[]);
    create_topic_with(&tgt, &remote, 3, &[]);
    produce_with_transactions(&tb, &topic, 3);

    let fetched = fetch_everything(&tb, &topic, 3, true);
    let transactional = fetched
        .iter()
        .flatten()
        .filter(|b| b.is_transactional())
        .count();
    assert!(
        transactional > 0,
        "committed transactions' batches are among those fetched"
    );
    let passed: Vec<Vec<PassedBatch>> = fetched
        .iter()
        .map(|part| {
            // Read from 0, each batch from where the one before it ended.
            let mut position = 0;
            part.iter()
                .map(|b| {
                    let passed = PassedBatch::new(b, position, Codec::Lz4)
                        .expect("an lz4 batch a producer wrote passes");
                    position = b.next_offset();
                    passed
                })
                .collect()
        })
        .collect();

    let mut producer = WireProducer::connect(
        &tb.connection(Cluster::Target, Listener::SaslSsl(SaslMechanism::Plain)),
        settings(Codec::Lz4),
    )
    .expect("connects");
    let rounds = passed.iter().map(Vec::len).max().unwrap();
    let mut written = [0i64; 3];
    for i in 0..rounds {
        let writes: Vec<PartitionWrite<'_>> = passed
            .iter()
            .enumerate()
            .filter_map(|(p, bs)| {
                bs.get(i).map(|b| PartitionWrite {
                    topic: &remote,
                    partition: p as i32,
                    records: Payload::Passed(b),
                })
            })
            .collect();
        let outcomes = producer.write(&writes);
        for (w, o) in writes.iter().zip(outcomes) {
            let p = w.partition as usize;
            let base = o.unwrap_or_else(|e| panic!("partition {p}, batch {i}: {e}"));
            assert_eq!(
                base, written[p],
                "partition {p}: batch {i} lands after the ones before"
            );
            written[p] += w.records.len() as i64;
        }
    }

    // librdkafka reads read_committed by default: the source as a consumer sees it.
    let want = read_topic(&src, &topic);
    let got = read_topic(&tgt, &remote);
    let value =
        |r: &Rec| String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned();
    for (p, (want, got)) in want.iter().zip(&got).enumerate() {
        assert!(want.iter().all(|(_, r)| !value(r).contains("aborted")));
        assert_eq!(
            want.iter()
                .filter(|(_, r)| value(r).contains("committed"))
                .count(),
            20,
            "partition {p}: two committed transactions of 10 records each"
        );
        assert_eq!(got.len(), want.len(), "partition {p}: record count");
        for (i, ((_, g), (o, w))) in got.iter().zip(want).enumerate() {
            assert_eq!(
                got[i].0, i as i64,
                "partition {p}: target offsets are dense"
            );
            assert_eq!(g, w, "partition {p}: the record from source offset {o}");
        }
    }
}

/// read_uncommitted delivers aborted transactions' records too (markers never): the same
/// topic read both ways differs by exactly the aborted records.
#[test]
fn read_uncommitted_keeps_aborted_batches_and_drops_markers_only() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let topic = unique("passthrough-uncommitted");
    create_topic_with(&src, &topic, 2, &[]);
    produce_with_transactions(&tb, &topic, 2);
    let count = |batches: &[Vec<RawBatch>]| -> i64 {
        batches
            .iter()
            .flatten()
            .map(|b| i64::from(b.record_count))
            .sum()
    };
    let committed = fetch_everything(&tb, &topic, 2, true);
    let uncommitted = fetch_everything(&tb, &topic, 2, false);
    assert!(uncommitted.iter().flatten().all(|b| !b.is_control()));
    assert_eq!(
        count(&uncommitted) - count(&committed),
        60,
        "two aborted transactions of 30"
    );
    assert_eq!(count(&committed), 600 + 60);
}

/// A fetch from inside a batch answers with the whole batch: its first records were read
/// before, which the position says.
#[test]
fn a_fetch_from_inside_a_batch_answers_from_the_batch_start() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let topic = unique("passthrough-inside");
    create_topic_with(&src, &topic, 1, &[]);
    produce_samples(&src, &topic, 1, 0, 50);
    let mut f = fetcher(&tb, false);
    f.assign(&topic, 0, 0);
    let whole = f.fetch().expect("a round").remove(0);
    let first = &whole.batches[0];
    assert!(
        first.record_count > 2,
        "linger.ms 20 puts several records in the first batch"
    );
    f.assign(&topic, 0, first.base_offset + 1);
    let inside = f.fetch().expect("a round").remove(0);
    assert_eq!(inside.batches[0].base_offset, first.base_offset);
    assert_eq!(inside.next_offset, whole.next_offset);
}

/// What the fetcher cannot decide comes back per partition, positions unchanged, and the
/// other partitions are read all the same; a revoked partition is read no more.
#[test]
fn partition_errors_are_handed_over_and_spare_the_other_partitions() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let topic = unique("passthrough-errors");
    create_topic_with(&src, &topic, 2, &[]);
    produce_samples(&src, &topic, 2, 0, 20);
    let missing = unique("passthrough-no-such-topic");
    let mut f = fetcher(&tb, true);
    f.assign(&topic, 0, 0);
    f.assign(&topic, 1, 1_000_000);
    f.assign(&topic, 7, 0);
    f.assign(&missing, 0, 0);
    let mut got: HashMap<(String, i32), (i16, i64)> = HashMap::new();
    for r in f.fetch().expect("a round") {
        let records: i64 = r.batches.iter().map(|b| i64::from(b.record_count)).sum();
        got.insert((r.topic, r.partition), (r.error_code, records));
    }
    assert_eq!(
        got[&(topic.clone(), 0)],
        (0, 10),
        "the readable partition is read"
    );
    assert_eq!(got[&(topic.clone(), 1)].0, 1, "OFFSET_OUT_OF_RANGE");
    assert_eq!(
        got[&(topic.clone(), 7)].0,
        3,
        "UNKNOWN_TOPIC_OR_PARTITION: past the count"
    );
    assert_eq!(
        got[&(missing.clone(), 0)].0,
        3,
        "UNKNOWN_TOPIC_OR_PARTITION"
    );
    assert_eq!(f.position(&topic, 0), Some(10));
    assert_eq!(
        f.position(&topic, 1),
        Some(1_000_000),
        "unchanged after an error"
    );
    f.revoke(&topic, 1);
    f.revoke(&topic, 7);
    f.revoke(&missing, 0);
    let again = f.fetch().expect("a round");
    assert!(
        again.iter().all(|r| r.topic == topic && r.partition == 0),
        "{again:?}"
    );
    assert_eq!(f.position(&topic, 1), None);
}

/// Batches that cannot pass are written again from their records: decoded here from what the
/// source broker stored (librdkafka's lz4 batches, transactions among them), they are the
/// records librdkafka's consumer reads, offsets, headers and timestamps included.
#[test]
fn fetched_batches_decode_to_the_records_librdkafka_reads() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let topic = unique("passthrough-decode");
    create_topic_with(&src, &topic, 3, &[]);
    produce_with_transactions(&tb, &topic, 3);
    let fetched = fetch_everything(&tb, &topic, 3, true);
    let want = read_topic(&src, &topic);
    for (p, (batches, want)) in fetched.iter().zip(&want).enumerate() {
        let mut got: Vec<(i64, Rec)> = Vec::new();
        for b in batches {
            let decoded = strait::kafka::record_batch::decode(b).expect("decompresses");
            for r in decoded.records().expect("well formed") {
                got.push((
                    r.offset,
                    Rec {
                        key: r.key.map(<[u8]>::to_vec),
                        value: r.value.map(<[u8]>::to_vec),
                        headers: r
                            .headers
                            .iter()
                            .map(|(k, v)| {
                                (
                                    String::from_utf8(k.to_vec()).unwrap(),
                                    v.map(<[u8]>::to_vec),
                                )
                            })
                            .collect(),
                        timestamp: r.timestamp,
                    },
                ));
            }
        }
        assert_eq!(got.len(), want.len(), "partition {p}: record count");
        assert_eq!(&got, want, "partition {p}");
    }
}

/// A broker fills an answer's size limit in request order, so a partition asked last could
/// wait until those before it run dry: each round turns the order, and every partition moves.
#[test]
fn partitions_take_turns_when_the_answer_limit_is_small() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let topic = unique("passthrough-turns");
    create_topic_with(&src, &topic, 2, &[]);
    for i in 0..4 {
        // Batches of their own: one flush each.
        produce_samples(&src, &topic, 2, i * 20, 20);
    }
    let cluster = tb.connection(Cluster::Source, Listener::SaslSsl(SaslMechanism::Plain));
    // Room for the first batch of the first partition with records, and nothing more.
    let settings = FetchSettings {
        max_bytes: 1,
        partition_max_bytes: 1,
        ..FetchSettings::default()
    };
    let mut f = Fetcher::new(
        &cluster,
        "strait-passthrough-test",
        Duration::from_secs(30),
        settings,
    )
    .expect("fetcher");
    f.assign(&topic, 0, 0);
    f.assign(&topic, 1, 0);
    for _ in 0..2 {
        f.fetch().expect("a round");
    }
    assert!(f.position(&topic, 0).unwrap() > 0, "{f:?}");
    assert!(
        f.position(&topic, 1).unwrap() > 0,
        "partition 1 moved in the first two rounds: {f:?}"
    );
}

/// A round asked within a byte limit (the room left in the in-flight budget) reads no more
/// than it, but for a first batch larger than the limit, which comes whole so that the
/// partition moves on; the next round without a limit reads the rest.
#[test]
fn a_round_within_a_byte_limit_reads_only_its_first_batch_beyond_it() {
    let tb = Testbed::get();
    let src = tb.plaintext_config(Cluster::Source);
    let topic = unique("passthrough-within");
    create_topic_with(&src, &topic, 2, &[]);
    for i in 0..4 {
        produce_samples(&src, &topic, 2, i * 20, 20);
    }
    let mut f = fetcher(&tb, false);
    f.assign(&topic, 0, 0);
    f.assign(&topic, 1, 0);
    let batches = |round: &[strait::kafka::fetch::Fetched]| -> usize {
        round.iter().map(|got| got.batches.len()).sum()
    };
    let first = f.fetch_within(1).expect("a round");
    assert_eq!(
        batches(&first),
        1,
        "one batch in a round within 1 byte: {f:?}"
    );
    let rest = f.fetch_within(usize::MAX).expect("a round");
    assert!(batches(&rest) >= 7, "the other batches in the next: {f:?}");
    for p in 0..2 {
        // 80 records over two partitions.
        assert_eq!(f.position(&topic, p), Some(40), "partition {p}");
    }
}

/// The sender takes passed batches in a partition's queue among records it encodes: each is a
/// batch of its own, in queue order, its records tagged by source offset; the target holds
/// the records in that order. One larger than the partition's batches may be is given back.
#[test]
fn the_sender_writes_passed_batches_in_order_among_records() {
    let tb = Testbed::get();
    let (src, tgt) = (
        tb.plaintext_config(Cluster::Source),
        tb.plaintext_config(Cluster::Target),
    );
    let topic = unique("passthrough-sender");
    let remote = format!("source.{topic}");
    create_topic_with(&src, &topic, 1, &[]);
    create_topic_with(&tgt, &remote, 1, &[]);
    for i in 0..3 {
        produce_samples(&src, &topic, 1, i * 50, 50);
    }
    let fetched = fetch_everything(&tb, &topic, 1, true).remove(0);
    assert!(fetched.len() >= 3, "several batches: {}", fetched.len());

    let outcomes = Arc::new(Outcomes::default());
    let settings = SenderSettings {
        writer: settings(Codec::Lz4),
        ..SenderSettings::default()
    };
    let cluster = tb.connection(Cluster::Target, Listener::SaslSsl(SaslMechanism::Plain));
    let sender = Sender::start(&cluster, settings, outcomes.clone()).expect("starts");
    let name: Arc<str> = remote.as_str().into();
    let own = |sender: &Sender, tag: i64| {
        let value = format!("own-{tag}");
        sender
            .send(
                &name,
                0,
                Some(b"k".as_slice()),
                Some(value.as_bytes()),
                std::iter::empty(),
                1_000,
                tag,
            )
            .expect("queued");
    };
    own(&sender, -1);
    own(&sender, -2);
    let mut position = 0;
    for b in &fetched {
        let passed = PassedBatch::new(b, position, Codec::Lz4).expect("passes");
        position = b.next_offset();
        sender
            .send_passed(&name, 0, passed, b.base_offset, b.max_timestamp)
            .unwrap_or_else(|e| panic!("queued: {e:?}"));
    }
    own(&sender, -3);
    let total = 3 + fetched
        .iter()
        .map(|b| b.record_count as usize)
        .sum::<usize>();
    let deadline = Instant::now() + Duration::from_secs(30);
    while outcomes
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|(_, t, _)| t.len())
        .sum::<usize>()
        < total
    {
        assert!(Instant::now() < deadline, "outcomes of every record");
        std::thread::sleep(Duration::from_millis(20));
    }
    let got = outcomes.0.lock().unwrap().clone();
    let mut next = 0;
    let mut tags = Vec::new();
    for (_, t, outcome) in &got {
        let base = outcome.clone().expect("written");
        assert_eq!(base, next, "batches land in queue order");
        next += t.len() as i64;
        tags.extend(t.iter().copied());
    }
    let source_offsets = fetched.iter().flat_map(|b| b.base_offset..b.next_offset());
    let want_tags: Vec<i64> = [-1, -2]
        .into_iter()
        .chain(source_offsets)
        .chain([-3])
        .collect();
    assert_eq!(tags, want_tags);

    let source = read_topic(&src, &topic).remove(0);
    let target = read_topic(&tgt, &remote).remove(0);
    assert_eq!(target.len(), total);
    let value = |r: &Rec| r.value.clone().unwrap_or_default();
    assert_eq!(value(&target[0].1), b"own--1");
    assert_eq!(value(&target[1].1), b"own--2");
    assert_eq!(value(&target[total - 1].1), b"own--3");
    for (i, (g, (_, w))) in target[2..total - 1].iter().zip(&source).enumerate() {
        assert_eq!(&g.1, w, "source record {i}");
    }

    let small = SenderSettings {
        writer: self::settings(Codec::Lz4),
        batch_max_bytes: 100,
        ..SenderSettings::default()
    };
    let sender = Sender::start(&cluster, small, outcomes.clone()).expect("starts");
    let passed = PassedBatch::new(&fetched[0], 0, Codec::Lz4).expect("passes");
    match sender.send_passed(&name, 0, passed, 0, 0) {
        Err(PassRefused::TooLarge(back)) => {
            assert_eq!(back.len(), fetched[0].record_count as usize)
        }
        other => panic!("a batch over batch.size is given back, not {other:?}"),
    }
}
