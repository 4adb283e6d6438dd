//! Replication policies (how topics are renamed on the target) and the topic, group and
//! topic-config filters, with MM2's semantics.
//!
//! | file | concept |
//! |---|---|
//! | [`replication_policy`] | MM2's `DefaultReplicationPolicy` and `IdentityReplicationPolicy`: remote topic names, internal topic names, `replication.policy.class` values |
//! | [`cycle`] | MM2's per-topic cycle detection, and a configuration check refusing flows that would replicate in a loop forever |
//! | [`eligibility`] | whether a source topic is replicated at all (filter, heartbeats, internal topics, cycles) |
//! | [`filters`] | MM2's regex lists: `topics`, `topics.exclude`, `groups`, `groups.exclude`, `config.properties.exclude` |
//! | [`java_regex`] | translation of Java regex syntax (what MM2 users write) to `fancy_regex` syntax |
//!
//! Everything here is pure: no I/O, no clocks, so the other parts can call it from anywhere.

pub mod cycle;
pub mod eligibility;
pub mod filters;
pub mod java_regex;
pub mod replication_policy;

pub use cycle::{check_flows_for_identity_cycles, is_cycle};
pub use eligibility::should_replicate_topic;
pub use filters::{ConfigPropertyFilter, GroupFilter, PatternList, TopicFilter, split_list};
pub use replication_policy::{
    DEFAULT_POLICY_CLASS, IDENTITY_POLICY_CLASS, PolicyConfig, PolicyKind, ReplicationPolicy,
    parse_policy_class, policy_class_name,
};

/// Everything that can go wrong building policies and filters from a configuration. Each
/// variant names what the user has to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// `replication.policy.class` names a class Strait does not implement.
    #[error(
        "unknown replication.policy.class '{class}' (Strait implements \
         org.apache.kafka.connect.mirror.DefaultReplicationPolicy and \
         org.apache.kafka.connect.mirror.IdentityReplicationPolicy)"
    )]
    UnknownPolicyClass {
        /// The value as configured.
        class: String,
    },

    /// A regex in a filter list does not compile (or Java, and so MM2, would reject it).
    #[error("invalid regex in {key}: '{pattern}': {reason}")]
    InvalidPattern {
        /// The configuration key holding the list, e.g. `topics.exclude`.
        key: String,
        /// The offending entry (or the whole joined list when no single entry is to blame).
        pattern: String,
        /// Why it was refused.
        reason: String,
    },

    /// Flows form a loop in which no hop can detect the cycle, so every topic would be
    /// replicated around it forever (IdentityReplicationPolicy has no cycle detection).
    #[error(
        "replication flows {} form a loop that IdentityReplicationPolicy cannot detect: records \
         would be replicated around it forever; use DefaultReplicationPolicy on at least two \
         consecutive flows of the loop, or remove a flow",
        describe_loop(.flows)
    )]
    IdentityCycle {
        /// The flows of the loop in order, each `(source alias, target alias, policy)`; the
        /// last flow's target is the first flow's source.
        flows: Vec<(String, String, PolicyKind)>,
    },
}

/// Renders a loop as `A->B (identity), B->A (default)`.
fn describe_loop(flows: &[(String, String, PolicyKind)]) -> String {
    flows
        .iter()
        .map(|(source, target, kind)| {
            let kind = match kind {
                PolicyKind::Default => "default",
                PolicyKind::Identity => "identity",
            };
            format!("{source}->{target} ({kind})")
        })
        .collect::<Vec<_>>()
        .join(", ")
}
