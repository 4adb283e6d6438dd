//! MM2's replication policies: how a source topic is named on the target, how a remote name is
//! traced back to its source cluster, and how MM2's internal topics are named.
//!
//! Two policies exist, chosen by `replication.policy.class`:
//! - **Default**: the remote copy of `orders` from cluster `A` is `A.orders` (with the configured
//!   separator). Any name containing the separator is read as "remote", even when a user created
//!   it by hand: on cluster A, `B.orders` counts as coming from B.
//! - **Identity**: names are kept, except names ending with `heartbeats`, which behave as under
//!   Default so heartbeats still record the path they travelled. Every other topic is said to
//!   come from the flow's source alias, so Identity cannot detect cycles (see [`super::cycle`]).
//!
//! The behaviour, including the odd edges of Java's `String.split`, matches MM2 exactly: Java MM2
//! and Strait must agree on every name, or a flow moved between them would replicate into
//! different topics.

use super::PolicyError;

/// Which replication policy renames topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PolicyKind {
    /// `org.apache.kafka.connect.mirror.DefaultReplicationPolicy`: `<source alias><sep><topic>`.
    #[default]
    Default,
    /// `org.apache.kafka.connect.mirror.IdentityReplicationPolicy`: names kept.
    Identity,
}

/// `replication.policy.*` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyConfig {
    /// `replication.policy.class`.
    pub kind: PolicyKind,
    /// `replication.policy.separator` (default `.`).
    pub separator: String,
    /// `replication.policy.internal.topic.separator.enabled` (default true).
    pub internal_topic_separator_enabled: bool,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            kind: PolicyKind::Default,
            separator: ".".to_owned(),
            internal_topic_separator_enabled: true,
        }
    }
}

/// `replication.policy.class` of the Default policy (MM2's default).
pub const DEFAULT_POLICY_CLASS: &str = "org.apache.kafka.connect.mirror.DefaultReplicationPolicy";

/// `replication.policy.class` of the Identity policy.
pub const IDENTITY_POLICY_CLASS: &str = "org.apache.kafka.connect.mirror.IdentityReplicationPolicy";

/// The heartbeats topic name; no policy setting changes it.
const HEARTBEATS_TOPIC: &str = "heartbeats";

/// Reads a `replication.policy.class` value: MM2's fully-qualified class names, or their simple
/// names. Surrounding whitespace is ignored, as Kafka's config parser does for class values.
///
/// Other classes (custom Java policies) cannot run in Strait, so they are refused by name.
pub fn parse_policy_class(value: &str) -> Result<PolicyKind, PolicyError> {
    match value.trim() {
        DEFAULT_POLICY_CLASS | "DefaultReplicationPolicy" => Ok(PolicyKind::Default),
        IDENTITY_POLICY_CLASS | "IdentityReplicationPolicy" => Ok(PolicyKind::Identity),
        _ => Err(PolicyError::UnknownPolicyClass {
            class: value.to_owned(),
        }),
    }
}

/// The fully-qualified `replication.policy.class` value for a policy kind, for writing MM2
/// configuration back out.
pub fn policy_class_name(kind: PolicyKind) -> &'static str {
    match kind {
        PolicyKind::Default => DEFAULT_POLICY_CLASS,
        PolicyKind::Identity => IDENTITY_POLICY_CLASS,
    }
}

/// One flow's replication policy: the configured kind and separators, plus the flow's source
/// alias (which Identity reports as the source of every non-heartbeat topic).
///
/// Method names and results mirror MM2's `ReplicationPolicy` interface; Java's `null` is `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicationPolicy {
    kind: PolicyKind,
    /// `replication.policy.separator`, used for remote topic names.
    separator: String,
    /// The separator used in the offset-syncs and checkpoints topic names: the separator
    /// itself, or `.` when `replication.policy.internal.topic.separator.enabled=false` (KIP-949
    /// lets users keep the pre-3.1 internal names while changing the separator).
    internal_separator: String,
    source_alias: String,
}

