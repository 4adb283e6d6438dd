//! The client keystore keys (`ssl.keystore.*`, `ssl.key.password`) of one connection, read
//! with Kafka's rules (`DefaultSslEngineFactory.createKeystore`), so a configuration Strait
//! accepts also works in MirrorMaker 2 and the reverse:
//!
//! - `ssl.keystore.key` with `ssl.keystore.certificate.chain`: PEM given inline; no
//!   `ssl.keystore.location` or `ssl.keystore.password` beside them.
//! - `ssl.keystore.location` with type `JKS` (the default) or `PKCS12`: the keystore password is
//!   required; `ssl.key.password` defaults to it.
//! - `ssl.keystore.location` with type `PEM`: no keystore password, and `ssl.key.password` is
//!   required (Kafka reads the key of a PEM file as encrypted PKCS#8).
//!
//! A keystore that can be read here (inline, or a file that exists on this machine) is read now,
//! so `strait validate` reports a wrong password or a key without its certificate against the
//! key at fault; one that does not exist here is read when the clients are created.

use std::path::{Path, PathBuf};

use super::client_context::ClientContext;
use super::error::{ConfigError, ConfigWarning};
use super::key_reader::KeyReader;
use super::truststore::{KeystoreField, load_identity};
use super::{Keystore, KeystoreSource, Secret};

/// The keystore keys, read into [`Keystore`].
pub(crate) const KEYS: &[&str] = &[
    "ssl.keystore.location",
    "ssl.keystore.password",
    "ssl.keystore.type",
    "ssl.keystore.certificate.chain",
    "ssl.keystore.key",
    "ssl.key.password",
];

/// The full names of the keys under one prefix.
struct Names {
    location: String,
    password: String,
    store_type: String,
    chain: String,
    key: String,
    key_password: String,
}

impl Names {
    fn new(prefix: &str) -> Self {
        let k = |name: &str| format!("{prefix}{name}");
        Self {
            location: k("ssl.keystore.location"),
            password: k("ssl.keystore.password"),
            store_type: k("ssl.keystore.type"),
            chain: k("ssl.keystore.certificate.chain"),
            key: k("ssl.keystore.key"),
            key_password: k("ssl.key.password"),
        }
    }
}

