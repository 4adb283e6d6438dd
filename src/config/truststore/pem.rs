//! PEM reading (RFC 7468) and writing, for certificates only.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The labels OpenSSL's `PEM_read_bio_X509` (what librdkafka reads `ssl.ca.pem` with) accepts
/// as a certificate. `TRUSTED CERTIFICATE` carries OpenSSL-only trust data after the DER and is
/// not among them.
const CERTIFICATE_LABELS: [&str; 2] = ["CERTIFICATE", "X509 CERTIFICATE"];

/// The DER bytes of every certificate block in `text`, in order.
///
/// Text outside blocks (comments, `openssl x509 -text` output) and blocks with other labels
/// (private keys, CRLs) are skipped, as OpenSSL skips them. An unterminated block or bad base64
/// inside a certificate block is an error: it means a damaged file, not a choice.
pub(super) fn certificates(text: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut certs = Vec::new();
    // The open block: its label, the line it started on, and its base64 so far.
    let mut open: Option<(&str, usize, String)> = None;
    for (index, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let line_no = index + 1;
        let line = line.trim();
        if let Some(label) = boundary(line, "-----BEGIN ") {
            if let Some((open_label, start, _)) = &open {
                return Err(format!(
                    "line {line_no}: BEGIN {label} inside the {open_label} block of line {start}"
                ));
            }
            open = Some((label, line_no, String::new()));
        } else if let Some(label) = boundary(line, "-----END ") {
            let Some((open_label, start, base64)) = open.take() else {
                return Err(format!("line {line_no}: END {label} without BEGIN"));
            };
            if label != open_label {
                return Err(format!(
                    "line {line_no}: END {label} closes the BEGIN {open_label} of line {start}"
                ));
            }
            if CERTIFICATE_LABELS.contains(&label) {
                let der = STANDARD.decode(base64.as_bytes()).map_err(|e| {
                    format!("the certificate starting at line {start} has bad base64: {e}")
                })?;
                certs.push(der);
            }
        } else if let Some((_, _, base64)) = &mut open {
            base64.push_str(line);
        }
    }
    match open {
        Some((label, start, _)) => Err(format!("BEGIN {label} at line {start} has no END line")),
        None => Ok(certs),
    }
}

/// The label of a `-----BEGIN label-----` / `-----END label-----` line.
fn boundary<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    line.strip_prefix(prefix)?.strip_suffix("-----")
}

/// The PEM text of `certs`: one `CERTIFICATE` block each, base64 in 64-character lines.
pub(super) fn encode(certs: &[Vec<u8>]) -> String {
    let mut out = String::new();
    for der in certs {
        out.push_str("-----BEGIN CERTIFICATE-----\n");
        let base64 = STANDARD.encode(der);
        let mut rest = base64.as_str();
        while !rest.is_empty() {
            // Base64 is ASCII, so any byte index is a character boundary.
            let (line, tail) = rest.split_at(rest.len().min(64));
            out.push_str(line);
            out.push('\n');
            rest = tail;
        }
        out.push_str("-----END CERTIFICATE-----\n");
    }
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
