//! What compressed batch passthrough costs, measured before the fetcher is built (issue 15):
//! copies whole topics from the source to the target as Strait's replication would, but with
//! batches fetched as stored (`kafka::fetch`) and written as they came (`writer::passthrough`),
//! and reports the process's CPU per GiB beside Strait's own catch-up of the same records.
//!
//! A bound, not a replicator: one thread, each round a fetch from every source leader then the
//! batches written to the target (one request per leader), no overlap between the two, no
//! progress, offset syncs or retries; it stops at the first error. Both clusters are reached
//! as the flow file's first flow says (TLS and SASL included).
//!
//! ```text
//! cargo run --release --example passthrough_spike -- --config flow.yaml \
//!     --topics a,b --remote-prefix pt.
//! ```
//! The remote topics (`<prefix><topic>`, as many partitions as the source's) must exist.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use kafka_protocol::messages::MetadataResponse;
use serde_json::json;
use strait::kafka::fetch::{FetchSettings, Fetcher};
use strait::kafka::writer::producer::Dialer;
use strait::kafka::writer::{
    Codec, PartitionWrite, PassedBatch, Payload, WireProducer, WriterSettings,
};

#[derive(Debug, Parser)]
struct Cli {
    /// A Strait configuration file; its first flow's source and target clusters are used.
    #[arg(long)]
    config: PathBuf,
    /// Source topics to copy from their start to their end.
    #[arg(long, value_delimiter = ',')]
    topics: Vec<String>,
    /// The remote topics are named `<prefix><topic>`.
    #[arg(long)]
    remote_prefix: String,
    /// The codec written (batches in another codec are counted as not passable and skipped).
    #[arg(long, default_value = "lz4")]
    codec: String,
}

/// CPU seconds this process used so far (user + system), from /proc.
fn cpu_seconds() -> Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the command name (which may hold spaces) end in ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after ')'.
    let ticks: f64 = fields
        .get(11..13)
        .context("/proc/self/stat too short")?
        .iter()
        .map(|f| f.parse::<f64>().unwrap_or(0.0))
        .sum();
    Ok(ticks / 100.0)
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let codec = Codec::from_name(&cli.codec).context("--codec: not a Kafka codec")?;
    let loaded = strait::config::load::load(std::slice::from_ref(&cli.config))?;
    let flow = loaded
        .config
        .flows
        .first()
        .context("the file has no flow")?;
    let settings = WriterSettings {
        client_id: "strait-passthrough-spike".to_owned(),
        codec,
        ..WriterSettings::default()
    };
    let fs = FetchSettings {
        max_wait: Duration::from_millis(20),
        min_bytes: 1,
        max_bytes: 8 * 1024 * 1024,
        partition_max_bytes: 1024 * 1024,
        read_committed: true,
    };
    let mut fetcher = Fetcher::new(
        &flow.source,
        &settings.client_id,
        settings.request_timeout,
        fs,
    )?;
    let mut any = Dialer::new(&flow.source, settings.clone())?.open_any(&[], &mut Vec::new())?;
    let m: MetadataResponse = any.call(&WireProducer::metadata_request(&cli.topics))?;
    for t in &m.topics {
        let name = t.name.as_ref().map(|n| n.0.to_string()).unwrap_or_default();
        if t.error_code != 0 {
            bail!("source topic {name}: error code {}", t.error_code);
        }
        for p in &t.partitions {
            fetcher.assign(&name, p.partition_index, 0);
        }
    }
    let mut assigned = m.topics.iter().map(|t| t.partitions.len()).sum::<usize>();
    let mut target = WireProducer::connect(&flow.target, settings)?;
    let (cpu0, t0) = (cpu_seconds()?, Instant::now());
    let (mut bytes, mut records, mut batches) = (0u64, 0u64, 0u64);
    let mut not_passable: BTreeMap<String, u64> = BTreeMap::new();
    let mut ends: HashMap<(String, i32), i64> = HashMap::new();
    // A partition is done at the end its first answer gives (later records are not waited
    // for).
    while assigned > 0 {
        let mut passed: Vec<(String, i32, Vec<PassedBatch>)> = Vec::new();
        for f in fetcher.fetch()? {
            if f.error_code != 0 {
                bail!(
                    "{}-{}: fetch error code {}",
                    f.topic,
                    f.partition,
                    f.error_code
                );
            }
            let end = *ends
                .entry((f.topic.clone(), f.partition))
                .or_insert(f.high_watermark);
            let mut these = Vec::new();
            for b in &f.batches {
                match PassedBatch::new(b, f.from, codec) {
                    Ok(p) => {
                        bytes += p.size() as u64;
                        records += p.len() as u64;
                        these.push(p);
                    }
                    Err(why) => *not_passable.entry(why.to_string()).or_insert(0u64) += 1,
                }
            }
            if f.next_offset >= end {
                fetcher.revoke(&f.topic, f.partition);
                assigned -= 1;
            }
            passed.push((
                format!("{}{}", cli.remote_prefix, f.topic),
                f.partition,
                these,
            ));
        }
        // One batch per partition per write: a partition's batches go in order.
        let rounds = passed.iter().map(|(_, _, b)| b.len()).max().unwrap_or(0);
        for i in 0..rounds {
            let writes: Vec<PartitionWrite<'_>> = passed
                .iter()
                .filter_map(|(topic, partition, bs)| {
                    bs.get(i).map(|b| PartitionWrite {
                        topic,
                        partition: *partition,
                        records: Payload::Passed(b),
                    })
                })
                .collect();
            for (w, outcome) in writes.iter().zip(target.write(&writes)) {
                outcome.with_context(|| format!("writing to {}-{}", w.topic, w.partition))?;
                batches += 1;
            }
        }
    }
    let (cpu, wall) = (cpu_seconds()? - cpu0, t0.elapsed().as_secs_f64());
    let gib = bytes as f64 / f64::from(1u32 << 30);
    println!(
        "{}",
        json!({
            "records": records,
            "batches": batches,
            "not_passable": not_passable,
            "bytes": bytes,
            "seconds": wall,
            "cpu_seconds": cpu,
            "cpu_seconds_per_gib": if gib > 0.0 { cpu / gib } else { 0.0 },
            "mb_per_s": bytes as f64 / 1e6 / wall,
        })
    );
    Ok(())
}
