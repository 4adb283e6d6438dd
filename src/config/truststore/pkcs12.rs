//! PKCS#12 truststores, and the private key entry of PKCS#12 keystores.
//!
//! Java's `PKCS12KeyStore` treats a certificate bag as a trusted certificate entry only when it
//! carries Oracle's `trustedKeyUsage` attribute (OID 2.16.840.1.113894.746875.1.1), which keytool
//! writes on `-importcert`. Bags without it are chain certificates of key entries, or come from
//! `openssl pkcs12 -export` (before OpenSSL 3.2's `-jdktrust`); Java does not trust them, and
//! neither does this module, so a store behaves the same under Strait as under MirrorMaker 2.
//!
//! With a password, the `p12-keystore` crate decodes the file: it checks the MAC and decrypts the
//! bags (keytool's default since JDK 12 is PBES2 with AES-256 and an HMAC-SHA256 MAC; legacy
//! RC2/3DES with HMAC-SHA1 works too). Without a password, Java skips the MAC and the encrypted
//! parts of the file and keeps what is stored in the clear; `p12-keystore` always checks the MAC
//! and cannot skip encrypted parts, so this module walks the DER itself for that case.
//!
//! As a keystore, the file's first private key bag is the client's key, and its chain is built as
//! Java builds it: the certificate with the key's `localKeyId`, then each certificate's issuer
//! (by name) among all certificates of the file, up to a self-signed one.

use p12_keystore::Pkcs12Archive;
use p12_keystore::error::Error as P12Error;

use super::Problem;
use super::der::{CONTEXT_0, INTEGER, OCTET_STRING, OID, Reader, SEQUENCE, SET};

/// `id-data` (1.2.840.113549.1.7.1), DER contents octets.
const OID_DATA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01];
/// `id-encryptedData` (1.2.840.113549.1.7.6).
const OID_ENCRYPTED_DATA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x06];
/// `certBag` (1.2.840.113549.1.12.10.1.3).
const OID_CERT_BAG: &[u8] = &[
    0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x0C, 0x0A, 0x01, 0x03,
];
/// `x509Certificate` (1.2.840.113549.1.9.22.1).
const OID_X509_CERTIFICATE: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x16, 0x01];
/// Oracle's `trustedKeyUsage` (2.16.840.1.113894.746875.1.1).
const OID_TRUSTED_KEY_USAGE: &[u8] = &[
    0x60, 0x86, 0x48, 0x01, 0x86, 0xF9, 0x66, 0xAD, 0xCA, 0x7B, 0x01, 0x01,
];

/// What a PKCS#12 file holds, as far as a truststore cares.
#[derive(Debug, Default)]
pub(super) struct P12Contents {
    /// DER certificates of the trusted certificate bags, in file order.
    pub(super) trusted: Vec<Vec<u8>>,
    /// Certificate bags without the trusted attribute (ignored).
    pub(super) untrusted: usize,
    /// Encrypted parts skipped because no password was given.
    pub(super) encrypted_skipped: usize,
}

/// Reads the certificates of a PKCS#12 file.
pub(super) fn read(data: &[u8], password: Option<&str>) -> Result<P12Contents, Problem> {
    match password {
        Some(password) => with_password(data, password),
        None => without_password(data),
    }
}

fn with_password(data: &[u8], password: &str) -> Result<P12Contents, Problem> {
    let archive = Pkcs12Archive::from_pkcs12(data, password).map_err(problem)?;
    let mut contents = P12Contents::default();
    for bag in archive.certs {
        if bag.trusted {
            contents.trusted.push(bag.cert.as_der().to_vec());
        } else {
            contents.untrusted += 1;
        }
    }
    Ok(contents)
}

/// The first private key of a PKCS#12 keystore, with its certificate chain.
#[derive(Debug)]
pub(super) struct P12Key {
    /// The PKCS#8 `PrivateKeyInfo` DER.
    pub(super) key: Vec<u8>,
    /// DER certificates, the key's own first.
    pub(super) chain: Vec<Vec<u8>>,
    /// The key bag's friendly name (Java's alias), if any.
    pub(super) alias: Option<String>,
    /// How many private keys the file holds.
    pub(super) key_count: usize,
}

