//! Walking the DER structures Strait reads by hand (PKCS#12 bags, Java's key protector), with
//! the `der` crate doing the encoding rules: tags, definite minimal lengths, bounds. Only the
//! walk (which element comes next, what it is called in an error) lives here.

use std::fmt;

use der::asn1::AnyRef;
use der::{Decode, Reader as _, SliceReader, Tag, TagNumber, Tagged};

/// `SEQUENCE` (constructed).
pub(super) const SEQUENCE: Tag = Tag::Sequence;
/// `SET` (constructed).
pub(super) const SET: Tag = Tag::Set;
/// `INTEGER`.
pub(super) const INTEGER: Tag = Tag::Integer;
/// `OCTET STRING` (primitive; the constructed BER form is not DER).
pub(super) const OCTET_STRING: Tag = Tag::OctetString;
/// `NULL` (only written, by tests that build Java's structures).
#[cfg(test)]
pub(super) const NULL: Tag = Tag::Null;
/// `OBJECT IDENTIFIER`.
pub(super) const OID: Tag = Tag::ObjectIdentifier;
/// Context-specific `[0]`, constructed (an `EXPLICIT [0]` wrapper).
pub(super) const CONTEXT_0: Tag = Tag::ContextSpecific {
    constructed: true,
    number: TagNumber(0),
};

/// Why some bytes are not the DER expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DerError(pub(super) String);

impl fmt::Display for DerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<der::Error> for DerError {
    fn from(e: der::Error) -> Self {
        Self(format!("invalid DER: {e}"))
    }
}

/// One tag-length-value element.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tlv<'a> {
    /// The tag.
    pub(super) tag: Tag,
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

    /// The next element.
    pub(super) fn read(&mut self) -> Result<Tlv<'a>, DerError> {
        let mut reader = SliceReader::new(self.rest)?;
        let element = AnyRef::decode(&mut reader)?;
        let used = usize::try_from(reader.position())?;
        self.rest = self.rest.get(used..).unwrap_or_default();
        Ok(Tlv {
            tag: element.tag(),
            value: element.value(),
        })
    }

    /// The next element, which must carry `tag`; `what` names it in the error.
    pub(super) fn expect(&mut self, tag: Tag, what: &str) -> Result<&'a [u8], DerError> {
        let tlv = self.read()?;
        if tlv.tag == tag {
            Ok(tlv.value)
        } else {
            Err(DerError(format!(
                "expected {what} ({tag}), found {}",
                tlv.tag
            )))
        }
    }
}

/// One DER element: `tag` and `value` (tests build Java's structures with it).
#[cfg(test)]
pub(super) fn encode(tag: Tag, value: &[u8]) -> Vec<u8> {
    use der::Encode;
    match AnyRef::new(tag, value).and_then(|any| any.to_der()) {
        Ok(der) => der,
        Err(e) => panic!("test data is not encodable as DER: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths() {
        let mut long = vec![0x04, 0x82, 0x01, 0x00];
        long.extend(std::iter::repeat_n(7u8, 256));
        long.extend([0x02, 0x01, 0x03]);
        let mut r = Reader::new(&long);
        assert_eq!(r.expect(OCTET_STRING, "octets").unwrap().len(), 256);
        assert_eq!(r.expect(INTEGER, "version").unwrap(), &[3]);
        assert!(r.is_empty());
    }

    #[test]
    fn rejects_bad_input_without_panicking() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x05, 1, 2],
            // indefinite length (BER), a non-minimal length, a length past the end
            &[0x30, 0x80, 0, 0],
            &[0x30, 0x81, 0x01, 0],
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
        ] {
            assert!(Reader::new(bad).read().is_err(), "{bad:?}");
        }
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
        let err = Reader::new(&[0x31, 0])
            .expect(SEQUENCE, "the PFX")
            .unwrap_err();
        assert!(err.0.contains("the PFX"), "{err}");
    }
}
