//! What `/healthz` and `/readyz` answer, decided from a snapshot.
//!
//! **Ready** (`/readyz` 200) means every flow of this process is replicating what it was
//! assigned:
//! 1. the flow has not failed or stopped, and its configured components run (the source
//!    component: its consumer joined the group and received an assignment, possibly empty when
//!    there are more processes than partitions);
//! 2. both clusters answered the status sampler within the last 30 seconds;
//! 3. no assigned partition is stalled: lagging with a position that has not moved for 60 s;
//! 4. no assigned partition is blocked at a record the target refused.
//!
//! **Live** (`/healthz` 200) means the process is not wedged: the replication loop of every
//! running flow came round within the last 5 minutes (longer than any wait inside it). A
//! failed flow ends the process, so liveness does not look at failures.

use crate::status::snapshot::{FlowSnapshot, FlowState, Health};

/// A cluster that has not answered the sampler for this long is unreachable.
pub const CLUSTER_STALE_MS: u64 = 30_000;

/// A replication loop silent for this long means the process is wedged.
pub const WEDGED_MS: u64 = 300_000;

/// Whether `flow` is ready, with reasons when it is not.
pub fn flow_readiness(flow: &FlowSnapshot) -> Health {
    let mut reasons = Vec::new();
    let name = &flow.name;
    match flow.state {
        FlowState::Failed => reasons.push(match &flow.error {
            Some(e) => format!("flow {name} failed: {}", e.message),
            None => format!("flow {name} failed"),
        }),
        FlowState::Stopped => reasons.push(format!("flow {name} stopped")),
        FlowState::Starting => {
            let waiting: Vec<&str> = flow
                .components
                .iter()
                .filter(|c| c.configured)
                .filter(|c| !matches!(c.state, crate::status::ComponentState::Running))
                .map(|c| c.component.as_str())
                .collect();
            if waiting.is_empty() {
                reasons.push(format!(
                    "flow {name}: waiting for its first partition assignment"
                ));
            } else {
                reasons.push(format!(
                    "flow {name}: starting ({} not running yet)",
                    waiting.join(", ")
                ));
            }
        }
        FlowState::Running => {}
    }
    for c in &flow.clusters {
        if c.reachable {
            continue;
        }
        reasons.push(match c.last_contact_ms_ago {
            None => format!(
                "flow {name}: the {} cluster ({}) has not been reached yet",
                c.role, c.alias
            ),
            Some(ago) => format!(
                "flow {name}: the {} cluster ({}) has not answered for {} s (limit {} s)",
                c.role,
                c.alias,
                ago / 1000,
                CLUSTER_STALE_MS / 1000
            ),
        });
    }
    let stalled: Vec<String> = flow
        .partitions
        .iter()
        .filter(|p| p.stalled)
        .map(|p| format!("{}-{}", p.topic, p.partition))
        .collect();
    if !stalled.is_empty() {
        let shown: Vec<&str> = stalled.iter().take(5).map(String::as_str).collect();
        reasons.push(format!(
            "flow {name}: {} partition(s) stalled: {}{}",
            stalled.len(),
            shown.join(", "),
            if stalled.len() > 5 { ", ..." } else { "" }
        ));
    }
    for p in &flow.partitions {
        if let Some(b) = &p.blocked {
            reasons.push(format!(
                "flow {name}: partition {}-{} is blocked at source offset {}: the target refused \
                 a record ({}); retried with backoff",
                p.topic, p.partition, b.offset, b.reason
            ));
        }
    }
    Health {
        ok: reasons.is_empty(),
        reasons,
    }
}

/// Whether the process is ready: every flow is, and there is at least one.
pub fn process_readiness(flows: &[FlowSnapshot]) -> Health {
    let mut reasons: Vec<String> = flows
        .iter()
        .flat_map(|f| f.ready.reasons.iter().cloned())
        .collect();
    if flows.is_empty() {
        reasons.push("no flow registered yet".to_owned());
    }
    Health {
        ok: reasons.is_empty(),
        reasons,
    }
}

/// Whether the process is live.
pub fn liveness(flows: &[FlowSnapshot]) -> Health {
    let reasons: Vec<String> = flows
        .iter()
        .filter(|f| matches!(f.state, FlowState::Running | FlowState::Starting))
        .filter_map(|f| {
            let ago = f.replication_loop_ms_ago?;
            (ago > WEDGED_MS).then(|| {
                format!(
                    "flow {}: the replication loop has not come round for {} s",
                    f.name,
                    ago / 1000
                )
            })
        })
        .collect();
    Health {
        ok: reasons.is_empty(),
        reasons,
    }
}
