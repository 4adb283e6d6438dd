//! Kafka Connect worker settings that decide where a flow keeps its state (offsets topic,
//! group) and whether it replicates exactly once, read from a KafkaConnect's `spec.config`,
//! MM2's per-target worker config or Strait's `worker:` section.

use std::time::Duration;

use super::WorkerConfig;
use super::error::ConfigError;
use super::key_reader::KeyReader;
use super::model::{
    DEFAULT_OFFSET_FLUSH_INTERVAL, DEFAULT_OFFSET_STORAGE_PARTITIONS,
    DEFAULT_OFFSET_STORAGE_REPLICATION_FACTOR,
};

/// The worker keys Strait reads.
pub(crate) const KEYS: &[&str] = &[
    "group.id",
    "offset.storage.topic",
    "offset.storage.partitions",
    "offset.storage.replication.factor",
    "offset.flush.interval.ms",
    EXACTLY_ONCE_SOURCE_SUPPORT,
];

/// Connect's worker key that turns exactly-once source connectors on (KIP-618).
pub(crate) const EXACTLY_ONCE_SOURCE_SUPPORT: &str = "exactly.once.source.support";

/// Connect's `exactly.once.source.support`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ExactlyOnceSourceSupport {
    /// `disabled` (Connect's default): no transactions.
    #[default]
    Disabled,
    /// `preparing`: Connect's first step of a rolling upgrade, which readies the workers'
    /// leader but still writes source records without transactions. Strait has no leader to
    /// ready, so for it this is the same as `disabled`.
    Preparing,
    /// `enabled`: source connectors write records and offsets in transactions.
    Enabled,
}

impl ExactlyOnceSourceSupport {
    /// The value as Connect writes it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Disabled => "disabled",
            Self::Preparing => "preparing",
            Self::Enabled => "enabled",
        }
    }
}

/// One worker's settings, as its flows' connectors see them.
#[derive(Debug, Clone)]
pub(crate) struct ParsedWorker {
    /// What the model keeps of the worker.
    pub config: WorkerConfig,
    /// `offset.flush.interval.ms` (default 60 s), which the model keeps with the source
    /// connector.
    pub offset_flush_interval: Duration,
    /// `exactly.once.source.support` (default disabled), which the source connector resolves
    /// with its own keys into [`super::ExactlyOnceConfig`].
    pub exactly_once_source: ExactlyOnceSourceSupport,
}

/// What a reader's worker falls back to.
#[derive(Debug, Clone)]
pub(crate) struct WorkerDefaults {
    /// `group.id`.
    pub group_id: String,
    /// `offset.storage.topic`.
    pub offset_storage_topic: String,
}

impl WorkerDefaults {
    /// MM2 dedicated mode's names for the herder of flow `source`->…: `<source>-mm2` and
    /// `mm2-offsets.<source>.internal`.
    pub(crate) fn mm2(source_alias: &str) -> Self {
        Self {
            group_id: format!("{source_alias}-mm2"),
            offset_storage_topic: format!("mm2-offsets.{source_alias}.internal"),
        }
    }
}

/// The worker settings.
pub(crate) fn parse(
    r: &KeyReader<'_>,
    defaults: WorkerDefaults,
) -> Result<ParsedWorker, ConfigError> {
    let partitions: i32 = r.number(
        "offset.storage.partitions",
        DEFAULT_OFFSET_STORAGE_PARTITIONS,
        -1,
    )?;
    if partitions == 0 {
        return Err(r.error(
            "offset.storage.partitions",
            "0 is not valid (a positive number, or -1 for the broker default)",
        ));
    }
    let config = WorkerConfig {
        offset_storage_topic: r
            .non_blank("offset.storage.topic")
            .map_or(defaults.offset_storage_topic, str::to_owned),
        offset_storage_partitions: partitions,
        offset_storage_replication_factor: r.replication_factor(
            "offset.storage.replication.factor",
            DEFAULT_OFFSET_STORAGE_REPLICATION_FACTOR,
        )?,
        group_id: r
            .non_blank("group.id")
            .map_or(defaults.group_id, str::to_owned),
    };
    let flush = r.millis("offset.flush.interval.ms", DEFAULT_OFFSET_FLUSH_INTERVAL)?;
    if flush.is_zero() {
        return Err(r.error("offset.flush.interval.ms", "must be positive"));
    }
    Ok(ParsedWorker {
        config,
        offset_flush_interval: flush,
        exactly_once_source: exactly_once_source(r)?,
    })
}

