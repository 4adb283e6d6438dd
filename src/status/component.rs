//! The parts of a flow that report a state and a last error: MM2's three connectors, plus the
//! clusters the flow talks to.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering::Relaxed};

use serde::Serialize;

/// One of a flow's parts, named after the MM2 connector it replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Component {
    /// Record replication (MirrorSourceConnector).
    Source,
    /// Checkpoints and group offset sync (MirrorCheckpointConnector).
    Checkpoint,
    /// Heartbeats (MirrorHeartbeatConnector).
    Heartbeat,
}

impl Component {
    /// All components, in display order.
    pub const ALL: [Component; 3] = [Self::Source, Self::Checkpoint, Self::Heartbeat];

    /// Lower-case name, as in `/status` and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Source => "source",
            Self::Checkpoint => "checkpoint",
            Self::Heartbeat => "heartbeat",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a component is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ComponentState {
    /// Nothing runs it (yet): not configured, or its runner never reported.
    NotStarted,
    /// Connecting, preparing topics, reading state.
    Starting,
    /// Doing its work.
    Running,
    /// Stopped after an error; the error is its last error.
    Failed,
    /// Stopped cleanly.
    Stopped,
}

impl ComponentState {
    const ALL: [ComponentState; 5] = [
        Self::NotStarted,
        Self::Starting,
        Self::Running,
        Self::Failed,
        Self::Stopped,
    ];

    /// Upper-case name, as in `/status` and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotStarted => "NOT_STARTED",
            Self::Starting => "STARTING",
            Self::Running => "RUNNING",
            Self::Failed => "FAILED",
            Self::Stopped => "STOPPED",
        }
    }

    /// Every state, for one-hot metrics.
    pub fn all() -> &'static [ComponentState] {
        &Self::ALL
    }
}

/// An error as `/status` shows it: the message (errors never carry secrets: configuration
/// values that are secret are [`crate::config::Secret`]s) and when it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorNote {
    /// What went wrong.
    pub message: String,
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: u64,
}

/// A component's state and last error.
#[derive(Debug)]
pub(crate) struct ComponentCell {
    state: AtomicU8,
    last_error: Mutex<Option<ErrorNote>>,
}

impl Default for ComponentCell {
    fn default() -> Self {
        Self {
            state: AtomicU8::new(0),
            last_error: Mutex::new(None),
        }
    }
}

impl ComponentCell {
    pub(crate) fn set(&self, state: ComponentState) {
        let i = ComponentState::ALL
            .iter()
            .position(|s| *s == state)
            .unwrap_or(0);
        self.state.store(i as u8, Relaxed);
    }

    pub(crate) fn state(&self) -> ComponentState {
        ComponentState::ALL
            .get(usize::from(self.state.load(Relaxed)))
            .copied()
            .unwrap_or(ComponentState::NotStarted)
    }

    pub(crate) fn note_error(&self, message: String, at_ms: u64) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(ErrorNote { message, at_ms });
    }

    pub(crate) fn last_error(&self) -> Option<ErrorNote> {
        self.last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// When a cluster last answered the status sampler, and its last error.
#[derive(Debug, Default)]
pub(crate) struct ClusterCell {
    pub(crate) last_ok_ms: AtomicU64,
    pub(crate) errors: ComponentCell,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_through_the_cell() {
        let c = ComponentCell::default();
        assert_eq!(c.state(), ComponentState::NotStarted);
        for s in ComponentState::all() {
            c.set(*s);
            assert_eq!(c.state(), *s);
        }
        assert_eq!(c.last_error(), None);
        c.note_error("boom".into(), 7);
        assert_eq!(c.last_error().unwrap().message, "boom");
    }
}
