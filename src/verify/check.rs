//! Checking one partition: finding where the copy starts (see the module documentation of
//! [`crate::verify`]), then comparing to the end.

use std::collections::HashMap;

use super::compare::{DigestStream, Findings, compare};
use super::digest::RecordDigest;
use super::plan::{FlowClients, Job};
use super::progress::Progress;
use super::reader::PartitionReader;
use super::report::PartitionReport;
use super::{VerifyError, VerifyOptions};

/// A stream with nothing in it: the target side of a partition that has no copy.
struct Empty;

impl DigestStream for Empty {
    fn next_digest(&mut self) -> Result<Option<RecordDigest>, VerifyError> {
        Ok(None)
    }
}

/// Where comparing starts and what was left out before it.
#[derive(Debug, Default)]
struct Start {
    /// First source offset of the compared range (before `source` when the records between
    /// were counted as missing).
    range: i64,
    source: i64,
    target: i64,
    notes: Vec<String>,
}

/// One worker thread's readers, per flow, created on first use.
pub struct Worker<'a> {
    flows: &'a [FlowClients],
    opts: &'a VerifyOptions,
    progress: &'a Progress,
    readers: HashMap<usize, (PartitionReader, PartitionReader)>,
}

impl std::fmt::Debug for Worker<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").finish_non_exhaustive()
    }
}

impl<'a> Worker<'a> {
    /// A worker over `flows`.
    pub fn new(flows: &'a [FlowClients], opts: &'a VerifyOptions, progress: &'a Progress) -> Self {
        Self {
            flows,
            opts,
            progress,
            readers: HashMap::new(),
        }
    }

    /// Checks one partition; a failure to check becomes an `error` report.
    pub fn run(&mut self, job: &Job) -> PartitionReport {
        let flow = self.flows.get(job.flow).map_or("", |f| f.name.as_str());
        let mut report = PartitionReport::new(flow, job);
        match self.check(job, &mut report) {
            Ok(()) => report.finish(),
            Err(e) => report.fail(e.to_string()),
        }
        report
    }

    fn readers(
        &mut self,
        flow: usize,
    ) -> Result<&mut (PartitionReader, PartitionReader), VerifyError> {
        if !self.readers.contains_key(&flow) {
            let clients = self
                .flows
                .get(flow)
                .ok_or_else(|| VerifyError::Nothing(format!("flow {flow} is not in the plan")))?;
            let ts = self.opts.compare_timestamps;
            let idle = self.opts.idle_timeout;
            let pair = (
                PartitionReader::new(&clients.source, "source", ts, idle)?,
                PartitionReader::new(&clients.target, "target", ts, idle)?,
            );
            self.readers.insert(flow, pair);
        }
        self.readers
            .get_mut(&flow)
            .ok_or_else(|| VerifyError::Nothing(format!("flow {flow} has no readers")))
    }

    fn check(&mut self, job: &Job, report: &mut PartitionReport) -> Result<(), VerifyError> {
        let compare_ts = self.opts.compare_timestamps;
        let progress = self.progress;
        let (src, tgt) = self.readers(job.flow)?;
        let (topic, remote, p) = (job.topic.as_str(), job.remote.as_str(), job.partition);
        let source_end = job.source.1;
        let mut on_source = |bytes| progress.record(bytes);
        let Some(first) = src.first(topic, p, job.from, source_end)? else {
            report.source_range = (job.from, source_end);
            return Ok(()); // no record in the range: nothing to miss
        };
        let Some((target_low, target_end)) = job.target.filter(|(l, h)| h > l) else {
            if job.target.is_none() {
                report
                    .notes
                    .push("the remote partition does not exist".to_owned());
            }
            report.source_range = (first.offset, source_end);
            src.start(topic, p, first.offset, source_end)?;
            return compare(src, &mut Empty, &mut report.findings, &mut on_source);
        };
        let t = std::time::Instant::now();
        let start = find_start(job, &first, src, tgt, compare_ts, &mut report.findings)?;
        tracing::debug!(topic, partition = p, elapsed = ?t.elapsed(), source = start.source,
            target = start.target, "start of the copy found");
        report.notes.extend(start.notes);
        report.source_range = (start.range, source_end);
        report.target_range = Some((start.target, target_end));
        if start.target > target_low {
            report.notes.push(format!(
                "target offsets {target_low}..{} precede the copy of the first compared source \
                 record; not compared",
                start.target
            ));
        }
        src.start(topic, p, start.source, source_end)?;
        tgt.start(remote, p, start.target, target_end)?;
        compare(src, tgt, &mut report.findings, &mut on_source)
    }
}

/// Finds the target offset holding the copy of `first` (the first source record compared),
/// or failing that, the source record the target starts with.
fn find_start(
    job: &Job,
    first: &RecordDigest,
    src: &mut PartitionReader,
    tgt: &mut PartitionReader,
    compare_ts: bool,
    findings: &mut Findings,
) -> Result<Start, VerifyError> {
    let (topic, remote, p) = (job.topic.as_str(), job.remote.as_str(), job.partition);
    let (target_low, target_end) = job.target.unwrap_or((0, 0));
    let mut lower = target_low;
    if let Some((up, down)) = job.anchor {
        // An offset sync is a hint only: several replicators may write one offset-syncs topic.
        let s = src.first(topic, p, up, up + 1)?;
        let t = tgt.first(remote, p, down, down + 1)?;
        if let (Some(s), Some(t)) = (s, t)
            && s.fingerprint == t.fingerprint
        {
            lower = lower.max(down);
        }
    }
    if let Some(ts) = first.fingerprint.timestamp.filter(|_| compare_ts) {
        // Copies keep their timestamp, so the copy is at or after the first target record
        // stamped at or after it.
        match tgt.offset_for_time(remote, p, ts)? {
            Some(o) => lower = lower.max(o),
            None => lower = target_end,
        }
    }
    if let Some((copy, _)) = tgt.find(&first.fingerprint, remote, p, lower, target_end)? {
        return Ok(Start {
            range: first.offset,
            source: first.offset,
            target: copy.offset,
            notes: Vec::new(),
        });
    }
    // The target holds no copy of the first record: start at the target's first record.
    let Some(target_first) = tgt.first(remote, p, target_low, target_end)? else {
        return Ok(Start {
            range: first.offset,
            source: first.offset,
            target: target_end,
            notes: Vec::new(),
        });
    };
    match src.find(
        &target_first.fingerprint,
        topic,
        p,
        first.offset,
        job.source.1,
    )? {
        Some((at, skipped)) => {
            let mut notes = Vec::new();
            let counted = job.from_given || target_low == 0;
            if counted {
                findings.add_missing(first.offset, skipped, false);
                findings.source_records += skipped;
            } else {
                notes.push(format!(
                    "source offsets {}..{} are older than the target's first record (the \
                     target's retention deleted them); not compared",
                    first.offset, at.offset
                ));
            }
            Ok(Start {
                range: if counted { first.offset } else { at.offset },
                source: at.offset,
                target: target_first.offset,
                notes,
            })
        }
        None => Ok(Start {
            // No record in common: compare position by position from both starts.
            range: first.offset,
            source: first.offset,
            target: target_first.offset,
            notes: vec!["the target holds no copy of any compared source record".to_owned()],
        }),
    }
}
