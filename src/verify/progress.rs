//! Progress of a check, and the bar drawn from it on a terminal (callers decide whether
//! stderr is one; CI logs get no bar).

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Counters the workers bump and the bar reads.
#[derive(Debug)]
pub struct Progress {
    total_records: u64,
    partitions: usize,
    records: AtomicU64,
    bytes: AtomicU64,
    partitions_done: AtomicUsize,
    started: Instant,
}

impl Progress {
    /// Progress over about `total_records` source records in `partitions` partitions.
    pub fn new(total_records: u64, partitions: usize) -> Self {
        Self {
            total_records,
            partitions,
            records: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            partitions_done: AtomicUsize::new(0),
            started: Instant::now(),
        }
    }

    /// One source record of `bytes` compared.
    pub fn record(&self, bytes: u64) {
        self.records.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// One partition finished.
    pub fn partition_done(&self) {
        self.partitions_done.fetch_add(1, Ordering::Relaxed);
    }

    /// The bar's text: `[####----]  42%  1234/2900 records  85.3 MB/s  ETA 14s  partitions 3/12`.
    pub fn line(&self, width: usize) -> String {
        let done = self.records.load(Ordering::Relaxed);
        let total = self.total_records.max(done).max(1);
        let fraction = done as f64 / total as f64;
        let filled = ((fraction * width as f64) as usize).min(width);
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = done as f64 / secs;
        let mbps = self.bytes.load(Ordering::Relaxed) as f64 / secs / 1e6;
        let eta = if rate > 0.0 {
            format!("{:.0}s", (total - done) as f64 / rate)
        } else {
            "?".to_owned()
        };
        format!(
            "[{}{}] {:>3.0}%  {done}/{total} records  {rate:.0} rec/s  {mbps:.1} MB/s  ETA {eta}  partitions {}/{}",
            "#".repeat(filled),
            "-".repeat(width - filled),
            fraction * 100.0,
            self.partitions_done.load(Ordering::Relaxed),
            self.partitions,
        )
    }
}

/// Draws the bar on stderr every 200 ms until `stop`, then clears it.
pub fn spawn_bar(progress: Arc<Progress>, stop: Arc<AtomicBool>) -> Option<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("verify progress".to_owned())
        .spawn(move || {
            let mut err = std::io::stderr();
            while !stop.load(Ordering::Acquire) {
                let _ = write!(err, "\r\x1b[2K{}", progress.line(30));
                let _ = err.flush();
                std::thread::sleep(Duration::from_millis(200));
            }
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        })
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_shows_fraction_and_counts() {
        let p = Progress::new(100, 2);
        for _ in 0..50 {
            p.record(1000);
        }
        p.partition_done();
        let line = p.line(10);
        assert!(
            line.starts_with("[#####-----]  50%  50/100 records"),
            "{line}"
        );
        assert!(line.ends_with("partitions 1/2"), "{line}");
    }
}
