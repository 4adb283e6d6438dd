//! A human-readable dump of resolved flows for `strait validate`: clusters, aliases, policy,
//! filters, intervals. Every secret is shown as `[redacted]`.

use std::fmt::Write;
use std::time::Duration;

use super::settings::is_sensitive_key;
use super::{
    CheckpointConnectorConfig, ClusterConnection, FlowConfig, HeartbeatConnectorConfig, Keystore,
    KeystoreSource, OffsetSyncsLocation, PolicyKind, SourceConnectorConfig, StraitConfig,
    Truststore, UseDefaultsFrom,
};

/// Describes every flow of `config`.
pub fn describe(config: &StraitConfig) -> String {
    let mut out = String::new();
    for (i, flow) in config.flows.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        flow_text(&mut out, flow);
    }
    out
}

fn flow_text(out: &mut String, f: &FlowConfig) {
    let _ = writeln!(out, "flow {}", f.name());
    cluster(out, &format!("  source '{}'", f.source_alias), &f.source);
    cluster(out, &format!("  target '{}'", f.target_alias), &f.target);
    let p = &f.policy;
    let _ = writeln!(
        out,
        "  policy: {} (separator '{}', internal topic separator {})",
        match p.kind {
            PolicyKind::Default => "DefaultReplicationPolicy",
            PolicyKind::Identity => "IdentityReplicationPolicy",
        },
        p.separator,
        on_off(p.internal_topic_separator_enabled)
    );
    let w = &f.worker;
    let _ = writeln!(
        out,
        "  worker: group.id '{}', offsets topic '{}' ({} partitions, replication factor {})",
        w.group_id,
        w.offset_storage_topic,
        w.offset_storage_partitions,
        w.offset_storage_replication_factor
    );
    match &f.source_connector {
        Some(c) => source(out, c, &f.source, &f.target),
        None => out.push_str("  source connector: none\n"),
    }
    match &f.checkpoint_connector {
        Some(c) => checkpoint(out, c),
        None => out.push_str("  checkpoint connector: none\n"),
    }
    match &f.heartbeat_connector {
        Some(c) => heartbeat(out, c, &f.target_alias),
        None => out.push_str("  heartbeat connector: none\n"),
    }
}

fn location(l: OffsetSyncsLocation) -> &'static str {
    match l {
        OffsetSyncsLocation::Source => "source",
        OffsetSyncsLocation::Target => "target",
    }
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

fn every(enabled: bool, interval: Duration) -> String {
    if enabled {
        format!("every {}s", interval.as_secs())
    } else {
        "off".to_owned()
    }
}

fn cluster(out: &mut String, label: &str, c: &ClusterConnection) {
    let _ = writeln!(
        out,
        "{label}: {} via {}",
        c.bootstrap_servers, c.security_protocol
    );
    if let Some(s) = &c.sasl {
        let _ = writeln!(
            out,
            "      sasl: {} user '{}' password {}",
            s.mechanism.as_str(),
            s.username,
            s.password
        );
    }
    if c.security_protocol.uses_tls() {
        let store = match &c.tls.truststore {
            None => "system CA bundle".to_owned(),
            Some(Truststore::PemFile(p)) => format!("PEM file {}", p.display()),
            Some(Truststore::PemInline(pem)) => format!(
                "inline PEM ({} certificate(s))",
                pem.matches("-----BEGIN CERTIFICATE-----").count()
            ),
            Some(Truststore::Jks { path, password }) => format!(
                "JKS {} (password {})",
                path.display(),
                password
                    .as_ref()
                    .map_or("none".to_owned(), ToString::to_string)
            ),
            Some(Truststore::Pkcs12 { path, password }) => format!(
                "PKCS12 {} (password {})",
                path.display(),
                password
                    .as_ref()
                    .map_or("none".to_owned(), ToString::to_string)
            ),
        };
        let _ = writeln!(
            out,
            "      tls: truststore {store}, hostname verification {}",
            on_off(c.tls.verify_hostname)
        );
        if let Some(keystore) = &c.tls.keystore {
            let _ = writeln!(
                out,
                "      tls client certificate: {}",
                keystore_text(keystore)
            );
        }
    }
    overrides(out, "      client overrides", c.client_overrides.iter());
}

/// Where a keystore is, with its passwords and key shown as `[redacted]`.
fn keystore_text(k: &Keystore) -> String {
    let key_password = k
        .key_password
        .as_ref()
        .map_or_else(String::new, |p| format!(", key password {p}"));
    match &k.source {
        KeystoreSource::Jks { path, password } => {
            format!("JKS {} (password {password}{key_password})", path.display())
        }
        KeystoreSource::Pkcs12 { path, password } => format!(
            "PKCS12 {} (password {password}{key_password})",
            path.display()
        ),
        KeystoreSource::PemFile(path) => {
            format!("PEM file {} (key password {})", path.display(), {
                k.key_password
                    .as_ref()
                    .map_or("none".to_owned(), ToString::to_string)
            })
        }
        KeystoreSource::PemInline {
            certificate_chain,
            key,
        } => format!(
            "inline PEM ({} certificate(s), key {key}{key_password})",
            certificate_chain
                .matches("-----BEGIN CERTIFICATE-----")
                .count()
        ),
    }
}