impl ReplicationPolicy {
    /// Builds the policy of a flow whose source cluster alias is `source_alias`.
    ///
    /// The separator is taken as configured, even when empty: MM2 does not refuse an empty
    /// separator, so neither does Strait (names then split between every character, as Java's
    /// `split` on an empty pattern does).
    pub fn new(cfg: &PolicyConfig, source_alias: &str) -> Self {
        let internal_separator = if cfg.internal_topic_separator_enabled {
            cfg.separator.clone()
        } else {
            ".".to_owned()
        };
        Self {
            kind: cfg.kind,
            separator: cfg.separator.clone(),
            internal_separator,
            source_alias: source_alias.to_owned(),
        }
    }

    /// Which policy this is.
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// `replication.policy.separator`.
    pub fn separator(&self) -> &str {
        &self.separator
    }

    /// The flow's source cluster alias.
    pub fn source_alias(&self) -> &str {
        &self.source_alias
    }

    /// The name on the target of `topic` replicated from the cluster `source_alias`
    /// (`formatRemoteTopic`): `<source_alias><separator><topic>` under Default; under Identity
    /// the name is kept unless it ends with `heartbeats`.
    pub fn format_remote_topic(&self, source_alias: &str, topic: &str) -> String {
        if self.renames(topic) {
            format!("{source_alias}{}{topic}", self.separator)
        } else {
            topic.to_owned()
        }
    }

    /// The alias of the cluster `topic` was replicated from (`topicSource`), or `None` when the
    /// name does not look remote.
    ///
    /// Default splits the name on the literal separator with Java's `String.split` rules:
    /// a leading empty part is kept, trailing empty parts are dropped, and fewer than two
    /// remaining parts means "not remote". So `a.b` → `a`, `.b` → `` (empty alias), `a..b` →
    /// `a`, and `a.`, `.`, `` → `None`. Identity answers the flow's source alias for every
    /// name not ending with `heartbeats`.
    pub fn topic_source(&self, topic: &str) -> Option<String> {
        if self.renames(topic) {
            default_topic_source(topic, &self.separator).map(str::to_owned)
        } else {
            Some(self.source_alias.clone())
        }
    }

    /// The name `topic` had on the cluster it was replicated from (`upstreamTopic`): the name
    /// without its leading `<source><separator>`, or `None` when it does not look remote.
    /// Identity answers the name itself for names not ending with `heartbeats`.
    pub fn upstream_topic(&self, topic: &str) -> Option<String> {
        if self.renames(topic) {
            let source = default_topic_source(topic, &self.separator)?;
            // The split found the separator right after the source part, so this slice is on
            // a char boundary and in range.
            topic
                .get(source.len() + self.separator.len()..)
                .map(str::to_owned)
        } else {
            Some(topic.to_owned())
        }
    }

    /// The name `topic` had on the cluster it was first produced to (`originalTopic`):
    /// [`Self::upstream_topic`] applied until it gives `None` or the same name, so `A.B.x` →
    /// `x` under Default.
    pub fn original_topic(&self, topic: &str) -> String {
        let mut current = topic.to_owned();
        loop {
            match self.upstream_topic(&current) {
                Some(upstream) if upstream != current => current = upstream,
                _ => return current,
            }
        }
    }

    /// The heartbeats topic: always `heartbeats`.
    pub fn heartbeats_topic(&self) -> &str {
        HEARTBEATS_TOPIC
    }

    /// The offset-syncs topic named after `cluster_alias`:
    /// `mm2-offset-syncs<is><alias><is>internal`, `<is>` being the internal separator.
    pub fn offset_syncs_topic(&self, cluster_alias: &str) -> String {
        let is = &self.internal_separator;
        format!("mm2-offset-syncs{is}{cluster_alias}{is}internal")
    }

    /// The checkpoints topic of the source cluster `cluster_alias`:
    /// `<alias><is>checkpoints<is>internal`.
    pub fn checkpoints_topic(&self, cluster_alias: &str) -> String {
        let is = &self.internal_separator;
        format!("{cluster_alias}{is}checkpoints{is}internal")
    }

