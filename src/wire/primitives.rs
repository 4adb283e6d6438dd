//! Kafka protocol primitive types as MM2's schemas use them: big-endian INT16, INT32, INT64
//! and STRING (INT16 byte length followed by UTF-8, never null).
//!
//! Writers append to a `Vec<u8>` so callers can reuse one buffer per record. Readers go
//! through [`Reader`], a cursor that reports which field ran out of bytes.

use super::WireError;

/// Longest STRING the Kafka protocol can carry: its length prefix is a signed INT16.
pub const MAX_STRING_LEN: usize = i16::MAX as usize;

/// Appends a big-endian INT16.
pub fn put_i16(buf: &mut Vec<u8>, value: i16) {
    buf.extend_from_slice(&value.to_be_bytes());
}

/// Appends a big-endian INT32.
pub fn put_i32(buf: &mut Vec<u8>, value: i32) {
    buf.extend_from_slice(&value.to_be_bytes());
}

/// Appends a big-endian INT64.
pub fn put_i64(buf: &mut Vec<u8>, value: i64) {
    buf.extend_from_slice(&value.to_be_bytes());
}

/// Appends a STRING: INT16 byte length, then the UTF-8 bytes.
///
/// Fails with [`WireError::StringTooLong`] (naming `what`) when `value` exceeds
/// [`MAX_STRING_LEN`] bytes; `buf` is left untouched in that case.
pub fn put_string(buf: &mut Vec<u8>, value: &str, what: &'static str) -> Result<(), WireError> {
    let len = i16::try_from(value.len()).map_err(|_| WireError::StringTooLong {
        what,
        len: value.len(),
    })?;
    put_i16(buf, len);
    buf.extend_from_slice(value.as_bytes());
    Ok(())
}

/// Size of `value` once written by [`put_string`], for reserving buffer space.
pub fn string_size(value: &str) -> usize {
    2 + value.len()
}

/// Runs `write` against `buf` and, if it fails, drops whatever it had appended, so a
/// failed encode never leaves half a record behind in a reused buffer.
pub(super) fn append_or_rollback(
    buf: &mut Vec<u8>,
    write: impl FnOnce(&mut Vec<u8>) -> Result<(), WireError>,
) -> Result<(), WireError> {
    let start = buf.len();
    let result = write(buf);
    if result.is_err() {
        buf.truncate(start);
    }
    result
}

