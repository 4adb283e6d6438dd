//! The source connector's side of exactly-once replication (KIP-618): Connect's connector keys
//! `exactly.once.support`, `transaction.boundary` and `transaction.boundary.interval.ms`, the
//! replication producer's `transaction.timeout.ms`, and Strait's `strait.exactly.once.enabled`
//! and `strait.transactional.id.prefix`, resolved with the worker's
//! `exactly.once.source.support` into an [`ExactlyOnceConfig`].

use std::collections::BTreeMap;
use std::time::Duration;

use super::ExactlyOnceConfig;
use super::error::{ConfigError, ConfigWarning};
use super::key_reader::KeyReader;
use super::model::{DEFAULT_TRANSACTION_TIMEOUT, POLL_COMMIT_INTERVAL};
use super::worker::{ExactlyOnceSourceSupport, ParsedWorker};

/// Connect's `exactly.once.support`: `requested` (default) or `required`.
pub(crate) const SUPPORT: &str = "exactly.once.support";
/// Connect's `transaction.boundary`: `poll` (default), `interval` or `connector`.
pub(crate) const BOUNDARY: &str = "transaction.boundary";
/// Connect's `transaction.boundary.interval.ms`, used with `transaction.boundary=interval`.
pub(crate) const BOUNDARY_INTERVAL: &str = "transaction.boundary.interval.ms";
/// Strait: turns exactly-once on for this source connector whatever the worker says.
pub(crate) const ENABLED: &str = "strait.exactly.once.enabled";
/// Strait: the start of the flow's transactional ids.
pub(crate) const PREFIX: &str = "strait.transactional.id.prefix";
/// The producer key (under a producer prefix) that bounds how long a transaction may stay open.
const TIMEOUT: &str = "transaction.timeout.ms";

/// librdkafka refuses a smaller `transaction.timeout.ms`.
const MIN_TRANSACTION_TIMEOUT_MS: u64 = 1000;

/// Java's `transaction.timeout.ms` is an INT, and librdkafka's range ends there too.
const MAX_TRANSACTION_TIMEOUT_MS: u64 = i32::MAX as u64;

/// Connect's `TransactionBoundary`, less `connector`, which MirrorSourceConnector cannot use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Boundary {
    Poll,
    Interval,
}

