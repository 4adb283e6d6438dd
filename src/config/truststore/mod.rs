//! Truststores and client keystores in the formats Java users bring (PEM, JKS, PKCS#12),
//! turned into the PEM text librdkafka takes (`ssl.ca.pem`; `ssl.certificate.pem` and
//! `ssl.key.pem` for client keystores, see the `keystore` module).
//!
//! MirrorMaker 2 configurations name Java stores; librdkafka only reads PEM, so the stores are
//! converted in process. Each format is read the way Java reads it, so a store that works with
//! MirrorMaker 2 works here and one that does not fails here too, with a clearer message:
//!
//! - PEM: every `CERTIFICATE` block of the file (or inline text), in order.
//! - JKS: the trusted certificate entries; with a password the file's SHA-1 integrity digest is
//!   verified first, without one it is not, as in Java. Private key entries are skipped (see
//!   the `jks` module for why, and how that differs from Java).
//! - PKCS#12: the certificate bags Java marks trusted; with a password the MAC is verified and
//!   encrypted bags are decrypted, without one the MAC is skipped and only bags stored in the
//!   clear are read, as in Java.
//!
//! Like Java (`keystore.type.compat`, on by default), a store configured as JKS that is really
//! PKCS#12, or the reverse, is read as what it is; errors name the format actually found.
//!
//! Every certificate is checked to be one DER `SEQUENCE`; full X.509 validation is left to
//! OpenSSL. The output is normalised: one `-----BEGIN CERTIFICATE-----` block per certificate,
//! base64 in 64-character lines, in store order. Errors name the store and its format, never the
//! password.

mod der;
mod jks;
mod key_protector;
mod keystore;
#[cfg(test)]
mod keystore_tests;
mod pem;
mod pkcs12;
mod private_key;
#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod tool_bed;

pub use keystore::{ClientIdentity, KeystoreError, KeystoreField, KeystoreProblem, load_identity};

use std::fmt;
use std::path::{Path, PathBuf};

use super::{Secret, Truststore};

/// How inline PEM certificates are named in errors.
const INLINE: &str = "(inline PEM certificates)";

/// A truststore or keystore format, as named in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TruststoreFormat {
    /// PEM text.
    Pem,
    /// Java KeyStore.
    Jks,
    /// PKCS#12.
    Pkcs12,
}

impl fmt::Display for TruststoreFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pem => "PEM",
            Self::Jks => "JKS",
            Self::Pkcs12 => "PKCS#12",
        })
    }
}

