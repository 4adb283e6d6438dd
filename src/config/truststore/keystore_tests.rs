//! Client keystores made by the real tools, at test time, into a fresh temporary directory:
//! `openssl` for keys, certificates, PKCS#12 and PEM, `keytool` (Java 17) for JKS and keytool's
//! own PKCS#12. Nothing here is a secret that matters: every key and password is thrown away
//! with the directory.

use std::path::PathBuf;

use super::keystore::{ClientIdentity, KeystoreError, KeystoreField, KeystoreProblem};
use super::load_identity;
use super::tool_bed::ToolBed;
use crate::config::{Keystore, KeystoreSource, Secret};

/// Passwords that must never show up in an error.
const STORE_PW: &str = "St0re-s3cret-7d21";
const KEY_PW: &str = "K3y-s3cret-4b90";
const WRONG: &str = "not-the-password";

struct Bed {
    tools: ToolBed,
}

impl Bed {
    /// A CA (`ca.crt`), and a client key (`client.key`, PKCS#8) with its certificate signed by
    /// the CA (`client.crt`), both EC P-256 (fast to generate).
    fn new() -> Self {
        let bed = Self {
            tools: ToolBed::new(),
        };
        bed.openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-subj",
            "/CN=Test CA",
            "-days",
            "2",
        ]);
        bed.signed("client", "ec");
        bed
    }

    /// `<name>.key` and `<name>.crt` signed by the CA; `kind` is `ec` or `rsa`.
    fn signed(&self, name: &str, kind: &str) {
        let mut args = vec!["req", "-newkey"];
        if kind == "ec" {
            args.extend(["ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]);
        } else {
            args.extend(["rsa:2048"]);
        }
        let (key, csr, crt, subj) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.crt"),
            format!("/CN={name}"),
        );
        args.extend(["-nodes", "-keyout", &key, "-out", &csr, "-subj", &subj]);
        self.openssl(&args);
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &crt,
            "-days",
            "2",
        ]);
    }

    fn path(&self, name: &str) -> PathBuf {
        self.tools.path(name)
    }

    fn text(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap()
    }

    fn run(&self, program: &str, args: &[&str]) -> String {
        self.tools.run(program, args)
    }

    fn openssl(&self, args: &[&str]) -> String {
        self.run("openssl", args)
    }

    /// `client.p12` from openssl: key, certificate and the CA as chain, password `STORE_PW`.
    fn openssl_p12(&self, out: &str, extra: &[&str]) {
        let pass = format!("pass:{STORE_PW}");
        let mut args = vec![
            "pkcs12",
            "-export",
            "-in",
            "client.crt",
            "-inkey",
            "client.key",
            "-certfile",
            "ca.crt",
            "-name",
            "client",
            "-passout",
            &pass,
            "-out",
            out,
        ];
        args.extend(extra);
        self.openssl(&args);
    }

    /// A JKS copy of `client.p12` with the key protected by `key_password`.
    fn jks(&self, out: &str, key_password: &str) {
        self.openssl_p12("for-jks.p12", &[]);
        self.run(
            "keytool",
            &[
                "-importkeystore",
                "-noprompt",
                "-srckeystore",
                "for-jks.p12",
                "-srcstoretype",
                "PKCS12",
                "-srcstorepass",
                STORE_PW,
                "-srcalias",
                "client",
                "-destalias",
                "client",
                "-destkeystore",
                out,
                "-deststoretype",
                "JKS",
                "-deststorepass",
                STORE_PW,
                "-destkeypass",
                key_password,
            ],
        );
    }

    /// The public key of `identity` (as openssl derives it from the key) and of its first
    /// certificate must both be the one of `client.crt`.
    fn assert_is_client(&self, identity: &ClientIdentity) {
        std::fs::write(self.path("out.key"), identity.key_pem.expose()).unwrap();
        std::fs::write(self.path("out.crt"), &identity.certificate_pem).unwrap();
        let expected = self.openssl(&["x509", "-in", "client.crt", "-noout", "-pubkey"]);
        assert_eq!(
            self.openssl(&["pkey", "-in", "out.key", "-pubout"]),
            expected
        );
        assert_eq!(
            self.openssl(&["x509", "-in", "out.crt", "-noout", "-pubkey"]),
            expected
        );
        assert!(
            identity
                .key_pem
                .expose()
                .starts_with("-----BEGIN PRIVATE KEY-----\n")
        );
    }
}

fn keystore(source: KeystoreSource, key_password: Option<&str>) -> Keystore {
    Keystore {
        source,
        key_password: key_password.map(Secret::new),
        config_key: "c.ssl.keystore.location".to_owned(),
    }
}