/// Why a PKCS#12 file gave no usable key.
#[derive(Debug)]
pub(super) enum P12KeyError {
    /// The MAC does not verify (or, without a MAC, nothing decrypts): wrong store password.
    WrongStorePassword,
    /// The MAC verifies but a bag does not decrypt with the same password.
    KeyNotDecryptable,
    /// No private key bag; how many certificate bags there are.
    NoKey { certificates: usize },
    /// A key without any certificate whose `localKeyId` or alias names it.
    NoCertificate,
    /// A feature `p12-keystore` does not implement.
    Unsupported(String),
    /// Not PKCS#12 as expected.
    Malformed(String),
}

/// Reads the first private key of a PKCS#12 file and its chain, with `password` for the MAC and
/// every encrypted bag (keytool writes PKCS#12 stores with one password for both).
pub(super) fn read_key(data: &[u8], password: &str) -> Result<P12Key, P12KeyError> {
    let archive = Pkcs12Archive::from_pkcs12(data, password).map_err(|e| {
        let mac_failed = matches!(e, P12Error::MacError(_));
        match problem(e) {
            // The MAC is checked first: if it verified, the password is the store's, and a bag
            // that still does not decrypt was protected with another one.
            Problem::WrongPassword if !mac_failed && has_mac(data) => {
                P12KeyError::KeyNotDecryptable
            }
            Problem::WrongPassword => P12KeyError::WrongStorePassword,
            Problem::Unsupported(reason) => P12KeyError::Unsupported(reason),
            Problem::Malformed(reason) => P12KeyError::Malformed(reason),
        }
    })?;
    let key_count = archive.keys.len();
    let Some(bag) = archive.keys.into_iter().next() else {
        return Err(P12KeyError::NoKey {
            certificates: archive.certs.len(),
        });
    };
    let own = archive
        .certs
        .iter()
        .position(|c| match (&bag.local_key_id, &c.local_key_id) {
            (Some(key_id), Some(cert_id)) => key_id.0 == *cert_id,
            _ => bag.friendly_name.is_some() && c.friendly_name == bag.friendly_name,
        });
    let Some(own) = own else {
        return Err(P12KeyError::NoCertificate);
    };
    let certs = &archive.certs;
    let mut chain = vec![own];
    // Each certificate's issuer, by name, up to a self-signed one; a certificate already in the
    // chain ends it, so a loop of names cannot make it grow forever.
    while let Some(cert) = chain.last().and_then(|&i| certs.get(i)).map(|c| &c.cert) {
        if cert.issuer() == cert.subject() {
            break;
        }
        match certs.iter().position(|c| c.cert.subject() == cert.issuer()) {
            Some(issuer) if !chain.contains(&issuer) => chain.push(issuer),
            _ => break,
        }
    }
    Ok(P12Key {
        key: bag.key.as_der().to_vec(),
        chain: chain
            .into_iter()
            .filter_map(|i| certs.get(i))
            .map(|c| c.cert.as_der().to_vec())
            .collect(),
        alias: bag.friendly_name,
        key_count,
    })
}

/// Whether the PFX has `macData` (the optional third field of its SEQUENCE).
fn has_mac(data: &[u8]) -> bool {
    let Ok(pfx) = Reader::new(data).expect(SEQUENCE, "the PFX SEQUENCE") else {
        return false;
    };
    let mut pfx = Reader::new(pfx);
    pfx.expect(INTEGER, "the PFX version").is_ok()
        && pfx.expect(SEQUENCE, "the authSafe").is_ok()
        && !pfx.is_empty()
}

/// Sorts a `p12-keystore` error into what the user must do about it.
fn problem(err: P12Error) -> Problem {
    match err {
        // A MAC mismatch, or (in a MAC-less file) a decryption that fails, is what a wrong
        // password looks like; corruption looks the same, which the message says.
        P12Error::MacError(_) | P12Error::UnpadError => Problem::WrongPassword,
        P12Error::Pkcs5Error(ref reason) if reason.contains("decryption failed") => {
            Problem::WrongPassword
        }
        P12Error::Pkcs5Error(_)
        | P12Error::UnsupportedEncryptionScheme
        | P12Error::UnsupportedMacAlgorithm
        | P12Error::UnsupportedContentType
        | P12Error::UnsupportedCertificateType
        | P12Error::InvalidVersion => Problem::Unsupported(err.to_string()),
        other => Problem::Malformed(other.to_string()),
    }
}