/// `exactly.once.source.support`, case-insensitive as Connect reads it.
fn exactly_once_source(r: &KeyReader<'_>) -> Result<ExactlyOnceSourceSupport, ConfigError> {
    let key = EXACTLY_ONCE_SOURCE_SUPPORT;
    match r.non_blank(key).map(str::to_ascii_lowercase).as_deref() {
        None | Some("disabled") => Ok(ExactlyOnceSourceSupport::Disabled),
        Some("preparing") => Ok(ExactlyOnceSourceSupport::Preparing),
        Some("enabled") => Ok(ExactlyOnceSourceSupport::Enabled),
        Some(_) => Err(r.error(
            key,
            format!(
                "'{}' is not valid (expected disabled, preparing or enabled)",
                r.shown(key)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::error::Origin;
    use crate::config::settings::{Setting, Settings};

    fn run(pairs: &[(&str, &str)]) -> Result<(WorkerConfig, Duration), ConfigError> {
        parsed(pairs).map(|w| (w.config, w.offset_flush_interval))
    }

    fn parsed(pairs: &[(&str, &str)]) -> Result<ParsedWorker, ConfigError> {
        let s: Settings = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Setting::plain(k, *v)))
            .collect();
        parse(
            &KeyReader::new(&s, Origin::file("w")),
            WorkerDefaults::mm2("A"),
        )
    }

    #[test]
    fn defaults_and_values() {
        let (w, flush) = run(&[]).unwrap();
        assert_eq!(w.group_id, "A-mm2");
        assert_eq!(w.offset_storage_topic, "mm2-offsets.A.internal");
        assert_eq!(
            (
                w.offset_storage_partitions,
                w.offset_storage_replication_factor
            ),
            (25, 3)
        );
        assert_eq!(flush, Duration::from_secs(60));
        let (w, flush) = run(&[
            ("group.id", "g"),
            ("offset.storage.topic", "t"),
            ("offset.storage.replication.factor", "-1"),
            ("offset.flush.interval.ms", "5000"),
        ])
        .unwrap();
        assert_eq!(
            (w.group_id.as_str(), w.offset_storage_topic.as_str()),
            ("g", "t")
        );
        assert_eq!(w.offset_storage_replication_factor, -1);
        assert_eq!(flush, Duration::from_secs(5));
    }

    #[test]
    fn invalid_worker_values() {
        assert!(
            run(&[("offset.storage.partitions", "0")])
                .unwrap_err()
                .to_string()
                .contains("0 is not valid")
        );
        assert!(
            run(&[("offset.flush.interval.ms", "soon")])
                .unwrap_err()
                .to_string()
                .contains("'soon' is not a number of milliseconds")
        );
    }

    #[test]
    fn exactly_once_source_support_is_read_case_insensitively() {
        use ExactlyOnceSourceSupport::*;
        assert_eq!(parsed(&[]).unwrap().exactly_once_source, Disabled);
        for (value, expected) in [
            ("disabled", Disabled),
            ("Preparing", Preparing),
            (" ENABLED ", Enabled),
            ("enabled", Enabled),
        ] {
            let w = parsed(&[(EXACTLY_ONCE_SOURCE_SUPPORT, value)]).unwrap();
            assert_eq!(w.exactly_once_source, expected, "{value}");
        }
        let e = parsed(&[(EXACTLY_ONCE_SOURCE_SUPPORT, "on")])
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "w, key 'exactly.once.source.support': 'on' is not valid (expected disabled, \
             preparing or enabled)"
        );
    }
}
