//! `strait verify`: proves that a flow's remote topics hold exactly what their source topics
//! hold, partition by partition.
//!
//! | file | part |
//! |---|---|
//! | [`plan`] | which partitions to check (the flows' topic filters, `--topic`), their offset ranges, offset syncs |
//! | [`reader`] | reading one partition as a stream of record fingerprints |
//! | [`digest`] | the fingerprint of a record: key, value, headers, timestamp |
//! | [`check`] | one partition: finding where the copy starts, then comparing |
//! | [`compare`] | the streaming comparison and how it names missing, extra, duplicated and differing records |
//! | [`report`] | per-partition results, the table and the JSON document |
//! | [`progress`] | the progress bar (terminals only) |
//!
//! # What is compared
//!
//! For every partition, the source records from the start offset to the source's high
//! watermark are compared, in order, with the records of the remote partition up to its high
//! watermark. Both watermarks are read when the check starts, the target's first, so records
//! replicated while the check runs never read as extra. Records are compared by fingerprints
//! (64-bit XXH3 hashes of key, value and headers, and the timestamp), so no partition is ever
//! held in memory.
//!
//! # Where the comparison starts
//!
//! The source side starts at `--from-offset` when given, else at the source's log start. The
//! target side starts at the copy of that first source record, found as the *earliest common
//! record*: the target is searched for a record equal to it, from a lower bound that is the
//! largest of the target's log start, the downstream offset of the latest offset sync at or
//! before the start offset (used only after checking that the two records it pairs are equal,
//! as several replicators may write one offset-syncs topic), and the target's first offset at
//! or after the record's timestamp (copies keep their timestamps).
//!
//! When the target holds no copy of that record, the target's first record is searched for in
//! the source instead, and the comparison starts there. The source records skipped that way
//! count as **missing**, except without `--from-offset` when the target's log no longer starts
//! at offset 0: then retention deleted the beginning of the target and they are only reported
//! as not compared. Target records before the copy of the first compared source record are
//! never compared (they copy records older than the start).

pub mod check;
pub mod compare;
pub mod digest;
pub mod plan;
pub mod progress;
pub mod reader;
pub mod report;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::error::KafkaError;

use crate::config::FlowConfig;
use crate::config::truststore::TruststoreError;
use crate::kafka::ConnectError;
use crate::policy::PolicyError;
use crate::source::SourceError;

pub use report::{PartitionReport, Status, Summary, VerifyReport};

/// Why a check could not be made (differences found are results, not errors).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// A cluster could not be reached.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// A truststore could not be read.
    #[error(transparent)]
    Truststore(#[from] TruststoreError),
    /// A topic filter is invalid.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The flow's topic selection could not be built.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// A client could not be created.
    #[error("cannot create a {cluster} client: {source}")]
    Client {
        /// `source` or `target`.
        cluster: &'static str,
        /// librdkafka's error.
        source: KafkaError,
    },
    /// A request to a cluster failed.
    #[error("{cluster} cluster, {what}: {detail}")]
    Kafka {
        /// `source` or `target`.
        cluster: &'static str,
        /// What was asked (topic, partition, request).
        what: String,
        /// librdkafka's explanation.
        detail: String,
    },
    /// A partition delivered no record for too long before its end.
    #[error(
        "{cluster} cluster, {topic} partition {partition}: no record for {idle:?} at offset \
         {at} (end {end})"
    )]
    Stalled {
        /// `source` or `target`.
        cluster: &'static str,
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The next offset expected.
        at: i64,
        /// The end of the range.
        end: i64,
        /// How long was waited.
        idle: Duration,
    },
    /// Nothing matched what was asked for.
    #[error("nothing to verify: {0}")]
    Nothing(String),
}

/// What to verify and how.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Only flows named here (`source->target`, or a source alias); empty = every flow with an
    /// enabled source connector.
    pub flows: Vec<String>,
    /// Only source topics matching one of these regexes (whole name, Java syntax, as MM2's
    /// `topics`), on top of the flow's own filter; empty = every replicated topic.
    pub topics: Vec<String>,
    /// Only these partitions; empty = all.
    pub partitions: Vec<i32>,
    /// Source offset to start from (clamped to the log start); `None` = the log start.
    pub from_offset: Option<i64>,
    /// Partitions checked at the same time.
    pub parallelism: usize,
    /// Compare timestamps (false for targets that stamp records with their append time).
    pub compare_timestamps: bool,
    /// How long a partition may deliver nothing before its end before the check fails.
    pub idle_timeout: Duration,
    /// Draw a progress bar on stderr.
    pub progress: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            flows: Vec::new(),
            topics: Vec::new(),
            partitions: Vec::new(),
            from_offset: None,
            parallelism: 4,
            compare_timestamps: true,
            idle_timeout: Duration::from_secs(30),
            progress: false,
        }
    }
}

/// Verifies the remote topics of `flows` and reports every partition. Blocks; runs up to
/// `parallelism` partitions at once, each on a thread of its own with its own two consumers.
pub fn verify(flows: &[FlowConfig], opts: &VerifyOptions) -> Result<VerifyReport, VerifyError> {
    let started = Instant::now();
    let plan = plan::plan(flows, opts)?;
    if plan.jobs.is_empty() {
        return Err(VerifyError::Nothing(
            "no replicated topic matches the flows and filters given".to_owned(),
        ));
    }
    let total: u64 = plan.jobs.iter().map(plan::Job::source_span).sum();
    let progress = Arc::new(progress::Progress::new(total, plan.jobs.len()));
    let stop = Arc::new(AtomicBool::new(false));
    let bar = opts
        .progress
        .then(|| progress::spawn_bar(progress.clone(), stop.clone()));

    // Largest partitions first, so the last ones to finish are short.
    let mut jobs: Vec<plan::Job> = plan.jobs;
    jobs.sort_by_key(|j| std::cmp::Reverse(j.source_span()));
    let queue = Mutex::new(jobs.into_iter().collect::<VecDeque<_>>());
    let results = Mutex::new(Vec::new());
    let workers = opts.parallelism.max(1);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let mut worker = check::Worker::new(&plan.flows, opts, &progress);
                loop {
                    let job = match queue.lock() {
                        Ok(mut q) => q.pop_front(),
                        Err(_) => None,
                    };
                    let Some(job) = job else { break };
                    let report = worker.run(&job);
                    progress.partition_done();
                    if let Ok(mut r) = results.lock() {
                        r.push(report);
                    }
                }
            });
        }
    });
    stop.store(true, Ordering::Release);
    if let Some(Some(bar)) = bar {
        let _ = bar.join();
    }
    let mut partitions = results.into_inner().unwrap_or_else(|e| e.into_inner());
    partitions
        .sort_by(|a, b| (&a.flow, &a.topic, a.partition).cmp(&(&b.flow, &b.topic, b.partition)));
    Ok(VerifyReport::new(partitions, started.elapsed()))
}