/// Java's password-less load: no MAC check, encrypted parts skipped, clear bags read.
fn without_password(data: &[u8]) -> Result<P12Contents, Problem> {
    let mut pfx = Reader::new(Reader::new(data).expect(SEQUENCE, "the PFX SEQUENCE")?);
    if pfx.expect(INTEGER, "the PFX version")? != [3] {
        return Err(Problem::Unsupported("PKCS#12 version other than 3".into()));
    }
    let auth_safe = match content_info(pfx.expect(SEQUENCE, "the authSafe ContentInfo")?)? {
        Content::Data(bytes) => bytes,
        Content::Encrypted | Content::Other => {
            return Err(Problem::Unsupported(
                "public-key integrity mode (the authSafe is not plain data)".into(),
            ));
        }
    };
    // The MAC that follows is skipped: there is no password to check it with.

    let mut contents = P12Contents::default();
    let mut infos = Reader::new(Reader::new(auth_safe).expect(SEQUENCE, "the AuthenticatedSafe")?);
    while !infos.is_empty() {
        match content_info(infos.expect(SEQUENCE, "a ContentInfo")?)? {
            Content::Data(safe_contents) => read_bags(safe_contents, &mut contents)?,
            Content::Encrypted => contents.encrypted_skipped += 1,
            Content::Other => {
                return Err(Problem::Unsupported(
                    "public-key privacy mode (enveloped data)".into(),
                ));
            }
        }
    }
    Ok(contents)
}

enum Content<'a> {
    /// The contents of a `data` ContentInfo.
    Data(&'a [u8]),
    Encrypted,
    Other,
}

fn content_info(info: &[u8]) -> Result<Content<'_>, Problem> {
    let mut info = Reader::new(info);
    let content_type = info.expect(OID, "a content type")?;
    if content_type == OID_DATA {
        let explicit = info.expect(CONTEXT_0, "the [0] content")?;
        Ok(Content::Data(
            Reader::new(explicit).expect(OCTET_STRING, "the data OCTET STRING")?,
        ))
    } else if content_type == OID_ENCRYPTED_DATA {
        Ok(Content::Encrypted)
    } else {
        Ok(Content::Other)
    }
}

/// Collects the certificate bags of one `SafeContents`; other bags (keys, secrets) are skipped.
fn read_bags(safe_contents: &[u8], contents: &mut P12Contents) -> Result<(), Problem> {
    let mut bags = Reader::new(Reader::new(safe_contents).expect(SEQUENCE, "SafeContents")?);
    while !bags.is_empty() {
        let mut bag = Reader::new(bags.expect(SEQUENCE, "a SafeBag")?);
        let bag_type = bag.expect(OID, "a bag type")?;
        let value = bag.expect(CONTEXT_0, "a bag value")?;
        if bag_type != OID_CERT_BAG {
            continue;
        }
        let trusted = if bag.is_empty() {
            false
        } else {
            has_trusted_attribute(bag.expect(SET, "bag attributes")?)?
        };
        let mut cert_bag = Reader::new(Reader::new(value).expect(SEQUENCE, "a CertBag")?);
        if cert_bag.expect(OID, "a certificate type")? != OID_X509_CERTIFICATE {
            return Err(Problem::Unsupported(
                "a certificate bag holds a non-X.509 certificate".into(),
            ));
        }
        let explicit = cert_bag.expect(CONTEXT_0, "the [0] certificate value")?;
        let der = Reader::new(explicit).expect(OCTET_STRING, "the certificate OCTET STRING")?;
        if trusted {
            contents.trusted.push(der.to_vec());
        } else {
            contents.untrusted += 1;
        }
    }
    Ok(())
}

/// Whether a bag's attribute set has `trustedKeyUsage`; Java looks only at its presence.
fn has_trusted_attribute(attributes: &[u8]) -> Result<bool, Problem> {
    let mut attributes = Reader::new(attributes);
    while !attributes.is_empty() {
        let mut attribute = Reader::new(attributes.expect(SEQUENCE, "a bag attribute")?);
        if attribute.expect(OID, "an attribute type")? == OID_TRUSTED_KEY_USAGE {
            return Ok(true);
        }
    }
    Ok(false)
}
