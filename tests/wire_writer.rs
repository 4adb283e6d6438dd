//! The target writer of Strait's own (`src/kafka/writer/`) against real brokers: what it
//! writes is read back by librdkafka byte for byte, over every listener and credential kind
//! of the test bed, and what a broker refuses is reported per partition without touching the
//! others. Needs `testbed/kafka.sh up`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use common::scenario::{create_topic_with, incompressible};
use std::sync::Arc;
use std::time::Duration;

use common::{
    ClientKeystore, Cluster, Listener, Outcomes, Rec, Testbed, producer_ids, read_topic,
    sample_record, unique, wait_until,
};
use strait::config::{ClusterConnection, SaslMechanism, Secret};
use strait::kafka::writer::batch::Records;
use strait::kafka::writer::{
    Codec, OutRecord, PartitionWrite, Payload, Sender, SenderSettings, WireProducer, WriterError,
    WriterSettings,
};

fn settings(codec: Codec) -> WriterSettings {
    WriterSettings {
        client_id: "strait-wire-writer-test".to_owned(),
        codec,
        ..WriterSettings::default()
    }
}

/// A record's headers as the writer borrows them.
type Headers<'a> = Vec<(&'a [u8], Option<&'a [u8]>)>;

/// Header slices of `rec`, in order (the writer borrows them).
fn header_slices(rec: &Rec) -> Headers<'_> {
    rec.headers
        .iter()
        .map(|(k, v)| (k.as_bytes(), v.as_deref()))
        .collect()
}

/// Writes `recs[p]` to partition `p` of `topic`, every partition in one call; returns the
/// outcome per partition.
fn write_all(
    producer: &mut WireProducer,
    topic: &str,
    recs: &[Vec<Rec>],
) -> Vec<Result<i64, WriterError>> {
    let headers: Vec<Vec<Headers<'_>>> = recs
        .iter()
        .map(|part| part.iter().map(header_slices).collect())
        .collect();
    let out: Vec<Records> = recs
        .iter()
        .zip(&headers)
        .map(|(part, hs)| {
            part.iter()
                .zip(hs)
                .map(|(r, h)| OutRecord {
                    key: r.key.as_deref(),
                    value: r.value.as_deref(),
                    headers: h,
                    timestamp: r.timestamp,
                })
                .collect()
        })
        .collect();
    let writes: Vec<PartitionWrite<'_>> = out
        .iter()
        .enumerate()
        .map(|(p, records)| PartitionWrite {
            topic,
            partition: i32::try_from(p).unwrap(),
            records: Payload::Encoded(records),
        })
        .collect();
    producer.write(&writes)
}

/// Sample records for `partitions` partitions, `per_partition` each, numbered from `first`
/// (null keys, tombstones, empty values, duplicate and null headers among them).
fn samples(partitions: usize, per_partition: u64, first: u64) -> Vec<Vec<Rec>> {
    (0..partitions)
        .map(|p| {
            (0..per_partition)
                .map(|i| sample_record(first + i * partitions as u64 + p as u64))
                .filter(|r| r.value.as_ref().is_none_or(|v| v.len() < 100_000))
                .collect()
        })
        .collect()
}

#[test]
fn records_arrive_byte_for_byte_with_every_codec_one_request_per_broker() {
    let tb = Testbed::get();
    let target = tb.plaintext_config(Cluster::Target);
    let topic = unique("wire-writer-codecs");
    create_topic_with(&target, &topic, 3, &[]);
    let mut expected: Vec<Vec<(i64, Rec)>> = vec![Vec::new(); 3];
    let mut first = 0;
    for codec in Codec::ALL {
        let mut producer = WireProducer::connect(
            &tb.connection(Cluster::Target, Listener::Plaintext),
            settings(codec),
        )
        .expect("connects");
        let (id, _) = producer.producer_id();
        assert!(id >= 0, "an idempotent producer id, got {id}");
        // Two writes with the same producer: the second continues each partition's sequence.
        for _ in 0..2 {
            let recs = samples(3, 40, first);
            first += 200;
            let outcomes = write_all(&mut producer, &topic, &recs);
            for (p, (outcome, part)) in outcomes.into_iter().zip(recs).enumerate() {
                let base = outcome.unwrap_or_else(|e| panic!("{codec:?}, partition {p}: {e}"));
                assert_eq!(
                    base,
                    expected[p].len() as i64,
                    "{codec:?}: partition {p}'s batch lands after what was written before"
                );
                let at = expected[p].len() as i64;
                expected[p].extend(
                    part.into_iter()
                        .enumerate()
                        .map(|(i, r)| (at + i as i64, r)),
                );
            }
        }
    }
    let got = read_topic(&target, &topic);
    assert_eq!(got.len(), 3);
    for (p, (got, want)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(got.len(), want.len(), "partition {p}: record count");
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g, w, "partition {p}: the record at offset {}", w.0);
        }
    }
}

