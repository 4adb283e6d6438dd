//! The running checkpointer of one flow (MM2's MirrorCheckpointConnector and its task): set up
//! clients and the checkpoints topic, then, while this process leads the flow, run
//! [`Session`]s that list groups, emit checkpoints and sync target groups on their intervals.

use std::sync::Arc;

use tokio::sync::watch;

use crate::config::FlowConfig;
use crate::status::FlowStatus;
use crate::status::checkpoint::{self as status, CheckpointStatusHandle};

use super::error::CheckpointError;
use super::session::{Ended, Session};
use super::setup::Setup;

/// Runs `flow`'s checkpointer until `stop` turns true. It works only while `leader` is true
/// (one process per flow, elected like the source side's singleton duties) and publishes what
/// it does in `status`, which is also registered for [`status::snapshots`] while it runs.
/// Checkpoint acknowledgement latencies go to `flow_status` (the metrics), when given.
///
/// Returns at once when the flow has no enabled checkpoint connector or
/// `emit.checkpoints.enabled` is false (MM2 then runs no checkpoint task either).
pub async fn run_checkpointer(
    flow: FlowConfig,
    mut leader: watch::Receiver<bool>,
    mut stop: watch::Receiver<bool>,
    status: CheckpointStatusHandle,
    flow_status: Option<Arc<FlowStatus>>,
) -> Result<(), CheckpointError> {
    let Some(cc) = flow.checkpoint_connector.clone().filter(|c| c.enabled) else {
        return Ok(());
    };
    if !cc.emit_checkpoints_enabled {
        tracing::info!("emit.checkpoints.enabled is false: no checkpoints");
        return Ok(());
    }
    let setup = Setup::new(&flow, &cc).await?;
    let _registration = status::register(&status);
    status.update(|s| {
        s.flow = setup.flow.clone();
        s.checkpoints_topic = setup.checkpoints_topic.clone();
        s.offset_syncs_topic = setup.syncs_topic.clone();
        s.group_sync_enabled = cc.sync_group_offsets_enabled;
    });
    tracing::info!(checkpoints = %setup.checkpoints_topic,
        offset_syncs = %setup.syncs_topic, sync_group_offsets = cc.sync_group_offsets_enabled,
        "checkpointer ready; runs while this process leads the flow");
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            r = leader.wait_for(|l| *l) => if r.is_err() { break },
        }
        status.update(|s| s.active = true);
        let ended = Session::start(&setup, &status, flow_status.clone())
            .await?
            .run(&mut leader, &mut stop)
            .await;
        if let Some(fs) = &flow_status {
            fs.clear_checkpoint_latencies();
        }
        status.update(|s| s.active = false);
        if ended == Ended::Stopped || *stop.borrow() {
            break;
        }
        tracing::info!("checkpointer paused: another process leads the flow");
    }
    Ok(())
}
