//! First end-to-end proof: Strait's client glue reaches both real Kafka clusters over every
//! listener of the test bed, and records survive a round trip with every field intact.
//! Needs `testbed/kafka.sh up`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, OwnedHeaders, Timestamp};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

use common::{Cluster, Listener, Testbed, create_topic, unique};
use strait::config::SaslMechanism;
use strait::kafka::{ClientRole, ConnectError, check_connection, client_config};

/// One record as the test writes and expects it back.
#[derive(Debug, Clone, PartialEq)]
struct Rec {
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(String, Option<Vec<u8>>)>,
    timestamp: i64,
}

fn sample_records() -> Vec<Rec> {
    // Recent timestamps: the brokers' retention would delete records from long ago.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap();
    let h = |k: &str, v: Option<&[u8]>| (k.to_owned(), v.map(<[u8]>::to_vec));
    vec![
        Rec {
            key: Some(b"k1".to_vec()),
            value: Some(b"v1".to_vec()),
            // Order and duplicate keys must survive; a header may have no value.
            headers: vec![h("h1", Some(b"a")), h("h1", Some(b"b")), h("h2", None)],
            timestamp: now - 3,
        },
        Rec {
            key: None,
            value: Some(b"no key".to_vec()),
            headers: vec![],
            timestamp: now - 2,
        },
        Rec {
            key: Some(b"tombstone".to_vec()),
            value: None,
            headers: vec![h("why", Some(b"deleted"))],
            timestamp: now - 1,
        },
        Rec {
            key: Some(vec![0, 159, 146, 150]),
            value: Some(Vec::new()),
            headers: vec![h("bin", Some(&[0xff, 0x00, 0x01]))],
            timestamp: now - 86_400_000,
        },
    ]
}

async fn round_trip(cluster: Cluster, listener: Listener) {
    let tb = Testbed::get();
    let conn = tb.connection(cluster, listener);
    let topic = unique("roundtrip");
    create_topic(
        &client_config(&conn, "strait-test", ClientRole::TargetAdmin).unwrap(),
        &topic,
        1,
    )
    .await;

    let mut pcfg = client_config(&conn, "strait-test", ClientRole::ReplicationProducer).unwrap();
    pcfg.set("acks", "all").set("enable.idempotence", "true");
    let producer: FutureProducer = pcfg.create().unwrap();
    let sent = sample_records();
    for r in &sent {
        let mut headers = OwnedHeaders::new();
        for (k, v) in &r.headers {
            headers = headers.insert(Header {
                key: k,
                value: v.as_deref(),
            });
        }
        let mut rec: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&topic)
            .partition(0)
            .timestamp(r.timestamp)
            .headers(headers);
        if let Some(k) = &r.key {
            rec = rec.key(k.as_slice());
        }
        if let Some(v) = &r.value {
            rec = rec.payload(v.as_slice());
        }
        producer
            .send(rec, Duration::from_secs(30))
            .await
            .map_err(|(e, _)| e)
            .unwrap();
    }

    let mut ccfg = client_config(&conn, "strait-test", ClientRole::ReplicationConsumer).unwrap();
    ccfg.set("group.id", unique("roundtrip-group"))
        .set("enable.auto.commit", "false");
    let consumer: BaseConsumer = ccfg.create().unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();

    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.len() < sent.len() && Instant::now() < deadline {
        let Some(m) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let m = m.unwrap();
        assert_eq!(m.partition(), 0);
        assert_eq!(m.offset(), got.len() as i64, "offsets are dense");
        let headers = m
            .headers()
            .map(|hs| {
                hs.iter()
                    .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                    .collect()
            })
            .unwrap_or_default();
        let timestamp = match m.timestamp() {
            Timestamp::CreateTime(t) => t,
            other => panic!("expected CreateTime, got {other:?}"),
        };
        got.push(Rec {
            key: m.key().map(<[u8]>::to_vec),
            value: m.payload().map(<[u8]>::to_vec),
            headers,
            timestamp,
        });
    }
    assert_eq!(got, sent, "{cluster:?} over {listener:?}");
}

#[tokio::test]
async fn source_plaintext_round_trip() {
    round_trip(Cluster::Source, Listener::Plaintext).await;
}

#[tokio::test]
async fn target_plaintext_round_trip() {
    round_trip(Cluster::Target, Listener::Plaintext).await;
}

#[tokio::test]
async fn source_sasl_ssl_plain_round_trip() {
    round_trip(Cluster::Source, Listener::SaslSsl(SaslMechanism::Plain)).await;
}

#[tokio::test]
async fn target_sasl_ssl_plain_round_trip() {
    round_trip(Cluster::Target, Listener::SaslSsl(SaslMechanism::Plain)).await;
}

#[tokio::test]
async fn source_sasl_ssl_scram_sha_512_round_trip() {
    round_trip(
        Cluster::Source,
        Listener::SaslSsl(SaslMechanism::ScramSha512),
    )
    .await;
}

#[tokio::test]
async fn target_sasl_ssl_scram_sha_256_round_trip() {
    round_trip(
        Cluster::Target,
        Listener::SaslSsl(SaslMechanism::ScramSha256),
    )
    .await;
}

/// A wrong password must fail fast and say it is an authentication problem, without echoing
/// the password.
#[test]
fn wrong_password_is_an_authentication_error_within_seconds() {
    let tb = Testbed::get();
    for mechanism in [SaslMechanism::Plain, SaslMechanism::ScramSha512] {
        let wrong = "not-the-password-4711";
        let conn = tb.connection_as(
            Cluster::Source,
            Listener::SaslSsl(mechanism),
            "replicator",
            wrong,
        );
        let started = Instant::now();
        let err = check_connection("source", &conn, Duration::from_secs(20))
            .expect_err("a wrong password must fail");
        let elapsed = started.elapsed();
        assert!(
            elapsed < Duration::from_secs(5),
            "{mechanism:?}: took {elapsed:?}"
        );
        let msg = err.to_string();
        assert!(
            matches!(err, ConnectError::Authentication { .. }),
            "{mechanism:?}: expected an authentication error, got {msg}"
        );
        assert!(
            msg.contains("authentication failed as user 'replicator'"),
            "{msg}"
        );
        assert!(msg.contains(mechanism.as_str()), "{msg}");
        assert!(!msg.contains(wrong), "the password leaked: {msg}");
    }
}

/// The right password passes the same check on every listener of both clusters.
#[test]
fn connection_check_passes_on_every_listener() {
    let tb = Testbed::get();
    for cluster in [Cluster::Source, Cluster::Target] {
        for listener in [
            Listener::Plaintext,
            Listener::SaslSsl(SaslMechanism::Plain),
            Listener::SaslSsl(SaslMechanism::ScramSha512),
        ] {
            let brokers = check_connection(
                "t",
                &tb.connection(cluster, listener),
                Duration::from_secs(20),
            )
            .unwrap_or_else(|e| panic!("{cluster:?} {listener:?}: {e}"));
            assert_eq!(brokers, 1);
        }
    }
}
