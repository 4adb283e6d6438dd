//! Results: one [`PartitionReport`] per partition, gathered in a [`VerifyReport`] that renders
//! as a table or serialises as JSON.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::compare::Findings;
use super::plan::Job;

/// A partition's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every compared source record is on the target, in order, once, unchanged.
    Equal,
    /// Something is missing, extra, duplicated or different.
    Different,
    /// The partition could not be checked.
    Error,
}

/// The result for one partition.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionReport {
    /// The flow, `<source>-><target>`.
    pub flow: String,
    /// The source topic.
    pub topic: String,
    /// The remote topic on the target.
    pub remote_topic: String,
    /// The partition.
    pub partition: i32,
    /// The verdict.
    pub status: Status,
    /// What is wrong: any of `missing`, `extra`, `duplicated`, `differing`.
    pub problems: Vec<&'static str>,
    /// Source offsets compared: `[first, end)`.
    pub source_range: (i64, i64),
    /// Target offsets compared: `[first, end)`; `None` when the remote partition is absent.
    pub target_range: Option<(i64, i64)>,
    /// Counts and the first of each kind of difference.
    #[serde(flatten)]
    pub findings: Findings,
    /// What was not compared, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Why the partition could not be checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl PartitionReport {
    /// A report for `job`, equal until findings say otherwise.
    pub fn new(flow: &str, job: &Job) -> Self {
        Self {
            flow: flow.to_owned(),
            topic: job.topic.clone(),
            remote_topic: job.remote.clone(),
            partition: job.partition,
            status: Status::Equal,
            problems: Vec::new(),
            source_range: (job.from, job.source.1),
            target_range: job.target,
            findings: Findings::default(),
            notes: Vec::new(),
            error: None,
        }
    }

    /// Sets the verdict from the findings.
    pub fn finish(&mut self) {
        let f = &self.findings;
        self.problems = [
            ("missing", f.missing.is_some()),
            ("extra", f.extra.is_some()),
            ("duplicated", f.duplicated.is_some()),
            ("differing", f.differing.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, found)| found.then_some(name))
        .collect();
        self.status = if self.problems.is_empty() {
            Status::Equal
        } else {
            Status::Different
        };
    }

    /// Marks the partition as not checked.
    pub fn fail(&mut self, error: String) {
        self.status = Status::Error;
        self.error = Some(error);
    }

    /// One line saying what was found.
    pub fn detail(&self) -> String {
        if let Some(e) = &self.error {
            return e.clone();
        }
        let f = &self.findings;
        let mut parts = Vec::new();
        if let Some(m) = &f.missing {
            let mut s = format!(
                "{} missing from source offset {}",
                m.count, m.first_source_offset
            );
            if m.at_end > 0 {
                let _ = write!(
                    s,
                    " ({} at the end: replication still catching up?)",
                    m.at_end
                );
            }
            parts.push(s);
        }
        if let Some(x) = &f.extra {
            parts.push(format!(
                "{} extra from target offset {}",
                x.count, x.first_target_offset
            ));
        }
        if let Some(d) = &f.duplicated {
            parts.push(format!(
                "{} duplicated from target offset {} (source offset {})",
                d.count, d.first_target_offset, d.source_offset
            ));
        }
        if let Some(d) = &f.differing {
            parts.push(format!(
                "{} differing from source offset {} / target offset {} ({})",
                d.count,
                d.first_source_offset,
                d.first_target_offset,
                d.fields.join(", ")
            ));
        }
        if parts.is_empty() {
            parts.push(format!("{} records equal", f.matched));
        }
        parts.extend(self.notes.iter().cloned());
        parts.join("; ")
    }

    fn status_text(&self) -> String {
        match self.status {
            Status::Equal => "equal".to_owned(),
            Status::Error => "error".to_owned(),
            Status::Different => self.problems.join("+"),
        }
    }
}

/// Totals over every partition.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Partitions checked.
    pub partitions: usize,
    /// Partitions found equal.
    pub equal: usize,
    /// Partitions found different.
    pub different: usize,
    /// Partitions that could not be checked.
    pub errors: usize,
    /// Source records read.
    pub source_records: u64,
    /// Target records read.
    pub target_records: u64,
    /// Key + value bytes of the source records read.
    pub source_bytes: u64,
    /// Wall time of the whole check.
    pub seconds: f64,
}

