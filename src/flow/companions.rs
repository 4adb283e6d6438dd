//! Starting a flow's checkpointer and heartbeat emitter beside its source replication, as
//! tokio tasks that share the flow's leadership and stop with it. Failures are logged and
//! retried: they never stop the flow's replication.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::config::FlowConfig;
use crate::heartbeat::run_heartbeats;
use crate::status::FlowStatus;

use crate::checkpoint::run_checkpointer;
use crate::status::checkpoint::CheckpointStatusHandle;

/// How long a failed checkpointer or heartbeat emitter waits before starting again.
const RETRY: Duration = Duration::from_secs(10);

/// The running companions of a flow.
#[derive(Debug)]
pub struct Companions {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
    status: CheckpointStatusHandle,
    /// Keeps a constant "leader" alive when the flow has no election.
    _always_leader: Option<watch::Sender<bool>>,
}

impl Companions {
    /// The checkpointer's status (also listed by [`crate::status::checkpoint::snapshots`] while it runs).
    pub fn status(&self) -> &CheckpointStatusHandle {
        &self.status
    }

    /// Stops the companions and waits for them.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Starts `flow`'s checkpointer and heartbeat emitter (when it has those connectors). They
/// work while `leader` is true; without an election (`None`) this process always leads.
/// Checkpoint acknowledgement latencies are reported to `flow_status` when given.
pub fn spawn(
    flow: &FlowConfig,
    leader: Option<watch::Receiver<bool>>,
    flow_status: Option<Arc<FlowStatus>>,
) -> Companions {
    let (stop, stop_rx) = watch::channel(false);
    let (always_leader, leader) = match leader {
        Some(l) => (None, l),
        None => {
            let (tx, rx) = watch::channel(true);
            (Some(tx), rx)
        }
    };
    let status = CheckpointStatusHandle::new(&flow.name());
    let mut tasks = JoinSet::new();
    if flow
        .checkpoint_connector
        .as_ref()
        .is_some_and(|c| c.enabled)
    {
        let (flow, leader, stop, status) = (
            flow.clone(),
            leader.clone(),
            stop_rx.clone(),
            status.clone(),
        );
        tasks.spawn(
            retrying("checkpointer", stop.clone(), move || {
                run_checkpointer(
                    flow.clone(),
                    leader.clone(),
                    stop.clone(),
                    status.clone(),
                    flow_status.clone(),
                )
            })
            .in_current_span(),
        );
    }
    if flow.heartbeat_connector.is_some() {
        let (flow, leader, stop) = (flow.clone(), leader.clone(), stop_rx.clone());
        tasks.spawn(
            retrying("heartbeat emitter", stop.clone(), move || {
                run_heartbeats(flow.clone(), leader.clone(), stop.clone())
            })
            .in_current_span(),
        );
    }
    Companions {
        stop,
        tasks,
        status,
        _always_leader: always_leader,
    }
}

/// Runs `start()` until it returns `Ok` or `stop` turns true, retrying after failures. Runs
/// inside the flow's span, which names the flow on every line.
async fn retrying<F, E>(
    what: &'static str,
    mut stop: watch::Receiver<bool>,
    mut start: impl FnMut() -> F,
) where
    F: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    loop {
        match start().await {
            Ok(()) => return,
            Err(e) => tracing::error!(error = %e, "{what} failed; restarting in {RETRY:?}"),
        }
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            _ = tokio::time::sleep(RETRY) => {}
        }
    }
}