/// A cursor over encoded bytes. Every read names the field it decodes, so errors say what
/// was cut short. Bytes left over after the last read are simply not looked at.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Starts reading at the beginning of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// The bytes not read yet.
    pub fn remaining(&self) -> &'a [u8] {
        self.rest
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], WireError> {
        match self.rest.split_at_checked(n) {
            Some((head, tail)) => {
                self.rest = tail;
                Ok(head)
            }
            None => Err(WireError::Truncated {
                what,
                needed: n,
                available: self.rest.len(),
            }),
        }
    }

    fn take_array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], WireError> {
        let bytes = self.take(N, what)?;
        let mut array = [0u8; N];
        array.copy_from_slice(bytes);
        Ok(array)
    }

    /// Reads a big-endian INT16.
    pub fn i16(&mut self, what: &'static str) -> Result<i16, WireError> {
        self.take_array(what).map(i16::from_be_bytes)
    }

    /// Reads a big-endian INT32.
    pub fn i32(&mut self, what: &'static str) -> Result<i32, WireError> {
        self.take_array(what).map(i32::from_be_bytes)
    }

    /// Reads a big-endian INT64.
    pub fn i64(&mut self, what: &'static str) -> Result<i64, WireError> {
        self.take_array(what).map(i64::from_be_bytes)
    }

    /// Reads a STRING.
    ///
    /// Unlike Java, which substitutes U+FFFD, invalid UTF-8 is an error: Java writers only
    /// produce valid UTF-8, so bad bytes mean the record is not what we think it is.
    pub fn string(&mut self, what: &'static str) -> Result<String, WireError> {
        let len = self.i16(what)?;
        let len = usize::try_from(len).map_err(|_| WireError::NegativeLength { what, len })?;
        let bytes = self.take(len, what)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| WireError::InvalidUtf8 { what })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_big_endian() {
        let mut buf = Vec::new();
        put_i16(&mut buf, 0x0102);
        put_i32(&mut buf, 0x0304_0506);
        put_i64(&mut buf, 0x0708_090a_0b0c_0d0e);
        put_i16(&mut buf, -1);
        assert_eq!(
            buf,
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xff, 0xff]
        );
        let mut r = Reader::new(&buf);
        assert_eq!(r.i16("a").unwrap(), 0x0102);
        assert_eq!(r.i32("b").unwrap(), 0x0304_0506);
        assert_eq!(r.i64("c").unwrap(), 0x0708_090a_0b0c_0d0e);
        assert_eq!(r.i16("d").unwrap(), -1);
        assert!(r.remaining().is_empty());
    }

    #[test]
    fn string_is_length_prefixed_utf8() {
        let mut buf = Vec::new();
        put_string(&mut buf, "é", "s").unwrap();
        put_string(&mut buf, "", "s").unwrap();
        assert_eq!(buf, [0, 2, 0xc3, 0xa9, 0, 0]);
        assert_eq!(string_size("é"), 4);
        let mut r = Reader::new(&buf);
        assert_eq!(r.string("s").unwrap(), "é");
        assert_eq!(r.string("s").unwrap(), "");
    }

    #[test]
    fn string_length_limit_is_32767_bytes() {
        let mut buf = vec![9];
        let max = "x".repeat(MAX_STRING_LEN);
        put_string(&mut buf, &max, "big").unwrap();
        assert_eq!(&buf[..3], [9, 0x7f, 0xff]);
        assert_eq!(Reader::new(&buf[1..]).string("big").unwrap(), max);

        let mut buf = vec![9];
        // 16384 two-byte characters: few chars, too many bytes.
        let too_long = "é".repeat(16_384);
        let err = put_string(&mut buf, &too_long, "big").unwrap_err();
        assert_eq!(
            err,
            WireError::StringTooLong {
                what: "big",
                len: 32_768
            }
        );
        assert_eq!(buf, [9], "nothing appended on error");
    }

    #[test]
    fn truncated_reads_name_the_field() {
        let err = Reader::new(&[0, 0, 1]).i32("thing").unwrap_err();
        assert_eq!(
            err,
            WireError::Truncated {
                what: "thing",
                needed: 4,
                available: 3
            }
        );
        assert!(err.to_string().contains("thing"), "{err}");

        assert!(matches!(
            Reader::new(&[]).i64("x"),
            Err(WireError::Truncated {
                needed: 8,
                available: 0,
                ..
            })
        ));
        assert!(matches!(
            Reader::new(&[0]).string("s"),
            Err(WireError::Truncated {
                needed: 2,
                available: 1,
                ..
            })
        ));
        assert!(matches!(
            Reader::new(&[0, 5, b'a', b'b']).string("s"),
            Err(WireError::Truncated {
                what: "s",
                needed: 5,
                available: 2
            })
        ));
    }

    #[test]
    fn bad_strings_are_errors() {
        assert_eq!(
            Reader::new(&[0xff, 0xfe, b'a']).string("s").unwrap_err(),
            WireError::NegativeLength { what: "s", len: -2 }
        );
        assert_eq!(
            Reader::new(&[0, 2, 0xc3, 0x28]).string("s").unwrap_err(),
            WireError::InvalidUtf8 { what: "s" }
        );
    }

    #[test]
    fn rollback_drops_partial_output() {
        let mut buf = vec![1];
        let result = append_or_rollback(&mut buf, |b| {
            put_i32(b, 7);
            Err(WireError::StringTooLong { what: "x", len: 0 })
        });
        assert!(result.is_err());
        assert_eq!(buf, [1]);
        append_or_rollback(&mut buf, |b| {
            put_i16(b, 2);
            Ok(())
        })
        .unwrap();
        assert_eq!(buf, [1, 0, 2]);
    }
}
