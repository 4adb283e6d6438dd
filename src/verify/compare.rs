//! The streaming comparison of one source partition with its copy: both sides are read once,
//! in order, as fingerprints; a bounded look-ahead on each side and a bounded history of
//! matched records tell missing, extra, duplicated and differing records apart.
//!
//! When the heads of both streams differ, the first rule that applies wins:
//! 1. the target record equals a recently matched source record: it is a **duplicate**
//!    (at-least-once replays re-send a run of records after a restart);
//! 2. the target record equals a source record a little ahead: the source records before it are
//!    **missing** on the target;
//! 3. the source record equals a target record a little ahead: the target records before it are
//!    **extra** (no source record matches them);
//! 4. otherwise the two records **differ** (same position, different content).
//!
//! Memory stays bounded by [`LOOKAHEAD`] and [`HISTORY`]: a run of missing or extra records
//! longer than the look-ahead reads as differing records from its first position on (the first
//! position reported is still exact), and a replay older than the history reads as extra.

use std::collections::{HashMap, VecDeque};

use serde::Serialize;

use super::VerifyError;
use super::digest::{Fingerprint, RecordDigest};

/// How far ahead each side is searched (records).
pub const LOOKAHEAD: usize = 50_000;
/// How many matched source records are remembered to recognise duplicates.
pub const HISTORY: usize = 100_000;

/// Records in log order, one at a time.
pub trait DigestStream {
    /// The next record, or `None` at the end of the range.
    fn next_digest(&mut self) -> Result<Option<RecordDigest>, VerifyError>;
}

impl<I: Iterator<Item = RecordDigest>> DigestStream for std::iter::Fuse<I> {
    fn next_digest(&mut self) -> Result<Option<RecordDigest>, VerifyError> {
        Ok(self.next())
    }
}

/// Source records absent from the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Missing {
    /// How many.
    pub count: u64,
    /// Source offset of the first one.
    pub first_source_offset: i64,
    /// How many of them are at the end of the range: the target stops early there, which is
    /// also what a replicator still catching up looks like.
    pub at_end: u64,
}

/// Target records that match no source record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Extra {
    /// How many.
    pub count: u64,
    /// Target offset of the first one.
    pub first_target_offset: i64,
}

/// Target records that repeat a source record already matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Duplicated {
    /// How many.
    pub count: u64,
    /// Target offset of the first one.
    pub first_target_offset: i64,
    /// The source offset of the record it repeats.
    pub source_offset: i64,
}

/// Records at the same position whose content differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Differing {
    /// How many.
    pub count: u64,
    /// Source offset of the first one.
    pub first_source_offset: i64,
    /// Target offset of the first one.
    pub first_target_offset: i64,
    /// Which fields of the first one differ: `key`, `value`, `headers`, `timestamp`.
    pub fields: Vec<&'static str>,
}

/// What comparing one partition found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Findings {
    /// Source records read.
    pub source_records: u64,
    /// Target records read.
    pub target_records: u64,
    /// Source records found, equal, at their place on the target.
    pub matched: u64,
    /// Key + value bytes of the source records read.
    pub source_bytes: u64,
    /// Source records not on the target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<Missing>,
    /// Target records matching no source record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra: Option<Extra>,
    /// Target records repeating a source record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicated: Option<Duplicated>,
    /// Records whose content differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub differing: Option<Differing>,
}

impl Findings {
    /// Whether nothing is missing, extra, duplicated or different.
    pub fn is_equal(&self) -> bool {
        self.missing.is_none()
            && self.extra.is_none()
            && self.duplicated.is_none()
            && self.differing.is_none()
    }

    /// Records `n` missing source records starting at `first`.
    pub fn add_missing(&mut self, first: i64, n: u64, at_end: bool) {
        let m = self.missing.get_or_insert(Missing {
            count: 0,
            first_source_offset: first,
            at_end: 0,
        });
        m.count += n;
        if at_end {
            m.at_end += n;
        }
    }

    fn add_extra(&mut self, first: i64, n: u64) {
        self.extra
            .get_or_insert(Extra {
                count: 0,
                first_target_offset: first,
            })
            .count += n;
    }

    fn add_duplicate(&mut self, target: i64, source: i64) {
        self.duplicated
            .get_or_insert(Duplicated {
                count: 0,
                first_target_offset: target,
                source_offset: source,
            })
            .count += 1;
    }

    fn add_differing(&mut self, s: &RecordDigest, t: &RecordDigest) {
        self.differing
            .get_or_insert_with(|| Differing {
                count: 0,
                first_source_offset: s.offset,
                first_target_offset: t.offset,
                fields: s.fingerprint.differing_fields(&t.fingerprint),
            })
            .count += 1;
    }
}

