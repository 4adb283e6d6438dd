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
//! echo 60000 | cargo run --release --example bench -- visible --source B --target B2 --pairs a=x.a
//! cargo run --release --example bench -- ping --bootstrap B2 --topic p --seconds 60 --dump ping.txt
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
    ///
    /// Counts offsets below each partition's end as a read_committed consumer sees it (the
    /// last stable offset). Under transactions that count includes the transaction markers, so
    /// with `--source` a replica is complete only when, besides, every partition's last
    /// committed record has the key of the last record of the same source partition.
    Wait {
        #[arg(long)]
        bootstrap: String,
        #[arg(long, value_delimiter = ',')]
        topics: Vec<String>,
        #[arg(long)]
        total: u64,
        /// The source cluster: also wait for each partition's last source record.
        #[arg(long, requires = "source_topics")]
        source: Option<String>,
        /// The source topics, in the order of `--topics`.
        #[arg(long, value_delimiter = ',')]
        source_topics: Vec<String>,
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
    /// End-to-end latency as a read_committed consumer of the target sees it: a consumer reads
    /// the remote topics live and stamps each record with the wall-clock time it was handed
    /// over; latency = that time minus the source record's append time (LogAppendTime),
    /// matched by key (keys starting with `<prefix>-`; duplicates count once). Under
    /// transactions a record is handed over only after its transaction commits. Reports the
    /// target-append-time latency of the same records beside it. Start it before the records
    /// are produced; it reads the number of records to expect from its standard input (one
    /// line) and ends when it has seen them all.
    Visible {
        #[arg(long)]
        source: String,
        #[arg(long)]
        target: String,
        /// `source-topic=remote-topic` pairs.
        #[arg(long, value_delimiter = ',')]
        pairs: Vec<String>,
        #[arg(long, default_value = "m")]
        prefix: String,
        #[arg(long, default_value_t = 900)]
        timeout: u64,
        /// Give up when no new record arrived for this many seconds.
        #[arg(long, default_value_t = 180)]
        stall: u64,
    },
    /// How long a cluster takes to acknowledge a small record (acks all, no linger), one every
    /// `interval-ms` for `seconds` into `topic` (created with one partition if missing). Run
    /// beside a replicator, its slow acknowledgements are the cluster's own slow moments (a
    /// broker's pause, a starved machine), with no replicator in the way.
    Ping {
        #[arg(long)]
        bootstrap: String,
        #[arg(long)]
        topic: String,
        #[arg(long)]
        seconds: f64,
        #[arg(long, default_value_t = 5)]
        interval_ms: u64,
        /// Write `<sent ms> <acknowledgement ms>` per record to this file.
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
            source,
            source_topics,
            timeout,
            stall,
        } => {
            let tails = match source {
                Some(src) => {
                    if source_topics.len() != topics.len() {
                        bail!("--source-topics must name one source topic per --topics entry");
                    }
                    Some(source_tails(&src, &source_topics)?)
                }
                None => None,
            };
            wait(
                &bootstrap,
                &topics,
                total,
                tails.as_ref(),
                Duration::from_secs(timeout),
                Duration::from_secs(stall),
            )?
        }
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
        Cmd::Visible {
            source,
            target,
            pairs,
            prefix,
            timeout,
            stall,
        } => visible(
            &source,
            &target,
            &pairs,
            &prefix,
            Duration::from_secs(timeout),
            Duration::from_secs(stall),
        )?,
        Cmd::Ping {
            bootstrap,
            topic,
            seconds,
            interval_ms,
            dump,
        } => ping(&bootstrap, &topic, seconds, interval_ms, dump.as_deref())?,
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

/// The key of the last record of each source partition, by topic (in the order given) and
/// partition; `None` for an empty partition. Source topics hold no transactions: the record
/// just below the high watermark is the last one.
type Tails = Vec<Vec<Option<Vec<u8>>>>;

fn source_tails(bootstrap: &str, topics: &[String]) -> Result<Tails> {
    let consumer = tail_reader(bootstrap)?;
    let mut out = Vec::new();
    for t in topics {
        let md = consumer.fetch_metadata(Some(t), Duration::from_secs(10))?;
        let Some(topic) = md.topics().first().filter(|m| m.error().is_none()) else {
            bail!("no topic {t} on the source");
        };
        let mut ranges = Vec::new();
        for p in topic.partitions() {
            let (low, high) = consumer.fetch_watermarks(t, p.id(), Duration::from_secs(10))?;
            if high > low {
                ranges.push((p.id(), high - 1));
            }
        }
        let keys = last_keys(&consumer, t, &ranges)?;
        out.push(
            (0..topic.partitions().len() as i32)
                .map(|p| keys.get(&p).cloned())
                .collect(),
        );
    }
    Ok(out)
}

/// A consumer that reads committed records only, for tails of partitions.
fn tail_reader(bootstrap: &str) -> Result<BaseConsumer> {
    let mut cfg = base(bootstrap);
    cfg.set("group.id", "strait-bench")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("isolation.level", "read_committed")
        .set("fetch.wait.max.ms", "10");
    Ok(cfg.create()?)
}

/// Reads each `(partition, from)` of `topic` up to its end as a read_committed consumer sees
/// it (the last stable offset, where librdkafka reports the partition's end) and returns the
/// key of the last record read per partition; a partition whose range holds no committed
/// record (only transaction markers or aborted records) is absent. One topic at a time: the
/// end-of-partition event names the partition only.
fn last_keys(
    consumer: &BaseConsumer,
    topic: &str,
    ranges: &[(i32, i64)],
) -> Result<HashMap<i32, Vec<u8>>> {
    let mut keys = HashMap::new();
    if ranges.is_empty() {
        return Ok(keys);
    }
    let mut tpl = TopicPartitionList::new();
    for (p, from) in ranges {
        tpl.add_partition_offset(topic, *p, Offset::Offset(*from))?;
    }
    consumer.assign(&tpl)?;
    let mut open: std::collections::HashSet<i32> = ranges.iter().map(|(p, _)| *p).collect();
    let started = Instant::now();
    while !open.is_empty() {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) if m.topic() == topic && open.contains(&m.partition()) => {
                if let Some(k) = m.key() {
                    keys.insert(m.partition(), k.to_vec());
                }
            }
            Some(Ok(_)) => {}
            Some(Err(KafkaError::PartitionEOF(p))) => {
                open.remove(&p);
            }
            Some(Err(e)) => bail!("reading the end of {topic}: {e}"),
            None if started.elapsed() > Duration::from_secs(30) => {
                bail!("reading the end of {topic}: stalled")
            }
            None => {}
        }
    }
    consumer.unassign()?;
    Ok(keys)
}