/// LZ4 frames whose blocks do not compress (stored as they are) and a batch of many blocks:
/// the target broker, which reads every compressed batch it is given through Java's LZ4
/// reader, takes them, and librdkafka reads the records back byte for byte.
#[test]
fn lz4_batches_of_incompressible_and_compressible_blocks_read_back() {
    let tb = Testbed::get();
    let target = tb.plaintext_config(Cluster::Target);
    let topic = unique("wire-writer-lz4-blocks");
    create_topic_with(&target, &topic, 1, &[]);
    let mut producer = WireProducer::connect(
        &tb.connection(Cluster::Target, Listener::Plaintext),
        settings(Codec::Lz4),
    )
    .expect("connects");
    let record = |i: usize, value: Vec<u8>| Rec {
        key: Some(format!("k-{i}").into_bytes()),
        value: Some(value),
        headers: vec![("n".to_owned(), Some(i.to_be_bytes().to_vec()))],
        timestamp: strait::status::checkpoint::now_ms() + i as i64,
    };
    let recs = vec![vec![
        record(0, incompressible(150_000)),
        record(1, b"compressible ".repeat(20_000)),
        record(2, incompressible(70_000)),
        record(3, b"tail".to_vec()),
    ]];
    let outcomes = write_all(&mut producer, &topic, &recs);
    assert_eq!(outcomes.len(), 1);
    let base = outcomes
        .into_iter()
        .next()
        .expect("one outcome")
        .expect("written");
    assert_eq!(base, 0);
    let got = read_topic(&target, &topic);
    let want: Vec<(i64, Rec)> = recs[0]
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, r)| (i as i64, r))
        .collect();
    assert_eq!(got[0].len(), want.len(), "record count");
    for (g, w) in got[0].iter().zip(&want) {
        assert_eq!(g, w, "the record at offset {}", w.0);
    }
}

#[test]
fn every_listener_and_credential_kind_of_the_bed_is_spoken() {
    let tb = Testbed::get();
    let target = tb.plaintext_config(Cluster::Target);
    let topic = unique("wire-writer-security");
    create_topic_with(&target, &topic, 1, &[]);
    let cases: Vec<(&str, ClusterConnection)> = vec![
        (
            "SASL_SSL PLAIN",
            tb.connection(Cluster::Target, Listener::SaslSsl(SaslMechanism::Plain)),
        ),
        (
            "SASL_SSL SCRAM-SHA-256",
            tb.connection(
                Cluster::Target,
                Listener::SaslSsl(SaslMechanism::ScramSha256),
            ),
        ),
        (
            "SASL_SSL SCRAM-SHA-512",
            tb.connection(
                Cluster::Target,
                Listener::SaslSsl(SaslMechanism::ScramSha512),
            ),
        ),
        (
            "mTLS, PKCS#12 keystore",
            tb.mtls_connection(Cluster::Target, Some(ClientKeystore::Pkcs12)),
        ),
        (
            "mTLS, JKS keystore",
            tb.mtls_connection(Cluster::Target, Some(ClientKeystore::Jks)),
        ),
        (
            "mTLS, encrypted PEM key",
            tb.mtls_connection(Cluster::Target, Some(ClientKeystore::PemFile)),
        ),
    ];
    let mut expected = Vec::new();
    for (i, (what, conn)) in cases.iter().enumerate() {
        let mut producer = WireProducer::connect(conn, settings(Codec::Lz4))
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let rec = Rec {
            key: Some(what.as_bytes().to_vec()),
            value: Some(format!("written over {what}").into_bytes()),
            headers: vec![("via".to_owned(), Some(what.as_bytes().to_vec()))],
            timestamp: 1_700_000_000_000 + i as i64,
        };
        let outcome = write_all(
            &mut producer,
            &topic,
            std::slice::from_ref(&vec![rec.clone()]),
        );
        assert_eq!(
            outcome[0].as_ref().map_err(ToString::to_string),
            Ok(&(i as i64)),
            "{what}"
        );
        expected.push((i as i64, rec));
    }
    assert_eq!(read_topic(&target, &topic)[0], expected);
}