/// What the source connector's exactly-once keys resolve to: `None` when exactly-once is off.
///
/// `producer_prefixes` are the keys that carry the replication producer's settings, highest
/// precedence first; their `transaction.timeout.ms` is read here (and marked as read), so call
/// this before collecting the other producer overrides. `consumer_overrides` are the source
/// consumer's, already collected.
pub(crate) fn parse(
    r: &KeyReader<'_>,
    worker: &ParsedWorker,
    connector_name: &str,
    producer_prefixes: &[&str],
    consumer_overrides: &BTreeMap<String, String>,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<Option<ExactlyOnceConfig>, ConfigError> {
    // Connect validates these two on every source connector, whether exactly-once is on or not.
    let required = support(r)?;
    let boundary = boundary(r)?;
    // Read even when it will not be used, so a malformed value is reported as Connect does.
    let interval = r.millis(BOUNDARY_INTERVAL, worker.offset_flush_interval)?;
    let timeout_keys: Vec<String> = producer_prefixes
        .iter()
        .map(|p| format!("{p}{TIMEOUT}"))
        .filter(|k| r.contains(k))
        .collect();

    let by_worker = worker.exactly_once_source == ExactlyOnceSourceSupport::Enabled;
    let by_connector = r.bool(ENABLED, false)?;
    if by_worker && r.contains(ENABLED) && !by_connector {
        // As in Connect, the worker's setting covers all its source connectors.
        warnings.push(ConfigWarning::new(
            r.at(ENABLED),
            "ignored: the worker's exactly.once.source.support is enabled, which turns \
             exactly-once replication on for every source connector",
        ));
    }
    let on = by_worker || by_connector;
    if !on {
        let hint = turn_on_hint(worker);
        if required {
            return Err(r.error(
                SUPPORT,
                format!("'required' needs exactly-once replication, but {hint}"),
            ));
        }
        let set = [BOUNDARY, BOUNDARY_INTERVAL, PREFIX]
            .into_iter()
            .map(str::to_owned)
            .filter(|k| r.contains(k))
            .chain(timeout_keys);
        for key in set {
            r.mark_used(&key);
            warnings.push(ConfigWarning::new(r.at(&key), format!("ignored: {hint}")));
        }
        return Ok(None);
    }

    let commit_interval = match boundary {
        Boundary::Poll => {
            if r.contains(BOUNDARY_INTERVAL) {
                warnings.push(ConfigWarning::new(
                    r.at(BOUNDARY_INTERVAL),
                    format!(
                        "ignored: it has no effect unless {BOUNDARY} is interval (with poll, \
                         Strait commits every {} ms)",
                        POLL_COMMIT_INTERVAL.as_millis()
                    ),
                ));
            }
            POLL_COMMIT_INTERVAL
        }
        Boundary::Interval => {
            if interval.is_zero() {
                return Err(r.error(
                    BOUNDARY_INTERVAL,
                    format!(
                        "must be positive (use {BOUNDARY}=poll to commit every {} ms)",
                        POLL_COMMIT_INTERVAL.as_millis()
                    ),
                ));
            }
            interval
        }
    };

    let timeout_key = timeout_keys.first().cloned();
    for shadowed in timeout_keys.iter().skip(1) {
        // A lower-precedence spelling of the same setting, as other producer overrides.
        r.mark_used(shadowed);
    }
    let transaction_timeout = match &timeout_key {
        None => DEFAULT_TRANSACTION_TIMEOUT,
        Some(key) => {
            let t = r.millis(key, DEFAULT_TRANSACTION_TIMEOUT)?;
            let ms = u64::try_from(t.as_millis()).unwrap_or(u64::MAX);
            if !(MIN_TRANSACTION_TIMEOUT_MS..=MAX_TRANSACTION_TIMEOUT_MS).contains(&ms) {
                return Err(r.error(
                    key,
                    format!(
                        "{ms} is out of range (expected {MIN_TRANSACTION_TIMEOUT_MS} to \
                         {MAX_TRANSACTION_TIMEOUT_MS} milliseconds)"
                    ),
                ));
            }
            t
        }
    };
    if commit_interval >= transaction_timeout {
        let timeout_key = producer_key(r, producer_prefixes, TIMEOUT);
        let (key, what) = if r.contains(BOUNDARY_INTERVAL) {
            (
                BOUNDARY_INTERVAL,
                format!("{} ms", commit_interval.as_millis()),
            )
        } else {
            (
                BOUNDARY,
                format!(
                    "'interval' commits every {} ms ({BOUNDARY_INTERVAL} is not set, so the \
                     worker's offset.flush.interval.ms applies), which",
                    commit_interval.as_millis()
                ),
            )
        };
        return Err(r.error(
            key,
            format!(
                "{what} is not below {timeout_key} ({} ms): the broker would abort each \
                 transaction before it commits; lower {BOUNDARY_INTERVAL} or raise {timeout_key}",
                transaction_timeout.as_millis()
            ),
        ));
    }

    refuse_read_uncommitted(r, consumer_overrides)?;

    let transactional_id_prefix = match r.str(PREFIX) {
        Some(v) if v.trim().is_empty() => {
            return Err(r.error(PREFIX, "must not be empty"));
        }
        Some(v) => v.trim().to_owned(),
        // Connect names a task's transactional id `<group.id>-<connector>-<task>`; Strait's
        // ids start the same way, so one PREFIXED ACL covers both during a migration.
        None => format!("{}-{connector_name}", worker.config.group_id),
    };
    Ok(Some(ExactlyOnceConfig {
        transactional_id_prefix,
        commit_interval,
        transaction_timeout,
        required,
    }))
}

/// Refuses a replication producer that could not commit in time: librdkafka requires a
/// transactional producer's `delivery.timeout.ms` to be no longer than its transaction
/// timeout, so such a flow would fail at start rather than at `strait validate`.
pub(crate) fn refuse_late_delivery(
    r: &KeyReader<'_>,
    exactly_once: &ExactlyOnceConfig,
    producer_prefixes: &[&str],
    producer_overrides: &BTreeMap<String, String>,
) -> Result<(), ConfigError> {
    let Some(delivery) = producer_overrides
        .get("delivery.timeout.ms")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_millis)
    else {
        return Ok(());
    };
    if delivery <= exactly_once.transaction_timeout {
        return Ok(());
    }
    let timeout_key = producer_key(r, producer_prefixes, TIMEOUT);
    Err(r.error(
        &producer_key(r, producer_prefixes, "delivery.timeout.ms"),
        format!(
            "{} ms exceeds {timeout_key} ({} ms): with exactly-once replication a record must \
             be given up before its transaction times out (librdkafka refuses this producer); \
             lower it or raise {timeout_key}",
            delivery.as_millis(),
            exactly_once.transaction_timeout.as_millis()
        ),
    ))
}

