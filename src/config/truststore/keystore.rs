//! Client keystores (mutual TLS): the certificate chain and private key in the formats Java users
//! bring, turned into what librdkafka takes (`ssl.certificate.pem`, `ssl.key.pem`).
//!
//! - JKS: the first private key entry, its key recovered with Sun's `KeyProtector` scheme (see
//!   `key_protector`) using `ssl.key.password`, or the keystore password when that is not set,
//!   as Kafka does. The file's integrity digest is checked with the keystore password first.
//! - PKCS#12: the first private key bag and its chain (see `pkcs12`); the MAC and the bags are
//!   decrypted with the keystore password, as keytool writes them.
//! - PEM: the certificate blocks (leaf first) and the one PKCS#8 key, encrypted
//!   (`ENCRYPTED PRIVATE KEY`) exactly when `ssl.key.password` is set, as Kafka reads them.
//!
//! Java's key manager picks the key entry that suits the broker's request; a client keystore
//! normally has one, and with several the first (in file order) is used. The key is handed to
//! librdkafka decrypted, as unencrypted PKCS#8 PEM kept in a [`Secret`], so no password has to
//! be passed on. A certificate that does not belong to the key is reported here when the check
//! is cheap (RSA, and EC keys that carry their public point); OpenSSL checks the rest when the
//! client is created. Messages name the store, its format and the configuration key, never a
//! password.

use std::path::Path;

use super::pem::{self, Block};
use super::private_key::{self, DecryptError, PemKey, PemKeyError};
use super::{Detected, Problem, TruststoreFormat, detect, jks, key_protector, pkcs12};
use crate::config::{Keystore, KeystoreSource, Secret};

/// How inline PEM is named in errors.
const INLINE: &str = "(inline PEM)";

/// A client's certificate chain and private key, ready for librdkafka.
#[derive(Debug, Clone)]
pub struct ClientIdentity {
    /// The client certificate, then the rest of its chain, as PEM (`ssl.certificate.pem`).
    pub certificate_pem: String,
    /// The private key as unencrypted PKCS#8 PEM (`ssl.key.pem`).
    pub key_pem: Secret,
    /// The alias of the key entry used, when the store names it.
    pub alias: Option<String>,
    /// How many private key entries the store holds (the first is used).
    pub key_entries: usize,
}

/// Which setting a keystore problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeystoreField {
    /// `ssl.keystore.location` (or `ssl.keystore.key` for inline PEM).
    Store,
    /// `ssl.keystore.password`.
    StorePassword,
    /// `ssl.key.password`.
    KeyPassword,
    /// `ssl.keystore.certificate.chain`.
    CertificateChain,
}

/// What is wrong with a keystore. Never holds a password.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreProblem {
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Read(#[source] std::io::Error),
    /// The integrity check failed: wrong keystore password, or an altered file.
    #[error("wrong keystore password, or the file is corrupted")]
    WrongStorePassword,
    /// The private key does not decrypt.
    #[error("cannot decrypt the private key{entry}: wrong key password{hint}")]
    WrongKeyPassword {
        /// ` of entry 'alias'`, or empty.
        entry: String,
        /// Why, starting with a space, or empty.
        hint: String,
    },
    /// The PEM key is encrypted but no key password is set.
    #[error("the private key is encrypted, but ssl.key.password is not set")]
    KeyEncrypted,
    /// A key password is set but the PEM key is not encrypted (Kafka then fails too).
    #[error(
        "ssl.key.password is set, but the private key is not encrypted (Kafka reads the key as \
         encrypted PKCS#8 when ssl.key.password is set): remove ssl.key.password, or encrypt \
         the key with `openssl pkcs8 -topk8 -v2 aes-256-cbc`"
    )]
    KeyNotEncrypted,
    /// No private key entry.
    #[error("holds no private key{hint}")]
    NoPrivateKey {
        /// Why it may be so, starting with a space, or empty.
        hint: String,
    },
    /// A private key without a certificate.
    #[error("holds a private key{entry} but no certificate for it")]
    NoCertificate {
        /// ` of entry 'alias'`, or empty.
        entry: String,
    },
    /// The certificate is not the key's.
    #[error(
        "the certificate{entry} does not match the private key (the first certificate must be \
         the key's own)"
    )]
    Mismatch {
        /// ` of entry 'alias'`, or empty.
        entry: String,
    },
    /// The store is damaged, or not in the format it claims.
    #[error("is malformed: {0}")]
    Malformed(String),
    /// The store uses a feature Strait does not implement.
    #[error("is not supported: {0}")]
    Unsupported(String),
}

