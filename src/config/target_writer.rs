//! Which writer replicates records to the target (`strait.target.writer`): Strait's own
//! (`wire`, one produce request per broker) whenever it applies every setting the user gave the
//! replication producer, librdkafka's producer otherwise. A setting the wire writer would not
//! honour must never be dropped silently, so `auto` (the default) falls back on librdkafka, and
//! an explicit `wire` refuses it.

use std::collections::BTreeMap;

use super::client_keys::java_name_of;
use super::error::ConfigError;
use super::key_reader::KeyReader;
use super::{ClusterConnection, SourceConnectorConfig, TargetWriter};

/// The configuration key.
pub const KEY: &str = "strait.target.writer";

/// Producer settings (librdkafka names) the wire writer applies as librdkafka would.
const APPLIED: &[&str] = &[
    "batch.size",
    "client.id",
    "compression.codec",
    "compression.type",
    "delivery.timeout.ms",
    "linger.ms",
    "message.timeout.ms",
    "queue.buffering.max.ms",
    "request.timeout.ms",
    "retry.backoff.ms",
];

/// Producer settings whose only allowed values are what the wire writer always does: acks
/// all, idempotence (both checked by the configuration), and at most one batch per partition in
/// flight, which is within any `max.in.flight` librdkafka accepts with idempotence.
const ALWAYS_MET: &[&str] = &[
    "acks",
    "enable.idempotence",
    "max.in.flight",
    "max.in.flight.requests.per.connection",
    "request.required.acks",
];

/// `strait.target.writer` as written: `auto` (or absent), `librdkafka` or `wire`.
pub(crate) fn parse(r: &KeyReader<'_>, exactly_once: bool) -> Result<TargetWriter, ConfigError> {
    match r.non_blank(KEY).map(str::to_ascii_lowercase).as_deref() {
        None | Some("auto") => Ok(TargetWriter::Auto),
        Some("librdkafka") => Ok(TargetWriter::Librdkafka),
        Some("wire") if exactly_once => Err(r.error(
            KEY,
            "'wire' cannot be used with exactly-once (its transactions are written by \
             librdkafka): remove the key or set it to auto or librdkafka",
        )),
        Some("wire") => Ok(TargetWriter::Wire),
        Some(_) => Err(r.error(
            KEY,
            format!(
                "'{}' is not valid (expected auto, librdkafka or wire)",
                r.shown(KEY)
            ),
        )),
    }
}

/// The writer a flow's source connector replicates with, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterChoice {
    /// [`TargetWriter::Wire`] or [`TargetWriter::Librdkafka`], never `Auto`.
    pub writer: TargetWriter,
    /// Why, for the log and `strait validate`.
    pub why: String,
}

/// A setting of the replication producer that the wire writer would not apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotApplied {
    /// The setting's librdkafka name.
    pub name: String,
    /// Where it was given: the target cluster's client settings, or the producer's.
    pub given_as: &'static str,
}

impl std::fmt::Display for NotApplied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match java_name_of(&self.name) {
            Some(java) => write!(f, "{java} (librdkafka's {}, {})", self.name, self.given_as),
            None => write!(f, "{} ({})", self.name, self.given_as),
        }
    }
}

/// The first setting given to the replication producer (through the target cluster's client
/// settings or the producer's own) that the wire writer would not apply.
pub fn not_applied_by_wire(
    target: &ClusterConnection,
    producer_overrides: &BTreeMap<String, String>,
) -> Option<NotApplied> {
    let applies = |name: &str| APPLIED.contains(&name) || ALWAYS_MET.contains(&name);
    let given = |map: &BTreeMap<String, String>, given_as| {
        map.keys().find(|k| !applies(k)).map(|k| NotApplied {
            name: k.clone(),
            given_as,
        })
    };
    given(producer_overrides, "a producer setting")
        .or_else(|| given(&target.client_overrides, "a target.cluster client setting"))
}