fn jks(path: PathBuf, password: &str) -> KeystoreSource {
    KeystoreSource::Jks {
        path,
        password: Secret::new(password),
    }
}

fn p12(path: PathBuf, password: &str) -> KeystoreSource {
    KeystoreSource::Pkcs12 {
        path,
        password: Secret::new(password),
    }
}

/// Loads, expecting an error; checks it names the key and hides every password.
fn error(k: &Keystore) -> KeystoreError {
    let err = load_identity(k).unwrap_err();
    for shown in [err.to_string(), format!("{err:?}"), err.reason()] {
        for secret in [STORE_PW, KEY_PW, WRONG] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
    assert!(err.to_string().contains(&k.config_key), "{err}");
    err
}

#[test]
fn jks_key_entry_is_recovered() {
    let bed = Bed::new();
    bed.jks("client.jks", KEY_PW);
    let path = bed.path("client.jks");
    let id = load_identity(&keystore(jks(path.clone(), STORE_PW), Some(KEY_PW))).unwrap();
    bed.assert_is_client(&id);
    assert_eq!(id.alias.as_deref(), Some("client"));
    assert_eq!(id.key_entries, 1);
    // The chain is the leaf, then the CA, as the PKCS#12 it came from held it.
    assert_eq!(
        id.certificate_pem,
        format!("{}{}", bed.text("client.crt"), bed.text("ca.crt"))
    );

    // Kafka's default key password is the keystore password.
    bed.jks("same.jks", STORE_PW);
    let id = load_identity(&keystore(jks(bed.path("same.jks"), STORE_PW), None)).unwrap();
    bed.assert_is_client(&id);
}

#[test]
fn jks_wrong_passwords_are_told_apart() {
    let bed = Bed::new();
    bed.jks("client.jks", KEY_PW);
    let path = bed.path("client.jks");
    let err = error(&keystore(jks(path.clone(), WRONG), Some(KEY_PW)));
    assert!(
        matches!(err.problem, KeystoreProblem::WrongStorePassword),
        "{err}"
    );
    assert_eq!(err.field(), KeystoreField::StorePassword);
    assert!(
        err.to_string().starts_with(&format!(
            "JKS keystore {} (c.ssl.keystore.location): wrong keystore password",
            path.display()
        )),
        "{err}"
    );

    let err = error(&keystore(jks(path.clone(), STORE_PW), Some(WRONG)));
    assert!(
        matches!(err.problem, KeystoreProblem::WrongKeyPassword { .. }),
        "{err}"
    );
    assert_eq!(err.field(), KeystoreField::KeyPassword);
    assert!(
        err.to_string()
            .contains("cannot decrypt the private key of entry 'client': wrong key password"),
        "{err}"
    );

    // No ssl.key.password: the store password is tried, and the message says so.
    let err = error(&keystore(jks(path, STORE_PW), None));
    assert!(
        err.to_string().contains("ssl.key.password is not set"),
        "{err}"
    );
}

#[test]
fn pkcs12_from_openssl_and_keytool() {
    let bed = Bed::new();
    bed.openssl_p12("client.p12", &[]);
    let id = load_identity(&keystore(p12(bed.path("client.p12"), STORE_PW), None)).unwrap();
    bed.assert_is_client(&id);
    assert_eq!(
        id.certificate_pem,
        format!("{}{}", bed.text("client.crt"), bed.text("ca.crt"))
    );
    assert_eq!(id.alias.as_deref(), Some("client"));

    // ssl.key.password equal to the store password is fine, as in Java.
    assert!(
        load_identity(&keystore(
            p12(bed.path("client.p12"), STORE_PW),
            Some(STORE_PW)
        ))
        .is_ok()
    );

    // keytool's PKCS#12 (PBES2/AES-256, HMAC-SHA256), converted from the JKS.
    bed.jks("client.jks", STORE_PW);
    bed.run(
        "keytool",
        &[
            "-importkeystore",
            "-noprompt",
            "-srckeystore",
            "client.jks",
            "-srcstorepass",
            STORE_PW,
            "-destkeystore",
            "keytool.p12",
            "-deststoretype",
            "PKCS12",
            "-deststorepass",
            STORE_PW,
        ],
    );
    let id = load_identity(&keystore(p12(bed.path("keytool.p12"), STORE_PW), None)).unwrap();
    bed.assert_is_client(&id);

    // The legacy algorithms Java 8 wrote (RC2/3DES, HMAC-SHA1).
    bed.run(
        "keytool",
        &[
            "-J-Dkeystore.pkcs12.legacy",
            "-importkeystore",
            "-noprompt",
            "-srckeystore",
            "client.jks",
            "-srcstorepass",
            STORE_PW,
            "-destkeystore",
            "legacy.p12",
            "-deststoretype",
            "PKCS12",
            "-deststorepass",
            STORE_PW,
        ],
    );
    let id = load_identity(&keystore(p12(bed.path("legacy.p12"), STORE_PW), None)).unwrap();
    bed.assert_is_client(&id);

    // Configured as JKS, read as what it is (Java's keystore.type.compat).
    let id = load_identity(&keystore(jks(bed.path("client.p12"), STORE_PW), None)).unwrap();
    bed.assert_is_client(&id);
}

#[test]
fn pkcs12_wrong_passwords() {
    let bed = Bed::new();
    bed.openssl_p12("client.p12", &[]);
    let path = bed.path("client.p12");
    let err = error(&keystore(p12(path.clone(), WRONG), None));
    assert!(
        matches!(err.problem, KeystoreProblem::WrongStorePassword),
        "{err}"
    );
    assert!(err.to_string().starts_with("PKCS#12 keystore"), "{err}");
    // A key password other than the store password fails in Java (keytool protects the key
    // with the store password), so it fails here too.
    let err = error(&keystore(p12(path, STORE_PW), Some(KEY_PW)));
    assert!(
        matches!(err.problem, KeystoreProblem::WrongKeyPassword { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("remove ssl.key.password"), "{err}");
}

#[test]
fn stores_without_a_key_entry_are_refused() {
    let bed = Bed::new();
    for (store, kind) in [("trust.jks", "JKS"), ("trust.p12", "PKCS12")] {
        bed.run(
            "keytool",
            &[
                "-importcert",
                "-noprompt",
                "-alias",
                "ca",
                "-file",
                "ca.crt",
                "-storetype",
                kind,
                "-keystore",
                store,
                "-storepass",
                STORE_PW,
            ],
        );
    }
    for source in [
        jks(bed.path("trust.jks"), STORE_PW),
        p12(bed.path("trust.p12"), STORE_PW),
    ] {
        let err = error(&keystore(source, None));
        assert!(
            matches!(err.problem, KeystoreProblem::NoPrivateKey { .. }),
            "{err}"
        );
        assert!(
            err.to_string().contains(
                "holds no private key (1 certificate(s) only: this looks like a truststore"
            ),
            "{err}"
        );
        assert_eq!(err.field(), KeystoreField::Store);
    }
    let err = error(&keystore(KeystoreSource::PemFile(bed.path("ca.crt")), None));
    assert!(
        matches!(err.problem, KeystoreProblem::NoPrivateKey { .. }),
        "{err}"
    );
}

#[test]
fn several_key_entries_use_the_first() {
    let bed = Bed::new();
    bed.jks("two.jks", STORE_PW);
    bed.run(
        "keytool",
        &[
            "-genkeypair",
            "-keystore",
            "two.jks",
            "-storetype",
            "JKS",
            "-storepass",
            STORE_PW,
            "-keypass",
            STORE_PW,
            "-alias",
            "zz-other",
            "-keyalg",
            "EC",
            "-groupname",
            "secp256r1",
            "-dname",
            "CN=other",
            "-validity",
            "2",
        ],
    );
    let id = load_identity(&keystore(jks(bed.path("two.jks"), STORE_PW), None)).unwrap();
    assert_eq!(id.key_entries, 2);
    assert!(id.alias.is_some());
}

#[test]
fn pem_file_with_encrypted_key() {
    let bed = Bed::new();
    let pass = format!("pass:{KEY_PW}");
    bed.openssl(&[
        "pkcs8",
        "-topk8",
        "-v2",
        "aes-256-cbc",
        "-in",
        "client.key",
        "-out",
        "enc.key",
        "-passout",
        &pass,
    ]);
    let pem = format!(
        "{}{}{}",
        bed.text("enc.key"),
        bed.text("client.crt"),
        bed.text("ca.crt")
    );
    std::fs::write(bed.path("client.pem"), pem).unwrap();
    let source = KeystoreSource::PemFile(bed.path("client.pem"));
    let id = load_identity(&keystore(source.clone(), Some(KEY_PW))).unwrap();
    bed.assert_is_client(&id);
    assert_eq!(
        id.certificate_pem,
        format!("{}{}", bed.text("client.crt"), bed.text("ca.crt"))
    );

    let err = error(&keystore(source.clone(), Some(WRONG)));
    assert!(
        matches!(err.problem, KeystoreProblem::WrongKeyPassword { .. }),
        "{err}"
    );
    let err = error(&keystore(source, None));
    assert!(
        matches!(err.problem, KeystoreProblem::KeyEncrypted),
        "{err}"
    );
    assert_eq!(err.field(), KeystoreField::KeyPassword);

    // PKCS#12's SHA-1/3DES scheme, which older OpenSSL and Java wrote.
    bed.openssl(&[
        "pkcs8",
        "-topk8",
        "-v1",
        "PBE-SHA1-3DES",
        "-in",
        "client.key",
        "-out",
        "3des.key",
        "-passout",
        &pass,
    ]);
    let inline = KeystoreSource::PemInline {
        certificate_chain: bed.text("client.crt"),
        key: Secret::new(bed.text("3des.key")),
    };
    bed.assert_is_client(&load_identity(&keystore(inline, Some(KEY_PW))).unwrap());
}

#[test]
fn pem_inline_plain_key() {
    let bed = Bed::new();
    let inline = |key: String| KeystoreSource::PemInline {
        certificate_chain: bed.text("client.crt"),
        key: Secret::new(key),
    };
    let id = load_identity(&keystore(inline(bed.text("client.key")), None)).unwrap();
    bed.assert_is_client(&id);
    assert_eq!(id.key_entries, 1);

    let err = error(&keystore(inline(bed.text("client.key")), Some(KEY_PW)));
    assert!(
        matches!(err.problem, KeystoreProblem::KeyNotEncrypted),
        "{err}"
    );

    // OpenSSL's older key forms fail in Kafka; the message says how to convert.
    bed.openssl(&["ec", "-in", "client.key", "-out", "sec1.key"]);
    let err = error(&keystore(inline(bed.text("sec1.key")), None));
    assert!(
        err.to_string().contains("'EC PRIVATE KEY' (not PKCS#8)")
            && err.to_string().contains("openssl pkcs8 -topk8"),
        "{err}"
    );
    let pass = format!("pass:{KEY_PW}");
    bed.openssl(&[
        "ec",
        "-in",
        "client.key",
        "-aes256",
        "-out",
        "legacy.key",
        "-passout",
        &pass,
    ]);
    let err = error(&keystore(inline(bed.text("legacy.key")), Some(KEY_PW)));
    assert!(err.to_string().contains("legacy OpenSSL way"), "{err}");

    let two = format!("{}{}", bed.text("client.key"), bed.text("ca.key"));
    let err = error(&keystore(inline(two), None));
    assert!(err.to_string().contains("holds 2 private keys"), "{err}");
}

#[test]
fn certificate_of_another_key_is_refused() {
    let bed = Bed::new();
    bed.signed("other", "ec");
    bed.signed("rsa", "rsa");
    let inline = |cert: &str, key: &str| KeystoreSource::PemInline {
        certificate_chain: bed.text(cert),
        key: Secret::new(bed.text(key)),
    };
    for (cert, key) in [
        ("other.crt", "client.key"),
        ("rsa.crt", "client.key"),
        ("client.crt", "rsa.key"),
    ] {
        let err = error(&keystore(inline(cert, key), None));
        assert!(
            matches!(err.problem, KeystoreProblem::Mismatch { .. }),
            "{cert} {key}: {err}"
        );
        assert_eq!(err.field(), KeystoreField::CertificateChain);
    }
    // The RSA pair itself matches (the modulus comparison).
    assert!(load_identity(&keystore(inline("rsa.crt", "rsa.key"), None)).is_ok());
    // The chain must start with the key's own certificate.
    let reversed = KeystoreSource::PemInline {
        certificate_chain: format!("{}{}", bed.text("ca.crt"), bed.text("client.crt")),
        key: Secret::new(bed.text("client.key")),
    };
    assert!(matches!(
        error(&keystore(reversed, None)).problem,
        KeystoreProblem::Mismatch { .. }
    ));
}

#[test]
fn wrong_files_get_clear_errors() {
    let bed = Bed::new();
    bed.openssl_p12("client.p12", &[]);
    std::fs::write(bed.path("empty"), b"").unwrap();
    let cases: [(KeystoreSource, &str); 5] = [
        (
            jks(bed.path("missing.jks"), STORE_PW),
            "cannot read the file",
        ),
        (jks(bed.path("empty"), STORE_PW), "the file is empty"),
        (
            p12(bed.path("client.crt"), STORE_PW),
            "this is a PEM file; set the keystore type to PEM",
        ),
        (
            KeystoreSource::PemFile(bed.path("client.p12")),
            "set the keystore type to PKCS12",
        ),
        (
            KeystoreSource::PemInline {
                certificate_chain: "-----BEGIN CERTIFICATE-----\n".into(),
                key: Secret::new(bed.text("client.key")),
            },
            "has no END line",
        ),
    ];
    for (source, needle) in cases {
        let err = error(&keystore(source, None));
        assert!(err.to_string().contains(needle), "{err}");
    }
}

#[test]
fn damaged_keystores_are_errors_not_panics() {
    let bed = Bed::new();
    bed.jks("client.jks", STORE_PW);
    bed.openssl_p12("client.p12", &[]);
    for name in ["client.jks", "client.p12"] {
        let data = std::fs::read(bed.path(name)).unwrap();
        let cut = bed.path("cut");
        for len in (0..data.len()).step_by(7) {
            std::fs::write(&cut, &data[..len]).unwrap();
            assert!(load_identity(&keystore(jks(cut.clone(), STORE_PW), None)).is_err());
        }
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..200 {
            let mut mutated = data.clone();
            let at = (next() as usize) % mutated.len();
            mutated[at] ^= (next() as u8) | 1;
            std::fs::write(&cut, &mutated).unwrap();
            // Any result is fine (a changed date or name still loads), a panic is not.
            let _ = load_identity(&keystore(jks(cut.clone(), STORE_PW), None));
        }
    }
}

/// The test bed's client keystores, when the test bed is up (`STRAIT_TESTBED_RUN` or
/// `testbed/run`): every format yields the same certificate and key.
#[test]
fn testbed_keystores_agree() {
    let Some(var) = super::tool_bed::testbed_env("testbed_keystores_agree") else {
        return;
    };
    let expected = load_identity(&keystore(
        KeystoreSource::PemInline {
            certificate_chain: std::fs::read_to_string(var("CLIENT_CERT_PEM")).unwrap(),
            key: Secret::new(std::fs::read_to_string(var("CLIENT_KEY_PEM")).unwrap()),
        },
        None,
    ))
    .unwrap();
    let key_pw = var("CLIENT_KEY_PASSWORD");
    for (source, key_password) in [
        (
            jks(var("KEYSTORE_JKS").into(), &var("KEYSTORE_JKS_PASSWORD")),
            Some(key_pw.as_str()),
        ),
        (
            p12(var("KEYSTORE_P12").into(), &var("KEYSTORE_P12_PASSWORD")),
            None,
        ),
        (
            KeystoreSource::PemFile(var("KEYSTORE_PEM").into()),
            Some(key_pw.as_str()),
        ),
    ] {
        let id = load_identity(&keystore(source, key_password)).unwrap();
        assert_eq!(id.certificate_pem, expected.certificate_pem);
        assert_eq!(id.key_pem, expected.key_pem);
    }
}

#[test]
fn pem_key_encryption_schemes() {
    let bed = Bed::new();
    let pass = format!("pass:{KEY_PW}");
    // Every scheme `openssl pkcs8 -topk8` writes with the default provider decrypts; RC2-40
    // (OpenSSL's legacy provider, and refused by Java too) is the unsupported case.
    let cases: [(&str, &[&str], bool); 5] = [
        ("scrypt", &["-scrypt"], true),
        (
            "sha512",
            &["-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA512"],
            true,
        ),
        (
            "sha1prf",
            &["-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA1"],
            true,
        ),
        ("des3", &["-v2", "des3"], true),
        (
            "rc2",
            &[
                "-v1",
                "PBE-SHA1-RC2-40",
                "-provider",
                "legacy",
                "-provider",
                "default",
            ],
            false,
        ),
    ];
    for (name, scheme, supported) in cases {
        let out = format!("{name}.key");
        let mut args = vec![
            "pkcs8",
            "-topk8",
            "-in",
            "client.key",
            "-out",
            &out,
            "-passout",
            &pass,
        ];
        args.extend(scheme);
        bed.openssl(&args);
        let inline = KeystoreSource::PemInline {
            certificate_chain: bed.text("client.crt"),
            key: Secret::new(bed.text(&out)),
        };
        let k = keystore(inline, Some(KEY_PW));
        if supported {
            bed.assert_is_client(&load_identity(&k).unwrap());
        } else {
            let err = error(&k);
            assert!(
                matches!(err.problem, KeystoreProblem::Unsupported(_))
                    && err
                        .to_string()
                        .contains("openssl pkcs8 -topk8 -v2 aes-256-cbc"),
                "{name}: {err}"
            );
        }
    }
}
