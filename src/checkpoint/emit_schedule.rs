//! When the checkpointer reads the source groups' committed offsets (one
//! ListConsumerGroupOffsets request per group) to emit checkpoints.
//!
//! Every `emit.checkpoints.interval.seconds`, from the start of a session, whether or not the
//! offset syncs have been read to their end yet. Until they have, nothing translates (as in
//! MM2), so reading offsets faster while they load would only load the source cluster: with
//! thousands of groups and a large offset-syncs topic, a short retry meant thousands of admin
//! requests a second for minutes. Instead, the end of loading is an event: when it comes and
//! the last emission could not translate, the next one runs at once, so checkpoints start as
//! soon as they can. The first emission at start still runs during loading, so the status
//! shows every group (with `syncs_loading`) and group sync knows them.

use std::time::Duration;

use tokio::time::Instant;

/// The emission schedule of one session.
#[derive(Debug, Clone)]
pub(crate) struct EmitSchedule {
    interval: Duration,
    next: Instant,
    /// Whether the last emission ran before the offset syncs were loaded (translated nothing).
    last_before_load: bool,
}

impl EmitSchedule {
    /// The first emission at `start`, then one every `interval`.
    pub(crate) fn new(start: Instant, interval: Duration) -> Self {
        Self {
            interval,
            next: start,
            last_before_load: false,
        }
    }

    /// When the next emission is due.
    pub(crate) fn next(&self) -> Instant {
        self.next
    }

    /// Whether an emission is due at `now`.
    pub(crate) fn due(&self, now: Instant) -> bool {
        now >= self.next
    }

    /// An emission started at `now`; `loaded` says whether the offset syncs were loaded when it
    /// translated.
    pub(crate) fn emitted(&mut self, now: Instant, loaded: bool) {
        self.next = now + self.interval;
        self.last_before_load = !loaded;
    }

    /// The offset syncs were read to their end at `now`: if the last emission translated
    /// nothing for want of them, the next one is due at once.
    pub(crate) fn syncs_loaded(&mut self, now: Instant) {
        if self.last_before_load {
            self.next = self.next.min(now);
            self.last_before_load = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERVAL: Duration = Duration::from_secs(60);

    /// Runs the schedule over `total` in `tick` steps, the offset syncs loading at `loaded_at`
    /// (if ever); returns the times of the emissions, relative to the start.
    fn emissions(total: Duration, tick: Duration, loaded_at: Option<Duration>) -> Vec<Duration> {
        let start = Instant::now();
        let mut s = EmitSchedule::new(start, INTERVAL);
        let mut at = Vec::new();
        let mut t = Duration::ZERO;
        while t <= total {
            let now = start + t;
            let loaded = loaded_at.is_some_and(|l| t >= l);
            if loaded_at == Some(t) {
                s.syncs_loaded(now);
            }
            if s.due(now) {
                s.emitted(now, loaded);
                at.push(t);
            }
            t += tick;
        }
        at
    }

    #[test]
    fn loading_offset_syncs_do_not_multiply_offset_requests() {
        // Ten minutes of loading, looked at every 100 ms: one emission per interval, as when
        // loaded (a 500 ms retry would have listed every group's offsets 1200 times).
        let at = emissions(Duration::from_secs(600), Duration::from_millis(100), None);
        assert_eq!(at.len(), 11, "{at:?}");
        assert!(at.windows(2).all(|w| w[1] - w[0] == INTERVAL), "{at:?}");
    }

    #[test]
    fn emission_follows_the_end_of_loading_at_once() {
        let loaded = Duration::from_millis(2300);
        let at = emissions(
            Duration::from_secs(130),
            Duration::from_millis(100),
            Some(loaded),
        );
        // At start (nothing translated), when loading ends, then on the interval from there.
        assert_eq!(
            at,
            vec![
                Duration::ZERO,
                loaded,
                loaded + INTERVAL,
                loaded + 2 * INTERVAL
            ]
        );
    }

    #[test]
    fn loading_done_before_an_emission_changes_nothing() {
        let start = Instant::now();
        let mut s = EmitSchedule::new(start, INTERVAL);
        s.emitted(start, true);
        s.syncs_loaded(start + Duration::from_secs(1));
        assert_eq!(s.next(), start + INTERVAL);
        assert!(!s.due(start + Duration::from_secs(59)));
    }
}
