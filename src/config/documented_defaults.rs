//! docs/config.md states every connector and worker default; this test reads its tables and
//! checks each stated default against the model's (`model.rs`), so the two cannot drift apart.

use std::time::Duration;

use super::model::{
    DEFAULT_OFFSET_FLUSH_INTERVAL, DEFAULT_OFFSET_STORAGE_PARTITIONS,
    DEFAULT_OFFSET_STORAGE_REPLICATION_FACTOR, DEFAULT_TRANSACTION_TIMEOUT, POLL_COMMIT_INTERVAL,
};
use super::{
    CheckpointConnectorConfig, HeartbeatConnectorConfig, OffsetSyncsLocation, PolicyConfig,
    SourceConnectorConfig, UseDefaultsFrom,
};

const CONFIG_MD: &str = include_str!("../../docs/config.md");

/// The "Default" cell of the table row whose first cell is exactly `key`.
fn documented(key: &str) -> Option<&'static str> {
    CONFIG_MD.lines().find_map(|line| {
        let mut cells = line.strip_prefix("| ")?.split(" | ");
        (cells.next()? == key).then(|| cells.next())?
    })
}

/// The whole table row whose first cell is exactly `key` (empty when there is none).
fn documented_row(key: &str) -> &'static str {
    CONFIG_MD
        .lines()
        .find(|l| {
            l.strip_prefix("| ")
                .is_some_and(|r| r.starts_with(&format!("{key} | ")))
        })
        .unwrap_or_default()
}

fn secs(d: Duration) -> String {
    d.as_secs().to_string()
}

fn pair(enabled: bool, interval: Duration) -> String {
    format!("{enabled} / {}", secs(interval))
}

fn list(items: &[String]) -> String {
    format!("`{}`", items.join(", "))
}

