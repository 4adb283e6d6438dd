//! Sun's `KeyProtector`: how a JKS file protects each private key entry.
//!
//! The entry's protected key is a DER `EncryptedPrivateKeyInfo` whose algorithm is Sun's
//! proprietary OID 1.3.6.1.4.1.42.2.17.1.1 and whose data is
//!
//! ```text
//! salt (20 bytes) || PKCS#8 key XOR keystream || SHA-1(password || PKCS#8 key) (20 bytes)
//! keystream = D1 || D2 || ...,  D1 = SHA-1(password || salt),  Dn = SHA-1(password || Dn-1)
//! ```
//!
//! with the password as UTF-16BE (Java's `char`s, two bytes each). The trailing digest is the
//! only integrity check: a wrong password yields a different keystream, so a different
//! plaintext, whose digest does not match. It is a weak scheme (SHA-1, no iterations), which is
//! why keytool moved to PKCS#12; it is implemented here only because existing JKS keystores use
//! it, and reading them is all Strait does.

use super::der::{OCTET_STRING, OID, Reader, SEQUENCE};
use sha1::{Digest, Sha1};

/// `1.3.6.1.4.1.42.2.17.1.1`, DER contents octets.
const OID_KEY_PROTECTOR: &[u8] = &[0x2B, 0x06, 0x01, 0x04, 0x01, 0x2A, 0x02, 0x11, 0x01, 0x01];
const SALT_LEN: usize = 20;
const DIGEST_LEN: usize = 20;

/// Why a JKS private key could not be recovered.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum RecoverError {
    /// The integrity digest does not match: the key password is wrong (or the entry damaged).
    WrongPassword,
    /// The entry is protected by another algorithm (Java only writes this one to JKS).
    UnsupportedAlgorithm,
    /// The protected key is not the structure described above.
    Malformed(String),
}

/// The PKCS#8 `PrivateKeyInfo` DER protected in `protected` (a DER `EncryptedPrivateKeyInfo`).
pub(super) fn recover(protected: &[u8], password: &str) -> Result<Vec<u8>, RecoverError> {
    let malformed = |e: super::der::DerError| RecoverError::Malformed(e.0);
    let mut info = Reader::new(
        Reader::new(protected)
            .expect(SEQUENCE, "the EncryptedPrivateKeyInfo")
            .map_err(malformed)?,
    );
    let mut algorithm = Reader::new(
        info.expect(SEQUENCE, "the protection algorithm")
            .map_err(malformed)?,
    );
    if algorithm
        .expect(OID, "the protection algorithm OID")
        .map_err(malformed)?
        != OID_KEY_PROTECTOR
    {
        return Err(RecoverError::UnsupportedAlgorithm);
    }
    let data = info
        .expect(OCTET_STRING, "the protected key")
        .map_err(malformed)?;
    if data.len() <= SALT_LEN + DIGEST_LEN {
        return Err(RecoverError::Malformed(
            "the protected key is too short".into(),
        ));
    }
    let (salt, rest) = data.split_at(SALT_LEN);
    let (encrypted, check) = rest.split_at(rest.len() - DIGEST_LEN);

    let password: Vec<u8> = password.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let mut plain = Vec::with_capacity(encrypted.len());
    let mut digest = [0u8; DIGEST_LEN];
    digest.copy_from_slice(salt);
    for chunk in encrypted.chunks(DIGEST_LEN) {
        let mut hash = Sha1::new();
        hash.update(&password);
        hash.update(digest);
        digest = <[u8; 20]>::from(hash.finalize());
        plain.extend(chunk.iter().zip(digest).map(|(c, k)| c ^ k));
    }

    let mut hash = Sha1::new();
    hash.update(&password);
    hash.update(&plain);
    let computed = <[u8; 20]>::from(hash.finalize());
    // Constant-time comparison: the digest is keyed by the password.
    let differs = computed
        .iter()
        .zip(check)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if differs != 0 {
        return Err(RecoverError::WrongPassword);
    }
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::truststore::der::{NULL, encode};

    /// Protects `key` the way Java's `KeyProtector.protect` does, for round trips.
    pub(in super::super) fn protect(key: &[u8], password: &str, salt: [u8; SALT_LEN]) -> Vec<u8> {
        let pw: Vec<u8> = password.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let mut data = salt.to_vec();
        let mut digest = salt;
        for chunk in key.chunks(DIGEST_LEN) {
            let mut hash = Sha1::new();
            hash.update(&pw);
            hash.update(digest);
            digest = <[u8; 20]>::from(hash.finalize());
            data.extend(chunk.iter().zip(digest).map(|(c, k)| c ^ k));
        }
        let mut hash = Sha1::new();
        hash.update(&pw);
        hash.update(key);
        data.extend(<[u8; 20]>::from(hash.finalize()));
        let algorithm = encode(
            SEQUENCE,
            &[encode(OID, OID_KEY_PROTECTOR), encode(NULL, &[])].concat(),
        );
        encode(SEQUENCE, &[algorithm, encode(OCTET_STRING, &data)].concat())
    }

    #[test]
    fn round_trips_keys_of_every_length() {
        for len in [1usize, 19, 20, 21, 40, 41, 1217] {
            let key: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let protected = protect(&key, "pässwörd€", [3; SALT_LEN]);
            assert_eq!(recover(&protected, "pässwörd€").unwrap(), key, "{len}");
            assert_eq!(
                recover(&protected, "password"),
                Err(RecoverError::WrongPassword)
            );
        }
    }

    #[test]
    fn other_algorithms_and_damage_are_refused() {
        let protected = protect(b"key bytes", "pw", [1; SALT_LEN]);
        let mut other = protected.clone();
        let at = other
            .windows(OID_KEY_PROTECTOR.len())
            .position(|w| w == OID_KEY_PROTECTOR)
            .unwrap();
        other[at + OID_KEY_PROTECTOR.len() - 1] = 2;
        assert_eq!(
            recover(&other, "pw"),
            Err(RecoverError::UnsupportedAlgorithm)
        );
        for len in 0..protected.len() {
            assert!(recover(&protected[..len], "pw").is_err(), "prefix {len}");
        }
        let mut flipped = protected;
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(recover(&flipped, "pw"), Err(RecoverError::WrongPassword));
    }
}
