//! MM2's filters: lists of regexes over topic names (`topics`, `topics.exclude`), consumer group
//! names (`groups`, `groups.exclude`) and topic config names (`config.properties.exclude`).
//!
//! MM2 semantics, kept exactly:
//! - A list setting is split at every comma, surrounding whitespace trimmed ([`split_list`]).
//!   The split knows nothing about regex syntax, so a comma inside a pattern cuts it in two:
//!   `a{1,3}` becomes `a{1` and `3}`, which MM2 then fails to compile. Strait refuses it too,
//!   with an error saying why (Rust would otherwise silently read the broken braces as text).
//!   Alternation (`a|b`) or `[,]`-free rewrites are the way to write such patterns.
//! - The entries are joined with `|` into **one** regex, which must match the **whole** name.
//!   Because the join is textual, it is the joined regex that has to be valid, exactly as in MM2.
//! - An empty include list accepts nothing; an empty exclude list excludes nothing; excludes
//!   win over includes.
//! - Patterns are Java regexes; [`super::java_regex`] translates them for `fancy_regex` (so
//!   look-arounds and back-references work) and lists the known differences.
//!
//! Matching never fails: `fancy_regex` can give up on a pathological backtracking pattern
//! (after a million steps); such a name then counts as **not matching** (for an exclude list:
//! not excluded), and a warning is logged. Java MM2 would instead spend unbounded time or fail.

use fancy_regex::Regex;

use super::{PolicyError, java_regex};

/// Splits a Kafka LIST setting the way Kafka does: at every comma, with whitespace around
/// entries trimmed. Empty entries (`a,,b`, a trailing comma, an empty value) are dropped; in
/// MM2 they would only add an alternative matching the empty name, which no topic or group has.
pub fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|entry| entry.trim_matches(is_java_whitespace))
        .filter(|entry| !entry.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The whitespace Kafka's list parser trims (Java regex `\s`).
fn is_java_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r')
}

/// One list of regexes, matched as MM2 does: joined with `|`, matching whole names.
#[derive(Debug, Clone)]
pub struct PatternList {
    /// The configuration key, for error and log messages.
    key: String,
    /// The entries as configured (Java syntax).
    patterns: Vec<String>,
    /// `None` when the list is empty: it matches nothing.
    regex: Option<Regex>,
}

impl PatternList {
    /// Compiles already-split entries of the setting `key` (e.g. `topics.exclude`). Entries are
    /// used as given, except that empty ones are dropped (see [`split_list`]).
    pub fn new(key: &str, patterns: &[String]) -> Result<Self, PolicyError> {
        let patterns: Vec<String> = patterns.iter().filter(|p| !p.is_empty()).cloned().collect();
        let regex = if patterns.is_empty() {
            None
        } else {
            let joined = patterns.join("|");
            match compile_whole_name(&joined) {
                Ok(regex) => Some(regex),
                Err(reason) => return Err(blame(key, &patterns, &joined, reason)),
            }
        };
        Ok(Self {
            key: key.to_owned(),
            patterns,
            regex,
        })
    }

    /// Parses and compiles a raw LIST value of the setting `key`, e.g. `"test.*, orders"`.
    pub fn parse(key: &str, value: &str) -> Result<Self, PolicyError> {
        Self::new(key, &split_list(value))
    }

    /// The configuration key this list came from.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The entries, in Java syntax, empty ones dropped.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Whether the list has no entries (and so matches nothing).
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether one of the patterns matches the whole of `name`. Never panics or fails: when
    /// the regex engine gives up (backtracking limit), the answer is `false` and a warning is
    /// logged.
    pub fn matches(&self, name: &str) -> bool {
        let Some(regex) = &self.regex else {
            return false;
        };
        match regex.is_match(name) {
            Ok(matched) => matched,
            Err(error) => {
                tracing::warn!(
                    key = %self.key,
                    name,
                    %error,
                    "regex gave up matching; treating the name as not matching"
                );
                false
            }
        }
    }
}

/// Compiles a Java regex so that it has to match a whole name (Java's `Matcher.matches`).
fn compile_whole_name(java: &str) -> Result<Regex, String> {
    let translated = java_regex::translate(java).map_err(|e| e.to_string())?;
    // Compiled alone first: anchoring wraps the pattern in a group, and a pattern that is not
    // valid on its own (say `a)|(b`) could otherwise turn valid with a different meaning.
    Regex::new(&translated).map_err(|e| e.to_string())?;
    Regex::new(&format!(r"\A(?:{translated})\z")).map_err(|e| e.to_string())
}

