//! PEM reading (RFC 7468) and writing: certificates, and the one private key of a keystore.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The labels OpenSSL's `PEM_read_bio_X509` (what librdkafka reads `ssl.ca.pem` with) accepts
/// as a certificate. `TRUSTED CERTIFICATE` carries OpenSSL-only trust data after the DER and is
/// not among them.
const CERTIFICATE_LABELS: [&str; 2] = ["CERTIFICATE", "X509 CERTIFICATE"];

/// One `-----BEGIN label-----` ... `-----END label-----` block, base64 not yet decoded.
#[derive(Debug)]
pub(super) struct Block<'a> {
    /// The label, e.g. `CERTIFICATE`.
    pub(super) label: &'a str,
    /// The 1-based line of the BEGIN line.
    pub(super) start: usize,
    /// The lines between BEGIN and END, trimmed and joined.
    body: String,
    /// Whether the block has RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`, ...), which OpenSSL
    /// writes for its legacy encrypted keys.
    pub(super) has_headers: bool,
}

impl Block<'_> {
    /// The block's DER bytes.
    pub(super) fn der(&self) -> Result<Vec<u8>, String> {
        STANDARD.decode(self.body.as_bytes()).map_err(|e| {
            format!(
                "the {} block starting at line {} has bad base64: {e}",
                self.label, self.start
            )
        })
    }
}

/// Every block of `text`, in order. Text outside blocks (comments, `openssl x509 -text`
/// output) is skipped, as OpenSSL skips it. An unterminated or mismatched block is an error: it
/// means a damaged file, not a choice.
pub(super) fn blocks(text: &str) -> Result<Vec<Block<'_>>, String> {
    let mut out = Vec::new();
    let mut open: Option<Block<'_>> = None;
    for (index, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let line_no = index + 1;
        let line = line.trim();
        if let Some(label) = boundary(line, "-----BEGIN ") {
            if let Some(block) = &open {
                return Err(format!(
                    "line {line_no}: BEGIN {label} inside the {} block of line {}",
                    block.label, block.start
                ));
            }
            open = Some(Block {
                label,
                start: line_no,
                body: String::new(),
                has_headers: false,
            });
        } else if let Some(label) = boundary(line, "-----END ") {
            let Some(block) = open.take() else {
                return Err(format!("line {line_no}: END {label} without BEGIN"));
            };
            if label != block.label {
                return Err(format!(
                    "line {line_no}: END {label} closes the BEGIN {} of line {}",
                    block.label, block.start
                ));
            }
            out.push(block);
        } else if let Some(block) = &mut open {
            block.has_headers |= line.contains(':');
            block.body.push_str(line);
        }
    }
    match open {
        Some(block) => Err(format!(
            "BEGIN {} at line {} has no END line",
            block.label, block.start
        )),
        None => Ok(out),
    }
}

/// The DER bytes of every certificate block in `text`, in order.
///
/// Blocks with other labels (private keys, CRLs) are skipped, as OpenSSL skips them. Bad base64
/// inside a certificate block is an error.
pub(super) fn certificates(text: &str) -> Result<Vec<Vec<u8>>, String> {
    blocks(text)?
        .iter()
        .filter(|b| CERTIFICATE_LABELS.contains(&b.label))
        .map(Block::der)
        .collect()
}

/// The label of a `-----BEGIN label-----` / `-----END label-----` line.
fn boundary<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    line.strip_prefix(prefix)?.strip_suffix("-----")
}

/// The PEM text of `certs`: one `CERTIFICATE` block each, base64 in 64-character lines.
pub(super) fn encode(certs: &[Vec<u8>]) -> String {
    certs
        .iter()
        .map(|der| encode_block("CERTIFICATE", der))
        .collect()
}

/// One PEM block labelled `label`, base64 in 64-character lines.
pub(super) fn encode_block(label: &str, der: &[u8]) -> String {
    let mut out = format!("-----BEGIN {label}-----\n");
    let base64 = STANDARD.encode(der);
    let mut rest = base64.as_str();
    while !rest.is_empty() {
        // Base64 is ASCII, so any byte index is a character boundary.
        let (line, tail) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_wraps_at_64() {
        let certs = vec![vec![0x30, 0x00], (0..=255u8).collect::<Vec<_>>()];
        let text = encode(&certs);
        assert!(text.starts_with("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"));
        assert!(text.lines().all(|l| l.len() <= 64));
        assert_eq!(text.lines().filter(|l| l.len() == 64).count(), 5);
        assert_eq!(certificates(&text).unwrap(), certs);
    }

    #[test]
    fn skips_other_blocks_and_text() {
        let text = "\u{feff}Subject: CN=x\r\n-----BEGIN PRIVATE KEY-----\r\nAAAA\r\n-----END PRIVATE KEY-----\r\n\
                    -----BEGIN X509 CERTIFICATE-----\r\n  MAA=  \r\n-----END X509 CERTIFICATE-----\r\n";
        assert_eq!(certificates(text).unwrap(), vec![vec![0x30, 0x00]]);
        assert!(certificates("no blocks here").unwrap().is_empty());
    }

    #[test]
    fn damaged_blocks_are_errors() {
        for (text, needle) in [
            ("-----BEGIN CERTIFICATE-----\nMAA=\n", "no END"),
            ("-----END CERTIFICATE-----\n", "without BEGIN"),
            (
                "-----BEGIN CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\n",
                "inside",
            ),
            (
                "-----BEGIN CERTIFICATE-----\nMAA=\n-----END PRIVATE KEY-----\n",
                "closes",
            ),
            (
                "-----BEGIN CERTIFICATE-----\nM*A=\n-----END CERTIFICATE-----\n",
                "bad base64",
            ),
        ] {
            let err = certificates(text).unwrap_err();
            assert!(err.contains(needle), "{text:?}: {err}");
        }
    }
}