    /// Whether `topic` is a heartbeats topic, local (`heartbeats`) or remote (`A.heartbeats`,
    /// `B.A.heartbeats`): its original name is `heartbeats`.
    pub fn is_heartbeats_topic(&self, topic: &str) -> bool {
        self.original_topic(topic) == HEARTBEATS_TOPIC
    }

    /// Whether `topic` is a checkpoints topic: it ends with `<is>checkpoints<is>internal`.
    pub fn is_checkpoints_topic(&self, topic: &str) -> bool {
        let is = &self.internal_separator;
        topic.ends_with(&format!("{is}checkpoints{is}internal"))
    }

    /// Whether `topic` is one of MM2's internal topics: it ends with `<is>internal`.
    pub fn is_mm2_internal_topic(&self, topic: &str) -> bool {
        topic.ends_with(&format!("{}internal", self.internal_separator))
    }

    /// Whether `topic` is internal to MM2, Kafka or Connect and so never replicated: an MM2
    /// internal topic, or a name starting with `__` or `.`, or ending with `-internal` or
    /// `.internal` (the last two whatever the separator, as in MM2).
    pub fn is_internal_topic(&self, topic: &str) -> bool {
        self.is_mm2_internal_topic(topic)
            || topic.starts_with("__")
            || topic.starts_with('.')
            || topic.ends_with("-internal")
            || topic.ends_with(".internal")
    }

    /// Whether the Default rules (prefixing, splitting) apply to `topic`: always under Default;
    /// under Identity only for names ending with `heartbeats`, so remote heartbeats keep
    /// their path even when data topics keep their names.
    fn renames(&self, topic: &str) -> bool {
        match self.kind {
            PolicyKind::Default => true,
            PolicyKind::Identity => topic.ends_with(HEARTBEATS_TOPIC),
        }
    }
}

