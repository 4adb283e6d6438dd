//! PKCS#8 private keys: finding the one key of a PEM keystore, decrypting an encrypted PKCS#8
//! key, and the cheap check that a certificate belongs to a key.
//!
//! Kafka's PEM keystores take PKCS#8 keys only (`BEGIN PRIVATE KEY`, or `BEGIN ENCRYPTED
//! PRIVATE KEY` with `ssl.key.password`); OpenSSL's older key forms (`BEGIN RSA PRIVATE KEY`,
//! `BEGIN EC PRIVATE KEY`, with or without `Proc-Type` encryption headers) fail in Java, so they
//! are refused here too, with the command that converts them.

use p12_keystore::Pkcs12Archive;
use p12_keystore::error::Error as P12Error;

use super::der::{
    BIT_STRING, CONTEXT_0, CONTEXT_1, DerError, INTEGER, OCTET_STRING, OID, Reader, SEQUENCE,
    encode,
};
use super::pem::Block;

/// `rsaEncryption` (1.2.840.113549.1.1.1).
const OID_RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];
/// `id-ecPublicKey` (1.2.840.10045.2.1).
const OID_EC: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
/// `id-data` (1.2.840.113549.1.7.1).
const OID_DATA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01];
/// `pkcs8ShroudedKeyBag` (1.2.840.113549.1.12.10.1.2).
const OID_SHROUDED_KEY_BAG: &[u8] = &[
    0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x0C, 0x0A, 0x01, 0x02,
];

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
/// A PKCS#12 "shrouded key bag" is exactly an `EncryptedPrivateKeyInfo`, and `p12-keystore`
/// (already used for PKCS#12 stores) decrypts those: PBES2 with PBKDF2-HMAC-SHA256 and AES, as
/// `openssl pkcs8 -topk8` writes by default, and PKCS#12's SHA-1 based 3DES/RC2 schemes. So the
/// key is wrapped in a minimal PKCS#12 file (no MAC, one unencrypted bag holding it) and that
/// file decoded, rather than adding a dependency for one decryption.
pub(super) fn decrypt(encrypted: &[u8], password: &str) -> Result<Vec<u8>, DecryptError> {
    check_single(encrypted, "the EncryptedPrivateKeyInfo")
        .map_err(|e| DecryptError::Malformed(e.0))?;
    let bag = encode(
        SEQUENCE,
        &[
            encode(OID, OID_SHROUDED_KEY_BAG),
            encode(CONTEXT_0, encrypted),
        ]
        .concat(),
    );
    let safe_contents = encode(SEQUENCE, &bag);
    let data = |content: &[u8]| {
        encode(
            SEQUENCE,
            &[
                encode(OID, OID_DATA),
                encode(CONTEXT_0, &encode(OCTET_STRING, content)),
            ]
            .concat(),
        )
    };
    let auth_safe = encode(SEQUENCE, &data(&safe_contents));
    let pfx = encode(
        SEQUENCE,
        &[encode(INTEGER, &[3]), data(&auth_safe)].concat(),
    );
    let archive = Pkcs12Archive::from_pkcs12(&pfx, password).map_err(|e| match e {
        P12Error::UnpadError | P12Error::InvalidPrivateKey => DecryptError::WrongPassword,
        P12Error::Pkcs5Error(ref reason) if reason.contains("decryption failed") => {
            DecryptError::WrongPassword
        }
        // An algorithm the decoder does not know surfaces as a DER error naming the OID.
        P12Error::UnsupportedEncryptionScheme
        | P12Error::InvalidParameters
        | P12Error::Pkcs5Error(_) => unsupported(&e),
        P12Error::DerError(ref d) if d.to_string().contains("unsupported") => unsupported(&e),
        other => DecryptError::Malformed(other.to_string()),
    })?;
    archive
        .keys
        .into_iter()
        .next()
        .map(|bag| bag.key.as_der().to_vec())
        .ok_or_else(|| DecryptError::Malformed("no key in the encrypted data".into()))
}

fn unsupported(e: &P12Error) -> DecryptError {
    DecryptError::Unsupported(format!(
        "the key's encryption: {e} (PBES2 with PBKDF2-HMAC-SHA256/384/512 or scrypt and AES, \
         as `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes, and PKCS#12's SHA-1/3DES are \
         supported)"
    ))
}

fn check_single(der: &[u8], what: &str) -> Result<(), DerError> {
    let mut r = Reader::new(der);
    r.expect(SEQUENCE, what)?;
    if r.is_empty() {
        Ok(())
    } else {
        Err(DerError(format!("trailing bytes after {what}")))
    }
}