fn overrides<'a>(
    out: &mut String,
    label: &str,
    map: impl Iterator<Item = (&'a String, &'a String)>,
) {
    let items: Vec<String> = map
        .map(|(k, v)| {
            if is_sensitive_key(k) {
                format!("{k}=[redacted]")
            } else {
                format!("{k}={v}")
            }
        })
        .collect();
    if !items.is_empty() {
        let _ = writeln!(out, "{label}: {}", items.join(", "));
    }
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "(none)".to_owned()
    } else {
        v.join(", ")
    }
}

fn source(
    out: &mut String,
    c: &SourceConnectorConfig,
    source: &ClusterConnection,
    target: &ClusterConnection,
) {
    let _ = writeln!(
        out,
        "  source connector '{}': {}, tasks.max {}",
        c.name,
        if c.enabled { "enabled" } else { "disabled" },
        c.tasks_max
    );
    let _ = writeln!(out, "    topics: {}", list(&c.topics));
    let _ = writeln!(out, "    topics.exclude: {}", list(&c.topics_exclude));
    let _ = writeln!(
        out,
        "    config.properties.exclude: {}",
        list(&c.config_properties_exclude)
    );
    let _ = writeln!(
        out,
        "    refresh topics {}, sync topic configs {} (defaults from {}), sync ACLs {}",
        every(c.refresh_topics_enabled, c.refresh_topics_interval),
        every(c.sync_topic_configs_enabled, c.sync_topic_configs_interval),
        match c.use_defaults_from {
            UseDefaultsFrom::Source => "source",
            UseDefaultsFrom::Target => "target",
        },
        every(c.sync_topic_acls_enabled, c.sync_topic_acls_interval)
    );
    let _ = writeln!(
        out,
        "    replication factor {}, offset syncs {} (topic on {}, replication factor {}, offset.lag.max {}), heartbeats replication {}",
        c.replication_factor,
        on_off(c.emit_offset_syncs_enabled),
        location(c.offset_syncs_topic_location),
        c.offset_syncs_topic_replication_factor,
        c.offset_lag_max,
        on_off(c.heartbeats_replication_enabled)
    );
    let _ = writeln!(
        out,
        "    offset flush every {}ms, max in flight {} bytes, compression {}",
        c.offset_flush_interval.as_millis(),
        c.max_in_flight_bytes,
        c.compression_type
    );
    match &c.exactly_once {
        Some(eo) => {
            let _ = writeln!(
                out,
                "    exactly-once: on{}, transactional ids '{}-<topic>-<partition>', commit every {}ms, transaction timeout {}ms",
                if eo.required { " (required)" } else { "" },
                eo.transactional_id_prefix,
                eo.commit_interval.as_millis(),
                eo.transaction_timeout.as_millis()
            );
        }
        None => out.push_str("    exactly-once: off\n"),
    }
    let writer = c.writer_choice(target);
    let _ = writeln!(
        out,
        "    target writer: {} ({})",
        writer.writer.as_str(),
        writer.why
    );
    let reader = c.reader_choice(source, target);
    let _ = writeln!(
        out,
        "    source reader: {} ({})",
        reader.reader.as_str(),
        reader.why
    );
    overrides(out, "    consumer overrides", c.consumer_overrides.iter());
    overrides(out, "    producer overrides", c.producer_overrides.iter());
}

fn checkpoint(out: &mut String, c: &CheckpointConnectorConfig) {
    let _ = writeln!(
        out,
        "  checkpoint connector '{}': {}, tasks.max {}",
        c.name,
        if c.enabled { "enabled" } else { "disabled" },
        c.tasks_max
    );
    let _ = writeln!(out, "    topics: {}", list(&c.topics));
    let _ = writeln!(out, "    topics.exclude: {}", list(&c.topics_exclude));
    let _ = writeln!(out, "    groups: {}", list(&c.groups));
    let _ = writeln!(out, "    groups.exclude: {}", list(&c.groups_exclude));
    let _ = writeln!(
        out,
        "    refresh groups {}, emit checkpoints {}, sync group offsets {}, checkpoints replication factor {}, offset syncs on {}",
        every(c.refresh_groups_enabled, c.refresh_groups_interval),
        every(c.emit_checkpoints_enabled, c.emit_checkpoints_interval),
        sync_group_offsets(c),
        c.checkpoints_topic_replication_factor,
        location(c.offset_syncs_topic_location)
    );
}

/// Group sync's cadence, and whether it may move a target group back.
fn sync_group_offsets(c: &CheckpointConnectorConfig) -> String {
    let every = every(c.sync_group_offsets_enabled, c.sync_group_offsets_interval);
    if c.sync_group_offsets_enabled && c.sync_group_offsets_rewind_enabled {
        format!("{every} (follows source resets backwards)")
    } else {
        every
    }
}