fn wait(
    bootstrap: &str,
    topics: &[String],
    total: u64,
    tails: Option<&Tails>,
    timeout: Duration,
    stall: Duration,
) -> Result<serde_json::Value> {
    let mut cfg = base(bootstrap);
    // Watermarks as a read_committed consumer sees them (librdkafka's default, made explicit):
    // the high one is the last stable offset.
    cfg.set("isolation.level", "read_committed");
    let consumer: BaseConsumer = cfg.create()?;
    let reader = match tails {
        Some(_) => Some(tail_reader(bootstrap)?),
        None => None,
    };
    // Remote partitions whose last committed record is the source's last one, and how far back
    // from the end to look for it (markers and aborted records take offsets too).
    let mut complete: std::collections::HashSet<(usize, i32)> = std::collections::HashSet::new();
    let mut window: HashMap<(usize, i32), i64> = HashMap::new();
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
        // Offsets never undercount records: the tails are read only once the count is there.
        let done = n >= total
            && match (tails, &reader) {
                (Some(tails), Some(reader)) => {
                    tails_reached(reader, topics, tails, &mut complete, &mut window)?
                }
                _ => true,
            };
        if done {
            return Ok(json!({ "first_ms": first_ms, "done_ms": now_ms(), "count": n }));
        }
        if started.elapsed() > timeout {
            if n >= total {
                bail!("{n} offsets, but not every partition's last record after {timeout:?}");
            }
            bail!("only {n} of {total} records after {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether every remote partition's last committed record carries the key of its source
/// partition's last record (records are copied in order, so then all before it are there).
fn tails_reached(
    reader: &BaseConsumer,
    topics: &[String],
    tails: &Tails,
    complete: &mut std::collections::HashSet<(usize, i32)>,
    window: &mut HashMap<(usize, i32), i64>,
) -> Result<bool> {
    let mut all = true;
    for (ti, (topic, parts)) in topics.iter().zip(tails).enumerate() {
        let mut ranges = Vec::new();
        for (p, want) in parts.iter().enumerate() {
            let p = p as i32;
            if complete.contains(&(ti, p)) {
                continue;
            }
            if want.is_none() {
                complete.insert((ti, p));
                continue;
            }
            let (low, high) = reader.fetch_watermarks(topic, p, Duration::from_secs(10))?;
            if high <= low {
                all = false;
                continue;
            }
            let w = *window.entry((ti, p)).or_insert(8);
            ranges.push((p, (high - w).max(low)));
        }
        let keys = last_keys(reader, topic, &ranges)?;
        for (p, _) in ranges {
            match keys.get(&p) {
                Some(k) if Some(k) == parts[p as usize].as_ref() => {
                    complete.insert((ti, p));
                }
                Some(_) => all = false,
                None => {
                    // Nothing committed in the window: look further back next time.
                    all = false;
                    if let Some(w) = window.get_mut(&(ti, p)) {
                        *w = (*w * 8).min(1 << 20);
                    }
                }
            }
        }
    }
    Ok(all)
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
        pace(&p);
    }
    p.flush(Duration::from_secs(60))?;
    Ok(json!({ "sent": sent, "seconds": started.elapsed().as_secs_f64() }))
}

/// One step of a paced producer: serves what its queue holds, then sleeps a millisecond.
/// `poll(1 ms)` would not do: rdkafka waits out the last millisecond with `poll(0)` calls, so
/// a loop of them kept a core busy, on a machine of two shared with both clusters and the
/// replicator (every steady state before this ran beside it).
fn pace<C: rdkafka::producer::ProducerContext>(p: &BaseProducer<C>) {
    p.poll(Duration::ZERO);
    std::thread::sleep(Duration::from_millis(1));
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
    let (p50, p99, max) = percentiles(&mut lat);
    Ok(json!({
        "count": lat.len(),
        "unmatched": unmatched,
        "p50_ms": p50,
        "p99_ms": p99,
        "max_ms": max,
    }))
}

/// p50, p99 and max of `lat` (sorted in place); -1 each when empty.
fn percentiles(lat: &mut [i64]) -> (i64, i64, i64) {
    lat.sort_unstable();
    let pct = |q: f64| -> i64 {
        if lat.is_empty() {
            return -1;
        }
        let i = ((lat.len() as f64 - 1.0) * q).round() as usize;
        lat[i.min(lat.len() - 1)]
    };
    (pct(0.50), pct(0.99), lat.last().copied().unwrap_or(-1))
}

fn visible(
    source: &str,
    target: &str,
    pairs: &[String],
    prefix: &str,
    timeout: Duration,
    stall: Duration,
) -> Result<serde_json::Value> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let wanted = format!("{prefix}-");
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|p| p.split_once('=').context("--pairs takes source=remote"))
        .collect::<Result<_>>()?;
    // How many records to expect, once the harness knows (one line on stdin).
    let expected = Arc::new(AtomicU64::new(u64::MAX));
    {
        let expected = Arc::clone(&expected);
        std::thread::spawn(move || {
            let mut line = String::new();
            if std::io::stdin().read_line(&mut line).is_ok()
                && let Ok(n) = line.trim().parse::<u64>()
            {
                expected.store(n, Ordering::SeqCst);
            }
        });
    }
    let mut cfg = base(target);
    cfg.set("group.id", "strait-bench-visible")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        // An idle fetch returns within 10 ms: a commit is seen at most that much late even if
        // the broker does not answer a waiting fetch when the last stable offset moves.
        .set("fetch.wait.max.ms", "10");
    let consumer: BaseConsumer = cfg.create()?;
    let mut tpl = TopicPartitionList::new();
    for (_, remote) in &pairs {
        let md = consumer.fetch_metadata(Some(remote), Duration::from_secs(10))?;
        let Some(t) = md.topics().first().filter(|t| t.error().is_none()) else {
            bail!("no topic {remote} on the target");
        };
        for p in t.partitions() {
            tpl.add_partition_offset(remote, p.id(), Offset::Beginning)?;
        }
    }
    consumer.assign(&tpl)?;
    // Key -> (wall-clock ms when handed over, target append time); the first copy only.
    let mut seen: HashMap<Vec<u8>, (i64, i64)> = HashMap::new();
    let started = Instant::now();
    let mut progress = Instant::now();
    let mut known = false;
    loop {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                let now = now_ms() as i64;
                if let Some(k) = m.key().filter(|k| k.starts_with(wanted.as_bytes()))
                    && !seen.contains_key(k)
                {
                    seen.insert(k.to_vec(), (now, m.timestamp().to_millis().unwrap_or(now)));
                    progress = Instant::now();
                }
            }
            Some(Err(e)) => bail!("reading the target: {e}"),
            None => {}
        }
        let total = expected.load(Ordering::SeqCst);
        if total != u64::MAX {
            if !known {
                (known, progress) = (true, Instant::now());
            }
            if seen.len() as u64 >= total {
                break;
            }
            if progress.elapsed() > stall {
                bail!("stuck at {} of {total} records for {stall:?}", seen.len());
            }
        }
        if started.elapsed() > timeout {
            bail!("only {} records after {timeout:?}", seen.len());
        }
    }
    drop(consumer);
    let (mut vis, mut app) = (Vec::new(), Vec::new());
    let mut unmatched = 0u64;
    for (src, _) in &pairs {
        read_all(source, src, |k, ts| {
            if !k.starts_with(wanted.as_bytes()) {
                return;
            }
            match seen.get(k) {
                Some((handed, appended)) => {
                    vis.push(handed - ts);
                    app.push(appended - ts);
                }
                None => unmatched += 1,
            }
        })?;
    }
    let (p50, p99, max) = percentiles(&mut vis);
    let (a50, a99, amax) = percentiles(&mut app);
    Ok(json!({
        "count": vis.len(),
        "unmatched": unmatched,
        "p50_ms": p50,
        "p99_ms": p99,
        "max_ms": max,
        "append_p50_ms": a50,
        "append_p99_ms": a99,
        "append_max_ms": amax,
    }))
}

