//! Kafka I/O for the benchmark harness (`bench/run.sh`): creates topics, fills them, produces at
//! a fixed rate, waits for replicas to be complete and measures end-to-end latency. Each
//! subcommand prints one JSON object on stdout. Not part of Strait, and not a test.
//!
//! ```text
//! cargo run --release --example bench -- create --bootstrap B --topics a,b --partitions 4
//! cargo run --release --example bench -- fill --bootstrap B --topics a,b --partitions 4 --records 1000000
//! cargo run --release --example bench -- wait --bootstrap B --topics x.a,x.b --total 1000000
//! cargo run --release --example bench -- steady --bootstrap B --topics a --partitions 4 --rate 2000 --seconds 30
//! cargo run --release --example bench -- latency --source B --target B2 --pairs a=x.a
//! ```

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use serde_json::json;

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Create topics (replication factor 1), with optional `key=value` topic configs.
    Create {
        #[arg(long)]
        bootstrap: String,
        #[arg(long, value_delimiter = ',')]
        topics: Vec<String>,
        #[arg(long)]
        partitions: i32,
        #[arg(long = "config")]
        configs: Vec<String>,
    },
    /// Delete topics (missing ones are fine).
    Delete {
        #[arg(long)]
        bootstrap: String,
        #[arg(long, value_delimiter = ',')]
        topics: Vec<String>,
    },
    /// Fill topics with `records` records in total, spread evenly over every partition:
    /// key `k-<n>`, a value of `value-size` random letters, headers `bench-seq` and
    /// `bench-origin`, lz4-compressed.
    Fill {
        #[arg(long)]
        bootstrap: String,
        #[arg(long, value_delimiter = ',')]
        topics: Vec<String>,
        #[arg(long)]
        partitions: i32,
        #[arg(long)]
        records: u64,
        #[arg(long, default_value_t = 1024)]
        value_size: usize,
    },
    /// Wait until the topics hold `total` records; report when the first and the last arrived.
    Wait {
        #[arg(long)]
        bootstrap: String,
        #[arg(long, value_delimiter = ',')]
        topics: Vec<String>,
        #[arg(long)]
        total: u64,
        #[arg(long, default_value_t = 900)]
        timeout: u64,
        /// Give up when the count has not grown for this many seconds (a replicator that died
        /// or stopped making progress).
        #[arg(long, default_value_t = 180)]
        stall: u64,
    },
    /// Produce `rate` records/s for `seconds`, keys `<prefix>-<n>`, same shape as `fill`.
    Steady {
        #[arg(long)]
        bootstrap: String,
        #[arg(long, value_delimiter = ',')]
        topics: Vec<String>,
        #[arg(long)]
        partitions: i32,
        #[arg(long)]
        rate: u64,
        #[arg(long)]
        seconds: f64,
        #[arg(long, default_value = "m")]
        prefix: String,
        #[arg(long, default_value_t = 1024)]
        value_size: usize,
    },
    /// End-to-end latency: the target record's timestamp minus the source record's, matched by
    /// key (keys starting with `<prefix>-`); both topics use LogAppendTime.
    Latency {
        #[arg(long)]
        source: String,
        #[arg(long)]
        target: String,
        /// `source-topic=remote-topic` pairs.
        #[arg(long, value_delimiter = ',')]
        pairs: Vec<String>,
        #[arg(long, default_value = "m")]
        prefix: String,
        /// Also write `<source append ms> <latency ms> <source topic>` per record to this file
        /// (to see whether slow records cluster in time).
        #[arg(long)]
        dump: Option<std::path::PathBuf>,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let out = match cli.cmd {
        Cmd::Create {
            bootstrap,
            topics,
            partitions,
            configs,
        } => create(&bootstrap, &topics, partitions, &configs)?,
        Cmd::Delete { bootstrap, topics } => delete(&bootstrap, &topics)?,
        Cmd::Fill {
            bootstrap,
            topics,
            partitions,
            records,
            value_size,
        } => fill(&bootstrap, &topics, partitions, records, value_size)?,
        Cmd::Wait {
            bootstrap,
            topics,
            total,
            timeout,
            stall,
        } => wait(
            &bootstrap,
            &topics,
            total,
            Duration::from_secs(timeout),
            Duration::from_secs(stall),
        )?,
        Cmd::Steady {
            bootstrap,
            topics,
            partitions,
            rate,
            seconds,
            prefix,
            value_size,
        } => steady(
            &bootstrap, &topics, partitions, rate, seconds, &prefix, value_size,
        )?,
        Cmd::Latency {
            source,
            target,
            pairs,
            prefix,
            dump,
        } => latency(&source, &target, &pairs, &prefix, dump.as_deref())?,
    };
    println!("{out}");
    Ok(())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn base(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap);
    c
}