/// Builds the error for a list whose joined regex does not compile, naming the first entry
/// that is invalid on its own, or the whole list when only the combination is invalid.
fn blame(key: &str, patterns: &[String], joined: &str, joined_reason: String) -> PolicyError {
    let culprit = patterns.iter().find_map(|p| {
        compile_whole_name(p)
            .err()
            .map(|reason| (p.clone(), reason))
    });
    let (pattern, reason) = culprit.unwrap_or_else(|| (joined.to_owned(), joined_reason));
    PolicyError::InvalidPattern {
        key: key.to_owned(),
        pattern,
        reason,
    }
}

/// MM2's `DefaultTopicFilter`: `topics` and `topics.exclude`.
#[derive(Debug, Clone)]
pub struct TopicFilter {
    include: PatternList,
    exclude: PatternList,
}

impl TopicFilter {
    /// Compiles the `topics` and `topics.exclude` lists.
    pub fn new(topics: &[String], topics_exclude: &[String]) -> Result<Self, PolicyError> {
        Ok(Self {
            include: PatternList::new("topics", topics)?,
            exclude: PatternList::new("topics.exclude", topics_exclude)?,
        })
    }

    /// Whether `topic` is included and not excluded. This is only the filter: see
    /// [`super::should_replicate_topic`] for the whole replication decision.
    pub fn accepts(&self, topic: &str) -> bool {
        self.include.matches(topic) && !self.exclude.matches(topic)
    }

    /// The `topics` list.
    pub fn include(&self) -> &PatternList {
        &self.include
    }

    /// The `topics.exclude` list.
    pub fn exclude(&self) -> &PatternList {
        &self.exclude
    }
}

/// MM2's `DefaultGroupFilter`: `groups` and `groups.exclude`.
#[derive(Debug, Clone)]
pub struct GroupFilter {
    include: PatternList,
    exclude: PatternList,
}

impl GroupFilter {
    /// Compiles the `groups` and `groups.exclude` lists.
    pub fn new(groups: &[String], groups_exclude: &[String]) -> Result<Self, PolicyError> {
        Ok(Self {
            include: PatternList::new("groups", groups)?,
            exclude: PatternList::new("groups.exclude", groups_exclude)?,
        })
    }

    /// Whether consumer group `group` is included and not excluded.
    pub fn accepts(&self, group: &str) -> bool {
        self.include.matches(group) && !self.exclude.matches(group)
    }

    /// The `groups` list.
    pub fn include(&self) -> &PatternList {
        &self.include
    }

    /// The `groups.exclude` list.
    pub fn exclude(&self) -> &PatternList {
        &self.exclude
    }
}

/// MM2's `DefaultConfigPropertyFilter`: which topic config entries are copied to remote topics
/// (`config.properties.exclude`). Whether source defaults are copied is decided by the config
/// sync (`use.defaults.from`).
#[derive(Debug, Clone)]
pub struct ConfigPropertyFilter {
    exclude: PatternList,
}

impl ConfigPropertyFilter {
    /// Compiles the `config.properties.exclude` list.
    pub fn new(config_properties_exclude: &[String]) -> Result<Self, PolicyError> {
        Ok(Self {
            exclude: PatternList::new("config.properties.exclude", config_properties_exclude)?,
        })
    }

    /// Whether the topic config entry `name` (e.g. `retention.ms`) is replicated.
    pub fn should_replicate_config_property(&self, name: &str) -> bool {
        !self.exclude.matches(name)
    }

