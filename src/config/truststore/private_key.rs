//! PKCS#8 private keys: finding the one key of a PEM keystore, decrypting an encrypted PKCS#8
//! key, and checking that a certificate belongs to a key. The cryptography is OpenSSL's, the
//! same library librdkafka hands the key to, so what passes here is what the client can use.
//!
//! Kafka's PEM keystores take PKCS#8 keys only (`BEGIN PRIVATE KEY`, or `BEGIN ENCRYPTED
//! PRIVATE KEY` with `ssl.key.password`); OpenSSL's older key forms (`BEGIN RSA PRIVATE KEY`,
//! `BEGIN EC PRIVATE KEY`, with or without `Proc-Type` encryption headers) fail in Java, so they
//! are refused here too, with the command that converts them.

use openssl::error::ErrorStack;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

use super::der::{OCTET_STRING, Reader, SEQUENCE};
use super::pem::Block;

/// What to do with `openssl`'s older key forms.
const CONVERT: &str = "Kafka reads PKCS#8 keys only; convert it with \
                       `openssl pkcs8 -topk8 -nocrypt -in key.pem` (or `-v2 aes-256-cbc` to \
                       encrypt it)";

/// The private key block of a PEM text.
#[derive(Debug)]
pub(super) enum PemKey {
    /// `BEGIN PRIVATE KEY`: PKCS#8 `PrivateKeyInfo` DER.
    Plain(Vec<u8>),
    /// `BEGIN ENCRYPTED PRIVATE KEY`: PKCS#8 `EncryptedPrivateKeyInfo` DER.
    Encrypted(Vec<u8>),
}

/// Why no usable key was found in a PEM text.
#[derive(Debug)]
pub(super) enum PemKeyError {
    /// No private key block at all.
    Missing,
    /// A key Kafka cannot read, or several keys; the reason.
    Refused(String),
}

/// The one private key among `blocks`.
pub(super) fn pem_key(blocks: &[Block<'_>]) -> Result<PemKey, PemKeyError> {
    let keys: Vec<&Block<'_>> = blocks
        .iter()
        .filter(|b| b.label.ends_with("PRIVATE KEY"))
        .collect();
    let block = match keys.as_slice() {
        [] => return Err(PemKeyError::Missing),
        [one] => *one,
        several => {
            return Err(PemKeyError::Refused(format!(
                "it holds {} private keys (lines {}); a keystore has one",
                several.len(),
                several
                    .iter()
                    .map(|b| b.start.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    };
    if block.has_headers {
        return Err(PemKeyError::Refused(format!(
            "the key at line {} is encrypted the legacy OpenSSL way (Proc-Type header); {CONVERT}",
            block.start
        )));
    }
    let der = block.der().map_err(PemKeyError::Refused)?;
    match block.label {
        "PRIVATE KEY" => Ok(PemKey::Plain(der)),
        "ENCRYPTED PRIVATE KEY" => Ok(PemKey::Encrypted(der)),
        other => Err(PemKeyError::Refused(format!(
            "the key at line {} is a '{other}' (not PKCS#8); {CONVERT}",
            block.start
        ))),
    }
}

/// Why an encrypted PKCS#8 key could not be decrypted.
#[derive(Debug)]
pub(super) enum DecryptError {
    /// The password is wrong (or the data damaged: the two look the same).
    WrongPassword,
    /// The encryption scheme is not one this build can decrypt.
    Unsupported(String),
    /// The structure is not an `EncryptedPrivateKeyInfo`.
    Malformed(String),
}

/// Decrypts a PKCS#8 `EncryptedPrivateKeyInfo` (DER) into its `PrivateKeyInfo` (DER).
///
/// OpenSSL reads every scheme `openssl pkcs8 -topk8` writes (PBES2 with any PBKDF2 PRF or
/// scrypt, AES or 3DES; PKCS#12's SHA-1 schemes), which covers what Java's
/// `EncryptedPrivateKeyInfo` (Kafka's PEM reader) accepts.
pub(super) fn decrypt(encrypted: &[u8], password: &str) -> Result<Vec<u8>, DecryptError> {
    check_encrypted_info(encrypted).map_err(|e| DecryptError::Malformed(e.0))?;
    let key = PKey::private_key_from_pkcs8_passphrase(encrypted, password.as_bytes()).map_err(
        |stack| match unsupported_reason(&stack) {
            Some(reason) => DecryptError::Unsupported(format!(
                "the key's encryption: {reason} (PBES2 with PBKDF2 or scrypt and AES or 3DES, \
                 as `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes, is supported)"
            )),
            // Once the structure is known good, a failure is the password (or damage that
            // cannot be told apart from it: the padding or the decrypted DER is wrong).
            None => DecryptError::WrongPassword,
        },
    )?;
    key.private_key_to_pkcs8()
        .map_err(|e| DecryptError::Malformed(format!("re-encoding the decrypted key: {e}")))
}

/// Checks the outer `EncryptedPrivateKeyInfo` shape: an algorithm and the encrypted octets.
fn check_encrypted_info(der: &[u8]) -> Result<(), super::der::DerError> {
    let mut outer = Reader::new(der);
    let mut info = Reader::new(outer.expect(SEQUENCE, "the EncryptedPrivateKeyInfo")?);
    if !outer.is_empty() {
        return Err(super::der::DerError(
            "trailing bytes after the EncryptedPrivateKeyInfo".into(),
        ));
    }
    info.expect(SEQUENCE, "the encryption algorithm")?;
    info.expect(OCTET_STRING, "the encrypted key")?;
    Ok(())
}

/// OpenSSL's reason when the failure is an algorithm it does not provide.
fn unsupported_reason(stack: &ErrorStack) -> Option<String> {
    stack
        .errors()
        .iter()
        .filter_map(|e| e.reason())
        .find(|r| r.contains("unsupported") || r.contains("unknown"))
        .map(str::to_owned)
}

/// Reads a PKCS#8 `PrivateKeyInfo` (DER) as OpenSSL will when the client is created.
pub(super) fn parse_pkcs8(der: &[u8]) -> Result<PKey<Private>, String> {
    PKey::private_key_from_pkcs8(der).map_err(|e| first_reason(&e))
}

/// Whether the key and the X.509 certificate hold the same public key.
pub(super) fn matches_certificate(key: &PKey<Private>, cert: &X509) -> Result<bool, String> {
    let public = cert.public_key().map_err(|e| first_reason(&e))?;
    Ok(key.public_eq(&public))
}

/// Reads one DER X.509 certificate, refusing trailing bytes (a sign of a wrong decoding).
pub(super) fn parse_certificate(der: &[u8]) -> Result<X509, String> {
    let cert = X509::from_der(der).map_err(|e| first_reason(&e))?;
    // OpenSSL keeps the certificate's original encoding, so a shorter re-encoding means bytes
    // followed the certificate.
    match cert.to_der() {
        Ok(again) if again.len() == der.len() => Ok(cert),
        Ok(_) => Err("trailing bytes after the certificate".into()),
        Err(e) => Err(first_reason(&e)),
    }
}

/// OpenSSL's first reason string, or a generic one.
fn first_reason(stack: &ErrorStack) -> String {
    stack
        .errors()
        .iter()
        .find_map(|e| e.reason())
        .map_or_else(|| "invalid data".to_owned(), str::to_owned)
}