/// `<a> <b>` lines to `path`, when asked for.
fn write_pairs(path: Option<&std::path::Path>, pairs: &[(i64, i64)]) -> Result<()> {
    use std::io::Write;
    let Some(path) = path else {
        return Ok(());
    };
    let text: String = pairs.iter().map(|(a, b)| format!("{a} {b}\n")).collect();
    std::fs::File::create(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .with_context(|| format!("writing {}", path.display()))
}

fn latency_summary(pairs: &[(i64, i64)]) -> serde_json::Value {
    let mut lat: Vec<i64> = pairs.iter().map(|(_, l)| *l).collect();
    let (p50, p99, max) = percentiles(&mut lat);
    json!({ "count": lat.len(), "p50_ms": p50, "p99_ms": p99, "max_ms": max })
}

/// Records each acknowledgement's latency, keyed by the send time the record carries.
struct Acks(std::sync::Mutex<Vec<(i64, i64)>>);

impl rdkafka::ClientContext for Acks {}

impl rdkafka::producer::ProducerContext for Acks {
    type DeliveryOpaque = Box<i64>;

    fn delivery(&self, result: &rdkafka::message::DeliveryResult<'_>, sent: Box<i64>) {
        if result.is_ok() {
            let mut acks = self.0.lock().unwrap_or_else(|e| e.into_inner());
            acks.push((*sent, now_ms() as i64 - *sent));
        }
    }
}

fn ping(
    bootstrap: &str,
    topic: &str,
    seconds: f64,
    interval_ms: u64,
    dump: Option<&std::path::Path>,
) -> Result<serde_json::Value> {
    create(bootstrap, &[topic.to_owned()], 1, &[])?;
    let mut cfg = base(bootstrap);
    cfg.set("linger.ms", "0")
        .set("acks", "all")
        .set("enable.idempotence", "true");
    let p: BaseProducer<Acks> = cfg.create_with_context(Acks(std::sync::Mutex::new(Vec::new())))?;
    let started = Instant::now();
    let mut sent = 0u64;
    let mut failed = 0u64;
    while started.elapsed().as_secs_f64() < seconds {
        let due = started.elapsed().as_millis() as u64 / interval_ms.max(1);
        if sent <= due {
            let now = now_ms() as i64;
            let record = BaseRecord::with_opaque_to(topic, Box::new(now))
                .key("ping")
                .payload("ping");
            if p.send(record).is_err() {
                failed += 1;
            }
            sent += 1;
        }
        pace(&p);
    }
    p.flush(Duration::from_secs(60))?;
    let acks = std::mem::take(&mut *p.context().0.lock().unwrap_or_else(|e| e.into_inner()));
    write_pairs(dump, &acks)?;
    let mut out = latency_summary(&acks);
    out["sent"] = json!(sent);
    out["not_sent"] = json!(failed);
    Ok(out)
}
