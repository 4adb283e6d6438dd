//! Replication latency from heartbeats: a heartbeat carries the time it was emitted; when its
//! replica is read on the target, the difference is how long replication took end to end
//! (plus the reader's own delay). For the metrics part to expose.

use std::time::Duration;

use crate::wire::Heartbeat;

/// How long a heartbeat took from being emitted to being seen at `observed_ms` (milliseconds
/// since the Unix epoch), e.g. the append time or read time of its replica on the target.
/// Clock skew can make this negative; it is then reported as zero.
pub fn replication_latency(heartbeat: &Heartbeat, observed_ms: i64) -> Duration {
    let ms = observed_ms.saturating_sub(heartbeat.timestamp_ms).max(0);
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// The latest latency of one flow (`source_alias` → `target_alias`), as seen by a reader of
/// the replicated heartbeats topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatLatency {
    /// The flow's source alias (from the heartbeat's key).
    pub source_alias: String,
    /// The flow's target alias (from the heartbeat's key).
    pub target_alias: String,
    /// Emit time of the newest heartbeat seen.
    pub emitted_ms: i64,
    /// Latency of the newest heartbeat seen.
    pub latest: Duration,
    /// Highest latency seen since [`HeartbeatLatency::take_max`] was last called.
    pub max: Duration,
}

impl HeartbeatLatency {
    /// Starts from one observed heartbeat.
    pub fn new(heartbeat: &Heartbeat, observed_ms: i64) -> Self {
        let latency = replication_latency(heartbeat, observed_ms);
        Self {
            source_alias: heartbeat.source_alias.clone(),
            target_alias: heartbeat.target_alias.clone(),
            emitted_ms: heartbeat.timestamp_ms,
            latest: latency,
            max: latency,
        }
    }

    /// Takes another heartbeat into account; older heartbeats than the newest one seen only
    /// count towards the maximum.
    pub fn observe(&mut self, heartbeat: &Heartbeat, observed_ms: i64) {
        let latency = replication_latency(heartbeat, observed_ms);
        self.max = self.max.max(latency);
        if heartbeat.timestamp_ms >= self.emitted_ms {
            self.emitted_ms = heartbeat.timestamp_ms;
            self.latest = latency;
        }
    }

    /// Returns the maximum since the last call and restarts it from the latest value (for
    /// per-scrape maxima).
    pub fn take_max(&mut self) -> Duration {
        std::mem::replace(&mut self.max, self.latest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hb(ts: i64) -> Heartbeat {
        Heartbeat {
            source_alias: "A".to_owned(),
            target_alias: "B".to_owned(),
            timestamp_ms: ts,
        }
    }

    #[test]
    fn latency_and_skew() {
        assert_eq!(
            replication_latency(&hb(1000), 1250),
            Duration::from_millis(250)
        );
        assert_eq!(replication_latency(&hb(1000), 900), Duration::ZERO);
        assert_eq!(
            replication_latency(&hb(i64::MIN), i64::MAX),
            Duration::from_millis(i64::MAX as u64)
        );
    }

    #[test]
    fn tracks_latest_and_max() {
        let mut l = HeartbeatLatency::new(&hb(1000), 1100);
        l.observe(&hb(2000), 2500);
        l.observe(&hb(3000), 3050);
        // A late, older heartbeat raises the maximum only.
        l.observe(&hb(1500), 3100);
        assert_eq!(l.latest, Duration::from_millis(50));
        assert_eq!(l.emitted_ms, 3000);
        assert_eq!(l.take_max(), Duration::from_millis(1600));
        assert_eq!(l.max, Duration::from_millis(50));
        assert_eq!(l.source_alias, "A");
    }
}
