//! What a producer's CPU costs at a moderate rate, librdkafka's way (one produce request per
//! partition) against the Java producer's way (every partition bound for a broker in one
//! request), on the same test bed, records, TLS, SASL/PLAIN, idempotence, acks=all and lz4.
//!
//! A measurement to choose Strait's next step from (issue 15), not a producer: the `wire`
//! mode knows one broker, sends one request at a time and stops at the first error.
//!
//!   produce-cost MODE env=FILE [topic=T] [partitions=16] [rate=5000] [seconds=60]
//!                [value-size=1024] [linger-ms=5] [tick-ms=5]
//!
//! MODE is `idle` (only the record generator: the floor both others share), `rdkafka` or `wire`.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, CreateTopicsRequest, CreateTopicsResponse, InitProducerIdRequest,
    InitProducerIdResponse, ListOffsetsRequest, ListOffsetsResponse, ProduceRequest,
    ProduceResponse, RequestHeader, ResponseHeader, SaslAuthenticateRequest,
    SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use openssl::ssl::{SslConnector, SslMethod, SslStream};
use rdkafka::ClientConfig;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};

struct Args {
    mode: String,
    env: HashMap<String, String>,
    topic: String,
    partitions: i32,
    rate: f64,
    seconds: f64,
    value_size: usize,
    linger: Duration,
    tick: Duration,
}

fn args() -> Result<Args> {
    let mut it = std::env::args().skip(1);
    let mode = it.next().context("MODE: idle, rdkafka or wire")?;
    let mut kv: HashMap<String, String> = HashMap::new();
    for a in it {
        let (k, v) = a
            .split_once('=')
            .with_context(|| format!("{a}: KEY=VALUE"))?;
        kv.insert(k.to_owned(), v.to_owned());
    }
    let get = |k: &str, d: &str| kv.get(k).cloned().unwrap_or_else(|| d.to_owned());
    let env_file = kv
        .get("env")
        .context("env=FILE (the test bed's env file)")?;
    let env = std::fs::read_to_string(env_file)
        .with_context(|| format!("reading {env_file}"))?
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Ok(Args {
        topic: get("topic", &format!("produce-cost-{}", std::process::id())),
        partitions: get("partitions", "16").parse()?,
        rate: get("rate", "5000").parse()?,
        seconds: get("seconds", "60").parse()?,
        value_size: get("value-size", "1024").parse()?,
        linger: Duration::from_millis(get("linger-ms", "5").parse()?),
        tick: Duration::from_millis(get("tick-ms", "5").parse()?),
        mode,
        env,
    })
}

/// CPU seconds this process used so far (user + system), from /proc.
fn cpu_seconds() -> Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let after = stat.rsplit_once(')').context("/proc/self/stat")?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    let field = |i: usize| -> Result<f64> {
        Ok(f.get(i)
            .context("/proc/self/stat: too few fields")?
            .parse::<f64>()?)
    };
    // utime and stime, in clock ticks (100 a second on Linux).
    let ticks = field(11)? + field(12)?;
    Ok(ticks / 100.0)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Records arrive at `rate` per second, round robin over the partitions, in bursts every
/// `tick-ms` (5: Strait's fetches wait up to 5 ms), the same for every mode.
struct Generator {
    start: Instant,
    rate: f64,
    made: u64,
    partitions: i32,
    value: Bytes,
}

impl Generator {
    fn due(&mut self, mut f: impl FnMut(i32, Bytes, Bytes)) {
        let due = (self.start.elapsed().as_secs_f64() * self.rate) as u64;
        while self.made < due {
            let p = (self.made % self.partitions as u64) as i32;
            f(
                p,
                Bytes::copy_from_slice(&self.made.to_be_bytes()),
                self.value.clone(),
            );
            self.made += 1;
        }
    }
}

struct Measure {
    latencies: Mutex<Vec<i64>>,
}

impl Measure {
    fn report(&self, mode: &str, cpu: f64, secs: f64, made: u64) {
        let mut l = self.latencies.lock().map(|l| l.clone()).unwrap_or_default();
        l.sort_unstable();
        let pct = |q: f64| {
            if l.is_empty() {
                -1
            } else {
                l[((l.len() - 1) as f64 * q).round() as usize]
            }
        };
        println!(
            "{mode}: {:.3} cores over {secs:.1} s, {made} records, ack latency p50 {} ms p99 {} ms",
            cpu / secs,
            pct(0.5),
            pct(0.99)
        );
    }
}