/// The producer key `name` as the user set it (the highest-precedence prefix that has it), or
/// under Connect's `producer.override.` when it is not set.
fn producer_key(r: &KeyReader<'_>, producer_prefixes: &[&str], name: &str) -> String {
    producer_prefixes
        .iter()
        .map(|p| format!("{p}{name}"))
        .find(|k| r.contains(k))
        .unwrap_or_else(|| format!("producer.override.{name}"))
}

/// `exactly.once.support`: whether the flow must not run without exactly-once.
fn support(r: &KeyReader<'_>) -> Result<bool, ConfigError> {
    match r.non_blank(SUPPORT).map(str::to_ascii_lowercase).as_deref() {
        None | Some("requested") => Ok(false),
        Some("required") => Ok(true),
        Some(_) => Err(r.error(
            SUPPORT,
            format!(
                "'{}' is not valid (expected requested or required)",
                r.shown(SUPPORT)
            ),
        )),
    }
}

fn boundary(r: &KeyReader<'_>) -> Result<Boundary, ConfigError> {
    match r
        .non_blank(BOUNDARY)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("poll") => Ok(Boundary::Poll),
        Some("interval") => Ok(Boundary::Interval),
        Some("connector") => Err(r.error(
            BOUNDARY,
            "'connector' is not supported: MirrorSourceConnector does not define transaction \
             boundaries (Kafka Connect refuses it for MirrorMaker 2 as well); use poll or interval",
        )),
        Some(_) => Err(r.error(
            BOUNDARY,
            format!(
                "'{}' is not valid (expected poll or interval)",
                r.shown(BOUNDARY)
            ),
        )),
    }
}

/// Refuses a source consumer that reads uncommitted records: records of aborted source
/// transactions would be copied as committed ones (MM2 reports exactly-once as UNSUPPORTED
/// then). Strait's consumer reads committed records unless told otherwise.
fn refuse_read_uncommitted(
    r: &KeyReader<'_>,
    consumer_overrides: &BTreeMap<String, String>,
) -> Result<(), ConfigError> {
    if consumer_overrides
        .get("isolation.level")
        .map(String::as_str)
        != Some("read_uncommitted")
    {
        return Ok(());
    }
    let key = ["source.consumer.", "consumer."]
        .iter()
        .map(|p| format!("{p}isolation.level"))
        .find(|k| r.contains(k))
        .unwrap_or_else(|| "source.consumer.isolation.level".to_owned());
    Err(r.error(
        &key,
        "'read_uncommitted' is not allowed with exactly-once replication, which needs \
         read_committed: records of aborted source transactions would be copied as committed \
         ones (MirrorMaker 2 reports exactly-once as unsupported then); remove the key or set \
         read_committed",
    ))
}