    /// The `config.properties.exclude` list.
    pub fn exclude(&self) -> &PatternList {
        &self.exclude
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::{
        DEFAULT_CONFIG_PROPERTIES_EXCLUDE, DEFAULT_GROUPS_EXCLUDE, DEFAULT_TOPICS_EXCLUDE,
    };

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn default_topic_filter() -> TopicFilter {
        TopicFilter::new(&strings(&[".*"]), &strings(DEFAULT_TOPICS_EXCLUDE)).unwrap()
    }

    #[test]
    fn split_list_follows_kafka() {
        assert_eq!(split_list("a, b ,c"), strings(&["a", "b", "c"]));
        assert_eq!(split_list("  test.*  "), strings(&["test.*"]));
        assert_eq!(split_list(""), Vec::<String>::new());
        assert_eq!(split_list("  "), Vec::<String>::new());
        assert_eq!(split_list("a,,b,"), strings(&["a", "b"]));
        assert_eq!(split_list("a b,\tc\n"), strings(&["a b", "c"]));
        // The split knows nothing about regexes.
        assert_eq!(split_list("a{1,3}"), strings(&["a{1", "3}"]));
        assert_eq!(
            split_list(r".*[\-\.]internal, .*\.replica, __.*"),
            strings(DEFAULT_TOPICS_EXCLUDE)
        );
    }

    #[test]
    fn default_topic_excludes() {
        let f = default_topic_filter();
        for excluded in [
            "mm2-offset-syncs.B.internal",
            "A.checkpoints.internal",
            "mm2-offsets.A.internal",
            "connect-internal",
            "x.replica",
            "__consumer_offsets",
            "__transaction_state",
        ] {
            assert!(!f.accepts(excluded), "{excluded}");
        }
        for accepted in [
            "orders",
            "A.orders",
            "heartbeats",
            "internal",
            "x.internals",
            "replica",
            "_x",
            "connect-offsets",
        ] {
            assert!(f.accepts(accepted), "{accepted}");
        }
    }

    #[test]
    fn seed_includes_match_whole_names() {
        // The seed's ConfigMap: `topics="test.*"`.
        let f = TopicFilter::new(&split_list("test.*"), &strings(DEFAULT_TOPICS_EXCLUDE)).unwrap();
        assert!(f.accepts("test.orders"));
        assert!(f.accepts("test"));
        assert!(f.accepts("testing"));
        assert!(!f.accepts("atest"));
        assert!(!f.accepts("orders"));
        assert!(!f.accepts("test.x.replica"));
        let g = GroupFilter::new(&split_list("test.*"), &strings(DEFAULT_GROUPS_EXCLUDE)).unwrap();
        assert!(g.accepts("test-group"));
        assert!(!g.accepts("my-test"));
    }

    #[test]
    fn multiple_entries_and_whole_name_matching() {
        let f = TopicFilter::new(&split_list("orders, payments.*"), &[]).unwrap();
        assert!(f.accepts("orders"));
        assert!(f.accepts("payments-eu"));
        assert!(!f.accepts("orders2"));
        assert!(!f.accepts("my-orders"));
        // Whole-name matching needs backtracking across alternatives: `a|ab` accepts `ab`.
        let f = TopicFilter::new(&strings(&["a", "ab"]), &[]).unwrap();
        assert!(f.accepts("ab"));
        // Each entry's own anchors do not leak into the others.
        let f = TopicFilter::new(&strings(&["^a", "b$"]), &[]).unwrap();
        assert!(f.accepts("a"));
        assert!(f.accepts("b"));
        assert!(!f.accepts("ab"));
    }

    #[test]
    fn empty_lists() {
        let f = TopicFilter::new(&[], &[]).unwrap();
        assert!(!f.accepts("orders"));
        assert!(!f.accepts(""));
        let f = TopicFilter::new(&strings(&[".*"]), &[]).unwrap();
        assert!(f.accepts("orders"));
        assert!(f.accepts("__consumer_offsets"));
        let f = TopicFilter::new(&strings(&["", ""]), &[]).unwrap();
        assert!(f.include().is_empty());
        assert!(!f.accepts("orders"));
        assert!(PatternList::parse("topics", "").unwrap().is_empty());
        assert!(PatternList::parse("topics", " , ").unwrap().is_empty());
    }

    #[test]
    fn excludes_win() {
        let f = TopicFilter::new(&strings(&["orders.*"]), &strings(&["orders-secret"])).unwrap();
        assert!(f.accepts("orders"));
        assert!(!f.accepts("orders-secret"));
    }

    #[test]
    fn comma_inside_braces_breaks_as_in_mm2() {
        let err = TopicFilter::new(&split_list("a{1,3}"), &[]).unwrap_err();
        match &err {
            PolicyError::InvalidPattern {
                key,
                pattern,
                reason,
            } => {
                assert_eq!(key, "topics");
                assert_eq!(pattern, "a{1");
                assert!(reason.contains("split at every comma"), "{reason}");
            }
            other => panic!("unexpected {other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.contains("topics") && msg.contains("a{1"), "{msg}");
        // Without a comma the repetition is fine.
        let f = TopicFilter::new(&split_list("a{1}b, c{2}"), &[]).unwrap();
        assert!(f.accepts("ab"));
        assert!(f.accepts("cc"));
    }

    #[test]
    fn lookarounds_and_backreferences_work() {
        let f = TopicFilter::new(&strings(&["(?!internal-).*"]), &[]).unwrap();
        assert!(f.accepts("orders"));
        assert!(!f.accepts("internal-orders"));
        let f = TopicFilter::new(&strings(&[".*(?<!-dlq)"]), &[]).unwrap();
        assert!(f.accepts("orders"));
        assert!(!f.accepts("orders-dlq"));
        let f = TopicFilter::new(&strings(&[r"(\w+)-\1"]), &[]).unwrap();
        assert!(f.accepts("ab-ab"));
        assert!(!f.accepts("ab-cd"));
    }

    #[test]
    fn invalid_patterns_name_key_and_entry() {
        let err = TopicFilter::new(&strings(&[".*"]), &strings(&["ok.*", "(bad"])).unwrap_err();
        match err {
            PolicyError::InvalidPattern { key, pattern, .. } => {
                assert_eq!(key, "topics.exclude");
                assert_eq!(pattern, "(bad");
            }
            other => panic!("unexpected {other:?}"),
        }
        let err = GroupFilter::new(&strings(&["[x"]), &[]).unwrap_err();
        assert!(err.to_string().contains("groups"), "{err}");
        assert!(err.to_string().contains("[x"), "{err}");
        let err = GroupFilter::new(&strings(&[".*"]), &strings(&["*"])).unwrap_err();
        assert!(err.to_string().contains("groups.exclude"), "{err}");
        let err = ConfigPropertyFilter::new(&strings(&[r"\q"])).unwrap_err();
        assert!(
            err.to_string().contains("config.properties.exclude"),
            "{err}"
        );
    }

    #[test]
    fn entries_are_joined_before_compiling_as_in_mm2() {
        // Each entry is invalid alone, but MM2 compiles the joined `(a|b)`.
        let f = TopicFilter::new(&split_list("(a, b)"), &[]).unwrap();
        assert!(f.accepts("a"));
        assert!(f.accepts("b"));
        // Anchoring must not rescue a joined pattern Java rejects.
        let err = TopicFilter::new(&strings(&["a)", "(b"]), &[]).unwrap_err();
        assert!(matches!(err, PolicyError::InvalidPattern { .. }));
    }

    #[test]
    fn default_group_excludes() {
        let g = GroupFilter::new(&strings(&[".*"]), &strings(DEFAULT_GROUPS_EXCLUDE)).unwrap();
        assert!(g.accepts("orders-service"));
        assert!(!g.accepts("console-consumer-1234"));
        assert!(!g.accepts("connect-mirror"));
        assert!(!g.accepts("__strait"));
        assert!(g.accepts("my-connect-app"));
    }

    #[test]
    fn default_config_property_excludes() {
        let c = ConfigPropertyFilter::new(&strings(DEFAULT_CONFIG_PROPERTIES_EXCLUDE)).unwrap();
        for excluded in [
            "follower.replication.throttled.replicas",
            "leader.replication.throttled.replicas",
            "message.timestamp.difference.max.ms",
            "message.timestamp.type",
            "unclean.leader.election.enable",
            "min.insync.replicas",
        ] {
            assert!(!c.should_replicate_config_property(excluded), "{excluded}");
        }
        for kept in [
            "retention.ms",
            "cleanup.policy",
            "min.insync.replicas.x",
            "message-timestamp-type",
        ] {
            assert!(c.should_replicate_config_property(kept), "{kept}");
        }
        let none = ConfigPropertyFilter::new(&[]).unwrap();
        assert!(none.should_replicate_config_property("min.insync.replicas"));
    }

    #[test]
    fn matching_gives_up_without_panicking() {
        // The back-reference forces the backtracking engine; the nested quantifier makes it
        // exponential, so the step limit is reached.
        let list = PatternList::new("topics", &strings(&[r"(a*)*\1b"])).unwrap();
        let name = "a".repeat(64);
        let regex = list.regex.as_ref().unwrap();
        assert!(
            regex.is_match(&name).is_err(),
            "the limit should be reached"
        );
        assert!(!list.matches(&name));
    }

    #[test]
    fn accessors() {
        let list = PatternList::parse("topics", "a, b").unwrap();
        assert_eq!(list.key(), "topics");
        assert_eq!(list.patterns(), strings(&["a", "b"]).as_slice());
        assert!(!list.is_empty());
        let f = default_topic_filter();
        assert_eq!(f.include().key(), "topics");
        assert_eq!(f.exclude().key(), "topics.exclude");
    }
}
