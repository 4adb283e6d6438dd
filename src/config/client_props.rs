//! Java client properties (`bootstrap.servers`, `security.protocol`, `sasl.*`, `ssl.*`, ...)
//! into a [`ClusterConnection`]; other client keys go through the one Java→librdkafka table
//! ([`super::client_keys`]). Keys Strait cannot honour become warnings or errors, never
//! silently dropped.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::client_keys::{ClientKey, client_key, known_keys};
use super::client_keystore;
// Defined apart so the keystore reader can take it without importing this module.
pub use super::client_context::ClientContext;
use super::error::{ConfigError, ConfigWarning};
use super::jaas::{self, LoginModule};
use super::key_reader::KeyReader;
use super::settings::Setting;
use super::suggest::unknown_key_message;
use super::{ClusterConnection, Sasl, SaslMechanism, SecurityProtocol, Tls, Truststore};

/// The keys read into the model rather than passed through the table (with
/// [`client_keystore::KEYS`]).
const MODEL_KEYS: &[&str] = &[
    "bootstrap.servers",
    "security.protocol",
    "sasl.mechanism",
    "sasl.jaas.config",
    "ssl.truststore.location",
    "ssl.truststore.password",
    "ssl.truststore.type",
    "ssl.truststore.certificates",
    "ssl.endpoint.identification.algorithm",
];

/// Whether `name` (a Java client key) describes how to connect: MM2 copies exactly these
/// (`bootstrap.servers`, `security.protocol`, `ssl.*`, `sasl.*`) from `X.cluster.*`.
pub fn is_connection_key(name: &str) -> bool {
    name == "bootstrap.servers"
        || name == "security.protocol"
        || name.starts_with("ssl.")
        || name.starts_with("sasl.")
}