/// A stream with a bounded, indexed look-ahead buffer.
struct Lookahead<'a> {
    stream: &'a mut dyn DigestStream,
    buf: VecDeque<RecordDigest>,
    index: HashMap<Fingerprint, u32>,
    ended: bool,
}

impl<'a> Lookahead<'a> {
    fn new(stream: &'a mut dyn DigestStream) -> Self {
        Self {
            stream,
            buf: VecDeque::new(),
            index: HashMap::new(),
            ended: false,
        }
    }

    fn fill(&mut self, n: usize) -> Result<(), VerifyError> {
        while self.buf.len() < n && !self.ended {
            match self.stream.next_digest()? {
                Some(d) => {
                    *self.index.entry(d.fingerprint).or_default() += 1;
                    self.buf.push_back(d);
                }
                None => self.ended = true,
            }
        }
        Ok(())
    }

    fn head(&mut self) -> Result<Option<RecordDigest>, VerifyError> {
        self.fill(1)?;
        Ok(self.buf.front().copied())
    }

    fn pop(&mut self) -> Option<RecordDigest> {
        let d = self.buf.pop_front()?;
        if let Some(n) = self.index.get_mut(&d.fingerprint) {
            *n -= 1;
            if *n == 0 {
                self.index.remove(&d.fingerprint);
            }
        }
        Some(d)
    }

    /// Position of `fp` within the next `window` records, if there.
    fn position(&mut self, fp: &Fingerprint, window: usize) -> Result<Option<usize>, VerifyError> {
        self.fill(window)?;
        if !self.index.contains_key(fp) {
            return Ok(None);
        }
        Ok(self.buf.iter().position(|d| d.fingerprint == *fp))
    }
}

/// Matched source records, newest last, bounded.
#[derive(Default)]
struct History {
    order: VecDeque<Fingerprint>,
    offsets: HashMap<Fingerprint, (i64, u32)>,
}

impl History {
    fn push(&mut self, d: &RecordDigest) {
        let e = self.offsets.entry(d.fingerprint).or_insert((d.offset, 0));
        e.0 = d.offset;
        e.1 += 1;
        self.order.push_back(d.fingerprint);
        if self.order.len() > HISTORY
            && let Some(old) = self.order.pop_front()
            && let Some(e) = self.offsets.get_mut(&old)
        {
            e.1 -= 1;
            if e.1 == 0 {
                self.offsets.remove(&old);
            }
        }
    }

    fn source_offset(&self, fp: &Fingerprint) -> Option<i64> {
        self.offsets.get(fp).map(|e| e.0)
    }
}

/// Compares `source` with `target` to the end of both. `on_source` is told the bytes of every
/// source record consumed (progress reporting).
pub fn compare(
    source: &mut dyn DigestStream,
    target: &mut dyn DigestStream,
    findings: &mut Findings,
    on_source: &mut dyn FnMut(u64),
) -> Result<(), VerifyError> {
    compare_with(source, target, findings, on_source, LOOKAHEAD)
}

