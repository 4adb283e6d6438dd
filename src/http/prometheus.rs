//! `/metrics`: the registry rendered in Prometheus' text exposition format (0.0.4).
//!
//! Rendered by hand from a snapshot rather than through the `metrics` crate: every value
//! already lives in the status registry, so a second store would only duplicate it; series of
//! revoked partitions disappear at once instead of lingering until an idle timeout; and names,
//! help texts and label order stay exactly as documented in `docs/operations.md`.

use std::fmt::Write;

use crate::status::component::ComponentState;
use crate::status::snapshot::{
    FlowSnapshot, FlowState, LatencySnapshot, PartitionSnapshot, ProcessSnapshot,
};

/// The content type Prometheus expects.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Escapes a label value (backslash, double quote, newline).
fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// A family's name, help text and how to read its value from a `T`.
type Derived<T, V> = (&'static str, &'static str, fn(&T) -> Option<V>);

/// One metric family being written.
struct Family<'a> {
    out: &'a mut String,
    name: &'static str,
}

impl Family<'_> {
    fn sample(&mut self, labels: &[(&str, &str)], value: f64) {
        let _ = write!(self.out, "{}", self.name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", number(value));
    }
}

fn family<'a>(out: &'a mut String, name: &'static str, kind: &str, help: &str) -> Family<'a> {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    Family { out, name }
}

fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

fn opt(v: Option<f64>) -> f64 {
    v.unwrap_or(f64::NAN)
}

/// Labels of a partition series: MM2's `source, target, topic, partition` (topic = remote).
fn partition_labels<'a>(
    f: &'a FlowSnapshot,
    p: &'a PartitionSnapshot,
    part: &'a str,
) -> [(&'a str, &'a str); 4] {
    [
        ("source", f.source.as_str()),
        ("target", f.target.as_str()),
        ("topic", p.remote_topic.as_str()),
        ("partition", part),
    ]
}

/// Writes a partition-level family for every partition of every flow.
fn per_partition(
    out: &mut String,
    s: &ProcessSnapshot,
    name: &'static str,
    kind: &str,
    help: &str,
    value: impl Fn(&PartitionSnapshot) -> f64,
) {
    if s.flows.iter().all(|f| f.partitions.is_empty()) {
        return;
    }
    let mut fam = family(out, name, kind, help);
    for f in &s.flows {
        for p in &f.partitions {
            let part = p.partition.to_string();
            fam.sample(&partition_labels(f, p, &part), value(p));
        }
    }
}

