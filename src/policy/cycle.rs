//! Cycles: MM2's per-topic cycle detection ([`is_cycle`]), and a configuration check
//! ([`check_flows_for_identity_cycles`]) for flow loops that per-topic detection cannot stop.
//!
//! With DefaultReplicationPolicy every hop prefixes the topic with the alias it came from, so a
//! flow `X->Y` can see that a topic already passed through `Y` and skip it. IdentityReplicationPolicy
//! keeps names, so nothing records the path and `A->B` plus `B->A` replicates every record back
//! and forth forever. MM2 does not refuse such setups; Strait does, because the damage (unbounded
//! duplication on both clusters) is never what anyone wants.

use super::PolicyKind;

use super::{PolicyError, ReplicationPolicy};

/// MM2's `isCycle`: whether replicating `topic` to the cluster `target_alias` would bring it
/// back to a cluster it came from. True when the topic's source is the target; otherwise the
/// same question is asked of its upstream name, until the name no longer looks remote or stops
/// changing (Identity's upstream name is the name itself, so Identity only ever catches remote
/// heartbeats).
///
/// Under Default this means a topic named `B.orders` on cluster A is never replicated to B,
/// even when a user created it by hand.
pub fn is_cycle(policy: &ReplicationPolicy, target_alias: &str, topic: &str) -> bool {
    // MM2 recurses; a loop is equivalent and each step is strictly shorter or stops.
    let mut current = topic.to_owned();
    loop {
        match policy.topic_source(&current) {
            None => return false,
            Some(source) if source == target_alias => return true,
            Some(_) => {}
        }
        match policy.upstream_topic(&current) {
            Some(upstream) if upstream != current => current = upstream,
            _ => return false,
        }
    }
}

/// Refuses flows that form a loop in which records would be replicated around forever.
///
/// `flows` are `(source alias, target alias, policy kind)`. Refused: every loop of flows
/// (`A->B`, `B->A`, or longer, like `A->B`, `B->C`, `C->A`; or a flow from a cluster to
/// itself) made only of Identity flows. More generally a loop is refused when it has no two
/// consecutive Default flows: per-topic detection in a Default flow `X->Y` only sees the
/// clusters whose outgoing flow added a prefix, so it stops a topic only when the flow leaving
/// `Y` is Default too. For example `A->B` Identity with `B->A` Default makes `orders`,
/// `B.orders`, `B.B.orders`, … without end, and is refused; a loop containing `X->Y` Default
/// followed by `Y->Z` Default stops every topic after at most one turn, and is accepted.
///
/// The check assumes every topic passes the flows' filters (the default `.*`), and that the
/// flows share one separator.
///
/// The error names the first offending loop found. Loops are enumerated exhaustively, which is
/// exponential in the worst case but immediate for the handful of flows a deployment has.
pub fn check_flows_for_identity_cycles<S, T>(
    flows: &[(S, T, PolicyKind)],
) -> Result<(), PolicyError>
where
    S: AsRef<str>,
    T: AsRef<str>,
{
    let mut search = LoopSearch {
        flows,
        path: Vec::new(),
        on_path: Vec::new(),
    };
    // Each simple loop is found once: from its flow with the smallest index, using only flows
    // with larger indexes for the rest of it.
    for start in 0..flows.len() {
        search.path.clear();
        search.on_path.clear();
        search.path.push(start);
        search.on_path.push(flows[start].0.as_ref());
        if let Some(found) = search.extend(start) {
            return Err(PolicyError::IdentityCycle {
                flows: found
                    .iter()
                    .map(|&i| {
                        let (source, target, kind) = &flows[i];
                        (
                            source.as_ref().to_owned(),
                            target.as_ref().to_owned(),
                            *kind,
                        )
                    })
                    .collect(),
            });
        }
    }
    Ok(())
}

/// Depth-first enumeration of simple loops of flows.
struct LoopSearch<'f, S, T> {
    flows: &'f [(S, T, PolicyKind)],
    /// Indexes of the flows on the current path, in order.
    path: Vec<usize>,
    /// Source aliases of the flows on the path, so no cluster is visited twice.
    on_path: Vec<&'f str>,
}

impl<'f, S: AsRef<str>, T: AsRef<str>> LoopSearch<'f, S, T> {
    /// Extends the path (whose first flow is `start`) in every way that stays simple; returns
    /// the first unstoppable loop.
    fn extend(&mut self, start: usize) -> Option<Vec<usize>> {
        let flows = self.flows;
        let last = *self.path.last()?;
        let here = flows[last].1.as_ref();
        let origin = flows[start].0.as_ref();
        if here == origin {
            return (!self.stoppable()).then(|| self.path.clone());
        }
        if self.on_path.contains(&here) {
            return None;
        }
        for (next, flow) in flows.iter().enumerate().skip(start + 1) {
            if flow.0.as_ref() != here {
                continue;
            }
            self.path.push(next);
            self.on_path.push(here);
            let found = self.extend(start);
            self.path.pop();
            self.on_path.pop();
            if found.is_some() {
                return found;
            }
        }
        None
    }