impl SourceConnectorConfig {
    /// The writer this connector replicates to `target` with. `Auto` becomes `Wire` unless
    /// exactly-once is on or a setting would not be applied by it.
    pub fn writer_choice(&self, target: &ClusterConnection) -> WriterChoice {
        let choice = |writer, why: &str| WriterChoice {
            writer,
            why: why.to_owned(),
        };
        match self.target_writer {
            TargetWriter::Wire => choice(TargetWriter::Wire, "strait.target.writer=wire"),
            TargetWriter::Librdkafka => {
                choice(TargetWriter::Librdkafka, "strait.target.writer=librdkafka")
            }
            TargetWriter::Auto if self.exactly_once.is_some() => choice(
                TargetWriter::Librdkafka,
                "exactly-once: transactions are written by librdkafka",
            ),
            TargetWriter::Auto => match not_applied_by_wire(target, &self.producer_overrides) {
                Some(n) => WriterChoice {
                    writer: TargetWriter::Librdkafka,
                    why: format!("{n} is set, which only librdkafka's producer applies"),
                },
                None => choice(TargetWriter::Wire, "the default"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ExactlyOnceConfig;

    fn connector(writer: TargetWriter, overrides: &[(&str, &str)]) -> SourceConnectorConfig {
        SourceConnectorConfig {
            target_writer: writer,
            producer_overrides: overrides
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..SourceConnectorConfig::default()
        }
    }

    #[test]
    fn auto_is_the_wire_writer_when_it_applies_every_setting() {
        let c = connector(
            TargetWriter::Auto,
            &[
                ("linger.ms", "20"),
                ("acks", "all"),
                ("batch.size", "65536"),
            ],
        );
        let choice = c.writer_choice(&ClusterConnection::default());
        assert_eq!(choice.writer, TargetWriter::Wire);
    }

    #[test]
    fn auto_falls_back_on_librdkafka_for_a_producer_setting_it_would_not_apply() {
        let c = connector(
            TargetWriter::Auto,
            &[("linger.ms", "20"), ("queue.buffering.max.kbytes", "1024")],
        );
        let choice = c.writer_choice(&ClusterConnection::default());
        assert_eq!(choice.writer, TargetWriter::Librdkafka);
        assert!(
            choice.why.contains("queue.buffering.max.kbytes"),
            "{}",
            choice.why
        );
    }

    #[test]
    fn auto_falls_back_on_librdkafka_for_a_target_client_setting() {
        let target = ClusterConnection {
            client_overrides: BTreeMap::from([(
                "ssl.cipher.suites".to_owned(),
                "ECDHE-RSA-AES256-GCM-SHA384".to_owned(),
            )]),
            ..ClusterConnection::default()
        };
        let choice = connector(TargetWriter::Auto, &[]).writer_choice(&target);
        assert_eq!(choice.writer, TargetWriter::Librdkafka);
        assert!(choice.why.contains("ssl.cipher.suites"), "{}", choice.why);
        assert!(choice.why.contains("target.cluster"), "{}", choice.why);
    }

    #[test]
    fn auto_with_exactly_once_is_librdkafka() {
        let c = SourceConnectorConfig {
            exactly_once: Some(ExactlyOnceConfig {
                transactional_id_prefix: "p".to_owned(),
                commit_interval: crate::config::model::POLL_COMMIT_INTERVAL,
                transaction_timeout: crate::config::model::DEFAULT_TRANSACTION_TIMEOUT,
                required: false,
            }),
            ..connector(TargetWriter::Auto, &[])
        };
        let choice = c.writer_choice(&ClusterConnection::default());
        assert_eq!(choice.writer, TargetWriter::Librdkafka);
        assert!(choice.why.contains("exactly-once"), "{}", choice.why);
    }

    #[test]
    fn an_explicit_choice_is_kept() {
        let odd = [("queue.buffering.max.kbytes", "1024")];
        for writer in [TargetWriter::Wire, TargetWriter::Librdkafka] {
            let choice = connector(writer, &odd).writer_choice(&ClusterConnection::default());
            assert_eq!(choice.writer, writer);
        }
    }
}