/// Checks that `der` looks like a PKCS#8 `PrivateKeyInfo`: version, algorithm, key octets.
pub(super) fn check_pkcs8(der: &[u8]) -> Result<(), DerError> {
    check_single(der, "the PrivateKeyInfo")?;
    let mut info = Reader::new(Reader::new(der).expect(SEQUENCE, "the PrivateKeyInfo")?);
    info.expect(INTEGER, "the PrivateKeyInfo version")?;
    info.expect(SEQUENCE, "the key algorithm")?;
    info.expect(OCTET_STRING, "the private key")?;
    Ok(())
}

/// Whether the PKCS#8 key `key` belongs to the X.509 certificate `cert`, compared on the public
/// key both hold: the RSA modulus and exponent, or the EC point when the key carries it (OpenSSL
/// writes it; Java does not). `None` when that cannot be told cheaply (other algorithms, an EC
/// key without its point); OpenSSL checks those when the client is created.
pub(super) fn matches_certificate(key: &[u8], cert: &[u8]) -> Result<Option<bool>, DerError> {
    let (key_algorithm, private) = pkcs8_parts(key)?;
    let (cert_algorithm, public) = certificate_public_key(cert)?;
    let known = |oid: &[u8]| oid == OID_RSA || oid == OID_EC;
    if key_algorithm != cert_algorithm {
        return Ok((known(key_algorithm) && known(cert_algorithm)).then_some(false));
    }
    if key_algorithm == OID_RSA {
        // RSAPrivateKey: version, modulus, publicExponent, ...; RSAPublicKey: modulus,
        // publicExponent. DER integers are minimal, so equal numbers are equal bytes.
        let mut rsa = Reader::new(Reader::new(private).expect(SEQUENCE, "the RSAPrivateKey")?);
        rsa.expect(INTEGER, "the RSAPrivateKey version")?;
        let (n, e) = (
            rsa.expect(INTEGER, "the RSA modulus")?,
            rsa.expect(INTEGER, "the RSA exponent")?,
        );
        let bits = public
            .split_first()
            .filter(|(unused, _)| **unused == 0)
            .map(|(_, rest)| rest)
            .ok_or_else(|| DerError("the certificate's RSA key is not whole bytes".into()))?;
        let mut pk = Reader::new(Reader::new(bits).expect(SEQUENCE, "the RSAPublicKey")?);
        let (pn, pe) = (
            pk.expect(INTEGER, "the RSA modulus")?,
            pk.expect(INTEGER, "the RSA exponent")?,
        );
        return Ok(Some(n == pn && e == pe));
    }
    if key_algorithm == OID_EC {
        // ECPrivateKey: version, privateKey, [0] parameters OPTIONAL, [1] publicKey OPTIONAL.
        let mut ec = Reader::new(Reader::new(private).expect(SEQUENCE, "the ECPrivateKey")?);
        ec.expect(INTEGER, "the ECPrivateKey version")?;
        ec.expect(OCTET_STRING, "the EC private key")?;
        while !ec.is_empty() {
            let field = ec.read()?;
            if field.tag == CONTEXT_1 {
                let point = Reader::new(field.value).expect(BIT_STRING, "the EC public key")?;
                return Ok(Some(point == public));
            }
        }
    }
    Ok(None)
}

/// The algorithm OID and the private key octets of a PKCS#8 `PrivateKeyInfo`.
fn pkcs8_parts(key: &[u8]) -> Result<(&[u8], &[u8]), DerError> {
    let mut info = Reader::new(Reader::new(key).expect(SEQUENCE, "the PrivateKeyInfo")?);
    info.expect(INTEGER, "the PrivateKeyInfo version")?;
    let mut algorithm = Reader::new(info.expect(SEQUENCE, "the key algorithm")?);
    let oid = algorithm.expect(OID, "the key algorithm OID")?;
    let private = info.expect(OCTET_STRING, "the private key")?;
    Ok((oid, private))
}

/// The algorithm OID and the `subjectPublicKey` BIT STRING contents of an X.509 certificate.
fn certificate_public_key(cert: &[u8]) -> Result<(&[u8], &[u8]), DerError> {
    let mut certificate = Reader::new(Reader::new(cert).expect(SEQUENCE, "the certificate")?);
    let mut tbs = Reader::new(certificate.expect(SEQUENCE, "the TBSCertificate")?);
    if tbs.peek_tag() == Some(CONTEXT_0) {
        tbs.read()?; // version
    }
    tbs.expect(INTEGER, "the serial number")?;
    tbs.expect(SEQUENCE, "the signature algorithm")?;
    tbs.expect(SEQUENCE, "the issuer")?;
    tbs.expect(SEQUENCE, "the validity")?;
    tbs.expect(SEQUENCE, "the subject")?;
    let mut spki = Reader::new(tbs.expect(SEQUENCE, "the subject public key info")?);
    let mut algorithm = Reader::new(spki.expect(SEQUENCE, "the public key algorithm")?);
    let oid = algorithm.expect(OID, "the public key algorithm OID")?;
    let public = spki.expect(BIT_STRING, "the public key")?;
    Ok((oid, public))
}
