//! Which topic configs travel from a source topic to its remote topic, and the changes that
//! bring a remote topic's configs in step with its source (MM2's rules, `use.defaults.from`).

use std::collections::HashMap;

use rdkafka::admin::{ConfigEntry, ConfigSource};

use crate::config::UseDefaultsFrom;
use crate::policy::ConfigPropertyFilter;

/// A source config entry that is carried to the remote topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carried {
    /// The config name.
    pub name: String,
    /// Its value on the source.
    pub value: String,
    /// Whether the source topic just inherits it (Kafka's hard-coded default).
    pub is_default: bool,
}

/// The entries of a source topic that are replicated: not read-only, not sensitive, not from the
/// brokers' static files, not excluded by `config.properties.exclude`. Default values are kept
/// (marked) so the caller can apply `use.defaults.from`.
pub fn carried_entries(entries: Vec<ConfigEntry>, filter: &ConfigPropertyFilter) -> Vec<Carried> {
    entries
        .into_iter()
        .filter(|e| {
            !e.is_read_only
                && !e.is_sensitive
                && e.source != ConfigSource::StaticBroker
                && filter.should_replicate_config_property(&e.name)
        })
        .filter_map(|e| {
            let is_default = matches!(e.source, ConfigSource::Default | ConfigSource::Unknown);
            e.value.map(|value| Carried {
                name: e.name,
                value,
                is_default,
            })
        })
        .collect()
}

/// The configs a new remote topic is created with: what the source topic sets, plus its
/// defaults when `use.defaults.from=source`.
pub fn creation_configs(
    carried: &[Carried],
    defaults_from: UseDefaultsFrom,
) -> Vec<(String, String)> {
    carried
        .iter()
        .filter(|c| !c.is_default || defaults_from == UseDefaultsFrom::Source)
        .map(|c| (c.name.clone(), c.value.clone()))
        .collect()
}

/// One change to a remote topic's config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigChange {
    /// Set the topic's own value.
    Set(String, String),
    /// Remove the topic's own value, so the target's default applies.
    Delete(String),
}

/// The changes that bring the remote topic (`target` = its described entries) in step with the
/// source. Only differences are sent: a value already equal stays untouched, and a default on
/// the source removes a remote override only where one exists.
pub fn sync_changes(
    carried: &[Carried],
    target: &[ConfigEntry],
    defaults_from: UseDefaultsFrom,
) -> Vec<ConfigChange> {
    let remote: HashMap<&str, &ConfigEntry> = target.iter().map(|e| (e.name.as_str(), e)).collect();
    let mut out = Vec::new();
    for c in carried {
        let current = remote.get(c.name.as_str());
        let overridden = current.is_some_and(|e| e.source == ConfigSource::DynamicTopic);
        let same_value = current.and_then(|e| e.value.as_deref()) == Some(c.value.as_str());
        if c.is_default && defaults_from == UseDefaultsFrom::Target {
            if overridden {
                out.push(ConfigChange::Delete(c.name.clone()));
            }
        } else if !(overridden && same_value) {
            out.push(ConfigChange::Set(c.name.clone(), c.value.clone()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, value: &str, source: ConfigSource) -> ConfigEntry {
        ConfigEntry {
            name: name.to_owned(),
            value: Some(value.to_owned()),
            is_default: source == ConfigSource::Default,
            source,
            is_read_only: false,
            is_sensitive: false,
        }
    }

    fn filter() -> ConfigPropertyFilter {
        ConfigPropertyFilter::new(&[r"min\.insync\.replicas".to_owned()]).unwrap()
    }

    #[test]
    fn carries_set_values_and_marks_defaults_but_drops_excluded_static_and_sensitive() {
        let mut secret = entry("sasl.thing", "x", ConfigSource::DynamicTopic);
        secret.is_sensitive = true;
        let carried = carried_entries(
            vec![
                entry("retention.ms", "1000", ConfigSource::DynamicTopic),
                entry("cleanup.policy", "delete", ConfigSource::Default),
                entry("min.insync.replicas", "2", ConfigSource::DynamicTopic),
                entry("segment.bytes", "1", ConfigSource::StaticBroker),
                secret,
            ],
            &filter(),
        );
        let names: Vec<(&str, bool)> = carried
            .iter()
            .map(|c| (c.name.as_str(), c.is_default))
            .collect();
        assert_eq!(
            names,
            vec![("retention.ms", false), ("cleanup.policy", true)]
        );
        assert_eq!(
            creation_configs(&carried, UseDefaultsFrom::Target),
            vec![("retention.ms".to_owned(), "1000".to_owned())]
        );
        assert_eq!(creation_configs(&carried, UseDefaultsFrom::Source).len(), 2);
    }

    #[test]
    fn sync_sends_only_differences() {
        let carried = vec![
            Carried {
                name: "retention.ms".into(),
                value: "2000".into(),
                is_default: false,
            },
            Carried {
                name: "max.message.bytes".into(),
                value: "5".into(),
                is_default: false,
            },
            Carried {
                name: "cleanup.policy".into(),
                value: "delete".into(),
                is_default: true,
            },
            Carried {
                name: "segment.ms".into(),
                value: "9".into(),
                is_default: true,
            },
        ];
        let target = vec![
            entry("retention.ms", "1000", ConfigSource::DynamicTopic),
            entry("max.message.bytes", "5", ConfigSource::DynamicTopic),
            entry("cleanup.policy", "compact", ConfigSource::DynamicTopic),
            entry("segment.ms", "9", ConfigSource::Default),
        ];
        assert_eq!(
            sync_changes(&carried, &target, UseDefaultsFrom::Target),
            vec![
                ConfigChange::Set("retention.ms".into(), "2000".into()),
                ConfigChange::Delete("cleanup.policy".into()),
            ]
        );
        assert_eq!(
            sync_changes(&carried, &target, UseDefaultsFrom::Source),
            vec![
                ConfigChange::Set("retention.ms".into(), "2000".into()),
                ConfigChange::Set("cleanup.policy".into(), "delete".into()),
                ConfigChange::Set("segment.ms".into(), "9".into()),
            ]
        );
    }
}