#[test]
fn documented_defaults_are_the_models() {
    let s = SourceConnectorConfig::default();
    let c = CheckpointConnectorConfig::default();
    let h = HeartbeatConnectorConfig::default();
    let p = PolicyConfig::default();
    let location = |l: OffsetSyncsLocation| match l {
        OffsetSyncsLocation::Source => "`source`",
        OffsetSyncsLocation::Target => "`target`",
    };
    let use_defaults = match s.use_defaults_from {
        UseDefaultsFrom::Source => "`source`",
        UseDefaultsFrom::Target => "`target`",
    };
    let mut expected: Vec<(&str, String)> = vec![
        ("`tasks.max`", s.tasks_max.to_string()),
        ("`enabled`", s.enabled.to_string()),
        (
            "`replication.policy.separator`",
            format!("`{}`", p.separator),
        ),
        (
            "`replication.policy.internal.topic.separator.enabled`",
            p.internal_topic_separator_enabled.to_string(),
        ),
        (
            "`topics` / `topics.exclude`",
            format!("{} / {}", list(&s.topics), list(&s.topics_exclude)),
        ),
        ("`use.defaults.from`", use_defaults.to_owned()),
        (
            "`refresh.topics.enabled` / `.interval.seconds`",
            pair(s.refresh_topics_enabled, s.refresh_topics_interval),
        ),
        (
            "`sync.topic.configs.enabled` / `.interval.seconds`",
            pair(s.sync_topic_configs_enabled, s.sync_topic_configs_interval),
        ),
        (
            "`sync.topic.acls.enabled` / `.interval.seconds`",
            pair(s.sync_topic_acls_enabled, s.sync_topic_acls_interval),
        ),
        ("`replication.factor`", s.replication_factor.to_string()),
        (
            "`emit.offset-syncs.enabled`",
            s.emit_offset_syncs_enabled.to_string(),
        ),
        (
            "`offset-syncs.topic.location`",
            location(s.offset_syncs_topic_location).to_owned(),
        ),
        (
            "`offset-syncs.topic.replication.factor`",
            s.offset_syncs_topic_replication_factor.to_string(),
        ),
        ("`offset.lag.max`", s.offset_lag_max.to_string()),
        (
            "`heartbeats.replication.enabled`",
            s.heartbeats_replication_enabled.to_string(),
        ),
        (
            "`strait.max.in.flight.bytes`",
            s.max_in_flight_bytes.to_string(),
        ),
        (
            "`strait.retry.backoff.max.ms`",
            s.retry_backoff_max.as_millis().to_string(),
        ),
        (
            "`strait.target.writer`",
            s.target_writer.as_str().to_owned(),
        ),
        (
            "`strait.source.reader`",
            s.source_reader.as_str().to_owned(),
        ),
        (
            "`groups` / `groups.exclude`",
            format!("{} / {}", list(&c.groups), list(&c.groups_exclude)),
        ),
        (
            "`refresh.groups.enabled` / `.interval.seconds`",
            pair(c.refresh_groups_enabled, c.refresh_groups_interval),
        ),
        (
            "`emit.checkpoints.enabled` / `.interval.seconds`",
            pair(c.emit_checkpoints_enabled, c.emit_checkpoints_interval),
        ),
        (
            "`sync.group.offsets.enabled` / `.interval.seconds`",
            pair(c.sync_group_offsets_enabled, c.sync_group_offsets_interval),
        ),
        (
            "`strait.sync.group.offsets.rewind.enabled`",
            c.sync_group_offsets_rewind_enabled.to_string(),
        ),
        (
            "`checkpoints.topic.replication.factor`",
            c.checkpoints_topic_replication_factor.to_string(),
        ),
        (
            "`emit.heartbeats.enabled` / `.interval.seconds`",
            pair(h.emit_heartbeats_enabled, h.emit_heartbeats_interval),
        ),
        (
            "`heartbeats.topic.replication.factor`",
            h.heartbeats_topic_replication_factor.to_string(),
        ),
        (
            "`offset.storage.partitions`",
            DEFAULT_OFFSET_STORAGE_PARTITIONS.to_string(),
        ),
        (
            "`offset.storage.replication.factor`",
            DEFAULT_OFFSET_STORAGE_REPLICATION_FACTOR.to_string(),
        ),
        (
            "`offset.flush.interval.ms`",
            DEFAULT_OFFSET_FLUSH_INTERVAL.as_millis().to_string(),
        ),
    ];
    expected.push((
        "`transaction.timeout.ms` under `producer.override.`, `target.producer.` or `producer.` \
         (first wins)",
        DEFAULT_TRANSACTION_TIMEOUT.as_millis().to_string(),
    ));
    expected.push(("`transaction.boundary`", "`poll`".to_owned()));
    expected.push(("`strait.exactly.once.enabled`", "false".to_owned()));
    let mut wrong = Vec::new();
    for (key, model) in &expected {
        match documented(key) {
            None => wrong.push(format!("{key}: no row in docs/config.md")),
            // A cell may add a note after the value ("(or ...)").
            Some(doc) if !doc.starts_with(model.as_str()) => {
                wrong.push(format!("{key}: docs say '{doc}', the model '{model}'"));
            }
            Some(_) => {}
        }
    }
    // The producer's compression default is stated in prose inside its row.
    let producer_row = CONFIG_MD
        .lines()
        .find(|l| l.starts_with("| `target.producer.*`"))
        .unwrap_or_default();
    if !producer_row.contains(&format!(
        "`compression.type` default `{}`",
        s.compression_type
    )) {
        wrong.push(format!(
            "compression.type: docs do not say the default is '{}'",
            s.compression_type
        ));
    }
    // The poll boundary's interval is stated in prose in its row.
    let poll_row = documented_row("`transaction.boundary`");
    if !poll_row.contains(&format!("every {} ms", POLL_COMMIT_INTERVAL.as_millis())) {
        wrong.push(format!(
            "transaction.boundary=poll: docs do not say it commits every {} ms",
            POLL_COMMIT_INTERVAL.as_millis()
        ));
    }
    assert!(
        wrong.is_empty(),
        "docs/config.md and model.rs disagree:\n{}",
        wrong.join("\n")
    );
}