fn main() -> Result<()> {
    let a = args()?;
    let value = Bytes::from(
        (0..a.value_size)
            .map(|i| (i * 7 % 251) as u8)
            .collect::<Vec<_>>(),
    );
    let measure = Arc::new(Measure {
        latencies: Mutex::new(Vec::new()),
    });
    let mut conn = Conn::open(&a)?;
    conn.create_topic(&a.topic, a.partitions)?;
    // Leaders of a topic just made take a moment to be elected.
    std::thread::sleep(Duration::from_secs(2));
    let mut generator = Generator {
        start: Instant::now(),
        rate: a.rate,
        made: 0,
        partitions: a.partitions,
        value,
    };
    let warm = Duration::from_secs(3);
    let end = warm + Duration::from_secs_f64(a.seconds);
    let mut mark: Option<(f64, Instant, u64)> = None;
    let mut tick = |generator: &Generator, measure: &Measure| -> Result<bool> {
        let t = generator.start.elapsed();
        if mark.is_none() && t >= warm {
            if let Ok(mut l) = measure.latencies.lock() {
                l.clear();
            }
            mark = Some((cpu_seconds()?, Instant::now(), generator.made));
        }
        if t >= end {
            if let Some((c0, t0, m0)) = mark {
                measure.report(
                    &a.mode,
                    cpu_seconds()? - c0,
                    t0.elapsed().as_secs_f64(),
                    generator.made - m0,
                );
            }
            return Ok(false);
        }
        Ok(true)
    };
    match a.mode.as_str() {
        "idle" => {
            while tick(&generator, &measure)? {
                generator.due(|_, _, _| {});
                std::thread::sleep(a.tick);
            }
        }
        "rdkafka" => {
            let producer = rdkafka_producer(&a, measure.clone())?;
            while tick(&generator, &measure)? {
                generator.due(|p, k, v| {
                    let ts = now_ms();
                    let r = BaseRecord::with_opaque_to(&a.topic, ts as usize)
                        .partition(p)
                        .key(&k[..])
                        .payload(&v[..])
                        .timestamp(ts);
                    if let Err((e, _)) = producer.send(r) {
                        eprintln!("send: {e}");
                    }
                });
                std::thread::sleep(a.tick);
            }
            producer.flush(Duration::from_secs(30))?;
        }
        "wire" => {
            conn.init_producer_id()?;
            let mut pending: Vec<Vec<Record>> = vec![Vec::new(); a.partitions as usize];
            let mut oldest: Option<Instant> = None;
            while tick(&generator, &measure)? {
                generator.due(|p, k, v| {
                    oldest.get_or_insert_with(Instant::now);
                    pending[p as usize].push(conn.record(p, k, v));
                });
                if oldest.is_some_and(|o| o.elapsed() >= a.linger) {
                    conn.produce(&a.topic, &mut pending, &measure)?;
                    oldest = None;
                }
                std::thread::sleep(a.tick);
            }
            conn.produce(&a.topic, &mut pending, &measure)?;
        }
        m => bail!("unknown mode {m}: idle, rdkafka or wire"),
    }
    // Every record made must be in the topic, or the figures mean nothing.
    let written = conn.end_offsets(&a.topic, a.partitions)?;
    let expected = if a.mode == "idle" {
        0
    } else {
        generator.made as i64
    };
    if written != expected {
        bail!(
            "{}: the topic holds {written} records, {expected} were made",
            a.mode
        );
    }
    println!("{}: all {written} records are in {}", a.mode, a.topic);
    Ok(())
}

struct Acks {
    measure: Arc<Measure>,
}

impl rdkafka::ClientContext for Acks {}

impl ProducerContext for Acks {
    type DeliveryOpaque = usize;
    fn delivery(&self, r: &DeliveryResult<'_>, sent_ms: usize) {
        let sent_ms = sent_ms as i64;
        match r {
            Ok(_) => {
                if let Ok(mut l) = self.measure.latencies.lock() {
                    l.push(now_ms() - sent_ms);
                }
            }
            Err((e, _)) => eprintln!("delivery: {e}"),
        }
    }
}