/// The result of a whole `strait verify`.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// True only when every partition is equal.
    pub equal: bool,
    /// Totals.
    pub summary: Summary,
    /// One entry per partition, by flow, topic and partition.
    pub partitions: Vec<PartitionReport>,
}

impl VerifyReport {
    /// Gathers the partition reports.
    pub fn new(partitions: Vec<PartitionReport>, elapsed: Duration) -> Self {
        let mut s = Summary {
            partitions: partitions.len(),
            seconds: elapsed.as_secs_f64(),
            ..Summary::default()
        };
        for p in &partitions {
            match p.status {
                Status::Equal => s.equal += 1,
                Status::Different => s.different += 1,
                Status::Error => s.errors += 1,
            }
            s.source_records += p.findings.source_records;
            s.target_records += p.findings.target_records;
            s.source_bytes += p.findings.source_bytes;
        }
        Self {
            equal: s.equal == s.partitions,
            summary: s,
            partitions,
        }
    }

    /// The report as an aligned text table and a summary line.
    pub fn table(&self) -> String {
        let range = |r: Option<(i64, i64)>| r.map_or("-".to_owned(), |(a, b)| format!("{a}..{b}"));
        let mut rows = vec![[
            "FLOW".to_owned(),
            "TOPIC".to_owned(),
            "PARTITION".to_owned(),
            "SOURCE".to_owned(),
            "TARGET".to_owned(),
            "RECORDS".to_owned(),
            "STATUS".to_owned(),
            "DETAIL".to_owned(),
        ]];
        for p in &self.partitions {
            rows.push([
                p.flow.clone(),
                p.topic.clone(),
                p.partition.to_string(),
                range(Some(p.source_range)),
                range(p.target_range),
                p.findings.source_records.to_string(),
                p.status_text(),
                p.detail(),
            ]);
        }
        let mut widths = [0usize; 8];
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in &rows {
            let mut line = String::new();
            for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
                if i + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    let _ = write!(line, "{cell:<w$}  ");
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        let s = &self.summary;
        let _ = writeln!(
            out,
            "\n{} partitions: {} equal, {} different, {} not checked; {} source records ({:.1} MiB) in {:.1} s: {}",
            s.partitions,
            s.equal,
            s.different,
            s.errors,
            s.source_records,
            s.source_bytes as f64 / (1024.0 * 1024.0),
            s.seconds,
            if self.equal { "EQUAL" } else { "NOT EQUAL" }
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::compare::{Duplicated, Missing};

    fn job(partition: i32) -> Job {
        Job {
            flow: 0,
            topic: "orders".to_owned(),
            remote: "source.orders".to_owned(),
            partition,
            source: (0, 100),
            target: Some((0, 100)),
            from: 0,
            from_given: false,
            anchor: None,
        }
    }

    #[test]
    fn verdicts_and_table() {
        let mut equal = PartitionReport::new("source->target", &job(0));
        equal.findings.matched = 100;
        equal.finish();
        let mut bad = PartitionReport::new("source->target", &job(1));
        bad.findings.missing = Some(Missing {
            count: 2,
            first_source_offset: 40,
            at_end: 0,
        });
        bad.findings.duplicated = Some(Duplicated {
            count: 1,
            first_target_offset: 70,
            source_offset: 68,
        });
        bad.finish();
        let mut failed = PartitionReport::new("source->target", &job(2));
        failed.fail("timed out".to_owned());

        assert_eq!(equal.status, Status::Equal);
        assert_eq!(bad.status, Status::Different);
        assert_eq!(bad.problems, ["missing", "duplicated"]);
        let report = VerifyReport::new(vec![equal, bad, failed], Duration::from_secs(1));
        assert!(!report.equal);
        assert_eq!(
            (
                report.summary.equal,
                report.summary.different,
                report.summary.errors
            ),
            (1, 1, 1)
        );
        let table = report.table();
        assert!(table.contains("missing+duplicated"), "{table}");
        assert!(
            table.contains(
                "2 missing from source offset 40; 1 duplicated from target offset 70 (source offset 68)"
            ),
            "{table}"
        );
        assert!(table.contains("timed out"), "{table}");
        assert!(table.contains("NOT EQUAL"), "{table}");

        let json = serde_json::to_value(&report).unwrap_or_default();
        assert_eq!(json["partitions"][1]["missing"]["first_source_offset"], 40);
        assert_eq!(json["partitions"][0]["status"], "equal");
        assert!(json["partitions"][0].get("missing").is_none());
    }
}