/// `DefaultReplicationPolicy.topicSource`: the first part of `topic` split on the literal
/// `separator`, if at least two parts remain after Java's `split` drops trailing empty parts.
fn default_topic_source<'t>(topic: &'t str, separator: &str) -> Option<&'t str> {
    let mut parts: Vec<&str> = if separator.is_empty() {
        // Java splits on an empty pattern between every character (no leading empty part,
        // since a zero-width match at the start never produces one).
        topic
            .char_indices()
            .map(|(i, c)| &topic[i..i + c.len_utf8()])
            .collect()
    } else {
        topic.split(separator).collect()
    };
    while parts.last().is_some_and(|part| part.is_empty()) {
        parts.pop();
    }
    if parts.len() < 2 {
        None
    } else {
        parts.first().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(kind: PolicyKind, separator: &str, internal_enabled: bool) -> ReplicationPolicy {
        let cfg = PolicyConfig {
            kind,
            separator: separator.to_owned(),
            internal_topic_separator_enabled: internal_enabled,
        };
        ReplicationPolicy::new(&cfg, "A")
    }

    fn default_policy() -> ReplicationPolicy {
        ReplicationPolicy::new(&PolicyConfig::default(), "A")
    }

    fn identity_policy() -> ReplicationPolicy {
        policy(PolicyKind::Identity, ".", true)
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    #[test]
    fn parses_policy_classes() {
        assert_eq!(
            parse_policy_class("org.apache.kafka.connect.mirror.DefaultReplicationPolicy"),
            Ok(PolicyKind::Default)
        );
        assert_eq!(
            parse_policy_class("org.apache.kafka.connect.mirror.IdentityReplicationPolicy"),
            Ok(PolicyKind::Identity)
        );
        assert_eq!(
            parse_policy_class("DefaultReplicationPolicy"),
            Ok(PolicyKind::Default)
        );
        assert_eq!(
            parse_policy_class(" IdentityReplicationPolicy\n"),
            Ok(PolicyKind::Identity)
        );
        let err = parse_policy_class("com.example.MyPolicy").unwrap_err();
        assert_eq!(
            err,
            PolicyError::UnknownPolicyClass {
                class: "com.example.MyPolicy".to_owned()
            }
        );
        assert!(err.to_string().contains("com.example.MyPolicy"));
        // Class names are case-sensitive in Java.
        assert!(parse_policy_class("defaultreplicationpolicy").is_err());
        for kind in [PolicyKind::Default, PolicyKind::Identity] {
            assert_eq!(parse_policy_class(policy_class_name(kind)), Ok(kind));
        }
    }

    #[test]
    fn default_formats_remote_topics() {
        let p = default_policy();
        assert_eq!(p.format_remote_topic("A", "orders"), "A.orders");
        assert_eq!(p.format_remote_topic("B", "A.orders"), "B.A.orders");
        assert_eq!(p.format_remote_topic("A", "heartbeats"), "A.heartbeats");
    }

    #[test]
    fn default_topic_source_edge_cases() {
        let p = default_policy();
        // (topic, topicSource, upstreamTopic)
        let cases: &[(&str, Option<&str>, Option<&str>)] = &[
            ("a.b", Some("a"), Some("b")),
            ("a.", None, None),
            (".", None, None),
            ("", None, None),
            (".b", Some(""), Some("b")),
            ("a..b", Some("a"), Some(".b")),
            ("orders", None, None),
            ("A.B.x", Some("A"), Some("B.x")),
            ("a.b.", Some("a"), Some("b.")),
            ("..", None, None),
            ("..b", Some(""), Some(".b")),
        ];
        for (topic, source, upstream) in cases {
            assert_eq!(
                p.topic_source(topic).as_deref(),
                *source,
                "topic_source({topic:?})"
            );
            assert_eq!(
                p.upstream_topic(topic).as_deref(),
                *upstream,
                "upstream_topic({topic:?})"
            );
        }
    }

    #[test]
    fn separator_is_literal_not_regex() {
        // `.` as a regex would match every character; MM2 quotes the separator.
        let p = default_policy();
        assert_eq!(p.topic_source("ab"), None);
        let p = policy(PolicyKind::Default, "|", true);
        assert_eq!(p.topic_source("a|b"), some("a"));
        assert_eq!(p.topic_source("ab"), None);
    }

    #[test]
    fn original_topic_strips_every_hop() {
        let p = default_policy();
        assert_eq!(p.original_topic("A.B.x"), "x");
        assert_eq!(p.original_topic("x"), "x");
        assert_eq!(p.original_topic("A.x"), "x");
        assert_eq!(p.original_topic("a..b"), "b");
        assert_eq!(p.original_topic("a."), "a.");
        assert_eq!(p.original_topic(""), "");
    }

    #[test]
    fn custom_single_char_separator() {
        let p = policy(PolicyKind::Default, "_", true);
        assert_eq!(p.format_remote_topic("A", "orders"), "A_orders");
        assert_eq!(p.topic_source("A_orders"), some("A"));
        assert_eq!(p.upstream_topic("A_orders"), some("orders"));
        assert_eq!(p.topic_source("A.orders"), None);
        assert_eq!(p.topic_source("a_"), None);
        assert_eq!(p.topic_source("_b"), some(""));
        assert_eq!(p.upstream_topic("a__b"), some("_b"));
        assert_eq!(p.original_topic("B_A_x"), "x");
        assert_eq!(p.offset_syncs_topic("B"), "mm2-offset-syncs_B_internal");
        assert_eq!(p.checkpoints_topic("A"), "A_checkpoints_internal");
        assert!(p.is_checkpoints_topic("A_checkpoints_internal"));
        assert!(!p.is_checkpoints_topic("A.checkpoints.internal"));
        assert!(p.is_mm2_internal_topic("mm2-offset-syncs_B_internal"));
        assert!(!p.is_mm2_internal_topic("mm2-offset-syncs.B.internal"));
        // `.internal` and `-internal` stay internal whatever the separator.
        assert!(p.is_internal_topic("mm2-offset-syncs.B.internal"));
        assert!(p.is_internal_topic("x-internal"));
        assert!(p.is_heartbeats_topic("A_heartbeats"));
        assert!(!p.is_heartbeats_topic("A.heartbeats"));
        assert_eq!(p.heartbeats_topic(), "heartbeats");
    }

    #[test]
    fn custom_multi_char_separator() {
        let p = policy(PolicyKind::Default, "--", true);
        assert_eq!(p.format_remote_topic("A", "orders"), "A--orders");
        assert_eq!(p.topic_source("A--orders"), some("A"));
        assert_eq!(p.upstream_topic("A--orders"), some("orders"));
        // Split scans left to right without overlap: `a---b` is `a` and `-b`.
        assert_eq!(p.topic_source("a---b"), some("a"));
        assert_eq!(p.upstream_topic("a---b"), some("-b"));
        assert_eq!(p.topic_source("a-b"), None);
        assert_eq!(p.topic_source("a--"), None);
        assert_eq!(p.topic_source("--"), None);
        assert_eq!(p.topic_source("--b"), some(""));
        assert_eq!(p.upstream_topic("--b"), some("b"));
        assert_eq!(p.topic_source("a----b"), some("a"));
        assert_eq!(p.upstream_topic("a----b"), some("--b"));
        assert_eq!(p.original_topic("B--A--x"), "x");
        assert_eq!(p.offset_syncs_topic("B"), "mm2-offset-syncs--B--internal");
        assert_eq!(p.checkpoints_topic("A"), "A--checkpoints--internal");
        assert!(p.is_checkpoints_topic("A--checkpoints--internal"));
        assert!(p.is_mm2_internal_topic("x--internal"));
        assert!(p.is_heartbeats_topic("B--A--heartbeats"));
    }

    #[test]
    fn internal_separator_flag_false_keeps_dots_in_internal_names() {
        let p = policy(PolicyKind::Default, "_", false);
        assert_eq!(p.format_remote_topic("A", "orders"), "A_orders");
        assert_eq!(p.offset_syncs_topic("B"), "mm2-offset-syncs.B.internal");
        assert_eq!(p.checkpoints_topic("A"), "A.checkpoints.internal");
        assert!(p.is_checkpoints_topic("A.checkpoints.internal"));
        assert!(!p.is_checkpoints_topic("A_checkpoints_internal"));
        assert!(p.is_mm2_internal_topic("mm2-offset-syncs.B.internal"));
        assert!(!p.is_mm2_internal_topic("mm2-offset-syncs_B_internal"));
        // Heartbeats follow the data separator, not the internal one.
        assert!(p.is_heartbeats_topic("A_heartbeats"));
    }

    #[test]
    fn default_internal_topic_names() {
        let p = default_policy();
        assert_eq!(p.heartbeats_topic(), "heartbeats");
        assert_eq!(p.offset_syncs_topic("B"), "mm2-offset-syncs.B.internal");
        assert_eq!(p.checkpoints_topic("A"), "A.checkpoints.internal");
    }

    #[test]
    fn default_topic_classification() {
        let p = default_policy();
        assert!(p.is_heartbeats_topic("heartbeats"));
        assert!(p.is_heartbeats_topic("A.heartbeats"));
        assert!(p.is_heartbeats_topic("B.A.heartbeats"));
        assert!(!p.is_heartbeats_topic("myheartbeats"));
        assert!(!p.is_heartbeats_topic("A.myheartbeats"));
        assert!(!p.is_heartbeats_topic("heartbeats.x"));

        assert!(p.is_checkpoints_topic("A.checkpoints.internal"));
        assert!(!p.is_checkpoints_topic("checkpoints.internal"));

        assert!(p.is_mm2_internal_topic("mm2-offset-syncs.B.internal"));
        assert!(p.is_mm2_internal_topic("A.checkpoints.internal"));
        assert!(p.is_mm2_internal_topic("mm2-offsets.A.internal"));
        assert!(!p.is_mm2_internal_topic("x-internal"));

        for internal in [
            "mm2-offset-syncs.B.internal",
            "__consumer_offsets",
            "__transaction_state",
            ".hidden",
            "connect-internal",
            "x.internal",
        ] {
            assert!(p.is_internal_topic(internal), "{internal}");
        }
        for data in [
            "orders",
            "A.orders",
            "_single",
            "internal",
            "x.internals",
            "connect-offsets",
            "heartbeats",
            "x.replica",
        ] {
            assert!(!p.is_internal_topic(data), "{data}");
        }
    }

    #[test]
    fn identity_keeps_names() {
        let p = identity_policy();
        assert_eq!(p.kind(), PolicyKind::Identity);
        assert_eq!(p.source_alias(), "A");
        assert_eq!(p.format_remote_topic("A", "orders"), "orders");
        assert_eq!(p.format_remote_topic("A", "B.orders"), "B.orders");
        // Every non-heartbeat topic comes from the configured source alias, whatever its name.
        assert_eq!(p.topic_source("orders"), some("A"));
        assert_eq!(p.topic_source("B.orders"), some("A"));
        assert_eq!(p.topic_source(""), some("A"));
        assert_eq!(p.upstream_topic("orders"), some("orders"));
        assert_eq!(p.upstream_topic("B.orders"), some("B.orders"));
        assert_eq!(p.original_topic("B.A.orders"), "B.A.orders");
    }

    #[test]
    fn identity_treats_heartbeats_as_default() {
        let p = identity_policy();
        assert_eq!(p.format_remote_topic("A", "heartbeats"), "A.heartbeats");
        assert_eq!(p.format_remote_topic("B", "A.heartbeats"), "B.A.heartbeats");
        // Any name ending with `heartbeats`, even `myheartbeats`, is prefixed.
        assert_eq!(p.format_remote_topic("A", "myheartbeats"), "A.myheartbeats");
        assert_eq!(p.topic_source("heartbeats"), None);
        assert_eq!(p.topic_source("B.heartbeats"), some("B"));
        assert_eq!(p.upstream_topic("B.heartbeats"), some("heartbeats"));
        assert_eq!(p.topic_source("myheartbeats"), None);
        assert_eq!(p.upstream_topic("myheartbeats"), None);
        assert_eq!(p.topic_source("A.myheartbeats"), some("A"));
        assert_eq!(p.original_topic("B.A.heartbeats"), "heartbeats");
        assert!(p.is_heartbeats_topic("heartbeats"));
        assert!(p.is_heartbeats_topic("B.A.heartbeats"));
        assert!(!p.is_heartbeats_topic("myheartbeats"));
        assert!(!p.is_heartbeats_topic("A.myheartbeats"));
        // A name merely containing `heartbeats` is an ordinary Identity topic.
        assert_eq!(p.topic_source("heartbeats.x"), some("A"));
    }

    #[test]
    fn identity_heartbeats_follow_custom_separator() {
        let p = policy(PolicyKind::Identity, "_", true);
        assert_eq!(p.format_remote_topic("A", "heartbeats"), "A_heartbeats");
        assert!(p.is_heartbeats_topic("A_heartbeats"));
        // With `_`, `A.heartbeats` does not look remote: it is a different topic.
        assert!(!p.is_heartbeats_topic("A.heartbeats"));
        assert_eq!(p.offset_syncs_topic("B"), "mm2-offset-syncs_B_internal");
        assert_eq!(p.checkpoints_topic("A"), "A_checkpoints_internal");
    }

    #[test]
    fn identity_internal_topics_as_default() {
        let p = identity_policy();
        assert_eq!(p.offset_syncs_topic("B"), "mm2-offset-syncs.B.internal");
        assert!(p.is_checkpoints_topic("A.checkpoints.internal"));
        assert!(p.is_internal_topic("__consumer_offsets"));
        assert!(p.is_mm2_internal_topic("mm2-offset-syncs.B.internal"));
    }

    #[test]
    fn empty_separator_splits_between_characters() {
        let p = policy(PolicyKind::Default, "", true);
        assert_eq!(p.format_remote_topic("A", "x"), "Ax");
        assert_eq!(p.topic_source("Ax"), some("A"));
        assert_eq!(p.upstream_topic("Ax"), some("x"));
        assert_eq!(p.topic_source("x"), None);
        assert_eq!(p.topic_source("éx"), some("é"));
        assert_eq!(p.upstream_topic("éx"), some("x"));
        assert_eq!(p.original_topic("abc"), "c");
    }
}