fn create(
    bootstrap: &str,
    topics: &[String],
    partitions: i32,
    configs: &[String],
) -> Result<serde_json::Value> {
    let admin: AdminClient<DefaultClientContext> = base(bootstrap).create()?;
    let pairs: Vec<(&str, &str)> = configs
        .iter()
        .map(|c| c.split_once('=').context("--config takes key=value"))
        .collect::<Result<_>>()?;
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|t| {
            pairs.iter().fold(
                NewTopic::new(t, partitions, TopicReplication::Fixed(1)),
                |n, (k, v)| n.set(k, v),
            )
        })
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for r in rt.block_on(admin.create_topics(&new, &opts))? {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((t, e)) => bail!("creating {t}: {e}"),
        }
    }
    Ok(json!({ "created": topics }))
}

fn delete(bootstrap: &str, topics: &[String]) -> Result<serde_json::Value> {
    let admin: AdminClient<DefaultClientContext> = base(bootstrap).create()?;
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for r in rt.block_on(admin.delete_topics(&names, &opts))? {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::UnknownTopicOrPartition)) => {}
            Err((t, e)) => bail!("deleting {t}: {e}"),
        }
    }
    Ok(json!({ "deleted": topics }))
}

/// Letters from a xorshift generator: like ProducerPerformance's payloads (random A-Z), so
/// they compress as much as its records do.
struct Letters(u64);

impl Letters {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            let mut x = self.0;
            for b in chunk {
                *b = b'A' + (x % 26) as u8;
                x /= 26;
            }
        }
    }
}

fn producer(bootstrap: &str, linger_ms: &str) -> Result<BaseProducer> {
    let mut c = base(bootstrap);
    c.set("compression.type", "lz4")
        .set("linger.ms", linger_ms)
        .set("batch.size", "1000000")
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("queue.buffering.max.kbytes", "262144");
    Ok(c.create()?)
}

fn send(
    p: &BaseProducer,
    topic: &str,
    partition: i32,
    key: &str,
    value: &[u8],
    seq: u64,
) -> Result<()> {
    let seq = seq.to_be_bytes();
    let headers = OwnedHeaders::new()
        .insert(Header {
            key: "bench-seq",
            value: Some(&seq[..]),
        })
        .insert(Header {
            key: "bench-origin",
            value: Some("strait-bench"),
        });
    let mut record = BaseRecord::to(topic)
        .partition(partition)
        .key(key)
        .payload(value)
        .headers(headers);
    loop {
        match p.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                p.poll(Duration::from_millis(5));
                record = r;
            }
            Err((e, _)) => bail!("producing to {topic}: {e}"),
        }
    }
}

fn fill(
    bootstrap: &str,
    topics: &[String],
    partitions: i32,
    records: u64,
    value_size: usize,
) -> Result<serde_json::Value> {
    let p = producer(bootstrap, "20")?;
    let mut letters = Letters(0x9E37_79B9_7F4A_7C15);
    let mut value = vec![0u8; value_size];
    let started = Instant::now();
    let slots = topics.len() as u64 * partitions.max(1) as u64;
    for i in 0..records {
        let slot = i % slots.max(1);
        let topic = &topics[(slot % topics.len() as u64) as usize];
        let partition = (slot / topics.len() as u64) as i32;
        letters.fill(&mut value);
        send(&p, topic, partition, &format!("k-{i}"), &value, i)?;
        p.poll(Duration::ZERO);
    }
    p.flush(Duration::from_secs(300))?;
    let secs = started.elapsed().as_secs_f64();
    Ok(json!({ "records": records, "seconds": secs, "records_per_second": records as f64 / secs }))
}

/// Records in `topics` now: the sum of high minus low watermarks; missing topics count 0.
fn count(consumer: &BaseConsumer, topics: &[String]) -> u64 {
    let mut total = 0;
    for t in topics {
        let Ok(md) = consumer.fetch_metadata(Some(t), Duration::from_secs(5)) else {
            continue;
        };
        let Some(topic) = md.topics().first().filter(|t| t.error().is_none()) else {
            continue;
        };
        for p in topic.partitions() {
            if let Ok((low, high)) = consumer.fetch_watermarks(t, p.id(), Duration::from_secs(5)) {
                total += u64::try_from(high - low).unwrap_or(0);
            }
        }
    }
    total
}

