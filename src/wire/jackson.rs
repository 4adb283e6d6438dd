//! JSON string literals written exactly as Jackson's default UTF-8 generator writes them.
//!
//! Kafka Connect looks stored offsets up by their serialized key bytes, so a key we write
//! must be byte-identical to the one Java would write for the same names. `serde_json`
//! differs from Jackson in two places, hence this writer:
//! - control characters without a short escape: Jackson writes `\u001F`, `serde_json` `\u001f`;
//! - characters beyond U+FFFF: Jackson escapes the UTF-16 surrogate pair (`\uD83D\uDE00`)
//!   instead of writing four UTF-8 bytes.
//!
//! Everything else (`/`, U+007F, U+2028, other non-ASCII) is written raw in UTF-8.

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Appends `value` as a quoted JSON string literal.
pub(super) fn write_string(out: &mut Vec<u8>, value: &str) {
    out.reserve(value.len() + 2);
    out.push(b'"');
    for c in value.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            '\r' => out.extend_from_slice(b"\\r"),
            c if u32::from(c) < 0x20 || u32::from(c) > 0xffff => {
                let mut units = [0u16; 2];
                for &unit in c.encode_utf16(&mut units).iter() {
                    write_unicode_escape(out, unit);
                }
            }
            c => {
                let mut bytes = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut bytes).as_bytes());
            }
        }
    }
    out.push(b'"');
}

fn write_unicode_escape(out: &mut Vec<u8>, unit: u16) {
    out.extend_from_slice(b"\\u");
    for shift in [12u16, 8, 4, 0] {
        out.push(HEX_UPPER[usize::from((unit >> shift) & 0xf)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(value: &str) -> String {
        let mut out = Vec::new();
        write_string(&mut out, value);
        String::from_utf8(out).unwrap()
    }

    /// Expected strings are what Jackson 2.19 (via Kafka 4.1.1's `JsonConverter`) printed for
    /// the same inputs; see the Java check described in `connect_offsets` tests.
    #[test]
    fn matches_jackson() {
        assert_eq!(written("t"), r#""t""#);
        assert_eq!(written(""), r#""""#);
        assert_eq!(written("t\"q\\b/s"), r#""t\"q\\b/s""#);
        assert_eq!(
            written("ctl\u{0}\u{1}\u{1f}\u{7f}\u{8}\u{c}\n\r\t"),
            "\"ctl\\u0000\\u0001\\u001F\u{7f}\\b\\f\\n\\r\\t\""
        );
        assert_eq!(written("é"), "\"é\"");
        assert_eq!(written("日本😀"), "\"日本\\uD83D\\uDE00\"");
        assert_eq!(written("\u{2028}\u{2029}<>&'"), "\"\u{2028}\u{2029}<>&'\"");
    }

    #[test]
    fn output_parses_back() {
        for s in ["a\u{0}b", "😀x\u{10ffff}", "\"\\/", "\u{ffff}"] {
            let parsed: String = serde_json::from_str(&written(s)).unwrap();
            assert_eq!(parsed, s);
        }
    }
}