/// Why exactly-once is off, and how to turn it on, for messages.
fn turn_on_hint(worker: &ParsedWorker) -> String {
    let why = match worker.exactly_once_source {
        ExactlyOnceSourceSupport::Preparing => format!(
            " (the worker's exactly.once.source.support is '{}', which Strait treats as disabled)",
            ExactlyOnceSourceSupport::Preparing.as_str()
        ),
        ExactlyOnceSourceSupport::Disabled | ExactlyOnceSourceSupport::Enabled => String::new(),
    };
    format!(
        "exactly-once replication is off{why}; set the worker's exactly.once.source.support to \
         enabled, or {ENABLED} to true on the source connector"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::connector::tests::{run_on, worker};
    use crate::config::connector::{ConnectorConfig, ConnectorKind};

    type Outcome = Result<(Option<ExactlyOnceConfig>, Vec<String>), String>;

    fn read(support: ExactlyOnceSourceSupport, keys: &[(&str, &str)]) -> Outcome {
        match run_on(&worker(support), ConnectorKind::Source, keys) {
            Ok((p, w)) => {
                let ConnectorConfig::Source(c) = p.config else {
                    panic!("not a source connector")
                };
                Ok((c.exactly_once, w.iter().map(ToString::to_string).collect()))
            }
            Err(e) => Err(e.to_string()),
        }
    }

    fn on(keys: &[(&str, &str)]) -> (ExactlyOnceConfig, Vec<String>) {
        let (eo, w) = read(ExactlyOnceSourceSupport::Enabled, keys).unwrap();
        (eo.expect("exactly-once is on"), w)
    }

    fn err(support: ExactlyOnceSourceSupport, keys: &[(&str, &str)]) -> String {
        read(support, keys).unwrap_err()
    }

    #[test]
    fn defaults_when_the_worker_enables_it() {
        let (eo, w) = on(&[]);
        assert_eq!(
            eo,
            ExactlyOnceConfig {
                transactional_id_prefix: "g-c".to_owned(),
                commit_interval: Duration::from_millis(100),
                transaction_timeout: Duration::from_secs(60),
                required: false,
            }
        );
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn off_unless_the_worker_or_the_connector_turns_it_on() {
        use ExactlyOnceSourceSupport::*;
        for support in [Disabled, Preparing] {
            assert_eq!(read(support, &[]).unwrap(), (None, vec![]));
            let (eo, w) = read(support, &[(ENABLED, "true")]).unwrap();
            assert_eq!(eo.unwrap().transactional_id_prefix, "g-c");
            assert!(w.is_empty(), "{w:?}");
        }
        // The connector key cannot turn off what the worker turns on.
        let (eo, w) = read(Enabled, &[(ENABLED, "false")]).unwrap();
        assert!(eo.is_some());
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains(
                "key 'strait.exactly.once.enabled': ignored: the worker's \
                 exactly.once.source.support is enabled"
            ),
            "{w:?}"
        );
        let e = err(Disabled, &[(ENABLED, "yes")]);
        assert!(
            e.contains("key 'strait.exactly.once.enabled': 'yes' is not a boolean"),
            "{e}"
        );
    }

    #[test]
    fn connector_keys() {
        let (eo, w) = on(&[
            (SUPPORT, "REQUIRED"),
            (BOUNDARY, "Interval"),
            (BOUNDARY_INTERVAL, "5000"),
            (PREFIX, " mirror-a-b "),
            ("producer.override.transaction.timeout.ms", "30000"),
            // Shadowed by producer.override., as other producer settings are.
            ("producer.transaction.timeout.ms", "10"),
            ("source.consumer.isolation.level", "read_committed"),
        ]);
        assert_eq!(
            eo,
            ExactlyOnceConfig {
                transactional_id_prefix: "mirror-a-b".to_owned(),
                commit_interval: Duration::from_secs(5),
                transaction_timeout: Duration::from_secs(30),
                required: true,
            }
        );
        assert!(w.is_empty(), "{w:?}");
        let (eo, _) = on(&[(SUPPORT, "requested"), (BOUNDARY, "poll")]);
        assert!(!eo.required);
        assert_eq!(eo.commit_interval, POLL_COMMIT_INTERVAL);
    }

    #[test]
    fn misspelt_keys_get_the_closest_known_one() {
        let (_, w) = read(
            ExactlyOnceSourceSupport::Enabled,
            &[
                ("transaction.boundry", "interval"),
                ("strait.transactional.id.prefx", "p"),
            ],
        )
        .unwrap();
        for (typo, known) in [
            ("transaction.boundry", BOUNDARY),
            ("strait.transactional.id.prefx", PREFIX),
        ] {
            assert!(
                w.iter().any(|w| w.contains(&format!(
                    "unknown connector key '{typo}' ignored (closest known key: '{known}')"
                ))),
                "{w:#?}"
            );
        }
    }

    #[test]
    fn the_interval_defaults_to_the_worker_flush_interval() {
        let (eo, _) = on(&[
            (BOUNDARY, "interval"),
            ("target.producer.transaction.timeout.ms", "90000"),
        ]);
        assert_eq!(eo.commit_interval, Duration::from_secs(60));
        assert_eq!(eo.transaction_timeout, Duration::from_secs(90));
    }

    #[test]
    fn an_interval_without_the_interval_boundary_has_no_effect() {
        let (eo, w) = on(&[(BOUNDARY_INTERVAL, "5000")]);
        assert_eq!(eo.commit_interval, Duration::from_millis(100));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains(
                "key 'transaction.boundary.interval.ms': ignored: it has no effect unless \
                 transaction.boundary is interval (with poll, Strait commits every 100 ms)"
            ),
            "{w:?}"
        );
    }

    #[test]
    fn keys_without_effect_while_off_are_reported() {
        let (eo, w) = read(
            ExactlyOnceSourceSupport::Preparing,
            &[
                (SUPPORT, "requested"),
                (BOUNDARY, "interval"),
                (BOUNDARY_INTERVAL, "5000"),
                (PREFIX, "p"),
                ("producer.override.transaction.timeout.ms", "30000"),
            ],
        )
        .unwrap();
        assert_eq!(eo, None);
        assert_eq!(w.len(), 4, "{w:#?}");
        for key in [
            BOUNDARY,
            BOUNDARY_INTERVAL,
            PREFIX,
            "producer.override.transaction.timeout.ms",
        ] {
            assert!(
                w.iter().any(|w| w.contains(&format!(
                    "key '{key}': ignored: exactly-once replication is off (the worker's \
                     exactly.once.source.support is 'preparing', which Strait treats as disabled)"
                ))),
                "{key}: {w:#?}"
            );
        }
    }

    #[test]
    fn invalid_exactly_once_configs() {
        use ExactlyOnceSourceSupport::*;
        type Case<'a> = (ExactlyOnceSourceSupport, &'a [(&'a str, &'a str)], &'a str);
        let cases: &[Case<'_>] = &[
            (
                Disabled,
                &[(SUPPORT, "required")],
                "key 'exactly.once.support': 'required' needs exactly-once replication, but \
                 exactly-once replication is off; set the worker's exactly.once.source.support \
                 to enabled, or strait.exactly.once.enabled to true on the source connector",
            ),
            (
                Preparing,
                &[(SUPPORT, "required")],
                "is 'preparing', which Strait treats as disabled",
            ),
            (
                Enabled,
                &[(SUPPORT, "always")],
                "key 'exactly.once.support': 'always' is not valid (expected requested or required)",
            ),
            (
                Disabled,
                &[(BOUNDARY, "Connector")],
                "key 'transaction.boundary': 'connector' is not supported: MirrorSourceConnector \
                 does not define transaction boundaries",
            ),
            (
                Enabled,
                &[(BOUNDARY, "batch")],
                "key 'transaction.boundary': 'batch' is not valid (expected poll or interval)",
            ),
            (
                Disabled,
                &[(BOUNDARY_INTERVAL, "5s")],
                "key 'transaction.boundary.interval.ms': '5s' is not a number of milliseconds",
            ),
            (
                Enabled,
                &[(BOUNDARY, "interval"), (BOUNDARY_INTERVAL, "0")],
                "key 'transaction.boundary.interval.ms': must be positive",
            ),
            (
                Enabled,
                &[(BOUNDARY, "interval"), (BOUNDARY_INTERVAL, "60000")],
                "key 'transaction.boundary.interval.ms': 60000 ms is not below \
                 producer.override.transaction.timeout.ms (60000 ms)",
            ),
            (
                Enabled,
                &[(BOUNDARY, "interval")],
                "key 'transaction.boundary': 'interval' commits every 60000 ms \
                 (transaction.boundary.interval.ms is not set, so the worker's \
                 offset.flush.interval.ms applies), which is not below \
                 producer.override.transaction.timeout.ms (60000 ms)",
            ),
            (
                Enabled,
                &[
                    (BOUNDARY, "interval"),
                    (BOUNDARY_INTERVAL, "20000"),
                    ("producer.transaction.timeout.ms", "15000"),
                ],
                "lower transaction.boundary.interval.ms or raise producer.transaction.timeout.ms",
            ),
            (
                Enabled,
                &[("producer.override.transaction.timeout.ms", "999")],
                "key 'producer.override.transaction.timeout.ms': 999 is out of range (expected \
                 1000 to 2147483647 milliseconds)",
            ),
            (
                Enabled,
                &[("target.producer.transaction.timeout.ms", "soon")],
                "key 'target.producer.transaction.timeout.ms': 'soon' is not a number of \
                 milliseconds",
            ),
            (
                Enabled,
                &[("consumer.isolation.level", "READ_UNCOMMITTED")],
                "key 'consumer.isolation.level': 'read_uncommitted' is not allowed with \
                 exactly-once replication, which needs read_committed",
            ),
            (
                Disabled,
                &[
                    (ENABLED, "true"),
                    ("source.consumer.isolation.level", "read_uncommitted"),
                    ("consumer.isolation.level", "read_committed"),
                ],
                "key 'source.consumer.isolation.level': 'read_uncommitted' is not allowed",
            ),
            (
                Enabled,
                &[(PREFIX, "  ")],
                "key 'strait.transactional.id.prefix': must not be empty",
            ),
            (
                Enabled,
                &[("producer.override.delivery.timeout.ms", "120000")],
                "key 'producer.override.delivery.timeout.ms': 120000 ms exceeds \
                 producer.override.transaction.timeout.ms (60000 ms)",
            ),
            (
                Enabled,
                &[("producer.override.transactional.id", "mine")],
                "key 'producer.override.transactional.id': not supported: Strait derives one \
                 transactional id per replicated partition",
            ),
        ];
        for (support, keys, expected) in cases {
            let e = err(*support, keys);
            assert!(e.contains(expected), "got: {e}\nexpected: {expected}");
        }
        // A read_committed consumer, or a read_uncommitted one without exactly-once, is fine.
        assert!(read(Enabled, &[("consumer.isolation.level", "read_committed")]).is_ok());
        assert!(
            read(
                Disabled,
                &[("consumer.isolation.level", "read_uncommitted")]
            )
            .is_ok()
        );
        // A delivery timeout within the transaction timeout is accepted.
        assert!(read(Enabled, &[("producer.delivery.timeout.ms", "60000")]).is_ok());
    }

    #[test]
    fn transaction_timeout_is_ignored_with_a_warning_while_off() {
        let (eo, w) = read(
            ExactlyOnceSourceSupport::Disabled,
            &[("target.producer.transaction.timeout.ms", "30000")],
        )
        .unwrap();
        assert_eq!(eo, None);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("key 'target.producer.transaction.timeout.ms': ignored: exactly-once"),
            "{w:?}"
        );
    }
}