/// Why a keystore could not be used: the store, its format, the configuration key that named
/// it, and the problem.
#[derive(Debug, thiserror::Error)]
#[error("{format} keystore {store} ({config_key}): {problem}")]
pub struct KeystoreError {
    /// The keystore file, or a note that the PEM was inline.
    pub store: String,
    /// The format found, or the configured one when none was recognised.
    pub format: TruststoreFormat,
    /// The configuration key that named the keystore.
    pub config_key: String,
    /// What is wrong.
    pub problem: KeystoreProblem,
}

impl KeystoreError {
    /// The message without the configuration key, for errors that name the key themselves.
    pub fn reason(&self) -> String {
        format!("{} keystore {}: {}", self.format, self.store, self.problem)
    }

    /// The setting the problem is about.
    pub fn field(&self) -> KeystoreField {
        match &self.problem {
            KeystoreProblem::WrongStorePassword => KeystoreField::StorePassword,
            KeystoreProblem::WrongKeyPassword { .. }
            | KeystoreProblem::KeyEncrypted
            | KeystoreProblem::KeyNotEncrypted => KeystoreField::KeyPassword,
            KeystoreProblem::Mismatch { .. } | KeystoreProblem::NoCertificate { .. }
                if self.store == INLINE =>
            {
                KeystoreField::CertificateChain
            }
            _ => KeystoreField::Store,
        }
    }
}

