//! Java KeyStore (JKS) reading, after the layout `sun.security.provider.JavaKeyStore` writes:
//!
//! ```text
//! u32 magic 0xFEEDFEED, u32 version (1 or 2), u32 entry count, entries, 20-byte SHA-1 digest
//! entry tag 1 (private key):   UTF alias, u64 date, u32 len + protected key,
//!                              u32 chain length, chain of [UTF type (v2)] u32 len + DER
//! entry tag 2 (trusted cert):  UTF alias, u64 date, [UTF type (v2)], u32 len + DER
//! digest = SHA-1(password as UTF-16BE || "Mighty Aphrodite" || every byte before the digest)
//! ```
//!
//! "UTF" is Java's `DataOutput.writeUTF`: a u16 byte length and modified UTF-8. All integers are
//! big-endian.
//!
//! Trusted certificate entries (tag 2) are what a truststore uses. Private key entries (tag 1)
//! are what a client keystore uses: their protected key (Sun's `KeyProtector` scheme, see the
//! `key_protector` module) and certificate chain are returned as they are, to be decrypted only
//! when a keystore asks for them. A truststore does not use key entries: their chain is an
//! identity, not a trust anchor. Java's `TrustManagerFactory` does trust the first certificate
//! of a key entry's chain, so a keystore used as a truststore behaves differently; the caller's
//! "no certificate" error says how many key entries were skipped, so that case is easy to
//! diagnose.

use super::Problem;
use sha1::{Digest, Sha1};

/// The first four bytes of a JKS file.
pub(super) const MAGIC: [u8; 4] = [0xFE, 0xED, 0xFE, 0xED];
/// The first four bytes of a JCEKS file (a JKS variant that can hold secret keys).
pub(super) const JCEKS_MAGIC: [u8; 4] = [0xCE, 0xCE, 0xCE, 0xCE];

/// The salt Java mixes into the JKS integrity digest.
const DIGEST_SALT: &[u8] = b"Mighty Aphrodite";
/// SHA-1 output length.
const DIGEST_LEN: usize = 20;

const TAG_PRIVATE_KEY: u32 = 1;
const TAG_TRUSTED_CERT: u32 = 2;
const TAG_SECRET_KEY: u32 = 3;

/// What a JKS file holds.
#[derive(Debug, Default)]
pub(super) struct JksContents {
    /// DER certificates of the trusted certificate entries, in file order.
    pub(super) trusted: Vec<Vec<u8>>,
    /// The private key entries, in file order.
    pub(super) keys: Vec<JksKeyEntry>,
}

/// One private key entry, still protected.
#[derive(Debug)]
pub(super) struct JksKeyEntry {
    /// The entry's alias (lossily decoded from Java's modified UTF-8; only shown in messages).
    pub(super) alias: String,
    /// The DER `EncryptedPrivateKeyInfo` of the key.
    pub(super) protected: Vec<u8>,
    /// DER certificates of the entry's chain, the key's own certificate first.
    pub(super) chain: Vec<Vec<u8>>,
}

/// Parses a JKS file; with a password, verifies its integrity digest first, as Java does. Without
/// one the digest is not checked (Java's `KeyStore.load(in, null)` skips it too).
pub(super) fn read(data: &[u8], password: Option<&str>) -> Result<JksContents, Problem> {
    let mut cur = Cursor { data, pos: 0 };
    if cur.take(4, "the magic number")? != MAGIC {
        return Err(Problem::Malformed(
            "not a JKS file (bad magic number)".into(),
        ));
    }
    let version = cur.u32("the version")?;
    if version != 1 && version != 2 {
        return Err(Problem::Unsupported(format!("JKS version {version}")));
    }
    let count = cur.u32("the entry count")?;

    let mut contents = JksContents::default();
    // No pre-allocation from `count`: it is untrusted, and every entry consumes bytes, so a huge
    // count on a short file ends quickly with a "data ends" error.
    for n in 1..=count {
        match cur.u32("an entry tag")? {
            TAG_PRIVATE_KEY => {
                let alias = String::from_utf8_lossy(cur.utf("a key entry alias")?).into_owned();
                cur.take(8, "a key entry date")?;
                let key_len = cur.len_u32("a key length")?;
                let protected = cur.take(key_len, "a protected private key")?.to_vec();
                let chain_len = cur.u32("a certificate chain length")?;
                // No pre-allocation from `chain_len` either, for the same reason as `count`.
                let mut chain = Vec::new();
                for _ in 0..chain_len {
                    chain.push(certificate(&mut cur, version, n)?.to_vec());
                }
                contents.keys.push(JksKeyEntry {
                    alias,
                    protected,
                    chain,
                });
            }
            TAG_TRUSTED_CERT => {
                cur.utf("a certificate alias")?;
                cur.take(8, "a certificate date")?;
                let der = certificate(&mut cur, version, n)?;
                contents.trusted.push(der.to_vec());
            }
            TAG_SECRET_KEY => {
                return Err(Problem::Unsupported(format!(
                    "entry {n} is a secret key entry, which only JCEKS stores hold"
                )));
            }
            tag => {
                return Err(Problem::Malformed(format!(
                    "entry {n} has unknown tag {tag}"
                )));
            }
        }
    }

    let signed = data
        .get(..cur.pos)
        .ok_or_else(|| Problem::Malformed("entry table overruns the file".into()))?;
    let stored = cur.take(DIGEST_LEN, "the integrity digest")?;
    if let Some(password) = password {
        let mut hash = Sha1::new();
        for unit in password.encode_utf16() {
            hash.update(unit.to_be_bytes());
        }
        hash.update(DIGEST_SALT);
        hash.update(signed);
        if !same_digest(&<[u8; 20]>::from(hash.finalize()), stored) {
            return Err(Problem::WrongPassword);
        }
    }
    // Bytes after the digest are ignored, as Java ignores them.
    Ok(contents)
}