/// Reads the connection described by the keys under `prefix` (e.g. `source.cluster.`); other
/// client keys under `prefix` become librdkafka overrides of the connection.
pub(crate) fn connection(
    r: &KeyReader<'_>,
    prefix: &str,
    ctx: &ClientContext,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<ClusterConnection, ConfigError> {
    let key = |name: &str| format!("{prefix}{name}");
    let bootstrap_key = key("bootstrap.servers");
    let bootstrap_servers = r.non_blank(&bootstrap_key).ok_or_else(|| {
        r.error(
            &bootstrap_key,
            "is required (host:port list of the cluster's brokers)",
        )
    })?;
    check_bootstrap(r, &bootstrap_key, bootstrap_servers)?;

    let protocol_key = key("security.protocol");
    let security_protocol = match r.non_blank(&protocol_key) {
        None => SecurityProtocol::Plaintext,
        Some(v) => v
            .parse::<SecurityProtocol>()
            .map_err(|_: super::model::UnknownSecurityProtocol| {
                r.error(
                    &protocol_key,
                    format!(
                        "unknown security.protocol '{}' (expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL)",
                        r.shown(&protocol_key)
                    ),
                )
            })?,
    };
    let sasl = sasl(r, prefix, security_protocol, warnings)?;
    let tls = tls(r, prefix, security_protocol, ctx, warnings)?;

    let mut client_overrides = BTreeMap::new();
    for model_key in MODEL_KEYS.iter().chain(client_keystore::KEYS) {
        r.mark_used(&key(model_key));
    }
    // Keys already read (e.g. `source.cluster.alias`) are not client properties.
    let rest: Vec<(&str, &Setting)> = r
        .with_prefix(prefix)
        .filter(|(k, _)| !r.is_used(k))
        .collect();
    for (full, setting) in rest {
        r.mark_used(full);
        apply_client_key(
            r,
            full,
            &full[prefix.len()..],
            setting,
            &mut client_overrides,
            warnings,
        )?;
    }
    Ok(ClusterConnection {
        bootstrap_servers: bootstrap_servers.to_owned(),
        security_protocol,
        tls,
        sasl,
        client_overrides,
    })
}

/// librdkafka overrides from the client keys under `prefix` (e.g. `source.consumer.`), added
/// to `out` unless already there (so call the highest-precedence prefix first). With `out`
/// `None`, Strait has no such client: each non-connection key is reported with `no_client`.
/// Connection keys there (MM2 copies them from the cluster into every client prefix) must
/// agree with the cluster's, given by `cluster_prefix`; Strait connects each cluster one way.
/// Keys already read elsewhere, and `<prefix>override.*` (Connect's own prefixes), are skipped.
pub(crate) fn overrides(
    r: &KeyReader<'_>,
    prefix: &str,
    cluster_prefix: &str,
    mut out: Option<&mut BTreeMap<String, String>>,
    no_client: &str,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<(), ConfigError> {
    let keys: Vec<(&str, &Setting)> = r
        .with_prefix(prefix)
        .filter(|(k, _)| !r.is_used(k) && !k[prefix.len()..].starts_with("override."))
        .collect();
    for (full, setting) in keys {
        r.mark_used(full);
        let name = &full[prefix.len()..];
        if is_connection_key(name) {
            let cluster_key = format!("{cluster_prefix}{name}");
            let same = r
                .get(&cluster_key)
                .is_some_and(|c| c.value.trim() == setting.value.trim());
            if !same {
                warnings.push(ConfigWarning::new(
                    r.at(full),
                    format!(
                        "ignored: Strait connects to a cluster one way for all its clients, \
                         as set by {cluster_key}"
                    ),
                ));
            }
            continue;
        }
        match out.as_deref_mut() {
            Some(map) => {
                let mut one = BTreeMap::new();
                apply_client_key(r, full, name, setting, &mut one, warnings)?;
                for (k, v) in one {
                    map.entry(k).or_insert(v);
                }
            }
            None => warnings.push(ConfigWarning::new(
                r.at(full),
                format!("ignored: {no_client}"),
            )),
        }
    }
    Ok(())
}

/// Applies one non-connection Java client key through the table.
fn apply_client_key(
    r: &KeyReader<'_>,
    full: &str,
    name: &str,
    setting: &Setting,
    out: &mut BTreeMap<String, String>,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<(), ConfigError> {
    match client_key(name) {
        Some(ClientKey::Rename(to)) => {
            out.insert(to.to_owned(), setting.value.clone());
        }
        Some(ClientKey::Convert(to, convert)) => {
            let v = convert(&setting.value).map_err(|e| {
                r.error(
                    full,
                    if setting.sensitive {
                        "invalid value".to_owned()
                    } else {
                        e
                    },
                )
            })?;
            out.insert(to.to_owned(), v);
        }
        Some(ClientKey::Ignore(reason)) => {
            warnings.push(ConfigWarning::new(r.at(full), format!("ignored: {reason}")));
        }
        Some(ClientKey::Reject(reason)) => {
            return Err(r.error(full, format!("not supported: {reason}")));
        }
        None => warnings.push(ConfigWarning::new(
            r.at(full),
            unknown_key_message(
                name,
                "client property",
                known_keys()
                    .chain(MODEL_KEYS.iter().copied())
                    .chain(client_keystore::KEYS.iter().copied()),
            ),
        )),
    }
    Ok(())
}

fn check_bootstrap(r: &KeyReader<'_>, key: &str, value: &str) -> Result<(), ConfigError> {
    for server in value.split(',').map(str::trim) {
        let ok = server
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !ok {
            let shown = if r.get(key).is_some_and(|s| s.sensitive) {
                "[redacted]"
            } else {
                server
            };
            return Err(r.error(key, format!("'{shown}' is not host:port")));
        }
    }
    Ok(())
}

fn sasl(
    r: &KeyReader<'_>,
    prefix: &str,
    protocol: SecurityProtocol,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<Option<Sasl>, ConfigError> {
    let mech_key = format!("{prefix}sasl.mechanism");
    let jaas_key = format!("{prefix}sasl.jaas.config");
    if !protocol.uses_sasl() {
        for k in [&mech_key, &jaas_key] {
            if r.contains(k) {
                r.mark_used(k);
                warnings.push(ConfigWarning::new(
                    r.at(k),
                    format!("ignored: security.protocol is {protocol}, which uses no SASL"),
                ));
            }
        }
        return Ok(None);
    }
    // Kafka's default mechanism is GSSAPI (Kerberos), which Strait does not speak.
    let mechanism: SaslMechanism = r
        .non_blank(&mech_key)
        .unwrap_or("GSSAPI")
        .parse()
        .map_err(|_: super::model::UnknownSaslMechanism| {
            let shown = if r.contains(&mech_key) { r.shown(&mech_key) } else { "GSSAPI".to_owned() };
            r.error(
                &mech_key,
                format!("unsupported sasl.mechanism '{shown}' (expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)"),
            )
        })?;
    let jaas_text = r.non_blank(&jaas_key).ok_or_else(|| {
        r.error(
            &jaas_key,
            format!(
                "is required with security.protocol={protocol} (the SASL username and password)"
            ),
        )
    })?;
    let login = jaas::parse(jaas_text).map_err(|e| r.error(&jaas_key, e.to_string()))?;
    let expected = match mechanism {
        SaslMechanism::Plain => LoginModule::Plain,
        SaslMechanism::ScramSha256 | SaslMechanism::ScramSha512 => LoginModule::Scram,
    };
    if login.module != expected {
        return Err(r.error(
            &jaas_key,
            format!(
                "the login module does not match sasl.mechanism={} (expected {})",
                mechanism.as_str(),
                match expected {
                    LoginModule::Plain => jaas::PLAIN_MODULE,
                    LoginModule::Scram => jaas::SCRAM_MODULE,
                }
            ),
        ));
    }
    for option in &login.other_options {
        warnings.push(ConfigWarning::new(
            r.at(&jaas_key),
            format!("JAAS option '{option}' ignored"),
        ));
    }
    Ok(Some(Sasl {
        mechanism,
        username: login.username,
        password: login.password,
    }))
}

fn tls(
    r: &KeyReader<'_>,
    prefix: &str,
    protocol: SecurityProtocol,
    ctx: &ClientContext,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<Tls, ConfigError> {
    let k = |name: &str| format!("{prefix}{name}");
    let (loc_key, pw_key, type_key, certs_key, algo_key) = (
        k("ssl.truststore.location"),
        k("ssl.truststore.password"),
        k("ssl.truststore.type"),
        k("ssl.truststore.certificates"),
        k("ssl.endpoint.identification.algorithm"),
    );
    if !protocol.uses_tls() {
        let keys = [&loc_key, &pw_key, &type_key, &certs_key, &algo_key]
            .into_iter()
            .cloned()
            .chain(client_keystore::KEYS.iter().map(|name| k(name)));
        for key in keys {
            if r.contains(&key) {
                r.mark_used(&key);
                warnings.push(ConfigWarning::new(
                    r.at(&key),
                    format!("ignored: security.protocol is {protocol}, which uses no TLS"),
                ));
            }
        }
        return Ok(Tls::default());
    }
    let verify_hostname = match r.str(&algo_key).map(str::trim) {
        None => true,
        Some("") => false,
        Some(v) if v.eq_ignore_ascii_case("https") => true,
        Some(_) => {
            return Err(r.error(
                &algo_key,
                format!(
                    "'{}' is not supported (expected https, or empty for no hostname check)",
                    r.shown(&algo_key)
                ),
            ));
        }
    };
    let location = r.non_blank(&loc_key);
    // PEM text is kept byte for byte (trailing newline included).
    let certificates = r.str(&certs_key).filter(|v| !v.trim().is_empty());
    let store_type = r.non_blank(&type_key).map(str::to_ascii_uppercase);
    let password = r
        .str(&pw_key)
        .filter(|p| !p.is_empty())
        .map(super::Secret::new);

    let truststore = match (location, certificates) {
        (Some(_), Some(_)) => {
            return Err(r.error(
                &certs_key,
                format!("cannot be combined with {loc_key}; set one of them"),
            ));
        }
        (None, None) => {
            if password.is_some() {
                warnings.push(ConfigWarning::new(
                    r.at(&pw_key),
                    format!("ignored: {loc_key} is not set"),
                ));
            }
            None
        }
        (None, Some(pem)) => match store_type.as_deref() {
            None | Some("PEM") => Some(Truststore::PemInline(pem.to_owned())),
            Some(_) => {
                return Err(r.error(
                    &type_key,
                    format!("is '{}', but {certs_key} requires PEM", r.shown(&type_key)),
                ));
            }
        },
        (Some(path), None) => {
            if let Some(stand_in) = ctx.virtual_truststores.get(&PathBuf::from(path)) {
                Some(stand_in.clone())
            } else {
                let path = PathBuf::from(path);
                match store_type.as_deref().unwrap_or("JKS") {
                    "JKS" => Some(Truststore::Jks { path, password }),
                    "PKCS12" => Some(Truststore::Pkcs12 { path, password }),
                    "PEM" => Some(Truststore::PemFile(path)),
                    _ => {
                        return Err(r.error(
                            &type_key,
                            format!(
                                "'{}' is not supported (expected JKS, PKCS12 or PEM)",
                                r.shown(&type_key)
                            ),
                        ));
                    }
                }
            }
        }
    };
    Ok(Tls {
        truststore,
        keystore: client_keystore::keystore(r, prefix, ctx, warnings)?,
        verify_hostname,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::error::Origin;
    use crate::config::settings::Settings;

    const JAAS: &str = r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="SECRET-pw";"#;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Setting::plain(k, *v)))
            .collect()
    }

    fn conn(
        pairs: &[(&str, &str)],
    ) -> Result<(ClusterConnection, Vec<ConfigWarning>), ConfigError> {
        let s = settings(pairs);
        let r = KeyReader::new(&s, Origin::file("f"));
        let mut w = Vec::new();
        let ctx = ClientContext {
            virtual_truststores: BTreeMap::from([(
                PathBuf::from("/tmp/kafka/cluster.truststore.p12"),
                Truststore::PemInline("PEM".to_owned()),
            )]),
            virtual_keystores: BTreeMap::new(),
        };
        connection(&r, "c.", &ctx, &mut w).map(|c| (c, w))
    }

    fn err(pairs: &[(&str, &str)]) -> String {
        let e = conn(pairs).unwrap_err().to_string();
        assert!(!e.contains("SECRET"), "{e}");
        e
    }

    #[test]
    fn sasl_ssl_with_jks() {
        let (c, w) = conn(&[
            ("c.bootstrap.servers", "a:9093,b:9093"),
            ("c.security.protocol", "SASL_SSL"),
            ("c.sasl.mechanism", "PLAIN"),
            ("c.sasl.jaas.config", JAAS),
            ("c.ssl.truststore.location", "/mnt/t/truststore.jks"),
            ("c.ssl.truststore.password", "SECRET-ts"),
            ("c.linger.ms", "5"),
            ("c.max.poll.records", "10"),
            ("c.fetch.max.wait.ms", "100"),
        ])
        .unwrap();
        assert_eq!(c.security_protocol, SecurityProtocol::SaslSsl);
        let sasl = c.sasl.unwrap();
        assert_eq!(
            (sasl.mechanism, sasl.username.as_str()),
            (SaslMechanism::Plain, "u")
        );
        assert_eq!(sasl.password.expose(), "SECRET-pw");
        match c.tls.truststore.unwrap() {
            Truststore::Jks { path, password } => {
                assert_eq!(path, PathBuf::from("/mnt/t/truststore.jks"));
                assert_eq!(password.unwrap().expose(), "SECRET-ts");
            }
            other => panic!("{other:?}"),
        }
        assert!(c.tls.verify_hostname);
        assert_eq!(c.client_overrides["linger.ms"], "5");
        assert_eq!(c.client_overrides["fetch.wait.max.ms"], "100");
        assert_eq!(w.len(), 1);
        assert!(w[0].to_string().contains("c.max.poll.records"), "{}", w[0]);
    }

    #[test]
    fn truststore_variants() {
        let base = [
            ("c.bootstrap.servers", "a:1"),
            ("c.security.protocol", "SSL"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut v = base.to_vec();
            v.extend_from_slice(extra);
            conn(&v).unwrap().0.tls
        };
        assert!(matches!(
            with(&[
                ("c.ssl.truststore.location", "/x.p12"),
                ("c.ssl.truststore.type", "pkcs12")
            ])
            .truststore,
            Some(Truststore::Pkcs12 { .. })
        ));
        assert!(matches!(
            with(&[
                ("c.ssl.truststore.location", "/x.pem"),
                ("c.ssl.truststore.type", "PEM")
            ])
            .truststore,
            Some(Truststore::PemFile(_))
        ));
        assert!(matches!(
            with(&[
                ("c.ssl.truststore.certificates", "-----BEGIN"),
                ("c.ssl.truststore.type", "PEM")
            ])
            .truststore,
            Some(Truststore::PemInline(_))
        ));
        assert!(matches!(
            with(&[(
                "c.ssl.truststore.location",
                "/tmp/kafka/cluster.truststore.p12"
            )])
            .truststore,
            Some(Truststore::PemInline(_))
        ));
        let t = with(&[("c.ssl.endpoint.identification.algorithm", "")]);
        assert!(!t.verify_hostname && t.truststore.is_none());
    }

    #[test]
    fn plaintext_ignores_security_keys_with_warnings() {
        let (c, w) = conn(&[
            ("c.bootstrap.servers", "a:1"),
            ("c.sasl.jaas.config", JAAS),
            ("c.ssl.truststore.location", "/x"),
        ])
        .unwrap();
        assert!(c.sasl.is_none() && c.tls.truststore.is_none());
        assert_eq!(w.len(), 2);
        assert!(w.iter().all(|w| !w.to_string().contains("SECRET")));
    }

    #[test]
    fn invalid_connections() {
        let sasl = [
            ("c.bootstrap.servers", "a:1"),
            ("c.security.protocol", "SASL_SSL"),
        ];
        let case = |extra: &[(&'static str, &'static str)]| {
            let mut v = sasl.to_vec();
            v.extend_from_slice(extra);
            err(&v)
        };
        assert_eq!(
            err(&[]),
            "f, key 'c.bootstrap.servers': is required (host:port list of the cluster's brokers)"
        );
        assert_eq!(
            err(&[("c.bootstrap.servers", "a")]),
            "f, key 'c.bootstrap.servers': 'a' is not host:port"
        );
        assert_eq!(
            err(&[
                ("c.bootstrap.servers", "a:1"),
                ("c.security.protocol", "TLS")
            ]),
            "f, key 'c.security.protocol': unknown security.protocol 'TLS' (expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL)"
        );
        assert!(
            case(&[("c.sasl.jaas.config", JAAS)]).contains("unsupported sasl.mechanism 'GSSAPI'")
        );
        assert_eq!(
            case(&[("c.sasl.mechanism", "PLAIN")]),
            "f, key 'c.sasl.jaas.config': is required with security.protocol=SASL_SSL (the SASL username and password)"
        );
        assert!(
            case(&[
                ("c.sasl.mechanism", "SCRAM-SHA-512"),
                ("c.sasl.jaas.config", JAAS)
            ])
            .contains("does not match sasl.mechanism=SCRAM-SHA-512")
        );
        assert!(case(&[("c.sasl.mechanism", "PLAIN"), ("c.sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\";")]).contains("no 'password' option"));
        assert!(case(&[("c.sasl.mechanism", "PLAIN"), ("c.sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required password=\"SECRET\" username=\"u\"")]).contains("missing ';'"));
        let ssl = [
            ("c.bootstrap.servers", "a:1"),
            ("c.security.protocol", "SSL"),
        ];
        let case = |extra: &[(&'static str, &'static str)]| {
            let mut v = ssl.to_vec();
            v.extend_from_slice(extra);
            err(&v)
        };
        assert!(
            case(&[
                ("c.ssl.truststore.location", "/x"),
                ("c.ssl.truststore.type", "BKS")
            ])
            .contains("'BKS' is not supported")
        );
        assert!(
            case(&[
                ("c.ssl.truststore.certificates", "x"),
                ("c.ssl.truststore.type", "JKS")
            ])
            .contains("requires PEM")
        );
        assert!(
            case(&[("c.ssl.endpoint.identification.algorithm", "ldaps")])
                .contains("'ldaps' is not supported")
        );
        assert!(case(&[("c.ssl.keystore.location", "/k.jks")]).ends_with(
            "key 'c.ssl.keystore.password': is required with c.ssl.keystore.location (as in Kafka)"
        ));
        assert!(case(&[("c.acks", "2")]).contains("'2' is not one of"));
    }
}
