//! Whether a source topic is replicated at all (MM2's `shouldReplicateTopic`, trunk behaviour).

use super::{ReplicationPolicy, TopicFilter, is_cycle};

/// Whether the flow replicates `topic` to the cluster `target_alias`:
/// (the filter accepts it, or it is a heartbeats topic and `heartbeats.replication.enabled`)
/// and it is not internal and replicating it would not be a cycle.
///
/// Heartbeats get through even a narrow `topics` list, so hop counting across clusters keeps
/// working; MM2 3.x always let them through, 4.0 made it switchable. Internal topics and cycles
/// are refused even when the filter names them explicitly.
pub fn should_replicate_topic(
    filter: &TopicFilter,
    policy: &ReplicationPolicy,
    target_alias: &str,
    heartbeats_replication_enabled: bool,
    topic: &str,
) -> bool {
    (filter.accepts(topic) || (heartbeats_replication_enabled && policy.is_heartbeats_topic(topic)))
        && !policy.is_internal_topic(topic)
        && !is_cycle(policy, target_alias, topic)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{PolicyConfig, PolicyKind, SourceConnectorConfig};

    fn default_filter() -> TopicFilter {
        let cfg = SourceConnectorConfig::default();
        TopicFilter::new(&cfg.topics, &cfg.topics_exclude).unwrap()
    }

    fn policy(kind: PolicyKind) -> ReplicationPolicy {
        let cfg = PolicyConfig {
            kind,
            ..PolicyConfig::default()
        };
        ReplicationPolicy::new(&cfg, "A")
    }

    #[test]
    fn default_configuration() {
        let f = default_filter();
        let p = policy(PolicyKind::Default);
        let ok = |t: &str| should_replicate_topic(&f, &p, "B", true, t);
        assert!(ok("orders"));
        assert!(ok("C.orders"));
        assert!(ok("heartbeats"));
        assert!(ok("C.heartbeats"));
        // Came from B: a cycle.
        assert!(!ok("B.orders"));
        assert!(!ok("B.heartbeats"));
        assert!(!ok("C.B.orders"));
        // Excluded by default, or internal.
        assert!(!ok("mm2-offset-syncs.B.internal"));
        assert!(!ok("A.checkpoints.internal"));
        assert!(!ok("x.replica"));
        assert!(!ok("__consumer_offsets"));
        assert!(!ok(".hidden"));
        // Connect's default topic names are neither excluded nor internal.
        assert!(ok("connect-offsets"));
    }

    #[test]
    fn heartbeats_pass_a_narrow_filter_when_enabled() {
        let f = TopicFilter::new(&["test.*".to_owned()], &[]).unwrap();
        let p = policy(PolicyKind::Default);
        assert!(should_replicate_topic(&f, &p, "B", true, "test.orders"));
        assert!(!should_replicate_topic(&f, &p, "B", true, "orders"));
        assert!(should_replicate_topic(&f, &p, "B", true, "heartbeats"));
        assert!(should_replicate_topic(&f, &p, "B", true, "C.heartbeats"));
        assert!(!should_replicate_topic(&f, &p, "B", false, "heartbeats"));
        // Still refused as a cycle.
        assert!(!should_replicate_topic(&f, &p, "B", true, "B.heartbeats"));
    }

    #[test]
    fn exclusions_apply_to_heartbeats_only_through_the_filter() {
        // An exclude makes the filter refuse heartbeats, but the heartbeats rule lets them in.
        let f = TopicFilter::new(&[".*".to_owned()], &["heartbeats".to_owned()]).unwrap();
        let p = policy(PolicyKind::Default);
        assert!(should_replicate_topic(&f, &p, "B", true, "heartbeats"));
        assert!(!should_replicate_topic(&f, &p, "B", false, "heartbeats"));
    }

    #[test]
    fn internal_topics_refused_even_when_included() {
        let f = TopicFilter::new(&[".*".to_owned()], &[]).unwrap();
        let p = policy(PolicyKind::Default);
        assert!(!should_replicate_topic(
            &f,
            &p,
            "B",
            true,
            "__consumer_offsets"
        ));
        assert!(!should_replicate_topic(&f, &p, "B", true, "x-internal"));
        assert!(should_replicate_topic(&f, &p, "B", true, "x.replica"));
    }

    #[test]
    fn identity_replicates_prefixed_names() {
        let f = default_filter();
        let p = policy(PolicyKind::Identity);
        // Identity cannot tell `B.orders` came from B.
        assert!(should_replicate_topic(&f, &p, "B", true, "B.orders"));
        assert!(should_replicate_topic(&f, &p, "B", true, "orders"));
        assert!(!should_replicate_topic(&f, &p, "B", true, "B.heartbeats"));
        assert!(should_replicate_topic(&f, &p, "B", true, "heartbeats"));
    }
}
