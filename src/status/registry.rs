//! The registry of everything this process runs: one [`FlowStatus`] per flow, shared with the
//! HTTP server.

use std::sync::{Arc, OnceLock, RwLock};

use crate::config::FlowConfig;
use crate::status::flow::FlowStatus;
use crate::status::now_ms;
use crate::status::readiness::{liveness, process_readiness};
use crate::status::snapshot::ProcessSnapshot;

/// All flows' status. Flows are added once at start-up; reads take a short read lock.
#[derive(Debug)]
pub struct Registry {
    started_ms: u64,
    flows: RwLock<Vec<Arc<FlowStatus>>>,
    worker_id: OnceLock<String>,
}

impl Default for Registry {
    fn default() -> Self {
        Self {
            started_ms: now_ms(),
            flows: RwLock::new(Vec::new()),
            worker_id: OnceLock::new(),
        }
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Registers `flow` and returns the status object its parts update.
    pub fn add_flow(&self, flow: &FlowConfig) -> Arc<FlowStatus> {
        let status = Arc::new(FlowStatus::new(flow));
        self.flows
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(status.clone());
        status
    }

    /// The registered flows.
    pub fn flows(&self) -> Vec<Arc<FlowStatus>> {
        self.flows.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Names this process the way Connect names a worker (`host:port`); set once by the HTTP
    /// server when it is listening.
    pub fn set_worker_id(&self, id: String) {
        let _ = self.worker_id.set(id);
    }

    /// The worker id set by the HTTP server (`strait` before it listens).
    pub fn snapshot_worker_id(&self) -> String {
        self.worker_id
            .get()
            .cloned()
            .unwrap_or_else(|| "strait".to_owned())
    }

    /// A copy of everything.
    pub fn snapshot(&self) -> ProcessSnapshot {
        let now = now_ms();
        let flows: Vec<_> = self.flows().iter().map(|f| f.snapshot(now)).collect();
        ProcessSnapshot {
            version: env!("CARGO_PKG_VERSION"),
            worker_id: self.snapshot_worker_id(),
            uptime_seconds: now.saturating_sub(self.started_ms) as f64 / 1000.0,
            now_ms: now,
            live: liveness(&flows),
            ready: process_readiness(&flows),
            flows,
        }
    }
}