fn wait(
    bootstrap: &str,
    topics: &[String],
    total: u64,
    timeout: Duration,
    stall: Duration,
) -> Result<serde_json::Value> {
    let consumer: BaseConsumer = base(bootstrap).create()?;
    let started = Instant::now();
    let mut first_ms = None;
    let (mut last, mut grew) = (0, Instant::now());
    loop {
        let n = count(&consumer, topics);
        if n > 0 && first_ms.is_none() {
            first_ms = Some(now_ms());
        }
        if n > last {
            (last, grew) = (n, Instant::now());
        } else if grew.elapsed() > stall {
            bail!("stuck at {n} of {total} records for {stall:?}");
        }
        if n >= total {
            return Ok(json!({ "first_ms": first_ms, "done_ms": now_ms(), "count": n }));
        }
        if started.elapsed() > timeout {
            bail!("only {n} of {total} records after {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn steady(
    bootstrap: &str,
    topics: &[String],
    partitions: i32,
    rate: u64,
    seconds: f64,
    prefix: &str,
    value_size: usize,
) -> Result<serde_json::Value> {
    let p = producer(bootstrap, "1")?;
    let mut letters = Letters(now_ms() | 1);
    let mut value = vec![0u8; value_size];
    let slots = topics.len() as u64 * partitions.max(1) as u64;
    let started = Instant::now();
    let mut sent = 0u64;
    while started.elapsed().as_secs_f64() < seconds {
        // Paced in 1 ms steps: the schedule says how many records should be out by now.
        let due = (started.elapsed().as_secs_f64() * rate as f64) as u64;
        while sent < due {
            let slot = sent % slots.max(1);
            let topic = &topics[(slot % topics.len() as u64) as usize];
            let partition = (slot / topics.len() as u64) as i32;
            letters.fill(&mut value);
            send(
                &p,
                topic,
                partition,
                &format!("{prefix}-{sent}"),
                &value,
                sent,
            )?;
            sent += 1;
        }
        p.poll(Duration::from_millis(1));
    }
    p.flush(Duration::from_secs(60))?;
    Ok(json!({ "sent": sent, "seconds": started.elapsed().as_secs_f64() }))
}

/// Reads every record of `topic` up to its current end; calls `f(key, timestamp)`.
fn read_all(bootstrap: &str, topic: &str, mut f: impl FnMut(&[u8], i64)) -> Result<()> {
    let mut cfg = base(bootstrap);
    cfg.set("group.id", "strait-bench")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true");
    let consumer: BaseConsumer = cfg.create()?;
    let md = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let Some(t) = md.topics().first() else {
        bail!("no topic {topic}");
    };
    let mut tpl = TopicPartitionList::new();
    let mut open = HashMap::new();
    for p in t.partitions() {
        let (low, high) = consumer.fetch_watermarks(topic, p.id(), Duration::from_secs(10))?;
        if high > low {
            tpl.add_partition_offset(topic, p.id(), Offset::Offset(low))?;
            open.insert(p.id(), high);
        }
    }
    if open.is_empty() {
        return Ok(());
    }
    consumer.assign(&tpl)?;
    let mut idle = Instant::now();
    while !open.is_empty() {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                idle = Instant::now();
                if let (Some(k), Some(ts)) = (m.key(), m.timestamp().to_millis()) {
                    f(k, ts);
                }
                if open
                    .get(&m.partition())
                    .is_some_and(|h| m.offset() + 1 >= *h)
                {
                    open.remove(&m.partition());
                }
            }
            Some(Err(KafkaError::PartitionEOF(p))) => {
                open.remove(&p);
            }
            Some(Err(e)) => bail!("reading {topic}: {e}"),
            None if idle.elapsed() > Duration::from_secs(30) => bail!("reading {topic}: stalled"),
            None => {}
        }
    }
    Ok(())
}

fn latency(
    source: &str,
    target: &str,
    pairs: &[String],
    prefix: &str,
    dump: Option<&std::path::Path>,
) -> Result<serde_json::Value> {
    use std::io::Write;
    let wanted = format!("{prefix}-");
    let mut lat = Vec::new();
    let mut dumped = String::new();
    let mut unmatched = 0u64;
    for pair in pairs {
        let (src, remote) = pair
            .split_once('=')
            .context("--pairs takes source=remote")?;
        let mut appended: HashMap<Vec<u8>, i64> = HashMap::new();
        read_all(source, src, |k, ts| {
            if k.starts_with(wanted.as_bytes()) {
                appended.insert(k.to_vec(), ts);
            }
        })?;
        read_all(target, remote, |k, ts| {
            // A re-sent duplicate is not a second delivery: only the first copy counts.
            if let Some(src_ts) = appended.remove(k) {
                lat.push(ts - src_ts);
                if dump.is_some() {
                    dumped.push_str(&format!("{src_ts} {} {src}\n", ts - src_ts));
                }
            }
        })?;
        unmatched += appended.len() as u64;
    }
    if let Some(path) = dump {
        std::fs::File::create(path)
            .and_then(|mut f| f.write_all(dumped.as_bytes()))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    lat.sort_unstable();
    let pct = |q: f64| -> i64 {
        if lat.is_empty() {
            return -1;
        }
        let i = ((lat.len() as f64 - 1.0) * q).round() as usize;
        lat[i.min(lat.len() - 1)]
    };
    Ok(json!({
        "count": lat.len(),
        "unmatched": unmatched,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": lat.last().copied().unwrap_or(-1),
    }))
}