fn rdkafka_producer(a: &Args, measure: Arc<Measure>) -> Result<ThreadedProducer<Acks>> {
    let e = |k: &str| a.env.get(k).cloned().unwrap_or_default();
    Ok(ClientConfig::new()
        .set("bootstrap.servers", e("TARGET_BOOTSTRAP_SASL_SSL"))
        .set("security.protocol", "SASL_SSL")
        .set("sasl.mechanism", "PLAIN")
        .set("sasl.username", e("ADMIN_USER"))
        .set("sasl.password", e("ADMIN_PASSWORD"))
        .set("ssl.ca.location", e("TRUSTSTORE_PEM"))
        .set("ssl.endpoint.identification.algorithm", "none")
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("compression.type", "lz4")
        .set("linger.ms", a.linger.as_millis().to_string())
        .create_with_context(Acks { measure })?)
}

/// One TLS connection to the (single) target broker, speaking the protocol directly.
struct Conn {
    tls: SslStream<TcpStream>,
    correlation: i32,
    producer_id: i64,
    epoch: i16,
    sequences: Vec<i32>,
}

impl Conn {
    fn open(a: &Args) -> Result<Self> {
        let e = |k: &str| a.env.get(k).cloned().unwrap_or_default();
        let addr = e("TARGET_BOOTSTRAP_SASL_SSL");
        let mut b = SslConnector::builder(SslMethod::tls())?;
        b.set_ca_file(e("TRUSTSTORE_PEM"))?;
        let tcp = TcpStream::connect(&addr).with_context(|| format!("connecting {addr}"))?;
        tcp.set_nodelay(true)?;
        let tls = b
            .build()
            .configure()?
            .verify_hostname(false)
            .use_server_name_indication(false)
            .connect("unused", tcp)?;
        let mut c = Self {
            tls,
            correlation: 0,
            producer_id: -1,
            epoch: -1,
            sequences: vec![0; a.partitions as usize],
        };
        let hs: SaslHandshakeResponse = c.call(
            ApiKey::SaslHandshake,
            1,
            &SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str("PLAIN")),
        )?;
        if hs.error_code != 0 {
            bail!("SASL handshake: error {}", hs.error_code);
        }
        let auth = format!("\0{}\0{}", e("ADMIN_USER"), e("ADMIN_PASSWORD"));
        let r: SaslAuthenticateResponse = c.call(
            ApiKey::SaslAuthenticate,
            2,
            &SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(auth)),
        )?;
        if r.error_code != 0 {
            bail!("SASL authenticate: error {}", r.error_code);
        }
        Ok(c)
    }

    fn call<Req: Encodable + HeaderVersion, Resp: Decodable + HeaderVersion>(
        &mut self,
        key: ApiKey,
        version: i16,
        req: &Req,
    ) -> Result<Resp> {
        self.correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(StrBytes::from_static_str("produce-cost")));
        let mut body = BytesMut::new();
        header.encode(&mut body, Req::header_version(version))?;
        req.encode(&mut body, version)?;
        let mut frame = Vec::with_capacity(body.len() + 4);
        frame.extend_from_slice(&(body.len() as i32).to_be_bytes());
        frame.extend_from_slice(&body);
        if std::env::var_os("PRODUCE_COST_DUMP").is_some() && key as i16 != 0 {
            eprintln!("{key:?} v{version}: {:02x?}", &frame);
        }
        self.tls.write_all(&frame)?;
        let mut len = [0u8; 4];
        self.tls.read_exact(&mut len)?;
        let mut buf = vec![0u8; i32::from_be_bytes(len) as usize];
        self.tls.read_exact(&mut buf)?;
        if std::env::var_os("PRODUCE_COST_DUMP").is_some() && key as i16 != 0 {
            eprintln!("response: {:02x?}", &buf);
        }
        let mut buf = Bytes::from(buf);
        let h = ResponseHeader::decode(&mut buf, Resp::header_version(version))?;
        if h.correlation_id != self.correlation {
            bail!("correlation {} for {}", h.correlation_id, self.correlation);
        }
        let r = Resp::decode(&mut buf, version)?;
        if buf.has_remaining() {
            bail!("{} bytes left after the response", buf.remaining());
        }
        Ok(r)
    }

    fn create_topic(&mut self, topic: &str, partitions: i32) -> Result<()> {
        let r: CreateTopicsResponse = self.call(
            ApiKey::CreateTopics,
            5,
            &CreateTopicsRequest::default()
                .with_timeout_ms(30_000)
                .with_topics(vec![
                    CreatableTopic::default()
                        .with_name(TopicName(StrBytes::from_string(topic.to_owned())))
                        .with_num_partitions(partitions)
                        .with_replication_factor(-1),
                ]),
        )?;
        for t in r.topics {
            // 36: it exists already.
            if t.error_code != 0 && t.error_code != 36 {
                bail!("creating {topic}: error {}", t.error_code);
            }
        }
        Ok(())
    }

    /// The sum of the partitions' end offsets.
    fn end_offsets(&mut self, topic: &str, partitions: i32) -> Result<i64> {
        let r: ListOffsetsResponse = self.call(
            ApiKey::ListOffsets,
            7,
            &ListOffsetsRequest::default()
                .with_replica_id((-1).into())
                .with_topics(vec![
                    ListOffsetsTopic::default()
                        .with_name(TopicName(StrBytes::from_string(topic.to_owned())))
                        .with_partitions(
                            (0..partitions)
                                .map(|p| {
                                    ListOffsetsPartition::default()
                                        .with_partition_index(p)
                                        .with_timestamp(-1)
                                })
                                .collect(),
                        ),
                ]),
        )?;
        let mut sum = 0;
        for t in r.topics {
            for p in t.partitions {
                if p.error_code != 0 {
                    bail!(
                        "end offset of partition {}: error {}",
                        p.partition_index,
                        p.error_code
                    );
                }
                sum += p.offset;
            }
        }
        Ok(sum)
    }

    fn init_producer_id(&mut self) -> Result<()> {
        let r: InitProducerIdResponse = self.call(
            ApiKey::InitProducerId,
            4,
            &InitProducerIdRequest::default()
                .with_transactional_id(None)
                .with_transaction_timeout_ms(i32::MAX)
                .with_producer_id((-1).into())
                .with_producer_epoch(-1),
        )?;
        if r.error_code != 0 {
            bail!("InitProducerId: error {}", r.error_code);
        }
        self.producer_id = r.producer_id.0;
        self.epoch = r.producer_epoch;
        Ok(())
    }

    fn record(&self, _partition: i32, key: Bytes, value: Bytes) -> Record {
        Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: self.producer_id,
            producer_epoch: self.epoch,
            timestamp_type: TimestampType::Creation,
            offset: 0,
            sequence: 0,
            timestamp: now_ms(),
            key: Some(key),
            value: Some(value),
            headers: Default::default(),
        }
    }

    /// One request with a batch for every partition that has records, as the Java producer
    /// drains every partition of a broker once one of them is ready.
    fn produce(
        &mut self,
        topic: &str,
        pending: &mut [Vec<Record>],
        measure: &Measure,
    ) -> Result<()> {
        let mut parts = Vec::new();
        let mut counts = Vec::new();
        for (p, records) in pending.iter_mut().enumerate() {
            if records.is_empty() {
                continue;
            }
            let base = self.sequences[p];
            for (i, r) in records.iter_mut().enumerate() {
                r.offset = i as i64;
                r.sequence = base + i as i32;
            }
            let mut batch = BytesMut::new();
            RecordBatchEncoder::encode(
                &mut batch,
                records.iter(),
                &RecordEncodeOptions {
                    version: 2,
                    compression: Compression::Lz4,
                },
            )?;
            parts.push(
                PartitionProduceData::default()
                    .with_index(p as i32)
                    .with_records(Some(batch.freeze())),
            );
            counts.push((p, records.len(), records[0].timestamp));
            records.clear();
        }
        if parts.is_empty() {
            return Ok(());
        }
        let req = ProduceRequest::default()
            .with_transactional_id(None)
            .with_acks(-1)
            .with_timeout_ms(30_000)
            .with_topic_data(vec![
                TopicProduceData::default()
                    .with_name(TopicName(StrBytes::from_string(topic.to_owned())))
                    .with_partition_data(parts),
            ]);
        let r: ProduceResponse = self.call(ApiKey::Produce, 9, &req)?;
        let acked = now_ms();
        for t in &r.responses {
            for p in &t.partition_responses {
                if p.error_code != 0 {
                    bail!("partition {}: error {}", p.index, p.error_code);
                }
            }
        }
        if let Ok(mut l) = measure.latencies.lock() {
            for (p, n, first_ts) in counts {
                self.sequences[p] += n as i32;
                l.extend(std::iter::repeat_n(acked - first_ts, n));
            }
        }
        Ok(())
    }
}
