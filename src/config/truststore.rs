//! Truststores in the formats Java users bring (PEM, JKS, PKCS#12), turned into the PEM text
//! librdkafka takes (`ssl.ca.pem`).

use std::path::PathBuf;

use super::Truststore;

/// Why a truststore could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TruststoreError {
    /// The file could not be read.
    #[error("cannot read truststore {path}: {source}")]
    Read {
        /// The truststore file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The store holds no certificate.
    #[error("truststore {0} holds no certificate")]
    Empty(String),
    /// The format is not supported yet.
    #[error("truststore {0}: this format is not supported yet")]
    Unsupported(String),
}

/// The trusted certificates of `store` as PEM text.
pub fn load_pem(store: &Truststore) -> Result<String, TruststoreError> {
    match store {
        Truststore::PemInline(pem) => Ok(pem.clone()),
        Truststore::PemFile(path) => {
            let pem = std::fs::read_to_string(path).map_err(|source| TruststoreError::Read {
                path: path.clone(),
                source,
            })?;
            if !pem.contains("-----BEGIN CERTIFICATE-----") {
                return Err(TruststoreError::Empty(path.display().to_string()));
            }
            Ok(pem)
        }
        Truststore::Jks { path, .. } | Truststore::Pkcs12 { path, .. } => {
            Err(TruststoreError::Unsupported(path.display().to_string()))
        }
    }
}