/// The last value and MM2's `-min`/`-max`/`-avg` of a latency-like partition statistic.
fn latency_families(
    out: &mut String,
    s: &ProcessSnapshot,
    base: [&'static str; 4],
    what: &str,
    pick: impl Fn(&PartitionSnapshot) -> &LatencySnapshot,
) {
    per_partition(
        out,
        s,
        base[0],
        "gauge",
        &format!("{what}, last record (ms)."),
        |p| opt(pick(p).last.map(|v| v as f64)),
    );
    per_partition(
        out,
        s,
        base[1],
        "gauge",
        &format!("{what}, minimum over the metric window (ms)."),
        |p| opt(pick(p).window.map(|w| w.min as f64)),
    );
    per_partition(
        out,
        s,
        base[2],
        "gauge",
        &format!("{what}, maximum over the metric window (ms)."),
        |p| opt(pick(p).window.map(|w| w.max as f64)),
    );
    per_partition(
        out,
        s,
        base[3],
        "gauge",
        &format!("{what}, average over the metric window (ms)."),
        |p| opt(pick(p).window.map(|w| w.avg)),
    );
}

/// Renders the whole registry.
pub fn render(s: &ProcessSnapshot) -> String {
    let mut out = String::with_capacity(4096);
    let o = &mut out;
    family(
        o,
        "strait_build_info",
        "gauge",
        "Strait's version (always 1).",
    )
    .sample(&[("version", s.version)], 1.0);
    family(
        o,
        "strait_uptime_seconds",
        "gauge",
        "Seconds since the process started.",
    )
    .sample(&[], s.uptime_seconds);
    family(o, "strait_ready", "gauge", "1 when /readyz answers 200.").sample(&[], flag(s.ready.ok));
    family(o, "strait_live", "gauge", "1 when /healthz answers 200.").sample(&[], flag(s.live.ok));

    flow_families(o, s);
    source_families(o, s);
    group_families(o, s);
    out
}

fn flow_families(o: &mut String, s: &ProcessSnapshot) {
    if s.flows.is_empty() {
        return;
    }
    let mut fam = family(
        o,
        "strait_flow_state",
        "gauge",
        "1 for the flow's current state (STARTING, RUNNING, FAILED, STOPPED).",
    );
    for f in &s.flows {
        for st in FlowState::ALL {
            fam.sample(
                &[
                    ("source", &f.source),
                    ("target", &f.target),
                    ("state", st.as_str()),
                ],
                flag(f.state == st),
            );
        }
    }
    let mut fam = family(
        o,
        "strait_flow_stuck",
        "gauge",
        "1 when the flow runs but a partition is stalled or a cluster unreachable.",
    );
    for f in &s.flows {
        fam.sample(
            &[("source", &f.source), ("target", &f.target)],
            flag(f.stuck),
        );
    }
    let mut fam = family(
        o,
        "strait_flow_ready",
        "gauge",
        "1 when the flow passes readiness.",
    );
    for f in &s.flows {
        fam.sample(
            &[("source", &f.source), ("target", &f.target)],
            flag(f.ready.ok),
        );
    }
    let mut fam = family(
        o,
        "strait_component_state",
        "gauge",
        "1 for each component's current state.",
    );
    for f in &s.flows {
        for c in f.components.iter().filter(|c| c.configured) {
            for st in ComponentState::all() {
                fam.sample(
                    &[
                        ("source", &f.source),
                        ("target", &f.target),
                        ("component", c.component.as_str()),
                        ("state", st.as_str()),
                    ],
                    flag(c.state == *st),
                );
            }
        }
    }
    let mut fam = family(
        o,
        "strait_cluster_reachable",
        "gauge",
        "1 when the cluster answered the status sampler within the last 30 s.",
    );
    for f in &s.flows {
        for c in &f.clusters {
            fam.sample(
                &[
                    ("source", &f.source),
                    ("target", &f.target),
                    ("cluster", c.role),
                ],
                flag(c.reachable),
            );
        }
    }
    let mut fam = family(
        o,
        "strait_rebalances_total",
        "counter",
        "Consumer-group rebalances this process took part in (assignments received).",
    );
    for f in &s.flows {
        fam.sample(
            &[("source", &f.source), ("target", &f.target)],
            f.rebalances as f64,
        );
    }
    let mut fam = family(
        o,
        "strait_assigned_partitions",
        "gauge",
        "Source partitions this process replicates.",
    );
    for f in &s.flows {
        fam.sample(
            &[("source", &f.source), ("target", &f.target)],
            f.totals.partitions as f64,
        );
    }
    let heartbeat: [Derived<FlowSnapshot, f64>; 4] = [
        (
            "strait_heartbeat_latency_ms",
            "Heartbeat end-to-end latency, last heartbeat (ms): record timestamp to acknowledgement on the target.",
            |f| f.heartbeat.latency_ms.map(|v| v as f64),
        ),
        (
            "strait_heartbeat_latency_ms_min",
            "Heartbeat latency, minimum over the metric window (ms).",
            |f| f.heartbeat.window.map(|w| w.min as f64),
        ),
        (
            "strait_heartbeat_latency_ms_max",
            "Heartbeat latency, maximum over the metric window (ms).",
            |f| f.heartbeat.window.map(|w| w.max as f64),
        ),
        (
            "strait_heartbeat_latency_ms_avg",
            "Heartbeat latency, average over the metric window (ms).",
            |f| f.heartbeat.window.map(|w| w.avg),
        ),
    ];
    for (name, help, get) in heartbeat {
        let mut fam = family(o, name, "gauge", help);
        for f in &s.flows {
            fam.sample(&[("source", &f.source), ("target", &f.target)], opt(get(f)));
        }
    }
}

fn source_families(o: &mut String, s: &ProcessSnapshot) {
    per_partition(
        o,
        s,
        "strait_source_records_total",
        "counter",
        "Records acknowledged by the target (MM2 record-count).",
        |p| p.records as f64,
    );
    per_partition(
        o,
        s,
        "strait_source_record_rate",
        "gauge",
        "Records acknowledged per second (MM2 record-rate).",
        |p| p.record_rate,
    );
    per_partition(
        o,
        s,
        "strait_source_bytes_total",
        "counter",
        "Value bytes read from the source (MM2 byte-count, counted at poll).",
        |p| p.bytes as f64,
    );
    per_partition(
        o,
        s,
        "strait_source_byte_rate",
        "gauge",
        "Value bytes read per second (MM2 byte-rate).",
        |p| p.byte_rate,
    );
    latency_families(
        o,
        s,
        [
            "strait_source_record_age_ms",
            "strait_source_record_age_ms_min",
            "strait_source_record_age_ms_max",
            "strait_source_record_age_ms_avg",
        ],
        "Record age when read: poll time minus record timestamp (MM2 record-age-ms)",
        |p| &p.record_age_ms,
    );
    latency_families(
        o,
        s,
        [
            "strait_source_replication_latency_ms",
            "strait_source_replication_latency_ms_min",
            "strait_source_replication_latency_ms_max",
            "strait_source_replication_latency_ms_avg",
        ],
        "Acknowledgement time minus record timestamp (MM2 replication-latency-ms)",
        |p| &p.replication_latency_ms,
    );
    per_partition(
        o,
        s,
        "strait_source_lag_records",
        "gauge",
        "Source end offset minus the next offset to replicate.",
        |p| opt(p.lag_records.map(|v| v as f64)),
    );
    per_partition(
        o,
        s,
        "strait_source_lag_seconds",
        "gauge",
        "How long ago the source already held the first record not yet on the target.",
        |p| opt(p.lag_seconds),
    );
    per_partition(
        o,
        s,
        "strait_source_next_offset",
        "gauge",
        "The next source offset to replicate (progress).",
        |p| opt(p.next_offset.map(|v| v as f64)),
    );
    per_partition(
        o,
        s,
        "strait_source_end_offset",
        "gauge",
        "The source partition's end offset (last stable offset), as last sampled.",
        |p| opt(p.end_offset.map(|v| v as f64)),
    );
    per_partition(
        o,
        s,
        "strait_source_partition_stalled",
        "gauge",
        "1 when the partition lags and its position has not moved for 60 s.",
        |p| flag(p.stalled),
    );
    per_partition(
        o,
        s,
        "strait_source_partition_blocked",
        "gauge",
        "1 while the partition is held at a record the target refused (see /status).",
        |p| flag(p.blocked.is_some()),
    );
    per_partition(
        o,
        s,
        "strait_source_records_rejected_total",
        "counter",
        "Records the target refused (each blocks its partition until a retry writes it).",
        |p| p.records_rejected as f64,
    );
    per_partition(
        o,
        s,
        "strait_source_transactions_committed_total",
        "counter",
        "Exactly-once: transactions committed (records and progress together).",
        |p| p.transactions_committed as f64,
    );
    per_partition(
        o,
        s,
        "strait_source_transactions_aborted_total",
        "counter",
        "Exactly-once: transactions aborted (their records are read and written again).",
        |p| p.transactions_aborted as f64,
    );
    per_partition(
        o,
        s,
        "strait_source_batches_passed_total",
        "counter",
        "Source record batches written to the target as stored, without decompressing them \
         (strait.source.reader=wire).",
        |p| p.batches_passed as f64,
    );
    if s.flows.iter().any(|f| !f.expired.is_empty()) {
        let mut fam = family(
            o,
            "strait_source_records_expired_total",
            "counter",
            "Source records deleted (retention, delete-records) before they could be replicated.",
        );
        for f in &s.flows {
            for e in &f.expired {
                let part = e.partition.to_string();
                fam.sample(
                    &[
                        ("source", f.source.as_str()),
                        ("target", f.target.as_str()),
                        ("topic", e.remote_topic.as_str()),
                        ("partition", part.as_str()),
                    ],
                    e.records as f64,
                );
            }
        }
    }
}

/// The sync states the checkpointer reports (`crate::status::checkpoint::GroupSyncState`,
/// by their JSON tag); any other tag it adds later is still exported for the current state.
const GROUP_SYNC_STATES: [&str; 6] = [
    "disabled",
    "pending",
    "synced",
    "up_to_date",
    "skipped",
    "failed",
];

fn sync_state_name(state: &crate::status::checkpoint::GroupSyncState) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|v| v.get("state").and_then(|s| s.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

fn group_families(o: &mut String, s: &ProcessSnapshot) {
    let with_groups: Vec<_> = s
        .flows
        .iter()
        .filter_map(|f| f.checkpointer.as_ref().map(|c| (f, c)))
        .collect();
    if !with_groups.is_empty() {
        let mut fam = family(
            o,
            "strait_checkpoints_emitted_total",
            "counter",
            "Checkpoints written by this process's checkpointer.",
        );
        for (f, c) in &with_groups {
            fam.sample(
                &[("source", &f.source), ("target", &f.target)],
                c.checkpoints_emitted as f64,
            );
        }
        let mut fam = family(
            o,
            "strait_checkpoint_source_offset_requests_total",
            "counter",
            "Requests for a group's committed offsets (ListConsumerGroupOffsets) sent to the source by the checkpointer.",
        );
        for (f, c) in &with_groups {
            fam.sample(
                &[("source", &f.source), ("target", &f.target)],
                c.source_offset_requests as f64,
            );
        }
        let mut fam = family(
            o,
            "strait_checkpointer_active",
            "gauge",
            "1 when this process runs the flow's checkpointer (one process per flow does).",
        );
        for (f, c) in &with_groups {
            fam.sample(
                &[("source", &f.source), ("target", &f.target)],
                flag(c.active),
            );
        }
    }
    if with_groups.iter().any(|(_, c)| !c.groups.is_empty()) {
        let mut fam = family(
            o,
            "strait_group_sync_state",
            "gauge",
            "1 for each consumer group's offset sync state on the target.",
        );
        for (f, c) in &with_groups {
            for (group, g) in &c.groups {
                let current = sync_state_name(&g.sync);
                let mut names: Vec<&str> = GROUP_SYNC_STATES.to_vec();
                if !names.contains(&current.as_str()) {
                    names.push(&current);
                }
                for st in names {
                    fam.sample(
                        &[
                            ("source", &f.source),
                            ("target", &f.target),
                            ("group", group),
                            ("state", st),
                        ],
                        flag(st == current),
                    );
                }
            }
        }
        let mut fam = family(
            o,
            "strait_group_partitions_untranslated",
            "gauge",
            "Partitions of the group whose committed offset has no translation yet.",
        );
        for (f, c) in &with_groups {
            for (group, g) in &c.groups {
                let n = g
                    .partitions
                    .iter()
                    .filter(|p| p.translated.is_none())
                    .count();
                fam.sample(
                    &[
                        ("source", &f.source),
                        ("target", &f.target),
                        ("group", group),
                    ],
                    n as f64,
                );
            }
        }
        let offsets: [Derived<crate::status::checkpoint::PartitionStatus, i64>; 3] = [
            (
                "strait_group_committed_offset",
                "The group's committed offset on the source.",
                |p| Some(p.committed),
            ),
            (
                "strait_group_translated_offset",
                "Its translation on the target (NaN when there is none).",
                |p| p.translated,
            ),
            (
                "strait_group_checkpoint_offset",
                "The target offset of the newest checkpoint written.",
                |p| p.checkpoint,
            ),
        ];
        for (name, help, get) in offsets {
            let mut fam = family(o, name, "gauge", help);
            for (f, c) in &with_groups {
                for (group, g) in &c.groups {
                    for p in &g.partitions {
                        let part = p.partition.to_string();
                        fam.sample(
                            &[
                                ("source", &f.source),
                                ("target", &f.target),
                                ("group", group),
                                ("topic", &p.downstream_topic),
                                ("partition", &part),
                            ],
                            opt(get(p).map(|v| v as f64)),
                        );
                    }
                }
            }
        }
    }
    if s.flows.iter().all(|f| f.checkpoints.is_empty()) {
        return;
    }
    let stats: [Derived<LatencySnapshot, f64>; 4] = [
        (
            "strait_checkpoint_latency_ms",
            "Checkpoint acknowledgement time minus emit time, last checkpoint (MM2 checkpoint-latency-ms).",
            |l| l.last.map(|v| v as f64),
        ),
        (
            "strait_checkpoint_latency_ms_min",
            "Checkpoint latency, minimum over the metric window (ms).",
            |l| l.window.map(|w| w.min as f64),
        ),
        (
            "strait_checkpoint_latency_ms_max",
            "Checkpoint latency, maximum over the metric window (ms).",
            |l| l.window.map(|w| w.max as f64),
        ),
        (
            "strait_checkpoint_latency_ms_avg",
            "Checkpoint latency, average over the metric window (ms).",
            |l| l.window.map(|w| w.avg),
        ),
    ];
    for (name, help, get) in stats {
        let mut fam = family(o, name, "gauge", help);
        for f in &s.flows {
            for c in &f.checkpoints {
                let part = c.partition.to_string();
                fam.sample(
                    &[
                        ("source", &f.source),
                        ("target", &f.target),
                        ("group", &c.group),
                        ("topic", &c.topic),
                        ("partition", &part),
                    ],
                    opt(get(&c.latency_ms)),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_and_numbers_formatted() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(2.5), "2.5");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(f64::INFINITY), "+Inf");
    }

    #[test]
    fn an_empty_process_renders_the_process_families() {
        let s = crate::status::Registry::new().snapshot();
        let text = render(&s);
        assert!(
            text.contains("# TYPE strait_ready gauge\nstrait_ready 0\n"),
            "{text}"
        );
        assert!(text.contains("strait_build_info{version=\""));
        assert!(!text.contains("strait_source_records_total"));
    }
}