fn compare_with(
    source: &mut dyn DigestStream,
    target: &mut dyn DigestStream,
    f: &mut Findings,
    on_source: &mut dyn FnMut(u64),
    window: usize,
) -> Result<(), VerifyError> {
    let mut src = Lookahead::new(source);
    let mut tgt = Lookahead::new(target);
    let mut history = History::default();
    let mut take_source = |src: &mut Lookahead<'_>, f: &mut Findings| {
        let d = src.pop();
        if let Some(d) = &d {
            f.source_records += 1;
            f.source_bytes += d.bytes;
            on_source(d.bytes);
        }
        d
    };
    loop {
        let (s, t) = (src.head()?, tgt.head()?);
        match (s, t) {
            (None, None) => return Ok(()),
            (Some(s), None) => {
                f.add_missing(s.offset, 1, true);
                take_source(&mut src, f);
            }
            (None, Some(t)) => {
                match history.source_offset(&t.fingerprint) {
                    Some(so) => f.add_duplicate(t.offset, so),
                    None => f.add_extra(t.offset, 1),
                }
                tgt.pop();
                f.target_records += 1;
            }
            (Some(s), Some(t)) if s.fingerprint == t.fingerprint => {
                history.push(&s);
                take_source(&mut src, f);
                tgt.pop();
                f.target_records += 1;
                f.matched += 1;
            }
            (Some(s), Some(t)) => {
                if let Some(so) = history.source_offset(&t.fingerprint) {
                    f.add_duplicate(t.offset, so);
                    tgt.pop();
                    f.target_records += 1;
                } else if let Some(j) = src.position(&t.fingerprint, window)? {
                    f.add_missing(s.offset, j as u64, false);
                    for _ in 0..j {
                        take_source(&mut src, f);
                    }
                } else if let Some(k) = tgt.position(&s.fingerprint, window)? {
                    f.add_extra(t.offset, k as u64);
                    for _ in 0..k {
                        tgt.pop();
                        f.target_records += 1;
                    }
                } else {
                    f.add_differing(&s, &t);
                    take_source(&mut src, f);
                    tgt.pop();
                    f.target_records += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(offset: i64, content: u64) -> RecordDigest {
        RecordDigest {
            offset,
            fingerprint: Fingerprint {
                key: Some(content),
                value: Some(content * 7),
                headers: 0,
                timestamp: Some(content as i64),
            },
            bytes: 10,
        }
    }

    /// Source offsets 0..n with content i; the target built by `edit` from the contents.
    fn run(n: u64, edit: impl FnOnce(&mut Vec<u64>)) -> Findings {
        let source: Vec<RecordDigest> = (0..n).map(|i| rec(i as i64, i)).collect();
        let mut contents: Vec<u64> = (0..n).collect();
        edit(&mut contents);
        let target: Vec<RecordDigest> = contents
            .iter()
            .enumerate()
            .map(|(o, c)| rec(o as i64 + 1000, *c))
            .collect();
        let mut f = Findings::default();
        let mut seen = 0;
        compare_with(
            &mut source.into_iter().fuse(),
            &mut target.into_iter().fuse(),
            &mut f,
            &mut |_| seen += 1,
            50,
        )
        .unwrap();
        assert_eq!(seen, f.source_records);
        f
    }

    #[test]
    fn equal_streams() {
        let f = run(500, |_| {});
        assert!(f.is_equal(), "{f:?}");
        assert_eq!(
            (f.matched, f.source_records, f.target_records),
            (500, 500, 500)
        );
    }

    #[test]
    fn missing_record_is_named() {
        let f = run(500, |c| {
            c.remove(120);
        });
        assert_eq!(
            f.missing,
            Some(Missing {
                count: 1,
                first_source_offset: 120,
                at_end: 0
            })
        );
        assert!(f.extra.is_none() && f.duplicated.is_none() && f.differing.is_none());
        assert_eq!(f.matched, 499);
    }

    #[test]
    fn missing_tail_is_flagged() {
        let f = run(100, |c| c.truncate(90));
        assert_eq!(
            f.missing,
            Some(Missing {
                count: 10,
                first_source_offset: 90,
                at_end: 10
            })
        );
    }

    #[test]
    fn duplicated_run_is_named() {
        // A replay of records 40..60 after 59, as an at-least-once restart writes it.
        let f = run(200, |c| {
            let replay: Vec<u64> = (40..60).collect();
            c.splice(60..60, replay);
        });
        assert_eq!(
            f.duplicated,
            Some(Duplicated {
                count: 20,
                first_target_offset: 1060,
                source_offset: 40
            })
        );
        assert!(
            f.missing.is_none() && f.extra.is_none() && f.differing.is_none(),
            "{f:?}"
        );
    }

    #[test]
    fn duplicate_at_the_end_is_named() {
        let f = run(10, |c| c.push(9));
        assert_eq!(
            f.duplicated,
            Some(Duplicated {
                count: 1,
                first_target_offset: 1010,
                source_offset: 9
            })
        );
    }

    #[test]
    fn altered_record_is_named() {
        let f = run(300, |c| c[77] = 999_999);
        let d = f.differing.unwrap();
        assert_eq!(
            (d.count, d.first_source_offset, d.first_target_offset),
            (1, 77, 1077)
        );
        assert_eq!(d.fields, ["key", "value", "timestamp"]);
        assert!(f.missing.is_none() && f.extra.is_none());
    }

    #[test]
    fn extra_record_is_named() {
        let f = run(300, |c| c.insert(33, 777_777));
        assert_eq!(
            f.extra,
            Some(Extra {
                count: 1,
                first_target_offset: 1033
            })
        );
        assert!(f.missing.is_none() && f.differing.is_none() && f.duplicated.is_none());
    }

    #[test]
    fn gap_beyond_the_window_is_named_at_its_start() {
        let f = run(400, |c| {
            c.drain(100..200);
        });
        // The look-ahead (50 here) cannot see 100 records ahead: the records from the gap on
        // read as differing, and the tail as missing; the first position is still exact.
        assert_eq!(f.matched, 100);
        assert_eq!(
            f.differing.as_ref().map(|d| d.first_source_offset),
            Some(100)
        );
        assert_eq!(f.missing.as_ref().map(|m| m.at_end), Some(100));
    }

    #[test]
    fn empty_target_misses_everything() {
        let f = run(5, |c| c.clear());
        assert_eq!(
            f.missing,
            Some(Missing {
                count: 5,
                first_source_offset: 0,
                at_end: 5
            })
        );
    }
}