/// Reads one certificate of entry `n`: the type string (version 2 only) and the DER bytes.
fn certificate<'a>(cur: &mut Cursor<'a>, version: u32, n: u32) -> Result<&'a [u8], Problem> {
    if version == 2 {
        let kind = cur.utf("a certificate type")?;
        if kind != b"X.509" {
            let shown: String = String::from_utf8_lossy(kind).chars().take(40).collect();
            return Err(Problem::Unsupported(format!(
                "entry {n} holds a certificate of type {shown:?}; only X.509 is supported"
            )));
        }
    }
    let len = cur.len_u32("a certificate length")?;
    cur.take(len, "a certificate")
}

/// Compares digests without stopping at the first difference.
fn same_digest(computed: &[u8; DIGEST_LEN], stored: &[u8]) -> bool {
    stored.len() == DIGEST_LEN
        && computed
            .iter()
            .zip(stored)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Big-endian reads with a bounds check on every one.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, len: usize, what: &str) -> Result<&'a [u8], Problem> {
        let bytes = self
            .pos
            .checked_add(len)
            .and_then(|end| self.data.get(self.pos..end))
            .ok_or_else(|| {
                Problem::Malformed(format!(
                    "truncated: the data ends at byte {} while reading {what}",
                    self.data.len()
                ))
            })?;
        self.pos += len;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], Problem> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    fn u32(&mut self, what: &str) -> Result<u32, Problem> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    /// A Java `int` length: negative values (top bit set) are corruption.
    fn len_u32(&mut self, what: &str) -> Result<usize, Problem> {
        let len = self.u32(what)?;
        if len > i32::MAX as u32 {
            return Err(Problem::Malformed(format!("negative length for {what}")));
        }
        usize::try_from(len).map_err(|_| Problem::Malformed(format!("{what} is too long")))
    }

    /// A `writeUTF` string, returned as raw (modified UTF-8) bytes.
    fn utf(&mut self, what: &str) -> Result<&'a [u8], Problem> {
        let len = u16::from_be_bytes(self.array(what)?);
        self.take(usize::from(len), what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a JKS file by hand, so the parser is tested independently of keytool.
    fn build(version: u32, entries: &[(u32, &[u8])], password: &str) -> Vec<u8> {
        fn utf(out: &mut Vec<u8>, s: &str) {
            out.extend((s.len() as u16).to_be_bytes());
            out.extend(s.as_bytes());
        }
        fn cert(out: &mut Vec<u8>, version: u32, der: &[u8]) {
            if version == 2 {
                utf(out, "X.509");
            }
            out.extend((der.len() as u32).to_be_bytes());
            out.extend(der);
        }
        let mut out = MAGIC.to_vec();
        out.extend(version.to_be_bytes());
        out.extend((entries.len() as u32).to_be_bytes());
        for (i, (tag, der)) in entries.iter().enumerate() {
            out.extend(tag.to_be_bytes());
            utf(&mut out, &format!("alias{i}"));
            out.extend(0x0102_0304_0506_0708u64.to_be_bytes());
            if *tag == TAG_PRIVATE_KEY {
                out.extend(3u32.to_be_bytes());
                out.extend([9, 9, 9]);
                out.extend(1u32.to_be_bytes());
            }
            cert(&mut out, version, der);
        }
        let mut hash = Sha1::new();
        for unit in password.encode_utf16() {
            hash.update(unit.to_be_bytes());
        }
        hash.update(DIGEST_SALT);
        hash.update(&out);
        out.extend(<[u8; 20]>::from(hash.finalize()));
        out
    }

    #[test]
    fn reads_trusted_entries_and_skips_key_entries() {
        for version in [1, 2] {
            let data = build(
                version,
                &[
                    (TAG_TRUSTED_CERT, b"\x30\x01A"),
                    (TAG_PRIVATE_KEY, b"\x30\x01K"),
                    (TAG_TRUSTED_CERT, b"\x30\x01B"),
                ],
                "pässwörd€",
            );
            let contents = read(&data, Some("pässwörd€")).unwrap();
            assert_eq!(
                contents.trusted,
                vec![b"\x30\x01A".to_vec(), b"\x30\x01B".to_vec()]
            );
            assert_eq!(contents.keys.len(), 1);
            assert_eq!(contents.keys[0].alias, "alias1");
            assert_eq!(contents.keys[0].protected, vec![9, 9, 9]);
            assert_eq!(contents.keys[0].chain, vec![b"\x30\x01K".to_vec()]);
            assert!(read(&data, None).is_ok());
            assert!(matches!(
                read(&data, Some("password")),
                Err(Problem::WrongPassword)
            ));
        }
    }

    #[test]
    fn flipped_byte_fails_the_digest() {
        let mut data = build(2, &[(TAG_TRUSTED_CERT, b"\x30\x01A")], "pw");
        let last_cert_byte = data.len() - DIGEST_LEN - 1;
        data[last_cert_byte] ^= 1;
        assert!(matches!(
            read(&data, Some("pw")),
            Err(Problem::WrongPassword)
        ));
    }

    #[test]
    fn every_truncation_is_an_error() {
        let data = build(
            2,
            &[
                (TAG_PRIVATE_KEY, b"\x30\x00"),
                (TAG_TRUSTED_CERT, b"\x30\x00"),
            ],
            "pw",
        );
        for len in 0..data.len() {
            assert!(read(&data[..len], None).is_err(), "prefix {len}");
            assert!(read(&data[..len], Some("pw")).is_err(), "prefix {len}");
        }
    }

    #[test]
    fn hostile_headers_are_errors() {
        let mut data = MAGIC.to_vec();
        data.extend(3u32.to_be_bytes());
        assert!(matches!(read(&data, None), Err(Problem::Unsupported(_))));

        let mut data = MAGIC.to_vec();
        data.extend(2u32.to_be_bytes());
        data.extend(u32::MAX.to_be_bytes());
        data.extend(TAG_TRUSTED_CERT.to_be_bytes());
        data.extend([0, 0]);
        data.extend([0; 8]);
        data.extend([0, 5]);
        data.extend(b"X.509");
        data.extend(u32::MAX.to_be_bytes());
        assert!(matches!(read(&data, None), Err(Problem::Malformed(_))));

        let mut data = build(2, &[(TAG_TRUSTED_CERT, b"\x30\x00")], "pw");
        data[12..16].copy_from_slice(&TAG_SECRET_KEY.to_be_bytes());
        assert!(matches!(read(&data, None), Err(Problem::Unsupported(_))));
        data[12..16].copy_from_slice(&7u32.to_be_bytes());
        assert!(matches!(read(&data, None), Err(Problem::Malformed(_))));
    }

    #[test]
    fn non_x509_certificate_type_is_refused() {
        let mut data = build(2, &[(TAG_TRUSTED_CERT, b"\x30\x00")], "pw");
        let at = data.windows(5).position(|w| w == b"X.509").unwrap();
        data[at..at + 5].copy_from_slice(b"PGP!!");
        assert!(matches!(read(&data, None), Err(Problem::Unsupported(_))));
    }

    #[test]
    fn random_mutations_never_panic() {
        let data = build(
            2,
            &[
                (TAG_PRIVATE_KEY, b"\x30\x00"),
                (TAG_TRUSTED_CERT, b"\x30\x00"),
            ],
            "pw",
        );
        // A small xorshift generator keeps the test deterministic without a rand dependency.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..5000 {
            let mut mutated = data.clone();
            for _ in 0..=(next() % 4) {
                let at = (next() as usize) % mutated.len();
                mutated[at] = next() as u8;
            }
            let _ = read(&mutated, None);
            let _ = read(&mutated, Some("pw"));
        }
    }
}
