//! Just enough DER to walk PKCS#12, X.509 and PKCS#8 structures, check that a certificate is
//! one well-formed DER element, and write the few structures Strait builds itself. Every length
//! read is checked against the bytes actually present.

use std::fmt;

/// `SEQUENCE` (constructed).
pub(super) const SEQUENCE: u8 = 0x30;
/// `SET` (constructed).
pub(super) const SET: u8 = 0x31;
/// `INTEGER`.
pub(super) const INTEGER: u8 = 0x02;
/// `BIT STRING` (primitive).
pub(super) const BIT_STRING: u8 = 0x03;
/// `OCTET STRING` (primitive; the constructed BER form is not DER).
pub(super) const OCTET_STRING: u8 = 0x04;
/// `NULL` (only written, by tests that build Java's structures).
#[cfg(test)]
pub(super) const NULL: u8 = 0x05;
/// `OBJECT IDENTIFIER`.
pub(super) const OID: u8 = 0x06;
/// Context-specific `[0]`, constructed (an `EXPLICIT [0]` wrapper).
pub(super) const CONTEXT_0: u8 = 0xA0;
/// Context-specific `[1]`, constructed.
pub(super) const CONTEXT_1: u8 = 0xA1;

/// Why some bytes are not the DER expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DerError(pub(super) String);

impl fmt::Display for DerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One tag-length-value element.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tlv<'a> {
    /// The identifier octet.
    pub(super) tag: u8,
    /// The contents octets.
    pub(super) value: &'a [u8],
}

/// Reads consecutive elements from a byte slice.
#[derive(Debug, Clone)]
pub(super) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `data`.
    pub(super) fn new(data: &'a [u8]) -> Self {
        Self { rest: data }
    }

    /// Whether every element has been read.
    pub(super) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The tag of the next element, without reading it.
    pub(super) fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The next element.
    pub(super) fn read(&mut self) -> Result<Tlv<'a>, DerError> {
        let eof = || DerError("data ends in the middle of a DER element".into());
        let (&tag, rest) = self.rest.split_first().ok_or_else(eof)?;
        if tag & 0x1f == 0x1f {
            // No structure this module reads uses tag numbers above 30.
            return Err(DerError(format!(
                "unexpected multi-byte DER tag 0x{tag:02x}"
            )));
        }
        let (&first, mut rest) = rest.split_first().ok_or_else(eof)?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 {
                return Err(DerError(
                    "indefinite-length (BER) encoding is not supported; re-export the store as DER"
                        .into(),
                ));
            }
            // Four length bytes allow 4 GiB, far beyond any truststore; more is corruption.
            if count > 4 {
                return Err(DerError("DER length field too large".into()));
            }
            let (bytes, after) = rest.split_at_checked(count).ok_or_else(eof)?;
            rest = after;
            bytes
                .iter()
                .fold(0usize, |len, &b| (len << 8) | usize::from(b))
        };
        let (value, after) = rest
            .split_at_checked(len)
            .ok_or_else(|| DerError("a DER length runs past the end of the data".into()))?;
        self.rest = after;
        Ok(Tlv { tag, value })
    }

    /// The next element, which must carry `tag`; `what` names it in the error.
    pub(super) fn expect(&mut self, tag: u8, what: &str) -> Result<&'a [u8], DerError> {
        let tlv = self.read()?;
        if tlv.tag == tag {
            Ok(tlv.value)
        } else {
            Err(DerError(format!(
                "expected {what} (tag 0x{tag:02x}), found tag 0x{:02x}",
                tlv.tag
            )))
        }
    }
}

/// One DER element: `tag`, a definite length in the shortest form, and `value`.
pub(super) fn encode(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 6);
    out.push(tag);
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(value);
    out
}

/// Checks that `data` is exactly one DER `SEQUENCE`, as every X.509 certificate is.
///
/// Full X.509 parsing is left to OpenSSL inside librdkafka; this only catches bytes that cannot
/// possibly be a certificate (wrong decoding, truncation, trailing junk) early, with a clear error.
pub(super) fn check_single_sequence(data: &[u8]) -> Result<(), DerError> {
    let mut reader = Reader::new(data);
    reader.expect(SEQUENCE, "a SEQUENCE")?;
    if reader.is_empty() {
        Ok(())
    } else {
        Err(DerError("trailing bytes after the DER SEQUENCE".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths() {
        let mut long = vec![OCTET_STRING, 0x82, 0x01, 0x00];
        long.extend(std::iter::repeat_n(7u8, 256));
        long.extend([INTEGER, 0x01, 0x03]);
        let mut r = Reader::new(&long);
        assert_eq!(r.expect(OCTET_STRING, "octets").unwrap().len(), 256);
        assert_eq!(r.expect(INTEGER, "version").unwrap(), &[3]);
        assert!(r.is_empty());
    }

    #[test]
    fn rejects_bad_input_without_panicking() {
        for bad in [
            &[][..],
            &[SEQUENCE],
            &[SEQUENCE, 0x05, 1, 2],
            &[SEQUENCE, 0x80, 0, 0],
            &[SEQUENCE, 0x85, 1, 1, 1, 1, 1],
            &[SEQUENCE, 0x84, 0xff, 0xff, 0xff, 0xff],
            &[0x1f, 0x01, 0x00],
        ] {
            assert!(Reader::new(bad).read().is_err(), "{bad:?}");
        }
        assert!(check_single_sequence(&[SEQUENCE, 0, 0]).is_err());
        assert!(check_single_sequence(&[SET, 0]).is_err());
        assert!(check_single_sequence(&[SEQUENCE, 0]).is_ok());
    }

    #[test]
    fn encode_round_trips_short_and_long_lengths() {
        for len in [0usize, 1, 127, 128, 255, 256, 70_000] {
            let value = vec![7u8; len];
            let der = encode(OCTET_STRING, &value);
            let mut r = Reader::new(&der);
            assert_eq!(
                r.expect(OCTET_STRING, "octets").unwrap(),
                &value[..],
                "{len}"
            );
            assert!(r.is_empty());
        }
    }

    #[test]
    fn wrong_tag_is_named() {
        let err = Reader::new(&[SET, 0])
            .expect(SEQUENCE, "the PFX")
            .unwrap_err();
        assert!(err.0.contains("the PFX"), "{err}");
    }
}
