//! Checks that a cluster is reachable with the configured credentials, failing fast and clearly
//! on authentication and TLS errors instead of waiting out a metadata timeout.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use crate::config::ClusterConnection;
use crate::config::truststore::TruststoreError;
use crate::kafka::{ClientRole, client_config};

/// Why a cluster could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The broker refused the credentials.
    #[error("cluster '{cluster}' ({bootstrap}): authentication failed{user}: {detail}")]
    Authentication {
        /// The cluster's alias.
        cluster: String,
        /// Its bootstrap servers.
        bootstrap: String,
        /// ` as user 'x' (MECHANISM)` when SASL is used.
        user: String,
        /// librdkafka's explanation (never holds the password).
        detail: String,
    },
    /// TLS failed (untrusted certificate, hostname mismatch, ...).
    #[error("cluster '{cluster}' ({bootstrap}): TLS handshake failed: {detail}")]
    Tls {
        /// The cluster's alias.
        cluster: String,
        /// Its bootstrap servers.
        bootstrap: String,
        /// librdkafka's explanation.
        detail: String,
    },
    /// No broker answered in time.
    #[error("cluster '{cluster}' ({bootstrap}): no broker answered within {timeout:?}{detail}")]
    Unreachable {
        /// The cluster's alias.
        cluster: String,
        /// Its bootstrap servers.
        bootstrap: String,
        /// How long was waited.
        timeout: Duration,
        /// The last error seen, if any (`: ...`).
        detail: String,
    },
    /// The truststore could not be read.
    #[error("cluster '{cluster}': {source}")]
    Truststore {
        /// The cluster's alias.
        cluster: String,
        /// Why.
        source: TruststoreError,
    },
    /// The client could not be created (invalid librdkafka setting).
    #[error("cluster '{cluster}': invalid client configuration: {source}")]
    Client {
        /// The cluster's alias.
        cluster: String,
        /// librdkafka's error.
        source: KafkaError,
    },
}

/// A client context that keeps the last error librdkafka reported in the background
/// (authentication and TLS failures arrive this way, not as request errors).
#[derive(Debug, Default)]
pub struct ErrorRecordingContext {
    last: Mutex<Option<(RDKafkaErrorCode, String)>>,
}

impl ErrorRecordingContext {
    /// The last background error, if any.
    pub fn last_error(&self) -> Option<(RDKafkaErrorCode, String)> {
        self.last.lock().ok().and_then(|g| g.clone())
    }
}

impl ClientContext for ErrorRecordingContext {
    fn error(&self, error: KafkaError, reason: &str) {
        if let (Some(code), Ok(mut last)) = (error.rdkafka_error_code(), self.last.lock()) {
            // With TLS 1.3 the client's handshake ends before the broker checks the client
            // certificate, so a refused (or missing) certificate arrives as a transport failure
            // carrying the broker's TLS alert: it is a TLS error all the same.
            let code = if code == RDKafkaErrorCode::BrokerTransportFailure && is_tls_alert(reason) {
                RDKafkaErrorCode::SSL
            } else {
                code
            };
            // "All brokers down" follows every failed connection; it must not hide why.
            let keep = code == RDKafkaErrorCode::AllBrokersDown
                && last.as_ref().is_some_and(|(c, _)| {
                    matches!(c, RDKafkaErrorCode::SSL | RDKafkaErrorCode::Authentication)
                });
            if !keep {
                *last = Some((code, reason.to_owned()));
            }
        }
        tracing::debug!(%error, reason, "librdkafka reported an error");
    }
}

/// Whether a librdkafka error text reports a TLS alert the broker sent about the certificate.
fn is_tls_alert(reason: &str) -> bool {
    reason.contains("alert") && reason.contains("certificate")
}

impl ConsumerContext for ErrorRecordingContext {}

/// Connects to `conn` and fetches cluster metadata; returns the number of brokers.
/// Authentication and TLS failures are reported as soon as librdkafka sees them.
pub fn check_connection(
    cluster: &str,
    conn: &ClusterConnection,
    timeout: Duration,
) -> Result<usize, ConnectError> {
    let bootstrap = conn.bootstrap_servers.clone();
    let cfg = client_config(conn, "strait", ClientRole::SourceAdmin).map_err(|source| {
        ConnectError::Truststore {
            cluster: cluster.to_owned(),
            source,
        }
    })?;
    let consumer: BaseConsumer<ErrorRecordingContext> = cfg
        .create_with_context(ErrorRecordingContext::default())
        .map_err(|source| ConnectError::Client {
            cluster: cluster.to_owned(),
            source,
        })?;
    let deadline = Instant::now() + timeout;
    loop {
        match consumer.fetch_metadata(None, Duration::from_millis(500)) {
            Ok(md) if !md.brokers().is_empty() => return Ok(md.brokers().len()),
            _ => {}
        }
        // Serving the queue delivers background errors to the context.
        let _ = consumer.poll(Duration::ZERO);
        let last = consumer.context().last_error();
        match &last {
            Some((RDKafkaErrorCode::Authentication, detail)) => {
                let user = conn
                    .sasl
                    .as_ref()
                    .map(|s| format!(" as user '{}' ({})", s.username, s.mechanism.as_str()))
                    .unwrap_or_default();
                return Err(ConnectError::Authentication {
                    cluster: cluster.to_owned(),
                    bootstrap,
                    user,
                    detail: detail.clone(),
                });
            }
            Some((RDKafkaErrorCode::SSL, detail)) => {
                let hint = match (is_tls_alert(detail), conn.tls.keystore.is_some()) {
                    (false, _) => "",
                    (true, false) => {
                        " (the broker requires a client certificate and none is configured: \
                         set ssl.keystore.location and ssl.keystore.password, or \
                         ssl.keystore.key and ssl.keystore.certificate.chain)"
                    }
                    (true, true) => {
                        " (the broker refused the client certificate: is it signed by a CA the \
                         broker trusts, and still valid?)"
                    }
                };
                return Err(ConnectError::Tls {
                    cluster: cluster.to_owned(),
                    bootstrap,
                    detail: format!("{detail}{hint}"),
                });
            }
            _ => {}
        }
        if Instant::now() >= deadline {
            return Err(ConnectError::Unreachable {
                cluster: cluster.to_owned(),
                bootstrap,
                timeout,
                detail: last.map(|(_, d)| format!(": {d}")).unwrap_or_default(),
            });
        }
    }
}