fn heartbeat(out: &mut String, c: &HeartbeatConnectorConfig, target_alias: &str) {
    let _ = writeln!(
        out,
        "  heartbeat connector '{}': emit {}, replication factor {}",
        c.name,
        every(c.emit_heartbeats_enabled, c.emit_heartbeats_interval),
        c.heartbeats_topic_replication_factor
    );
    match &c.heartbeats_cluster {
        None => {
            let _ = writeln!(
                out,
                "    heartbeats written to the target cluster '{target_alias}'"
            );
        }
        Some(conn) => cluster(out, "    heartbeats written to", conn),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;
    use crate::config::{
        ExactlyOnceConfig, PolicyConfig, Sasl, SaslMechanism, Secret, SecurityProtocol, Tls,
        WorkerConfig,
    };

    fn conn(password: &str) -> ClusterConnection {
        ClusterConnection {
            bootstrap_servers: "k:9093".to_owned(),
            security_protocol: SecurityProtocol::SaslSsl,
            tls: Tls {
                truststore: Some(Truststore::Jks {
                    path: PathBuf::from("/t.jks"),
                    password: Some(Secret::new(format!("{password}-ts"))),
                }),
                keystore: Some(Keystore {
                    source: KeystoreSource::PemInline {
                        certificate_chain:
                            "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"
                                .to_owned(),
                        key: Secret::new(format!("{password}-private-key")),
                    },
                    key_password: Some(Secret::new(format!("{password}-kp"))),
                    config_key: "k".to_owned(),
                }),
                verify_hostname: false,
            },
            sasl: Some(Sasl {
                mechanism: SaslMechanism::ScramSha256,
                username: "user".to_owned(),
                password: Secret::new(password),
            }),
            client_overrides: BTreeMap::from([
                ("linger.ms".to_owned(), "5".to_owned()),
                ("ssl.key.password".to_owned(), format!("{password}-key")),
            ]),
        }
    }

    #[test]
    fn describes_exactly_once() {
        let flow = FlowConfig {
            source_alias: "A".to_owned(),
            target_alias: "B".to_owned(),
            source: ClusterConnection::default(),
            target: ClusterConnection::default(),
            policy: PolicyConfig::default(),
            worker: WorkerConfig {
                offset_storage_topic: "o".to_owned(),
                offset_storage_partitions: 25,
                offset_storage_replication_factor: 3,
                group_id: "g".to_owned(),
            },
            source_connector: Some(SourceConnectorConfig {
                exactly_once: Some(ExactlyOnceConfig {
                    transactional_id_prefix: "g-MirrorSourceConnector".to_owned(),
                    commit_interval: Duration::from_millis(100),
                    transaction_timeout: Duration::from_secs(60),
                    required: true,
                }),
                ..Default::default()
            }),
            checkpoint_connector: None,
            heartbeat_connector: None,
        };
        let text = describe(&StraitConfig { flows: vec![flow] });
        let expected = "    exactly-once: on (required), transactional ids \
                        'g-MirrorSourceConnector-<topic>-<partition>', commit every 100ms, \
                        transaction timeout 60000ms\n";
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }

    #[test]
    fn describes_flows_without_secrets() {
        let flow = FlowConfig {
            source_alias: "A".to_owned(),
            target_alias: "B".to_owned(),
            source: conn("SECRET-a"),
            target: conn("SECRET-b"),
            policy: PolicyConfig::default(),
            worker: WorkerConfig {
                offset_storage_topic: "o".to_owned(),
                offset_storage_partitions: 25,
                offset_storage_replication_factor: 3,
                group_id: "g".to_owned(),
            },
            source_connector: Some(SourceConnectorConfig::default()),
            checkpoint_connector: None,
            heartbeat_connector: Some(HeartbeatConnectorConfig {
                heartbeats_cluster: Some(conn("SECRET-h")),
                ..Default::default()
            }),
        };
        let text = describe(&StraitConfig { flows: vec![flow] });
        assert!(!text.contains("SECRET"), "{text}");
        for expected in [
            "flow A->B",
            "  source 'A': k:9093 via SASL_SSL",
            "      sasl: SCRAM-SHA-256 user 'user' password [redacted]",
            "      tls: truststore JKS /t.jks (password [redacted]), hostname verification off",
            "      tls client certificate: inline PEM (1 certificate(s), key [redacted], key password [redacted])",
            "      client overrides: linger.ms=5, ssl.key.password=[redacted]",
            "  policy: DefaultReplicationPolicy (separator '.', internal topic separator on)",
            "  worker: group.id 'g', offsets topic 'o' (25 partitions, replication factor 3)",
            "  source connector 'MirrorSourceConnector': enabled, tasks.max 1",
            "    topics: .*",
            "    refresh topics every 600s, sync topic configs every 600s (defaults from target), sync ACLs every 600s",
            "    exactly-once: off\n",
            "  checkpoint connector: none",
            "  heartbeat connector 'MirrorHeartbeatConnector': emit every 1s, replication factor 3",
            "    heartbeats written to: k:9093 via SASL_SSL",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
    }
}
