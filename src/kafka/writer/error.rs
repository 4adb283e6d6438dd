//! What can go wrong speaking to a cluster (the target writer's, and the source fetcher's
//! connections), each error naming the broker, topic or setting at fault; which cluster it
//! is, the caller says (`on target: ...`, `source ...`). No error carries a password or a key: SASL failures quote only the broker's
//! own message, which never repeats the credentials.

use crate::config::truststore::TruststoreError;

/// An error of the target writer.
#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    /// No address in `bootstrap.servers` could be reached and spoken to.
    #[error("no broker in bootstrap.servers '{servers}' answered: {last}")]
    Bootstrap {
        /// The bootstrap list as configured.
        servers: String,
        /// Why the last address tried failed.
        last: Box<WriterError>,
    },
    /// A setting the writer takes is not valid.
    #[error("{key}: {detail}")]
    Settings {
        /// The setting, as the producer's configuration names it.
        key: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A TCP connection to a broker failed or broke.
    #[error("broker {broker}: {detail}")]
    Connection {
        /// `host:port` of the broker.
        broker: String,
        /// What failed (connect, read, write, timeout).
        detail: String,
    },
    /// The TLS handshake or the TLS settings failed.
    #[error("TLS with broker {broker}: {detail}")]
    Tls {
        /// `host:port` of the broker, or `(settings)` when the settings themselves are wrong.
        broker: String,
        /// OpenSSL's reason.
        detail: String,
    },
    /// The truststore or the client keystore could not be read.
    #[error(transparent)]
    Store(#[from] TruststoreError),
    /// SASL authentication failed.
    #[error("SASL {mechanism} authentication with broker {broker} failed: {detail}")]
    Sasl {
        /// `host:port` of the broker.
        broker: String,
        /// The mechanism tried (`PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512`).
        mechanism: &'static str,
        /// The broker's reason, or what in its answer was wrong.
        detail: String,
    },
    /// A broker's answer could not be understood, or it refused a request as a whole.
    #[error("broker {broker}, {api} request: {detail}")]
    Protocol {
        /// `host:port` of the broker.
        broker: String,
        /// The request (`Produce`, `Metadata`, ...).
        api: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// A partition's records were not written.
    #[error("target partition {topic}-{partition}: {reason}")]
    Partition {
        /// The target topic.
        topic: String,
        /// The target partition.
        partition: i32,
        /// The broker's error, or why the records were not sent.
        reason: String,
        /// Whether sending the same records again may succeed (a leader moved, a broker
        /// restarted), as opposed to a refusal (record too large, topic missing, not allowed).
        retriable: bool,
        /// The broker's error code, when the broker gave one.
        code: Option<i16>,
    },
    /// A batch could not be compressed.
    #[error("compressing a batch for {topic}-{partition} with {codec}: {detail}")]
    Compress {
        /// The target topic.
        topic: String,
        /// The target partition.
        partition: i32,
        /// The codec (`compression.type`).
        codec: &'static str,
        /// The compressor's reason.
        detail: String,
    },
}

/// `MESSAGE_TOO_LARGE` and `RECORD_LIST_TOO_LARGE`: the batch is over the topic's or the
/// broker's limit.
const TOO_LARGE: [i16; 2] = [10, 18];

impl WriterError {
    /// The broker's error code, when the broker refused a partition's batch.
    pub fn code(&self) -> Option<i16> {
        match self {
            Self::Partition { code, .. } => *code,
            _ => None,
        }
    }

    /// Whether the broker refused the batch as too large.
    pub fn is_too_large(&self) -> bool {
        matches!(self, Self::Partition { code: Some(c), .. } if TOO_LARGE.contains(c))
    }

    /// Whether sending the same records again may succeed.
    pub fn is_retriable(&self) -> bool {
        match self {
            Self::Partition { retriable, .. } => *retriable,
            Self::Connection { .. } | Self::Bootstrap { .. } => true,
            _ => false,
        }
    }
}