/// Why a truststore (or, for a client, its keystore) could not be used. Messages name the store
/// and format, never the password.
#[derive(Debug, thiserror::Error)]
pub enum TruststoreError {
    /// The client keystore (mutual TLS) could not be used (boxed: it is the largest error
    /// and rare, so every `Result` carrying this type stays small).
    #[error(transparent)]
    Keystore(Box<KeystoreError>),
    /// The file could not be read.
    #[error("cannot read {format} truststore {}: {source}", path.display())]
    Read {
        /// The truststore file.
        path: PathBuf,
        /// The configured format.
        format: TruststoreFormat,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The integrity check failed: the password is wrong, or the file was altered.
    #[error("wrong password or corrupted truststore {store} ({format})")]
    WrongPassword {
        /// The truststore file.
        store: String,
        /// The format found.
        format: TruststoreFormat,
    },
    /// The store is damaged or is not in the format it claims.
    #[error("{format} truststore {store} is malformed: {reason}")]
    Malformed {
        /// The truststore file, or a note that the PEM was inline.
        store: String,
        /// The format found, or the configured one when none was recognised.
        format: TruststoreFormat,
        /// What is wrong, and where.
        reason: String,
    },
    /// The store uses a feature this reader does not implement.
    #[error("{format} truststore {store} is not supported: {reason}")]
    Unsupported {
        /// The truststore file.
        store: String,
        /// The format found.
        format: TruststoreFormat,
        /// The feature, and what to do about it.
        reason: String,
    },
    /// The store holds no trusted certificate.
    #[error("{format} truststore {store} holds no trusted certificate{hint}")]
    Empty {
        /// The truststore file, or a note that the PEM was inline.
        store: String,
        /// The format found.
        format: TruststoreFormat,
        /// Why it may be so, starting with a space, or empty.
        hint: String,
    },
}

impl From<KeystoreError> for TruststoreError {
    fn from(err: KeystoreError) -> Self {
        Self::Keystore(Box::new(err))
    }
}

/// The trusted certificates of `store` as PEM text, one `CERTIFICATE` block per certificate in
/// store order.
pub fn load_pem(store: &Truststore) -> Result<String, TruststoreError> {
    match store {
        Truststore::PemInline(text) => from_pem_text(text, INLINE),
        Truststore::PemFile(path) => {
            let data = read_file(path, TruststoreFormat::Pem)?;
            let name = path.display().to_string();
            match std::str::from_utf8(&data) {
                Ok(text) => from_pem_text(text, &name),
                Err(_) => Err(TruststoreError::Malformed {
                    store: name,
                    format: TruststoreFormat::Pem,
                    reason: match detect(&data) {
                        Some(Detected::Jks) => "this is a JKS file; set the truststore type to JKS",
                        Some(Detected::Pkcs12) => {
                            "this looks like a PKCS#12 file; set the truststore type to PKCS12"
                        }
                        _ => "not UTF-8 text",
                    }
                    .into(),
                }),
            }
        }
        Truststore::Jks { path, password } => {
            from_keystore(path, TruststoreFormat::Jks, password.as_ref())
        }
        Truststore::Pkcs12 { path, password } => {
            from_keystore(path, TruststoreFormat::Pkcs12, password.as_ref())
        }
    }
}

/// What a parser found wrong, before the store's name and format are attached.
#[derive(Debug)]
enum Problem {
    WrongPassword,
    Malformed(String),
    Unsupported(String),
}

impl From<der::DerError> for Problem {
    fn from(err: der::DerError) -> Self {
        Problem::Malformed(err.0)
    }
}

impl Problem {
    fn located(self, store: &str, format: TruststoreFormat) -> TruststoreError {
        let store = store.to_owned();
        match self {
            Problem::WrongPassword => TruststoreError::WrongPassword { store, format },
            Problem::Malformed(reason) => TruststoreError::Malformed {
                store,
                format,
                reason,
            },
            Problem::Unsupported(reason) => TruststoreError::Unsupported {
                store,
                format,
                reason,
            },
        }
    }
}

/// A binary keystore format, recognised by its first bytes.
enum Detected {
    Jks,
    Jceks,
    Pkcs12,
}

fn detect(data: &[u8]) -> Option<Detected> {
    match data.get(..4) {
        Some(magic) if magic == jks::MAGIC => Some(Detected::Jks),
        Some(magic) if magic == jks::JCEKS_MAGIC => Some(Detected::Jceks),
        // A PKCS#12 PFX is a DER SEQUENCE (tag 0x30); the parser confirms the rest.
        _ if data.first() == Some(&0x30) => Some(Detected::Pkcs12),
        _ => None,
    }
}

fn read_file(path: &Path, format: TruststoreFormat) -> Result<Vec<u8>, TruststoreError> {
    std::fs::read(path).map_err(|source| TruststoreError::Read {
        path: path.to_owned(),
        format,
        source,
    })
}

fn from_pem_text(text: &str, store: &str) -> Result<String, TruststoreError> {
    let format = TruststoreFormat::Pem;
    let certs = pem::certificates(text)
        .map_err(|reason| Problem::Malformed(reason).located(store, format))?;
    finish(certs, store, format, String::new)
}

/// Reads a JKS or PKCS#12 file, whichever it turns out to be.
fn from_keystore(
    path: &Path,
    configured: TruststoreFormat,
    password: Option<&Secret>,
) -> Result<String, TruststoreError> {
    let data = read_file(path, configured)?;
    let store = path.display().to_string();
    let password = password.map(Secret::expose);
    match detect(&data) {
        Some(Detected::Jks) => {
            let format = TruststoreFormat::Jks;
            let contents = jks::read(&data, password).map_err(|p| p.located(&store, format))?;
            finish(contents.trusted, &store, format, || {
                match contents.keys.len() {
                    0 => String::new(),
                    n => format!(
                        " ({n} private key entr{} skipped: a truststore's certificates must be \
                         imported as trusted certificates, e.g. with keytool -importcert)",
                        if n == 1 { "y" } else { "ies" }
                    ),
                }
            })
        }
        Some(Detected::Pkcs12) => {
            let format = TruststoreFormat::Pkcs12;
            let contents = pkcs12::read(&data, password).map_err(|p| p.located(&store, format))?;
            finish(contents.trusted, &store, format, || {
                let mut hint = String::new();
                if contents.encrypted_skipped > 0 {
                    hint.push_str(
                        " (its certificates are encrypted and no password was given; \
                         set the truststore password)",
                    );
                } else if contents.untrusted > 0 {
                    hint.push_str(&format!(
                        " ({} certificate(s) lack Java's trusted-certificate attribute, as in \
                         stores made by openssl pkcs12 -export; Java ignores them too: import \
                         them with keytool -importcert)",
                        contents.untrusted
                    ));
                }
                hint
            })
        }
        Some(Detected::Jceks) => Err(Problem::Unsupported(
            "JCEKS stores are not supported; convert with keytool -importkeystore \
             -deststoretype PKCS12"
                .into(),
        )
        .located(&store, TruststoreFormat::Jks)),
        None => Err(Problem::Malformed(
            if data.is_empty() {
                "the file is empty"
            } else if data.windows(11).any(|w| w == b"-----BEGIN ") {
                "this is a PEM file; set the truststore type to PEM"
            } else {
                "neither JKS nor PKCS#12 data"
            }
            .into(),
        )
        .located(&store, configured)),
    }
}

/// Checks the certificates and writes them as PEM; `hint` explains an empty store.
fn finish(
    certs: Vec<Vec<u8>>,
    store: &str,
    format: TruststoreFormat,
    hint: impl FnOnce() -> String,
) -> Result<String, TruststoreError> {
    if certs.is_empty() {
        return Err(TruststoreError::Empty {
            store: store.to_owned(),
            format,
            hint: hint(),
        });
    }
    for (index, der) in certs.iter().enumerate() {
        private_key::parse_certificate(der).map_err(|err| {
            Problem::Malformed(format!("certificate {} is not DER X.509: {err}", index + 1))
                .located(store, format)
        })?;
    }
    Ok(pem::encode(&certs))
}
