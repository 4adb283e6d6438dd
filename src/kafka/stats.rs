//! librdkafka's statistics, written to files for troubleshooting throughput.
//!
//! With `STRAIT_KAFKA_STATS=<path prefix>`, the replication consumer and producer emit
//! librdkafka's statistics JSON every second, one line each, to `<prefix>.<client>.jsonl`.
//! It is a diagnosis aid (batch fill, requests in flight, fetch queue), not a metric source.

use std::fs::File;
use std::io::Write;
use std::sync::Mutex;

use rdkafka::ClientConfig;

/// Where one client's statistics go, when asked for.
#[derive(Debug)]
pub struct StatsSink {
    file: Mutex<File>,
}

impl StatsSink {
    /// Turns statistics on in `cfg` and opens the file for `client`, if `STRAIT_KAFKA_STATS` is set.
    pub fn from_env(cfg: &mut ClientConfig, client: &str) -> Option<Self> {
        let prefix = std::env::var("STRAIT_KAFKA_STATS").ok()?;
        let path = format!("{prefix}.{client}.jsonl");
        match File::create(&path) {
            Ok(file) => {
                cfg.set("statistics.interval.ms", "1000");
                Some(Self {
                    file: Mutex::new(file),
                })
            }
            Err(e) => {
                tracing::warn!(%path, error = %e, "cannot write librdkafka statistics");
                None
            }
        }
    }

    /// Appends one statistics document.
    pub fn write(&self, json: &[u8]) {
        if let Ok(mut f) = self.file.lock() {
            let _ = f.write_all(json).and_then(|()| f.write_all(b"\n"));
        }
    }
}