    /// Whether the closed path has a Default flow followed (cyclically) by another Default
    /// flow, which is what lets per-topic detection stop every topic.
    fn stoppable(&self) -> bool {
        let n = self.path.len();
        (0..n).any(|i| {
            let this = self.flows[self.path[i]].2;
            let following = self.flows[self.path[(i + 1) % n]].2;
            this == PolicyKind::Default && following == PolicyKind::Default
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicyConfig;

    fn policy(kind: PolicyKind, source_alias: &str) -> ReplicationPolicy {
        let cfg = PolicyConfig {
            kind,
            ..PolicyConfig::default()
        };
        ReplicationPolicy::new(&cfg, source_alias)
    }

    #[test]
    fn default_cycles() {
        let p = policy(PolicyKind::Default, "A");
        // Flow A->B: a topic that came from B goes back to B.
        assert!(is_cycle(&p, "B", "B.orders"));
        assert!(is_cycle(&p, "B", "C.B.orders"));
        assert!(is_cycle(&p, "B", "B.heartbeats"));
        assert!(!is_cycle(&p, "B", "orders"));
        assert!(!is_cycle(&p, "B", "C.orders"));
        assert!(!is_cycle(&p, "B", "heartbeats"));
        assert!(!is_cycle(&p, "B", "A.orders"));
        assert!(!is_cycle(&p, "B", ""));
        assert!(!is_cycle(&p, "B", "B."));
        // `.b` comes from the empty alias: a cycle only for an (unusual) empty target alias.
        assert!(!is_cycle(&p, "B", ".b"));
        assert!(is_cycle(&p, "", ".b"));
        assert!(is_cycle(&p, "B", "a..B.x"));
    }

    #[test]
    fn identity_detects_only_heartbeat_cycles() {
        let p = policy(PolicyKind::Identity, "A");
        // Topic source is always A, upstream is the name itself: no data cycle is ever seen.
        assert!(!is_cycle(&p, "B", "B.orders"));
        assert!(!is_cycle(&p, "B", "orders"));
        // A flow to the source's own alias is the one data case Identity does catch.
        assert!(is_cycle(&p, "A", "orders"));
        // Heartbeats are renamed as under Default, so their path is visible.
        assert!(is_cycle(&p, "B", "B.heartbeats"));
        assert!(is_cycle(&p, "B", "A.B.heartbeats"));
        assert!(!is_cycle(&p, "B", "heartbeats"));
        assert!(!is_cycle(&p, "B", "C.heartbeats"));
    }

    fn check(flows: &[(&str, &str, PolicyKind)]) -> Result<(), PolicyError> {
        check_flows_for_identity_cycles(flows)
    }

    use PolicyKind::{Default as D, Identity as I};

    #[test]
    fn accepts_flows_without_unstoppable_loops() {
        assert!(check(&[]).is_ok());
        assert!(check(&[("A", "B", I)]).is_ok());
        assert!(check(&[("A", "B", I), ("B", "C", I)]).is_ok());
        assert!(check(&[("A", "B", D), ("B", "A", D)]).is_ok());
        assert!(check(&[("A", "B", D), ("B", "C", D), ("C", "A", D)]).is_ok());
        // B->C then C->A are consecutive Default flows: a topic from A stops at B->C on its
        // second turn.
        assert!(check(&[("A", "B", I), ("B", "C", D), ("C", "A", D)]).is_ok());
        assert!(check(&[("A", "A", D)]).is_ok());
        // Star topologies through a hub never loop back.
        assert!(check(&[("A", "H", I), ("B", "H", I), ("C", "H", I)]).is_ok());
    }

    #[test]
    fn refuses_identity_loops() {
        let err = check(&[("A", "B", I), ("B", "A", I)]).unwrap_err();
        assert_eq!(
            err,
            PolicyError::IdentityCycle {
                flows: vec![
                    ("A".to_owned(), "B".to_owned(), I),
                    ("B".to_owned(), "A".to_owned(), I),
                ],
            }
        );
        let msg = err.to_string();
        assert!(msg.contains("A->B (identity), B->A (identity)"), "{msg}");

        let err = check(&[("A", "B", I), ("C", "A", I), ("B", "C", I)]).unwrap_err();
        assert!(
            err.to_string()
                .contains("A->B (identity), B->C (identity), C->A (identity)"),
            "{err}"
        );
        assert!(check(&[("A", "A", I)]).is_err());
        // The loop is found among unrelated flows too.
        assert!(check(&[("X", "Y", D), ("A", "B", I), ("Y", "Z", I), ("B", "A", I)]).is_err());
    }

    #[test]
    fn refuses_mixed_loops_without_two_consecutive_default_flows() {
        let err = check(&[("A", "B", I), ("B", "A", D)]).unwrap_err();
        assert!(
            err.to_string().contains("A->B (identity), B->A (default)"),
            "{err}"
        );
        assert!(check(&[("A", "B", D), ("B", "C", I), ("C", "D", D), ("D", "A", I)]).is_err());
        // One loop is fine, the other is not.
        assert!(check(&[("A", "B", D), ("B", "A", D), ("B", "C", I), ("C", "B", I)]).is_err());
    }

    #[test]
    fn accepts_owned_strings() {
        let flows = vec![("A".to_owned(), "B".to_owned(), I)];
        assert!(check_flows_for_identity_cycles(&flows).is_ok());
    }
}
