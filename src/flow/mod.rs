//! One replication flow (one source alias to one target alias): wires the parts of the flow
//! together and runs them until shutdown.

pub mod companions;
pub mod election;
pub mod runner;

pub use runner::{FlowError, run_flow, run_flow_with_status};