/// The keystore of the connection under `prefix` (e.g. `source.cluster.`), `None` when no
/// client certificate is configured.
pub(crate) fn keystore(
    r: &KeyReader<'_>,
    prefix: &str,
    ctx: &ClientContext,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<Option<Keystore>, ConfigError> {
    let n = Names::new(prefix);
    let location = r.non_blank(&n.location);
    // Empty passwords count as given, as in Kafka (a PKCS#12 file may have an empty password).
    let password = r.str(&n.password).map(Secret::new);
    let key_password = r.str(&n.key_password).map(Secret::new);
    // PEM text is kept byte for byte.
    let chain = r.str(&n.chain).filter(|v| !v.trim().is_empty());
    let key = r.str(&n.key).filter(|v| !v.trim().is_empty());
    let store_type = r.non_blank(&n.store_type).map(str::to_ascii_uppercase);

    // The keystore a Strimzi Connect pod would have, from the KafkaConnect's Secret.
    if let Some(stand_in) = location.and_then(|l| ctx.virtual_keystores.get(Path::new(l))) {
        let keystore = Keystore {
            source: stand_in.clone(),
            key_password: None,
            config_key: written(r, &n.location),
        };
        check_now(r, &n, &keystore, &n.location, warnings)?;
        return Ok(Some(keystore));
    }

    let (source, named_by) = match (key, chain, location) {
        (Some(key), chain, location) => {
            if store_type.as_deref().is_some_and(|t| t != "PEM") {
                return Err(r.error(
                    &n.store_type,
                    format!(
                        "is '{}', but {} requires PEM",
                        r.shown(&n.store_type),
                        n.key
                    ),
                ));
            }
            let Some(chain) = chain else {
                return Err(r.error(
                    &n.key,
                    format!("needs {} (the certificate chain of the key)", n.chain),
                ));
            };
            if location.is_some() {
                return Err(r.error(
                    &n.key,
                    format!("cannot be combined with {}; set one of them", n.location),
                ));
            }
            if password.is_some() {
                return Err(r.error(
                    &n.password,
                    "cannot be set with a PEM key (as in Kafka; only ssl.key.password may be set)",
                ));
            }
            let source = KeystoreSource::PemInline {
                certificate_chain: chain.to_owned(),
                key: Secret::new(key),
            };
            (source, &n.key)
        }
        (None, Some(_), _) => {
            return Err(r.error(&n.chain, format!("needs {} (the private key)", n.key)));
        }
        (None, None, Some(path)) => {
            let path = PathBuf::from(path);
            let source = match store_type.as_deref().unwrap_or("JKS") {
                "PEM" => {
                    if password.is_some() {
                        return Err(r.error(
                            &n.password,
                            "cannot be set with a PEM keystore (as in Kafka; only \
                             ssl.key.password may be set)",
                        ));
                    }
                    if key_password.is_none() {
                        return Err(r.error(
                            &n.key_password,
                            format!(
                                "is required with a PEM keystore file (Kafka reads its key as \
                                 encrypted PKCS#8); or give the key inline with {} and {}",
                                n.key, n.chain
                            ),
                        ));
                    }
                    KeystoreSource::PemFile(path)
                }
                kind @ ("JKS" | "PKCS12") => {
                    let Some(password) = password else {
                        return Err(r.error(
                            &n.password,
                            format!("is required with {} (as in Kafka)", n.location),
                        ));
                    };
                    if kind == "JKS" {
                        KeystoreSource::Jks { path, password }
                    } else {
                        KeystoreSource::Pkcs12 { path, password }
                    }
                }
                _ => {
                    return Err(r.error(
                        &n.store_type,
                        format!(
                            "'{}' is not supported (expected JKS, PKCS12 or PEM)",
                            r.shown(&n.store_type)
                        ),
                    ));
                }
            };
            (source, &n.location)
        }
        (None, None, None) => {
            if password.is_some() {
                return Err(r.error(
                    &n.password,
                    format!("is set, but {} is not (as in Kafka)", n.location),
                ));
            }
            if key_password.is_some() {
                warnings.push(ConfigWarning::new(
                    r.at(&n.key_password),
                    "ignored: no keystore is configured",
                ));
            }
            return Ok(None);
        }
    };
    let keystore = Keystore {
        source,
        key_password,
        config_key: written(r, named_by),
    };
    check_now(r, &n, &keystore, named_by, warnings)?;
    Ok(Some(keystore))
}

/// `key` as the user wrote it (e.g. `A.ssl.keystore.location` in `mm2.properties`).
fn written(r: &KeyReader<'_>, key: &str) -> String {
    let at = r.at(key);
    at.written_as.or(at.key).unwrap_or_else(|| key.to_owned())
}

/// Reads the keystore now when it is readable here, turning a failure into an error about the
/// key at fault (`named_by` for the store itself).
fn check_now(
    r: &KeyReader<'_>,
    n: &Names,
    keystore: &Keystore,
    named_by: &str,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<(), ConfigError> {
    let here = match &keystore.source {
        KeystoreSource::PemInline { .. } => true,
        KeystoreSource::PemFile(path)
        | KeystoreSource::Jks { path, .. }
        | KeystoreSource::Pkcs12 { path, .. } => path.exists(),
    };
    if !here {
        return Ok(());
    }
    match load_identity(keystore) {
        Ok(identity) => {
            if identity.key_entries > 1 {
                warnings.push(ConfigWarning::new(
                    r.at(named_by),
                    format!(
                        "the keystore holds {} private keys; Strait uses the first{} (Java's \
                         key manager picks one the broker accepts)",
                        identity.key_entries,
                        identity
                            .alias
                            .map(|a| format!(", '{a}'"))
                            .unwrap_or_default()
                    ),
                ));
            }
            Ok(())
        }
        Err(e) => {
            let key = match e.field() {
                KeystoreField::Store => named_by,
                KeystoreField::StorePassword => n.password.as_str(),
                KeystoreField::KeyPassword => n.key_password.as_str(),
                KeystoreField::CertificateChain => n.chain.as_str(),
            };
            Err(r.error(key, e.reason()))
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::truststore::tool_bed::ToolBed;
    use std::collections::BTreeMap;

    use super::*;
    use crate::config::client_props::connection;
    use crate::config::error::Origin;
    use crate::config::settings::{Setting, Settings};
    use crate::config::test_support::load_texts;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Setting::plain(k, *v)))
            .collect()
    }

    /// The keystore of connection `c.` over SSL, with `extra` keys.
    fn read(
        extra: &[(&str, &str)],
        ctx: &ClientContext,
    ) -> Result<(Option<Keystore>, Vec<ConfigWarning>), String> {
        let mut pairs = vec![
            ("c.bootstrap.servers", "a:1"),
            ("c.security.protocol", "SSL"),
        ];
        pairs.extend_from_slice(extra);
        let s = settings(&pairs);
        let r = KeyReader::new(&s, Origin::file("f"));
        let mut w = Vec::new();
        let result = connection(&r, "c.", ctx, &mut w)
            .map(|c| (c.tls.keystore, w))
            .map_err(|e| e.to_string());
        if let Err(e) = &result {
            assert!(!e.contains("SECRET"), "{e}");
        }
        result
    }

    fn ok(extra: &[(&str, &str)]) -> (Keystore, Vec<ConfigWarning>) {
        let (k, w) = read(extra, &ClientContext::default()).unwrap();
        (k.unwrap(), w)
    }

    fn err(extra: &[(&str, &str)]) -> String {
        read(extra, &ClientContext::default()).unwrap_err()
    }

    #[test]
    fn file_keystores_as_kafka_reads_them() {
        let (k, w) = ok(&[
            ("c.ssl.keystore.location", "/no/such/k.jks"),
            ("c.ssl.keystore.password", "SECRET-store"),
            ("c.ssl.key.password", "SECRET-key"),
        ]);
        match &k.source {
            KeystoreSource::Jks { path, password } => {
                assert_eq!(path, Path::new("/no/such/k.jks"));
                assert_eq!(password.expose(), "SECRET-store");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(k.key_password.unwrap().expose(), "SECRET-key");
        assert_eq!(k.config_key, "c.ssl.keystore.location");
        assert!(w.is_empty(), "{w:?}");

        let (k, _) = ok(&[
            ("c.ssl.keystore.location", "/k.p12"),
            ("c.ssl.keystore.type", "pkcs12"),
            ("c.ssl.keystore.password", ""),
        ]);
        assert!(
            matches!(&k.source, KeystoreSource::Pkcs12 { password, .. } if password.expose().is_empty()),
            "an empty password counts as given, as in Kafka"
        );
        let (k, _) = ok(&[
            ("c.ssl.keystore.location", "/k.pem"),
            ("c.ssl.keystore.type", "PEM"),
            ("c.ssl.key.password", "SECRET-key"),
        ]);
        assert!(matches!(k.source, KeystoreSource::PemFile(_)));
    }

    #[test]
    fn invalid_keystore_settings() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("c.ssl.keystore.location", "/k.jks")],
                "key 'c.ssl.keystore.password': is required with c.ssl.keystore.location (as in Kafka)",
            ),
            (
                &[("c.ssl.keystore.password", "SECRET")],
                "key 'c.ssl.keystore.password': is set, but c.ssl.keystore.location is not (as in Kafka)",
            ),
            (
                &[
                    ("c.ssl.keystore.location", "/k"),
                    ("c.ssl.keystore.password", "SECRET"),
                    ("c.ssl.keystore.type", "BKS"),
                ],
                "key 'c.ssl.keystore.type': 'BKS' is not supported (expected JKS, PKCS12 or PEM)",
            ),
            (
                &[
                    ("c.ssl.keystore.location", "/k.pem"),
                    ("c.ssl.keystore.type", "PEM"),
                    ("c.ssl.keystore.password", "SECRET"),
                    ("c.ssl.key.password", "SECRET"),
                ],
                "key 'c.ssl.keystore.password': cannot be set with a PEM keystore",
            ),
            (
                &[
                    ("c.ssl.keystore.location", "/k.pem"),
                    ("c.ssl.keystore.type", "PEM"),
                ],
                "key 'c.ssl.key.password': is required with a PEM keystore file",
            ),
            (
                &[("c.ssl.keystore.key", "SECRET-KEY")],
                "key 'c.ssl.keystore.key': needs c.ssl.keystore.certificate.chain",
            ),
            (
                &[("c.ssl.keystore.certificate.chain", "CERT")],
                "key 'c.ssl.keystore.certificate.chain': needs c.ssl.keystore.key",
            ),
            (
                &[
                    ("c.ssl.keystore.key", "SECRET-KEY"),
                    ("c.ssl.keystore.certificate.chain", "CERT"),
                    ("c.ssl.keystore.location", "/k.jks"),
                ],
                "key 'c.ssl.keystore.key': cannot be combined with c.ssl.keystore.location",
            ),
            (
                &[
                    ("c.ssl.keystore.key", "SECRET-KEY"),
                    ("c.ssl.keystore.certificate.chain", "CERT"),
                    ("c.ssl.keystore.type", "JKS"),
                ],
                "key 'c.ssl.keystore.type': is 'JKS', but c.ssl.keystore.key requires PEM",
            ),
            (
                &[
                    ("c.ssl.keystore.key", "SECRET-KEY"),
                    ("c.ssl.keystore.certificate.chain", "CERT"),
                    ("c.ssl.keystore.password", "SECRET"),
                ],
                "key 'c.ssl.keystore.password': cannot be set with a PEM key",
            ),
            (
                &[
                    ("c.ssl.keystore.key", "SECRET-KEY"),
                    ("c.ssl.keystore.certificate.chain", "CERT"),
                ],
                "key 'c.ssl.keystore.key': PEM keystore (inline PEM): holds no private key",
            ),
        ];
        for (extra, expected) in cases {
            let e = err(extra);
            assert!(e.contains(expected), "{extra:?}:\n{e}\nlacks\n{expected}");
        }
    }

    #[test]
    fn unused_keystore_keys_are_reported() {
        let (k, w) = read(
            &[("c.ssl.key.password", "SECRET")],
            &ClientContext::default(),
        )
        .unwrap();
        assert!(k.is_none());
        assert_eq!(w.len(), 1);
        assert!(
            w[0].to_string()
                .ends_with("key 'c.ssl.key.password': ignored: no keystore is configured"),
            "{}",
            w[0]
        );

        let s = settings(&[
            ("c.bootstrap.servers", "a:1"),
            ("c.ssl.keystore.location", "/k.jks"),
            ("c.ssl.keystore.password", "SECRET"),
        ]);
        let r = KeyReader::new(&s, Origin::file("f"));
        let mut w = Vec::new();
        let c = connection(&r, "c.", &ClientContext::default(), &mut w).unwrap();
        assert!(c.tls.keystore.is_none());
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w.iter().all(|w| {
            w.to_string()
                .contains("ignored: security.protocol is PLAINTEXT")
        }));
    }

    #[test]
    fn strimzi_stand_in_wins() {
        let stand_in = KeystoreSource::PemInline {
            certificate_chain: "CERT".into(),
            key: Secret::new("SECRET-KEY"),
        };
        let ctx = ClientContext {
            virtual_keystores: BTreeMap::from([(
                PathBuf::from("/tmp/kafka/cluster.keystore.p12"),
                stand_in,
            )]),
            ..ClientContext::default()
        };
        // Read now (inline PEM can be), so the fake PEM is an error that proves the stand-in
        // was used, whatever the type and password say.
        let e = read(
            &[
                ("c.ssl.keystore.location", "/tmp/kafka/cluster.keystore.p12"),
                ("c.ssl.keystore.password", "SECRET-stand-in"),
                ("c.ssl.keystore.type", "PKCS12"),
            ],
            &ctx,
        )
        .unwrap_err();
        assert!(
            e.contains(
                "key 'c.ssl.keystore.location': PEM keystore (inline PEM): holds no private key"
            ),
            "{e}"
        );
    }

    /// Adds an EC key entry `alias` (key password `SECRET-key`) to `k.jks` (store password
    /// `SECRET-store`) in the tools' directory.
    fn add_key_entry(tools: &ToolBed, alias: &str) {
        let dname = format!("CN={alias}");
        tools.run(
            "keytool",
            &[
                "-genkeypair",
                "-keystore",
                "k.jks",
                "-storetype",
                "JKS",
                "-storepass",
                "SECRET-store",
                "-keypass",
                "SECRET-key",
                "-alias",
                alias,
                "-keyalg",
                "EC",
                "-groupname",
                "secp256r1",
                "-dname",
                &dname,
                "-validity",
                "2",
            ],
        );
    }

    #[test]
    fn readable_keystores_are_checked_when_read() {
        let tools = ToolBed::new();
        add_key_entry(&tools, "me");
        let jks = tools.path("k.jks").display().to_string();
        let with = |store: &str, key: Option<&str>| {
            let mut extra = vec![
                ("c.ssl.keystore.location", jks.as_str()),
                ("c.ssl.keystore.password", store),
            ];
            extra.extend(key.map(|k| ("c.ssl.key.password", k)));
            read(&extra, &ClientContext::default())
        };
        assert!(with("SECRET-store", Some("SECRET-key")).is_ok());
        let e = with("SECRET-wrong", Some("SECRET-key")).unwrap_err();
        assert!(
            e.starts_with(&format!(
                "f, key 'c.ssl.keystore.password': JKS keystore {jks}: wrong keystore password"
            )),
            "{e}"
        );
        let e = with("SECRET-store", Some("SECRET-wrong")).unwrap_err();
        assert!(
            e.starts_with(&format!(
                "f, key 'c.ssl.key.password': JKS keystore {jks}: cannot decrypt the private key of entry 'me': wrong key password"
            )),
            "{e}"
        );
        let e = with("SECRET-store", None).unwrap_err();
        assert!(e.contains("ssl.key.password is not set"), "{e}");

        // A second key entry: used, with a warning naming the choice.
        add_key_entry(&tools, "other");
        let (_, w) = with("SECRET-store", Some("SECRET-key")).unwrap();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].to_string()
                .contains("the keystore holds 2 private keys; Strait uses the first"),
            "{}",
            w[0]
        );
    }

    #[test]
    fn every_reader_passes_keystore_keys_through() {
        let mm2 = "clusters = A, B\nA.bootstrap.servers = a:9093\nB.bootstrap.servers = b:9093\n\
                   A->B.enabled = true\nsecurity.protocol = SSL\n\
                   ssl.keystore.location = /no/such/all.p12\nssl.keystore.type = PKCS12\n\
                   ssl.keystore.password = SECRET-all\n\
                   B.ssl.keystore.location = /no/such/b.jks\nB.ssl.keystore.type = JKS\n\
                   B.ssl.keystore.password = SECRET-b\nB.ssl.key.password = SECRET-bk\n\
                   A.producer.ssl.keystore.location = /no/such/other.p12\n";
        let l = load_texts(&[("mm2.properties", mm2)]).unwrap();
        let f = l.config.flows.iter().find(|f| f.name() == "A->B").unwrap();
        match f
            .source
            .tls
            .keystore
            .as_ref()
            .map(|k| (&k.source, &k.config_key))
        {
            Some((KeystoreSource::Pkcs12 { path, .. }, key)) => {
                assert_eq!(path, Path::new("/no/such/all.p12"));
                assert_eq!(key, "ssl.keystore.location");
            }
            other => panic!("{other:?}"),
        }
        let target = f.target.tls.keystore.as_ref().unwrap();
        assert!(matches!(target.source, KeystoreSource::Jks { .. }));
        assert_eq!(target.config_key, "B.ssl.keystore.location");
        assert_eq!(target.key_password.as_ref().unwrap().expose(), "SECRET-bk");
        let w: Vec<String> = l.warnings.iter().map(ToString::to_string).collect();
        assert!(
            w.iter()
                .any(|w| w.contains("A.producer.ssl.keystore.location")
                    && w.contains("Strait connects to a cluster one way")),
            "{w:#?}"
        );
        assert!(
            w.iter().any(
                |w| w.contains("target keystore /no/such/b.jks does not exist on this machine")
            ),
            "{w:#?}"
        );

        let yaml = "flows:\n  - source:\n      alias: A\n      bootstrap.servers: a:9093\n      \
                    security.protocol: SSL\n      ssl.keystore.type: PEM\n      \
                    ssl.keystore.certificate.chain: ${env:STRAIT_TEST_VAR}\n      \
                    ssl.keystore.key: SECRET-KEY\n    target:\n      alias: B\n      \
                    bootstrap.servers: b:9093\n";
        let e = load_texts(&[("strait.yaml", yaml)])
            .unwrap_err()
            .to_string();
        // Inline PEM is read at once: the fake key is reported against the key that names it.
        assert!(
            e.contains("key 'source.cluster.ssl.keystore.key' (set as 'source.ssl.keystore.key'): PEM keystore (inline PEM): holds no private key"),
            "{e}"
        );
        assert!(!e.contains("SECRET"), "{e}");
    }
}