/// Reads `keystore` into the certificate chain and unencrypted key librdkafka takes.
pub fn load_identity(keystore: &Keystore) -> Result<ClientIdentity, KeystoreError> {
    let key_password = keystore.key_password.as_ref().map(Secret::expose);
    let fail = |store: &str, format: TruststoreFormat, problem: KeystoreProblem| KeystoreError {
        store: store.to_owned(),
        format,
        config_key: keystore.config_key.clone(),
        problem,
    };
    match &keystore.source {
        KeystoreSource::PemInline {
            certificate_chain,
            key,
        } => from_pem(certificate_chain, key.expose(), key_password)
            .map_err(|p| fail(INLINE, TruststoreFormat::Pem, p)),
        KeystoreSource::PemFile(path) => {
            let name = path.display().to_string();
            let format = TruststoreFormat::Pem;
            let data = read(path).map_err(|p| fail(&name, format, p))?;
            let text = std::str::from_utf8(&data).map_err(|_| {
                let reason = match detect(&data) {
                    Some(Detected::Jks) => "this is a JKS file; set the keystore type to JKS",
                    Some(Detected::Pkcs12) => {
                        "this looks like a PKCS#12 file; set the keystore type to PKCS12"
                    }
                    _ => "not UTF-8 text",
                };
                fail(&name, format, KeystoreProblem::Malformed(reason.into()))
            })?;
            from_pem(text, text, key_password).map_err(|p| fail(&name, format, p))
        }
        KeystoreSource::Jks { path, password } | KeystoreSource::Pkcs12 { path, password } => {
            let configured = match &keystore.source {
                KeystoreSource::Pkcs12 { .. } => TruststoreFormat::Pkcs12,
                _ => TruststoreFormat::Jks,
            };
            let name = path.display().to_string();
            let data = read(path).map_err(|p| fail(&name, configured, p))?;
            // As for truststores (Java's keystore.type.compat), the file is read as what it is.
            match detect(&data) {
                Some(Detected::Jks) => from_jks(&data, password.expose(), key_password)
                    .map_err(|p| fail(&name, TruststoreFormat::Jks, p)),
                Some(Detected::Pkcs12) => from_pkcs12(&data, password.expose(), key_password)
                    .map_err(|p| fail(&name, TruststoreFormat::Pkcs12, p)),
                Some(Detected::Jceks) => Err(fail(
                    &name,
                    TruststoreFormat::Jks,
                    KeystoreProblem::Unsupported(
                        "JCEKS stores are not supported; convert with keytool \
                         -importkeystore -deststoretype PKCS12"
                            .into(),
                    ),
                )),
                None => Err(fail(
                    &name,
                    configured,
                    KeystoreProblem::Malformed(
                        if data.is_empty() {
                            "the file is empty"
                        } else if data.windows(11).any(|w| w == b"-----BEGIN ") {
                            "this is a PEM file; set the keystore type to PEM"
                        } else {
                            "neither JKS nor PKCS#12 data"
                        }
                        .into(),
                    ),
                )),
            }
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>, KeystoreProblem> {
    std::fs::read(path).map_err(KeystoreProblem::Read)
}

/// ` of entry 'alias'`, or empty.
fn entry(alias: Option<&str>) -> String {
    alias.map_or_else(String::new, |a| format!(" of entry '{a}'"))
}

fn from_jks(
    data: &[u8],
    store_password: &str,
    key_password: Option<&str>,
) -> Result<ClientIdentity, KeystoreProblem> {
    let contents = jks::read(data, Some(store_password)).map_err(|p| match p {
        Problem::WrongPassword => KeystoreProblem::WrongStorePassword,
        Problem::Malformed(reason) => KeystoreProblem::Malformed(reason),
        Problem::Unsupported(reason) => KeystoreProblem::Unsupported(reason),
    })?;
    let Some(first) = contents.keys.first() else {
        return Err(KeystoreProblem::NoPrivateKey {
            hint: trusted_only_hint(contents.trusted.len()),
        });
    };
    let alias = Some(first.alias.as_str());
    let key = key_protector::recover(&first.protected, key_password.unwrap_or(store_password))
        .map_err(|e| match e {
            key_protector::RecoverError::WrongPassword => KeystoreProblem::WrongKeyPassword {
                entry: entry(alias),
                hint: default_key_password_hint(key_password),
            },
            key_protector::RecoverError::UnsupportedAlgorithm => {
                KeystoreProblem::Unsupported(format!(
                    "the key{} is protected by an algorithm other than Sun's KeyProtector",
                    entry(alias)
                ))
            }
            key_protector::RecoverError::Malformed(reason) => KeystoreProblem::Malformed(reason),
        })?;
    finish(key, first.chain.clone(), alias, contents.keys.len())
}

fn from_pkcs12(
    data: &[u8],
    store_password: &str,
    key_password: Option<&str>,
) -> Result<ClientIdentity, KeystoreProblem> {
    let one_password = "this PKCS#12 file protects its key with a password other than the \
                        keystore password, which Strait cannot read; re-export it with one \
                        password, as keytool does";
    let found = pkcs12::read_key(data, store_password).map_err(|e| match e {
        pkcs12::P12KeyError::WrongStorePassword => KeystoreProblem::WrongStorePassword,
        pkcs12::P12KeyError::KeyNotDecryptable => KeystoreProblem::WrongKeyPassword {
            entry: String::new(),
            hint: format!(" ({one_password})"),
        },
        pkcs12::P12KeyError::NoKey { certificates } => KeystoreProblem::NoPrivateKey {
            hint: trusted_only_hint(certificates),
        },
        pkcs12::P12KeyError::NoCertificate => KeystoreProblem::NoCertificate {
            entry: String::new(),
        },
        pkcs12::P12KeyError::Unsupported(reason) => KeystoreProblem::Unsupported(reason),
        pkcs12::P12KeyError::Malformed(reason) => KeystoreProblem::Malformed(reason),
    })?;
    // Java decrypts the key with ssl.key.password; keytool protects PKCS#12 keys with the store
    // password, so a different key password fails in Kafka, and fails here the same way.
    if key_password.is_some_and(|k| k != store_password) {
        return Err(KeystoreProblem::WrongKeyPassword {
            entry: entry(found.alias.as_deref()),
            hint: " (ssl.key.password differs from the keystore password, but the key is \
                   protected by the keystore password, as keytool writes PKCS#12 stores: \
                   remove ssl.key.password)"
                .into(),
        });
    }
    finish(
        found.key,
        found.chain,
        found.alias.as_deref(),
        found.key_count,
    )
}

/// The certificates of `cert_text` and the one key of `key_text` (the same text for a file).
fn from_pem(
    cert_text: &str,
    key_text: &str,
    key_password: Option<&str>,
) -> Result<ClientIdentity, KeystoreProblem> {
    let key_blocks: Vec<Block<'_>> = pem::blocks(key_text).map_err(KeystoreProblem::Malformed)?;
    let key = match private_key::pem_key(&key_blocks) {
        Ok(key) => key,
        Err(PemKeyError::Missing) => {
            return Err(KeystoreProblem::NoPrivateKey {
                hint: " (no BEGIN PRIVATE KEY or BEGIN ENCRYPTED PRIVATE KEY block)".into(),
            });
        }
        Err(PemKeyError::Refused(reason)) => return Err(KeystoreProblem::Unsupported(reason)),
    };
    let key = match (key, key_password) {
        (PemKey::Plain(der), None) => der,
        (PemKey::Plain(_), Some(_)) => return Err(KeystoreProblem::KeyNotEncrypted),
        (PemKey::Encrypted(_), None) => return Err(KeystoreProblem::KeyEncrypted),
        (PemKey::Encrypted(der), Some(password)) => {
            private_key::decrypt(&der, password).map_err(|e| match e {
                DecryptError::WrongPassword => KeystoreProblem::WrongKeyPassword {
                    entry: String::new(),
                    hint: String::new(),
                },
                DecryptError::Unsupported(reason) => KeystoreProblem::Unsupported(reason),
                DecryptError::Malformed(reason) => KeystoreProblem::Malformed(reason),
            })?
        }
    };
    let chain = pem::certificates(cert_text).map_err(KeystoreProblem::Malformed)?;
    finish(key, chain, None, 1)
}

/// When a key entry was not found: a store of trusted certificates only is a truststore.
fn trusted_only_hint(certificates: usize) -> String {
    match certificates {
        0 => String::new(),
        n => format!(
            " ({n} certificate(s) only: this looks like a truststore; a keystore needs a key \
             entry, e.g. from keytool -genkeypair or openssl pkcs12 -export -inkey)"
        ),
    }
}

fn default_key_password_hint(key_password: Option<&str>) -> String {
    if key_password.is_none() {
        " (ssl.key.password is not set, so the keystore password was tried, as Kafka does)".into()
    } else {
        String::new()
    }
}

/// Checks the key and chain and writes them as PEM.
fn finish(
    key: Vec<u8>,
    chain: Vec<Vec<u8>>,
    alias: Option<&str>,
    key_entries: usize,
) -> Result<ClientIdentity, KeystoreProblem> {
    let parsed_key = private_key::parse_pkcs8(&key).map_err(|e| {
        KeystoreProblem::Malformed(format!("the private key is not PKCS#8 DER: {e}"))
    })?;
    let mut certificates = Vec::with_capacity(chain.len());
    for (index, der) in chain.iter().enumerate() {
        certificates.push(private_key::parse_certificate(der).map_err(|err| {
            KeystoreProblem::Malformed(format!("certificate {} is not DER X.509: {err}", index + 1))
        })?);
    }
    let leaf = certificates
        .first()
        .ok_or_else(|| KeystoreProblem::NoCertificate {
            entry: entry(alias),
        })?;
    let matches = private_key::matches_certificate(&parsed_key, leaf).map_err(|e| {
        KeystoreProblem::Malformed(format!("reading the key or its certificate: {e}"))
    })?;
    if !matches {
        return Err(KeystoreProblem::Mismatch {
            entry: entry(alias),
        });
    }
    Ok(ClientIdentity {
        certificate_pem: pem::encode(&chain),
        key_pem: Secret::new(pem::encode_block("PRIVATE KEY", &key)),
        alias: alias.map(str::to_owned),
        key_entries,
    })
}