#[test]
fn a_wrong_password_is_named_by_mechanism_and_broker_and_never_shown() {
    let tb = Testbed::get();
    let wrong = "Wr0ng-Pa55word-for-the-test";
    for mechanism in [
        SaslMechanism::Plain,
        SaslMechanism::ScramSha256,
        SaslMechanism::ScramSha512,
    ] {
        let mut conn = tb.connection(Cluster::Target, Listener::SaslSsl(mechanism));
        if let Some(sasl) = conn.sasl.as_mut() {
            sasl.password = Secret::new(wrong);
        }
        let e = WireProducer::connect(&conn, settings(Codec::None)).expect_err("refused");
        let (shown, debug) = (e.to_string(), format!("{e:?}"));
        assert!(
            matches!(e, WriterError::Sasl { .. }),
            "{mechanism:?}: a SASL error, got {shown}"
        );
        assert!(shown.contains(mechanism.as_str()), "{shown}");
        assert!(shown.contains(&conn.bootstrap_servers), "{shown}");
        assert!(!shown.contains(wrong) && !debug.contains(wrong), "{debug}");
        assert!(!e.is_retriable(), "{shown}");
    }
}

#[test]
fn refusals_are_per_partition_and_spare_the_others_and_the_sequence() {
    let tb = Testbed::get();
    let target = tb.plaintext_config(Cluster::Target);
    let topic = unique("wire-writer-refusals");
    create_topic_with(&target, &topic, 2, &[("max.message.bytes", "2000")]);
    let missing = unique("wire-writer-missing");
    let mut producer = WireProducer::connect(
        &tb.connection(Cluster::Target, Listener::Plaintext),
        settings(Codec::None),
    )
    .expect("connects");

    let big = incompressible(5000);
    let record = |value: &'static [u8]| OutRecord {
        key: None,
        value: Some(value),
        headers: &[],
        timestamp: 1_700_000_000_000,
    };
    let too_large: Records = [OutRecord {
        value: Some(&big),
        ..record(b"")
    }]
    .into_iter()
    .collect();
    let small: Records = [record(b"small")].into_iter().collect();
    let outcomes = producer.write(&[
        PartitionWrite {
            topic: &topic,
            partition: 0,
            records: Payload::Encoded(&too_large),
        },
        PartitionWrite {
            topic: &topic,
            partition: 1,
            records: Payload::Encoded(&small),
        },
        PartitionWrite {
            topic: &topic,
            partition: 7,
            records: Payload::Encoded(&small),
        },
        PartitionWrite {
            topic: &missing,
            partition: 0,
            records: Payload::Encoded(&small),
        },
    ]);
    let shown: Vec<String> = outcomes
        .iter()
        .map(|o| match o {
            Ok(offset) => format!("written at {offset}"),
            Err(e) => e.to_string(),
        })
        .collect();
    let e = outcomes[0].as_ref().expect_err("too large");
    assert!(
        shown[0].contains(&format!("{topic}-0")) && shown[0].contains("error code 10"),
        "{}",
        shown[0]
    );
    assert!(!e.is_retriable(), "{}", shown[0]);
    assert_eq!(outcomes[1].as_ref().ok(), Some(&0), "{}", shown[1]);
    assert!(
        shown[2].contains(&format!("{topic}-7")) && shown[2].contains("has 2 partitions"),
        "{}",
        shown[2]
    );
    assert!(
        shown[3].contains(&format!("{missing}-0")) && shown[3].contains("does not exist"),
        "{}",
        shown[3]
    );

    // The refused batch did not take sequence numbers: the partition's next batch is taken.
    let fits: Records = [record(b"fits now")].into_iter().collect();
    let outcome = producer.write(&[PartitionWrite {
        topic: &topic,
        partition: 0,
        records: Payload::Encoded(&fits),
    }]);
    assert_eq!(outcome[0].as_ref().map_err(ToString::to_string), Ok(&0));
    let got = read_topic(&target, &topic);
    let values =
        |p: usize| -> Vec<Vec<u8>> { got[p].iter().filter_map(|(_, r)| r.value.clone()).collect() };
    assert_eq!(values(0), [b"fits now".to_vec()]);
    assert_eq!(values(1), [b"small".to_vec()]);
}

