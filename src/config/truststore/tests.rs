//! End-to-end tests on stores made by the real tools: `openssl` for CA certificates and
//! `keytool` (Java 17) for JKS and PKCS#12, each into a fresh temporary directory.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::tool_bed::ToolBed;
use super::{TruststoreError, load_pem};
use crate::config::{Secret, Truststore};

/// A password that must never show up in an error.
const PASSWORD: &str = "Tr0ub4dor-s3cret-9f1c";
const WRONG: &str = "not-the-password";

/// The tools' directory, with helpers that make truststores in it.
struct Bed {
    tools: ToolBed,
}

impl Bed {
    fn new() -> Self {
        Self {
            tools: ToolBed::new(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.tools.path(name)
    }

    fn run(&self, program: &str, args: &[&str]) {
        self.tools.run(program, args);
    }

    /// A self-signed CA certificate `<name>.crt` (EC, as it is fast to generate).
    fn ca(&self, name: &str) -> PathBuf {
        let crt = format!("{name}.crt");
        self.run(
            "openssl",
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &crt,
                "-subj",
                &format!("/CN={name}"),
                "-days",
                "2",
            ],
        );
        self.path(&crt)
    }

    /// `keytool -importcert` of `cert` as a trusted certificate into `store`.
    fn import(&self, store: &str, kind: &str, alias: &str, cert: &Path, extra: &[&str]) {
        let cert = cert.to_str().unwrap();
        let mut args = vec![
            "-importcert",
            "-noprompt",
            "-storetype",
            kind,
            "-keystore",
            store,
            "-storepass",
            PASSWORD,
            "-alias",
            alias,
            "-file",
            cert,
        ];
        args.extend(extra);
        self.run("keytool", &args);
    }

    /// `keytool -genkeypair`: a private key entry with a self-signed certificate.
    fn key_pair(&self, store: &str, kind: &str, alias: &str) {
        self.run(
            "keytool",
            &[
                "-genkeypair",
                "-storetype",
                kind,
                "-keystore",
                store,
                "-storepass",
                PASSWORD,
                "-keypass",
                PASSWORD,
                "-alias",
                alias,
                "-keyalg",
                "EC",
                "-groupname",
                "secp256r1",
                "-dname",
                "CN=leaf",
                "-validity",
                "2",
            ],
        );
    }

    fn jks(&self, name: &str, password: Option<&str>) -> Truststore {
        Truststore::Jks {
            path: self.path(name),
            password: password.map(Secret::new),
        }
    }

    fn p12(&self, name: &str, password: Option<&str>) -> Truststore {
        Truststore::Pkcs12 {
            path: self.path(name),
            password: password.map(Secret::new),
        }
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// Asserts the error says "wrong password", names the store and format, and hides the password.
fn assert_wrong_password(err: &TruststoreError, store: &Path, format: &str) {
    let message = err.to_string();
    let expected = format!("wrong password or corrupted truststore {}", store.display());
    assert!(message.starts_with(&expected), "{message}");
    assert!(message.contains(format), "{message}");
    for shown in [message, format!("{err:?}")] {
        assert!(
            !shown.contains(PASSWORD) && !shown.contains(WRONG),
            "{shown}"
        );
    }
}

#[test]
fn every_format_yields_the_ca_pem() {
    let bed = Bed::new();
    let ca = bed.ca("ca");
    bed.import("t.jks", "JKS", "ca", &ca, &[]);
    bed.import("t.p12", "PKCS12", "ca", &ca, &[]);
    let expected = read(&ca);

    assert_eq!(
        load_pem(&Truststore::PemFile(ca.clone())).unwrap(),
        expected
    );
    assert_eq!(
        load_pem(&Truststore::PemInline(expected.clone())).unwrap(),
        expected
    );
    assert_eq!(
        load_pem(&bed.jks("t.jks", Some(PASSWORD))).unwrap(),
        expected
    );
    assert_eq!(
        load_pem(&bed.p12("t.p12", Some(PASSWORD))).unwrap(),
        expected
    );
}

#[test]
fn keytool_pkcs12_defaults_are_pbes2_aes256_with_hmac_sha256() {
    // Guards the test above: it must cover the format keytool writes today.
    let bed = Bed::new();
    let ca = bed.ca("ca");
    bed.import("t.p12", "PKCS12", "ca", &ca, &[]);
    let out = Command::new("openssl")
        .args(["pkcs12", "-info", "-nokeys", "-noout", "-in"])
        .arg(bed.path("t.p12"))
        .args(["-passin", &format!("pass:{PASSWORD}")])
        .output()
        .unwrap();
    let info = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(info.contains("MAC: sha256"), "{info}");
    assert!(
        info.contains("PBES2") && info.contains("AES-256-CBC"),
        "{info}"
    );
}

#[test]
fn legacy_pkcs12_loads() {
    // RC2-40 certificate encryption and an HMAC-SHA1 MAC, as Java 8 wrote.
    let bed = Bed::new();
    let ca = bed.ca("ca");
    bed.import(
        "t.p12",
        "PKCS12",
        "ca",
        &ca,
        &["-J-Dkeystore.pkcs12.legacy"],
    );
    assert_eq!(
        load_pem(&bed.p12("t.p12", Some(PASSWORD))).unwrap(),
        read(&ca)
    );
}

#[test]
fn jks_without_password_loads() {
    let bed = Bed::new();
    let ca = bed.ca("ca");
    bed.import("t.jks", "JKS", "ca", &ca, &[]);
    assert_eq!(load_pem(&bed.jks("t.jks", None)).unwrap(), read(&ca));
}

#[test]
fn jks_wrong_password_is_refused() {
    let bed = Bed::new();
    let ca = bed.ca("ca");
    bed.import("t.jks", "JKS", "ca", &ca, &[]);
    let err = load_pem(&bed.jks("t.jks", Some(WRONG))).unwrap_err();
    assert!(
        matches!(err, TruststoreError::WrongPassword { .. }),
        "{err:?}"
    );
    assert_wrong_password(&err, &bed.path("t.jks"), "JKS");
}

#[test]
fn pkcs12_wrong_password_is_refused() {
    let bed = Bed::new();
    let ca = bed.ca("ca");
    bed.import("t.p12", "PKCS12", "ca", &ca, &[]);
    let err = load_pem(&bed.p12("t.p12", Some(WRONG))).unwrap_err();
    assert!(
        matches!(err, TruststoreError::WrongPassword { .. }),
        "{err:?}"
    );
    assert_wrong_password(&err, &bed.path("t.p12"), "PKCS#12");
}

#[test]
fn pkcs12_without_password_reads_what_java_reads() {
    let bed = Bed::new();
    let ca = bed.ca("ca");
    // keytool's default encrypts the certificates: Java without a password sees none.
    bed.import("encrypted.p12", "PKCS12", "ca", &ca, &[]);
    let err = load_pem(&bed.p12("encrypted.p12", None)).unwrap_err();
    assert!(matches!(err, TruststoreError::Empty { .. }), "{err:?}");
    assert!(
        err.to_string().contains("set the truststore password"),
        "{err}"
    );

    // A store written without certificate encryption or MAC loads without a password.
    let clear = [
        "-J-Dkeystore.pkcs12.certProtectionAlgorithm=NONE",
        "-J-Dkeystore.pkcs12.macAlgorithm=NONE",
    ];
    bed.import("clear.p12", "PKCS12", "ca", &ca, &clear);
    assert_eq!(load_pem(&bed.p12("clear.p12", None)).unwrap(), read(&ca));
    assert_eq!(
        load_pem(&bed.p12("clear.p12", Some(PASSWORD))).unwrap(),
        read(&ca)
    );
}

#[test]
fn pkcs12_without_password_skips_the_mac() {
    // Clear certificates but a MAC: Java skips the MAC when no password is given.
    let bed = Bed::new();
    let ca = bed.ca("ca");
    let opts = ["-J-Dkeystore.pkcs12.certProtectionAlgorithm=NONE"];
    bed.import("t.p12", "PKCS12", "ca", &ca, &opts);
    assert_eq!(load_pem(&bed.p12("t.p12", None)).unwrap(), read(&ca));
    let err = load_pem(&bed.p12("t.p12", Some(WRONG))).unwrap_err();
    assert_wrong_password(&err, &bed.path("t.p12"), "PKCS#12");
}

#[test]
fn two_trusted_certificates_are_both_returned() {
    let bed = Bed::new();
    let (one, two) = (bed.ca("one"), bed.ca("two"));
    for (store, kind) in [("t.jks", "JKS"), ("t.p12", "PKCS12")] {
        bed.import(store, kind, "one", &one, &[]);
        bed.import(store, kind, "two", &two, &[]);
    }
    let (one, two) = (read(&one), read(&two));
    for store in [
        bed.jks("t.jks", Some(PASSWORD)),
        bed.p12("t.p12", Some(PASSWORD)),
    ] {
        let pem = load_pem(&store).unwrap();
        // JKS entry order is Java's hash order, so only membership is fixed.
        assert_eq!(pem.len(), one.len() + two.len(), "{pem}");
        assert!(pem.contains(&one) && pem.contains(&two), "{pem}");
    }
}

#[test]
fn private_key_entries_are_not_trusted() {
    let bed = Bed::new();
    let ca = bed.ca("ca");
    for (store, kind) in [("t.jks", "JKS"), ("t.p12", "PKCS12")] {
        bed.key_pair(store, kind, "me");
        bed.import(store, kind, "ca", &ca, &[]);
    }
    assert_eq!(
        load_pem(&bed.jks("t.jks", Some(PASSWORD))).unwrap(),
        read(&ca)
    );
    assert_eq!(load_pem(&bed.jks("t.jks", None)).unwrap(), read(&ca));
    assert_eq!(
        load_pem(&bed.p12("t.p12", Some(PASSWORD))).unwrap(),
        read(&ca)
    );

    bed.key_pair("keys.jks", "JKS", "me");
    let err = load_pem(&bed.jks("keys.jks", Some(PASSWORD))).unwrap_err();
    assert!(matches!(err, TruststoreError::Empty { .. }), "{err:?}");
    assert!(
        err.to_string().contains("1 private key entry skipped"),
        "{err}"
    );
}

#[test]
fn openssl_pkcs12_without_trust_attribute_is_empty_as_in_java() {
    let bed = Bed::new();
    let ca = bed.ca("ca");
    let out = bed.path("o.p12");
    bed.run(
        "openssl",
        &[
            "pkcs12",
            "-export",
            "-nokeys",
            "-in",
            ca.to_str().unwrap(),
            "-out",
            out.to_str().unwrap(),
            "-passout",
            &format!("pass:{PASSWORD}"),
        ],
    );
    let err = load_pem(&bed.p12("o.p12", Some(PASSWORD))).unwrap_err();
    assert!(matches!(err, TruststoreError::Empty { .. }), "{err:?}");
    assert!(
        err.to_string().contains("trusted-certificate attribute"),
        "{err}"
    );
}

#[test]
fn configured_type_may_differ_from_the_file_as_in_java() {
    let bed = Bed::new();
    let ca = bed.ca("ca");
    bed.import("t.jks", "JKS", "ca", &ca, &[]);
    bed.import("t.p12", "PKCS12", "ca", &ca, &[]);
    assert_eq!(
        load_pem(&bed.p12("t.jks", Some(PASSWORD))).unwrap(),
        read(&ca)
    );
    assert_eq!(
        load_pem(&bed.jks("t.p12", Some(PASSWORD))).unwrap(),
        read(&ca)
    );
    // Errors name the format actually found.
    let err = load_pem(&bed.p12("t.jks", Some(WRONG))).unwrap_err();
    assert_wrong_password(&err, &bed.path("t.jks"), "(JKS)");
}

#[test]
fn pem_without_certificate_is_refused_by_name() {
    let bed = Bed::new();
    bed.ca("ca");
    let key = bed.path("ca.key");
    let err = load_pem(&Truststore::PemFile(key.clone())).unwrap_err();
    assert!(matches!(err, TruststoreError::Empty { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&key.display().to_string()), "{message}");
    assert!(message.contains("PEM"), "{message}");

    let err = load_pem(&Truststore::PemInline("just text".into())).unwrap_err();
    assert!(err.to_string().contains("inline"), "{err}");
}

#[test]
fn pem_is_normalised() {
    let bed = Bed::new();
    let ca = bed.ca("ca");
    let expected = read(&ca);
    let der = super::pem::certificates(&expected).unwrap();
    // CRLF, a comment, a private key and unwrapped base64 all reduce to the same output.
    let messy = format!(
        "# my CA\r\n{}\r\n-----BEGIN CERTIFICATE-----\r\n{}\r\n-----END CERTIFICATE-----\r\n",
        read(&bed.path("ca.key")),
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &der[0])
    );
    assert_eq!(load_pem(&Truststore::PemInline(messy)).unwrap(), expected);
}

#[test]
fn wrong_kind_of_file_gets_a_clear_error() {
    let bed = Bed::new();
    let ca = bed.ca("ca");
    bed.import("t.jks", "JKS", "ca", &ca, &[]);
    std::fs::write(bed.path("empty"), b"").unwrap();
    std::fs::write(bed.path("junk"), b"\x00\x01garbage bytes").unwrap();
    std::fs::write(bed.path("jceks"), b"\xCE\xCE\xCE\xCE\x00\x00\x00\x02").unwrap();

    let cases: [(Truststore, &str); 6] = [
        (bed.jks("ca.crt", None), "set the truststore type to PEM"),
        (
            Truststore::PemFile(bed.path("t.jks")),
            "set the truststore type to JKS",
        ),
        (bed.jks("empty", None), "the file is empty"),
        (bed.p12("junk", Some(PASSWORD)), "neither JKS nor PKCS#12"),
        (bed.jks("jceks", None), "JCEKS"),
        (bed.jks("missing", None), "cannot read JKS truststore"),
    ];
    for (store, needle) in cases {
        let message = load_pem(&store).unwrap_err().to_string();
        assert!(message.contains(needle), "{message}");
        assert!(
            message.contains(&bed.tools.dir.path().display().to_string()),
            "{message}"
        );
    }
}

#[test]
fn truncated_and_damaged_stores_are_errors_not_panics() {
    let bed = Bed::new();
    let ca = bed.ca("ca");
    for (store, kind) in [("t.jks", "JKS"), ("t.p12", "PKCS12")] {
        bed.key_pair(store, kind, "me");
        bed.import(store, kind, "ca", &ca, &[]);
    }
    let clear = ["-J-Dkeystore.pkcs12.certProtectionAlgorithm=NONE"];
    bed.import("clear.p12", "PKCS12", "ca", &ca, &clear);

    for name in ["t.jks", "t.p12", "clear.p12", "ca.crt"] {
        let data = std::fs::read(bed.path(name)).unwrap();
        let cut = bed.path("cut");
        // Every proper prefix must fail; the cheap password-less path is tried at every length,
        // the password path (a KDF per try once the DER parses) at a sample of them.
        for len in 0..data.len() {
            std::fs::write(&cut, &data[..len]).unwrap();
            let with_password = len % 97 == 0 || len + 20 >= data.len();
            for password in [None, Some(PASSWORD)] {
                if password.is_some() && !with_password {
                    continue;
                }
                let store = if name.ends_with(".crt") {
                    Truststore::PemFile(cut.clone())
                } else {
                    Truststore::Pkcs12 {
                        path: cut.clone(),
                        password: password.map(Secret::new),
                    }
                };
                match load_pem(&store) {
                    Err(err) => assert!(!err.to_string().contains(PASSWORD)),
                    // A PEM file cut after the END line of its last block is still whole.
                    Ok(_) => assert!(name.ends_with(".crt") && len + 1 >= data.len(), "{name}"),
                }
            }
        }

        // Random byte changes: any result is fine, a panic is not.
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..600 {
            let mut mutated = data.clone();
            for _ in 0..=(next() % 3) {
                let at = (next() as usize) % mutated.len();
                mutated[at] = next() as u8;
            }
            std::fs::write(&cut, &mutated).unwrap();
            let password = (round % 20 == 0).then_some(PASSWORD);
            let _ = load_pem(&bed.jks("cut", password));
            let _ = load_pem(&Truststore::PemFile(cut.clone()));
        }
    }
}

#[test]
fn testbed_stores_match_its_ca() {
    let Some(var) = super::tool_bed::testbed_env("testbed_stores_match_its_ca") else {
        return;
    };
    let ca = PathBuf::from(var("TRUSTSTORE_PEM"));
    let expected = load_pem(&Truststore::PemFile(ca)).unwrap();
    let jks = Truststore::Jks {
        path: var("TRUSTSTORE_JKS").into(),
        password: Some(Secret::new(var("TRUSTSTORE_JKS_PASSWORD"))),
    };
    let p12 = Truststore::Pkcs12 {
        path: var("TRUSTSTORE_P12").into(),
        password: Some(Secret::new(var("TRUSTSTORE_P12_PASSWORD"))),
    };
    assert_eq!(load_pem(&jks).unwrap(), expected);
    assert_eq!(load_pem(&p12).unwrap(), expected);
}
