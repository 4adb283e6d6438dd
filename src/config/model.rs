//! The resolved configuration model: what every reader (Strait YAML, `mm2.properties`, Strimzi
//! manifests) produces and what the clients are built from. Values here are final: config
//! providers are already resolved and defaults applied.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::Deserialize;

use super::Secret;

/// How to reach one Kafka cluster.
#[derive(Debug, Clone, Default)]
pub struct ClusterConnection {
    /// `bootstrap.servers`: comma-separated `host:port` list.
    pub bootstrap_servers: String,
    /// `security.protocol`; defaults to PLAINTEXT as in Kafka.
    pub security_protocol: SecurityProtocol,
    /// TLS settings, used when the protocol is SSL or SASL_SSL.
    pub tls: Tls,
    /// SASL credentials, used when the protocol is SASL_PLAINTEXT or SASL_SSL.
    pub sasl: Option<Sasl>,
    /// Further librdkafka properties, passed through as given (already in librdkafka's names).
    pub client_overrides: BTreeMap<String, String>,
}

/// Kafka's `security.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SecurityProtocol {
    /// No TLS, no authentication.
    #[default]
    Plaintext,
    /// TLS, no SASL.
    Ssl,
    /// SASL without TLS.
    SaslPlaintext,
    /// SASL over TLS (the seed's clusters).
    SaslSsl,
}

impl SecurityProtocol {
    /// The name Kafka and librdkafka use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plaintext => "PLAINTEXT",
            Self::Ssl => "SSL",
            Self::SaslPlaintext => "SASL_PLAINTEXT",
            Self::SaslSsl => "SASL_SSL",
        }
    }

    /// Whether connections use TLS.
    pub fn uses_tls(self) -> bool {
        matches!(self, Self::Ssl | Self::SaslSsl)
    }

    /// Whether connections authenticate with SASL.
    pub fn uses_sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }
}

impl fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown `security.protocol` value.
#[derive(Debug, thiserror::Error)]
#[error("unknown security.protocol '{0}' (expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL)")]
pub struct UnknownSecurityProtocol(pub String);

impl FromStr for SecurityProtocol {
    type Err = UnknownSecurityProtocol;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "PLAINTEXT" => Ok(Self::Plaintext),
            "SSL" => Ok(Self::Ssl),
            "SASL_PLAINTEXT" => Ok(Self::SaslPlaintext),
            "SASL_SSL" => Ok(Self::SaslSsl),
            _ => Err(UnknownSecurityProtocol(s.to_owned())),
        }
    }
}

/// TLS settings of a connection.
#[derive(Debug, Clone)]
pub struct Tls {
    /// The CA certificates the broker's certificate is checked against; `None` uses the
    /// system's CA bundle.
    pub truststore: Option<Truststore>,
    /// Check that the broker's certificate names the host connected to
    /// (`ssl.endpoint.identification.algorithm=https`, Kafka's default).
    pub verify_hostname: bool,
}

impl Default for Tls {
    fn default() -> Self {
        Self {
            truststore: None,
            verify_hostname: true,
        }
    }
}

/// Where the trusted CA certificates come from.
#[derive(Debug, Clone)]
pub enum Truststore {
    /// A PEM file of one or more CA certificates.
    PemFile(PathBuf),
    /// PEM certificates given inline (Java's `ssl.truststore.certificates`).
    PemInline(String),
}

/// SASL mechanisms Strait speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaslMechanism {
    /// `PLAIN` (the seed's clusters).
    Plain,
    /// `SCRAM-SHA-256`.
    ScramSha256,
    /// `SCRAM-SHA-512`.
    ScramSha512,
}

impl SaslMechanism {
    /// The name Kafka and librdkafka use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::ScramSha256 => "SCRAM-SHA-256",
            Self::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

/// An unknown or unsupported `sasl.mechanism` value.
#[derive(Debug, thiserror::Error)]
#[error("unsupported sasl.mechanism '{0}' (expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)")]
pub struct UnknownSaslMechanism(pub String);

impl FromStr for SaslMechanism {
    type Err = UnknownSaslMechanism;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "PLAIN" => Ok(Self::Plain),
            "SCRAM-SHA-256" => Ok(Self::ScramSha256),
            "SCRAM-SHA-512" => Ok(Self::ScramSha512),
            _ => Err(UnknownSaslMechanism(s.to_owned())),
        }
    }
}

/// SASL username/password credentials.
#[derive(Debug, Clone)]
pub struct Sasl {
    /// The mechanism.
    pub mechanism: SaslMechanism,
    /// The user name (not secret; it appears in ACLs and logs).
    pub username: String,
    /// The password.
    pub password: Secret,
}