/// A producer that gave its sequences up (a batch's outcome was unknown) writes nothing more
/// under its producer id: the sender asks a new one (on its metadata link, not on its own
/// thread) before anything goes out, and the records land in order under that id alone.
#[test]
fn after_giving_up_its_sequences_the_sender_writes_under_a_new_producer_id() {
    let tb = Testbed::get();
    let target = tb.plaintext_config(Cluster::Target);
    let topic = unique("wire-new-id");
    create_topic_with(&target, &topic, 2, &[]);
    let mut producer = WireProducer::connect(
        &tb.connection(Cluster::Target, Listener::Plaintext),
        settings(Codec::Lz4),
    )
    .expect("connects");
    let (old_id, _) = producer.producer_id();
    producer.abandon_sequences();
    let outcomes = Arc::new(Outcomes::default());
    let sender = Sender::with_producer(
        producer,
        SenderSettings {
            writer: settings(Codec::Lz4),
            ..SenderSettings::default()
        },
        outcomes.clone(),
    )
    .expect("starts");
    let recs = samples(2, 300, 0);
    let name: Arc<str> = topic.as_str().into();
    for (p, part) in recs.iter().enumerate() {
        for (i, r) in part.iter().enumerate() {
            sender
                .send(
                    &name,
                    i32::try_from(p).unwrap(),
                    r.key.as_deref(),
                    r.value.as_deref(),
                    header_slices(r).into_iter(),
                    r.timestamp,
                    i64::try_from(i).unwrap(),
                )
                .expect("queued");
        }
    }
    let reported = |p: i32| -> usize {
        outcomes
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|o| o.0 == p)
            .map(|o| o.1.len())
            .sum()
    };
    wait_until(Duration::from_secs(60), "every record's outcome", || {
        (0..2).all(|p| reported(p) == recs[p as usize].len())
    });
    drop(sender);
    for (p, tags, outcome) in outcomes.0.lock().unwrap().iter() {
        let base = outcome
            .clone()
            .unwrap_or_else(|e| panic!("partition {p}: {e}"));
        assert_eq!(
            base, tags[0],
            "partition {p}: a batch lands where its records belong"
        );
    }
    let got = read_topic(&target, &topic);
    for (p, (got, want)) in got.iter().zip(&recs).enumerate() {
        let got: Vec<&Rec> = got.iter().map(|(_, r)| r).collect();
        let want: Vec<&Rec> = want.iter().collect();
        assert_eq!(got, want, "partition {p}");
        let ids = producer_ids(&tb, Cluster::Target, &topic, i32::try_from(p).unwrap());
        assert_eq!(
            ids.len(),
            1,
            "partition {p}: one producer wrote it: {ids:?}"
        );
        assert_ne!(
            ids[0],
            old_id.to_string(),
            "partition {p}: written under the producer id given up"
        );
    }
}

/// A topic the target does not know yet is waited for, not refused: records queued for a
/// remote topic made a moment later are written once it exists, in order, none refused
/// (refusing them at once let later batches land ahead of their retry: duplicates in CI).
#[test]
fn a_topic_made_a_moment_after_its_records_are_queued_is_waited_for() {
    let tb = Testbed::get();
    let target = tb.plaintext_config(Cluster::Target);
    let topic = unique("wire-topic-later");
    let outcomes = Arc::new(Outcomes::default());
    let sender = Sender::start(
        &tb.connection(Cluster::Target, Listener::Plaintext),
        SenderSettings {
            writer: settings(Codec::Lz4),
            ..SenderSettings::default()
        },
        outcomes.clone(),
    )
    .expect("starts");
    let name: Arc<str> = topic.as_str().into();
    for i in 0..50i64 {
        let value = format!("v{i}");
        sender
            .send(
                &name,
                0,
                None,
                Some(value.as_bytes()),
                std::iter::empty(),
                1_000 + i,
                i,
            )
            .expect("queued");
    }
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        outcomes.0.lock().unwrap().is_empty(),
        "no outcome while the topic is missing"
    );
    create_topic_with(&target, &topic, 1, &[]);
    wait_until(Duration::from_secs(30), "every record's outcome", || {
        outcomes
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|o| o.1.len())
            .sum::<usize>()
            == 50
    });
    for (_, tags, outcome) in outcomes.0.lock().unwrap().iter() {
        assert!(outcome.is_ok(), "records {tags:?}: {outcome:?}");
    }
    let values: Vec<Vec<u8>> = read_topic(&target, &topic)[0]
        .iter()
        .filter_map(|(_, r)| r.value.clone())
        .collect();
    let want: Vec<Vec<u8>> = (0..50).map(|i| format!("v{i}").into_bytes()).collect();
    assert_eq!(values, want);
}
