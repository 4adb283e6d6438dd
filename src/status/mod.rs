//! What this process is doing, for the HTTP endpoints: a registry the replication pipeline,
//! the flow runner and the checkpointer update cheaply, and snapshots of it.
//!
//! - [`registry`]: all flows of the process;
//! - [`flow`]: one flow's status and the hooks its parts call;
//! - [`partition`]: per-partition counters, lock-free, indexed by the pipeline's slot id;
//! - [`window`]: MM2's min/max/avg over two 30-second samples;
//! - [`lag`]: lag in records and seconds;
//! - [`sampler`]: end offsets, cluster reachability, rates and lag, every few seconds;
//! - [`component`], [`connectors`]: component states and errors, Connect's view;
//! - [`readiness`]: what `/healthz` and `/readyz` answer;
//! - [`snapshot`]: the serialisable copy `/status` serves and `/metrics` renders.

pub mod checkpoint;
pub mod component;
pub mod connectors;
pub mod flow;
pub mod lag;
pub mod partition;
pub mod readiness;
pub mod registry;
pub mod sampler;
pub mod snapshot;
#[cfg(test)]
pub(crate) mod test_support;
pub mod window;

pub use component::{Component, ComponentState, ErrorNote};
pub use flow::FlowStatus;
pub use registry::Registry;
pub use snapshot::{FlowSnapshot, FlowState, ProcessSnapshot};

/// Which cluster of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterRole {
    /// The cluster records are read from.
    Source = 0,
    /// The cluster records are written to.
    Target = 1,
}

impl ClusterRole {
    /// `source` or `target`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Source => "source",
            Self::Target => "target",
        }
    }
}

/// Wall-clock milliseconds since the Unix epoch (record timestamps are on this clock).
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
