//! Strimzi `KafkaConnect` and `KafkaConnector` manifests (`kafka.strimzi.io/v1beta2`).
//!
//! A KafkaConnect gives the worker settings (`spec.config`: `group.id`,
//! `offset.storage.topic`, `config.providers*`) and the connection Strimzi writes to
//! `/tmp/strimzi-connect.properties` in its pods (`spec.bootstrapServers`, `spec.tls`,
//! `spec.authentication`). Strait's pod has no such file, so when it does not exist locally its
//! content is derived from the KafkaConnect, with the real password (read from the Secret
//! manifest), the trusted certificates as PEM and, for `tls` authentication, the client
//! certificate and key of its Secret as PEM. KafkaConnectors labelled
//! `strimzi.io/cluster: <connect>` are its connectors; those sharing source and target
//! aliases form one flow, named by their `metadata.name`s.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

use super::client_props::ClientContext;
use super::connector::{self, ConnectorInput, ConnectorKind, same_servers};
use super::error::{ConfigError, ConfigWarning, Origin};
use super::jaas;
use super::key_reader::KeyReader;
use super::manifests::Manifest;
use super::properties::Properties;
use super::providers::kubernetes::{MapObjects, SECRET_CLASS};
use super::providers::{
    KubernetesObjects, ObjectKind, ProviderEnv, Providers, directory, env, file,
};
use super::settings::Settings;
use super::worker::{self, WorkerDefaults};
use super::{FlowConfig, KeystoreSource, Secret, Truststore, flows, mirror_maker2, yaml};

/// Where Strimzi writes the worker configuration in a Connect pod.
pub const CONNECT_PROPERTIES: &str = "/tmp/strimzi-connect.properties";
/// The PKCS#12 truststore Strimzi (≤0.45) builds from `spec.tls.trustedCertificates`; a
/// connector referring to it gets those certificates as PEM instead.
pub const CONNECT_TRUSTSTORE: &str = "/tmp/kafka/cluster.truststore.p12";
/// The PKCS#12 keystore Strimzi (≤0.45) builds from `spec.authentication.certificateAndKey`; a
/// connector referring to it gets that certificate and key as PEM instead.
pub const CONNECT_KEYSTORE: &str = "/tmp/kafka/cluster.keystore.p12";
const API_GROUP: &str = "kafka.strimzi.io/";
const CLUSTER_LABEL: &str = "strimzi.io/cluster";

/// Kinds read elsewhere or irrelevant to replication (RBAC), so not reported as ignored.
const QUIET_KINDS: &[&str] = &[
    "ConfigMap",
    "Secret",
    "Role",
    "RoleBinding",
    "ServiceAccount",
    "Namespace",
];

/// Adds the objects Strimzi's operator would create that connectors may reference: the
/// Secret `<connect>-connect-tls-trusted-certs` holding all trusted certificates as `ca.crt`.
pub(crate) fn add_operator_objects(manifests: &[Manifest], objects: &mut MapObjects) {
    let mut extra = Vec::new();
    for m in manifests.iter().filter(|m| is_connect(m)) {
        if let Ok(Some(pem)) =
            trusted_certificates(m, m.value.pointer("/spec/tls"), "spec.tls", objects)
        {
            extra.push((
                m.namespace.clone(),
                format!("{}-connect-tls-trusted-certs", m.name),
                pem,
            ));
        }
    }
    for (ns, name, pem) in extra {
        let data = BTreeMap::from([("ca.crt".to_owned(), pem.into_bytes())]);
        objects.insert(ObjectKind::Secret, ns.as_deref(), &name, data);
    }
}

fn is_connect(m: &Manifest) -> bool {
    m.api_version.starts_with(API_GROUP) && m.kind == "KafkaConnect"
}

fn is_connector(m: &Manifest) -> bool {
    m.api_version.starts_with(API_GROUP) && m.kind == "KafkaConnector"
}

/// Reads the flows of all KafkaConnects and their KafkaConnectors, and of all
/// KafkaMirrorMaker2s ([`mirror_maker2`]); each flow comes with the resource that defines it.
pub(crate) fn read(
    manifests: &[Manifest],
    base_env: &ProviderEnv,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<Vec<(FlowConfig, Origin)>, ConfigError> {
    for m in manifests {
        if is_connect(m)
            || is_connector(m)
            || mirror_maker2::is_mirror_maker2(m)
            || (m.api_version == "v1" && QUIET_KINDS.contains(&m.kind.as_str()))
        {
            continue;
        }
        if m.api_version.starts_with("rbac.authorization.k8s.io/") {
            continue;
        }
        warnings.push(ConfigWarning::new(
            m.at.clone(),
            format!("ignored: Strait does not use {} resources", m.kind),
        ));
    }
    let connects: Vec<&Manifest> = manifests.iter().filter(|m| is_connect(m)).collect();
    let mut by_connect: Vec<Vec<&Manifest>> = vec![Vec::new(); connects.len()];
    for c in manifests.iter().filter(|m| is_connector(m)) {
        let cluster = yaml::str_at(
            &c.value,
            &format!("/metadata/labels/{}", CLUSTER_LABEL.replace('/', "~1")),
        )
        .ok_or_else(|| {
            ConfigError::invalid(
                c.at.clone()
                    .with_key(format!("metadata.labels.{CLUSTER_LABEL}")),
                "is required: it names the KafkaConnect that runs the connector",
            )
        })?;
        let idx = connects
            .iter()
            .position(|k| k.name == cluster && (k.namespace == c.namespace || k.namespace.is_none() || c.namespace.is_none()))
            .ok_or_else(|| {
                ConfigError::invalid(
                    c.at.clone().with_key(format!("metadata.labels.{CLUSTER_LABEL}")),
                    format!("names KafkaConnect '{cluster}', which is not among the given files (pass its manifest with -f)"),
                )
            })?;
        by_connect[idx].push(c);
    }
    let mut out = Vec::new();
    for (connect, connectors) in connects.into_iter().zip(by_connect) {
        if connectors.is_empty() {
            warnings.push(ConfigWarning::new(
                connect.at.clone(),
                "has no KafkaConnector in the given files",
            ));
            continue;
        }
        let annotation = yaml::str_at(
            &connect.value,
            "/metadata/annotations/strimzi.io~1use-connector-resources",
        );
        if annotation.as_deref() != Some("true") {
            warnings.push(ConfigWarning::new(
                connect.at.clone(),
                "lacks the annotation strimzi.io/use-connector-resources: \"true\", without which Strimzi ignores KafkaConnectors",
            ));
        }
        for flow in read_connect(connect, &connectors, base_env, warnings)? {
            out.push((flow, connect.at.clone()));
        }
    }
    for m in manifests
        .iter()
        .filter(|m| mirror_maker2::is_mirror_maker2(m))
    {
        for flow in mirror_maker2::read(m, base_env, warnings)? {
            out.push((flow, m.at.clone()));
        }
    }
    Ok(out)
}

fn read_connect(
    connect: &Manifest,
    connectors: &[&Manifest],
    base_env: &ProviderEnv,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<Vec<FlowConfig>, ConfigError> {
    let spec_config = string_map(connect, "/spec/config", "spec.config")?;
    let bootstrap = yaml::str_at(&connect.value, "/spec/bootstrapServers")
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            ConfigError::invalid(
                connect.at.clone().with_key("spec.bootstrapServers"),
                "is required",
            )
        })?;

    // What the Connect pods would have: the worker properties file and the truststore.
    let objects = base_env.kubernetes.as_ref();
    let pem = trusted_certificates(
        connect,
        connect.value.pointer("/spec/tls"),
        "spec.tls",
        objects,
    );
    let mut ctx = ClientContext::default();
    if let Ok(Some(pem)) = &pem {
        ctx.virtual_truststores.insert(
            PathBuf::from(CONNECT_TRUSTSTORE),
            Truststore::PemInline(pem.clone()),
        );
    }
    let identity = client_certificate(
        connect,
        connect.value.pointer("/spec/authentication"),
        "spec.authentication",
        objects,
    );
    if let Ok(Some(id)) = &identity {
        ctx.virtual_keystores.insert(
            PathBuf::from(CONNECT_KEYSTORE),
            KeystoreSource::PemInline {
                certificate_chain: id.certificate.clone(),
                key: id.key.clone(),
            },
        );
    }
    let connect_file = connect_properties(
        connect,
        &bootstrap,
        &spec_config,
        pem,
        identity,
        base_env.kubernetes.as_ref(),
    );
    let mut env = base_env.clone();
    env.default_namespace = connect.namespace.clone();
    if !PathBuf::from(CONNECT_PROPERTIES).exists() {
        let mut files = (*base_env.virtual_files).clone();
        files.insert(PathBuf::from(CONNECT_PROPERTIES), connect_file);
        env.virtual_files = Arc::new(files);
    }
    let providers = providers(connect, &spec_config, "spec.config", &env, warnings);

    // Strimzi 0.49 and later name the group and offsets topic in fields of their own
    // (required in kafka.strimzi.io/v1), which win over spec.config as in the operator.
    let named: Vec<(&str, String, &str)> = [
        ("group.id", "/spec/groupId", "spec.groupId"),
        (
            "offset.storage.topic",
            "/spec/offsetStorageTopic",
            "spec.offsetStorageTopic",
        ),
    ]
    .into_iter()
    .filter_map(|(key, pointer, field)| {
        yaml::str_at(&connect.value, pointer).map(|v| (key, v, field))
    })
    .collect();
    let worker_settings = providers.resolve_all(
        spec_config
            .iter()
            .filter(|(k, _)| worker::KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), v.as_str(), k.as_str()))
            .chain(named.iter().map(|(k, v, w)| (*k, v.as_str(), *w))),
        &connect.at,
    )?;
    let defaults = WorkerDefaults {
        group_id: "connect-cluster".to_owned(),
        offset_storage_topic: "connect-cluster-offsets".to_owned(),
    };
    let worker = worker::parse(
        &KeyReader::new(&worker_settings, connect.at.clone()),
        defaults,
    )?;

    let mut parsed = Vec::new();
    for c in connectors {
        let class = yaml::str_at(&c.value, "/spec/class").unwrap_or_default();
        let kind = ConnectorKind::from_class(&class).ok_or_else(|| {
            ConfigError::invalid(
                c.at.clone().with_key("spec.class"),
                format!("'{class}' is not a Mirror connector (expected org.apache.kafka.connect.mirror.MirrorSourceConnector, MirrorCheckpointConnector or MirrorHeartbeatConnector)"),
            )
        })?;
        let settings = connector_settings(c, kind, &providers, warnings)?;
        let input = ConnectorInput {
            kind,
            name: c.name.clone(),
            settings: &settings,
            at: c.at.clone(),
            ctx: &ctx,
            worker: &worker,
        };
        parsed.push(connector::parse(&input, warnings)?);
    }
    let flows = flows::assemble(parsed, &worker.config)?;
    for f in &flows {
        if f.source_connector.is_some() && !same_servers(&f.target.bootstrap_servers, &bootstrap) {
            warnings.push(ConfigWarning::new(
                connect.at.clone().with_key("spec.bootstrapServers"),
                format!(
                    "Connect keeps its offsets on this cluster, but flow {}'s target is {}; Strait keeps them on the target",
                    f.name(),
                    f.target.bootstrap_servers
                ),
            ));
        }
    }
    Ok(flows)
}

/// The connector's `spec.config`, `spec.tasksMax` and pause state, resolved.
fn connector_settings(
    c: &Manifest,
    kind: ConnectorKind,
    providers: &Providers,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<Settings, ConfigError> {
    let mut raw: Vec<(String, String, String)> = string_map(c, "/spec/config", "spec.config")?
        .into_iter()
        .map(|(k, v)| (k.clone(), v, k))
        .collect();
    if let Some(spec) = c.value.get("spec") {
        apply_connector_spec(spec, "spec", kind, &c.at, &mut raw, warnings);
    }
    providers.resolve_all(
        raw.iter()
            .map(|(k, v, w)| (k.as_str(), v.as_str(), w.as_str())),
        &c.at,
    )
}

/// Applies a connector spec's `tasksMax`, `state` and `pause` (as Strimzi's KafkaConnector
/// and KafkaMirrorMaker2 connector specs spell them; `field` is the spec's path for messages)
/// to its raw `(key, value, written as)` settings: a paused or stopped connector is disabled.
pub(super) fn apply_connector_spec(
    spec: &Value,
    field: &str,
    kind: ConnectorKind,
    at: &Origin,
    raw: &mut Vec<(String, String, String)>,
    warnings: &mut Vec<ConfigWarning>,
) {
    if let Some(n) = yaml::str_at(spec, "/tasksMax") {
        raw.retain(|(k, _, _)| k != "tasks.max");
        raw.push(("tasks.max".to_owned(), n, format!("{field}.tasksMax")));
    }
    let state = yaml::str_at(spec, "/state");
    let paused = yaml::str_at(spec, "/pause").as_deref() == Some("true");
    if paused || matches!(state.as_deref(), Some("paused" | "stopped")) {
        let shown = format!("{field}.{}", if paused { "pause" } else { "state" });
        warnings.push(ConfigWarning::new(
            at.clone().with_key(shown.clone()),
            "the connector is paused or stopped: Strait will not run it",
        ));
        let key = if kind == ConnectorKind::Heartbeat {
            "emit.heartbeats.enabled"
        } else {
            "enabled"
        };
        raw.retain(|(k, _, _)| k != key);
        raw.push((key.to_owned(), "false".to_owned(), shown));
    }
}

/// The Connect worker's providers: those in its config (`config`, read from the manifest's
/// `config_field`), plus the ones Strimzi adds to every worker (`strimzienv`, `strimzifile`,
/// `strimzidir`, `strimzisecrets`).
pub(super) fn providers(
    m: &Manifest,
    config: &BTreeMap<String, String>,
    config_field: &str,
    env: &ProviderEnv,
    warnings: &mut Vec<ConfigWarning>,
) -> Providers {
    let mut providers = Providers::from_config(
        config.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        env,
        &m.at.clone().with_key(config_field),
        warnings,
    );
    // (name, class, parameter) as Strimzi declares them.
    let implicit = [
        ("strimzienv", env::CLASS, Some(("allowlist.pattern", ".*"))),
        ("strimzifile", file::CLASS, None),
        (
            "strimzidir",
            directory::CLASS,
            Some(("allowed.paths", "/opt/kafka")),
        ),
        ("strimzisecrets", SECRET_CLASS, None),
    ];
    for (name, class, params) in implicit {
        if !providers.contains(name) {
            let params = params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            providers.declare(name, Some(class), &params, env, &m.at, warnings);
        }
    }
    providers
}

/// The string values of the mapping at `pointer` (numbers and booleans as written).
pub(super) fn string_map(
    m: &Manifest,
    pointer: &str,
    shown: &str,
) -> Result<BTreeMap<String, String>, ConfigError> {
    match m.value.pointer(pointer) {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| {
                yaml::scalar(v).map(|s| (k.clone(), s)).ok_or_else(|| {
                    ConfigError::invalid(
                        m.at.clone().with_key(format!("{shown}.{k}")),
                        format!("must be a plain value, not {}", yaml::type_name(v)),
                    )
                })
            })
            .collect(),
        Some(other) => Err(ConfigError::invalid(
            m.at.clone().with_key(shown),
            format!("must be a mapping, not {}", yaml::type_name(other)),
        )),
    }
}

/// Reads `key` of Secret `name` in the namespace of `connect` (the KafkaConnect or
/// KafkaMirrorMaker2 referring to it, named in messages with `field`), as text.
pub(super) fn secret_value(
    connect: &Manifest,
    objects: &dyn KubernetesObjects,
    name: &str,
    key: &str,
    field: &str,
) -> Result<String, String> {
    let ns = connect.namespace.as_deref();
    let shown = ns.map_or_else(|| name.to_owned(), |ns| format!("{ns}/{name}"));
    let data = objects.data(ObjectKind::Secret, ns, name)?.ok_or_else(|| {
        format!(
            "Secret {shown} ({field} of {} {}) not found (pass its manifest with -f)",
            connect.kind,
            connect.qualified_name()
        )
    })?;
    let bytes = data.get(key).ok_or_else(|| {
        format!(
            "Secret {shown} ({field} of {} {}) has no key '{key}'",
            connect.kind,
            connect.qualified_name()
        )
    })?;
    String::from_utf8(bytes.clone())
        .map_err(|_| format!("key '{key}' of Secret {shown} is not UTF-8 text"))
}

/// All certificates of the `trustedCertificates` of `tls` (a Strimzi `ClientTls` of
/// `connect`, at `tls_field`), joined with `\n` as Strimzi does; `None` without trusted
/// certificates.
pub(super) fn trusted_certificates(
    connect: &Manifest,
    tls: Option<&Value>,
    tls_field: &str,
    objects: &dyn KubernetesObjects,
) -> Result<Option<String>, String> {
    let Some(list) = tls
        .and_then(|t| t.get("trustedCertificates"))
        .and_then(Value::as_array)
    else {
        return Ok(None);
    };
    let mut certs = Vec::new();
    for (i, entry) in list.iter().enumerate() {
        let field = format!("{tls_field}.trustedCertificates[{i}]");
        let secret = yaml::str_at(entry, "/secretName")
            .ok_or_else(|| format!("{field}.secretName is required"))?;
        if let Some(cert) = yaml::str_at(entry, "/certificate") {
            certs.push(secret_value(connect, objects, &secret, &cert, &field)?);
        } else if let Some(pattern) = yaml::str_at(entry, "/pattern") {
            let re = super::providers::glob::compile(&pattern)
                .map_err(|e| format!("{field}.pattern: {e}"))?;
            let data = objects
                .data(ObjectKind::Secret, connect.namespace.as_deref(), &secret)?
                .ok_or_else(|| {
                    format!("Secret {secret} ({field}) not found (pass its manifest with -f)")
                })?;
            for (k, v) in data.iter().filter(|(k, _)| re.is_match(k)) {
                certs.push(
                    String::from_utf8(v.clone())
                        .map_err(|_| format!("key '{k}' of Secret {secret} is not UTF-8 text"))?,
                );
            }
        } else {
            return Err(format!("{field} needs certificate or pattern"));
        }
    }
    Ok(Some(certs.join("\n")))
}

/// The client certificate of an authentication of type `tls`.
#[derive(Debug, Clone)]
pub(super) struct ClientCertificate {
    /// `certificateAndKey.certificate` of the Secret: the certificate (and chain) as PEM.
    pub certificate: String,
    /// `certificateAndKey.key` of the Secret: the PKCS#8 private key as PEM.
    pub key: Secret,
}

/// The certificate and key of `auth` (a Strimzi `KafkaClientAuthentication` of `connect`, at
/// `auth_field`) when its type is `tls`; `None` for other (or no) authentication.
pub(super) fn client_certificate(
    connect: &Manifest,
    auth: Option<&Value>,
    auth_field: &str,
    objects: &dyn KubernetesObjects,
) -> Result<Option<ClientCertificate>, String> {
    let Some(auth) = auth.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    if yaml::str_at(auth, "/type").as_deref() != Some("tls") {
        return Ok(None);
    }
    let field = &format!("{auth_field}.certificateAndKey");
    let required = |name: &str| {
        yaml::str_at(auth, &format!("/certificateAndKey/{name}"))
            .ok_or_else(|| format!("{field}.{name} is required with authentication type tls"))
    };
    let (secret, certificate, key) = (
        required("secretName")?,
        required("certificate")?,
        required("key")?,
    );
    Ok(Some(ClientCertificate {
        certificate: secret_value(connect, objects, &secret, &certificate, field)?,
        key: Secret::new(secret_value(connect, objects, &secret, &key, field)?),
    }))
}

/// `sasl.mechanism` and `sasl.jaas.config` (with the password read from its Secret) of `auth`,
/// a Strimzi authentication of type `plain`, `scram-sha-256` or `scram-sha-512` of `connect`
/// at `auth_field`; other types are an error.
pub(super) fn sasl_login(
    connect: &Manifest,
    auth: &Value,
    auth_field: &str,
    objects: &dyn KubernetesObjects,
) -> Result<(&'static str, Secret), String> {
    let kind = yaml::str_at(auth, "/type").unwrap_or_default();
    let (mechanism, module) = match kind.as_str() {
        "plain" => ("PLAIN", jaas::PLAIN_MODULE),
        "scram-sha-256" => ("SCRAM-SHA-256", jaas::SCRAM_MODULE),
        "scram-sha-512" => ("SCRAM-SHA-512", jaas::SCRAM_MODULE),
        other => {
            return Err(format!(
                "{auth_field}.type '{other}' of {} {} is not supported (Strait supports tls, plain, scram-sha-256 and scram-sha-512)",
                connect.kind,
                connect.qualified_name()
            ));
        }
    };
    let username = yaml::str_at(auth, "/username")
        .ok_or_else(|| format!("{auth_field}.username is required"))?;
    let secret = yaml::str_at(auth, "/passwordSecret/secretName")
        .ok_or_else(|| format!("{auth_field}.passwordSecret.secretName is required"))?;
    let key = yaml::str_at(auth, "/passwordSecret/password")
        .ok_or_else(|| format!("{auth_field}.passwordSecret.password is required"))?;
    let password = secret_value(
        connect,
        objects,
        &secret,
        &key,
        &format!("{auth_field}.passwordSecret"),
    )?;
    let jaas = format!(
        "{module} required username={} password={};",
        jaas::quote(&username),
        jaas::quote(&password)
    );
    Ok((mechanism, Secret::new(jaas)))
}

/// What Strimzi would write to `/tmp/strimzi-connect.properties` for this KafkaConnect, with
/// placeholders already resolved (the password itself, the certificates as PEM), since the
/// connectors' `${file:...}` references are resolved in a single pass. The error explains
/// what is missing; it is reported only if a connector reads the file.
fn connect_properties(
    connect: &Manifest,
    bootstrap: &str,
    spec_config: &BTreeMap<String, String>,
    pem: Result<Option<String>, String>,
    identity: Result<Option<ClientCertificate>, String>,
    objects: &dyn KubernetesObjects,
) -> Result<Properties, String> {
    let mut p = Properties::new();
    p.insert("bootstrap.servers", bootstrap);
    for (k, v) in spec_config {
        p.insert(k.clone(), v.clone());
    }
    let tls = connect
        .value
        .pointer("/spec/tls")
        .is_some_and(|v| !v.is_null());
    let mut security: Vec<(String, String)> = Vec::new();
    if let Some(pem) = pem? {
        security.push(("ssl.truststore.type".to_owned(), "PEM".to_owned()));
        security.push(("ssl.truststore.certificates".to_owned(), pem));
        // Older Strimzi wrote a PKCS#12 store and its password; references to them resolve
        // to a stand-in for the same certificates.
        security.push((
            "ssl.truststore.location".to_owned(),
            CONNECT_TRUSTSTORE.to_owned(),
        ));
        security.push((
            "ssl.truststore.password".to_owned(),
            "strait-stand-in".to_owned(),
        ));
    }
    let auth = connect
        .value
        .pointer("/spec/authentication")
        .filter(|v| !v.is_null());
    let sasl = match auth {
        None => false,
        Some(a) if yaml::str_at(a, "/type").as_deref() == Some("tls") => {
            if !tls {
                return Err(format!(
                    "spec.authentication.type 'tls' of KafkaConnect {} needs spec.tls: the \
                     client certificate is sent over TLS",
                    connect.qualified_name()
                ));
            }
            if let Some(id) = identity? {
                // What Strimzi ≥0.46 writes (the PEM of the Secret, read by Kafka's PEM
                // keystore), and what older versions wrote (a PKCS#12 store built from it, and
                // its password): references to the latter resolve to a stand-in for the same
                // certificate and key.
                security.push(("ssl.keystore.type".to_owned(), "PEM".to_owned()));
                security.push(("ssl.keystore.certificate.chain".to_owned(), id.certificate));
                security.push(("ssl.keystore.key".to_owned(), id.key.expose().to_owned()));
                security.push((
                    "ssl.keystore.location".to_owned(),
                    CONNECT_KEYSTORE.to_owned(),
                ));
                security.push((
                    "ssl.keystore.password".to_owned(),
                    "strait-stand-in".to_owned(),
                ));
            }
            false
        }
        Some(a) => {
            let (mechanism, jaas) = sasl_login(connect, a, "spec.authentication", objects)?;
            security.push(("sasl.mechanism".to_owned(), mechanism.to_owned()));
            security.push(("sasl.jaas.config".to_owned(), jaas.expose().to_owned()));
            true
        }
    };
    let protocol = match (tls, sasl) {
        (false, false) => "PLAINTEXT",
        (true, false) => "SSL",
        (false, true) => "SASL_PLAINTEXT",
        (true, true) => "SASL_SSL",
    };
    security.push(("security.protocol".to_owned(), protocol.to_owned()));
    for (k, v) in &security {
        for prefix in ["", "producer.", "consumer.", "admin."] {
            p.insert(format!("{prefix}{k}"), v.clone());
        }
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::{client_pair, load_texts, secret};
    use crate::config::{
        ExactlyOnceConfig, KeystoreSource, Loaded, SaslMechanism, SecurityProtocol, Truststore,
    };
    use std::time::Duration;

    const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    fn connect(spec_extra: &str) -> String {
        format!(
            "apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaConnect\nmetadata:\n  name: c\n  namespace: ns\n  \
             annotations:\n    strimzi.io/use-connector-resources: \"true\"\nspec:\n  bootstrapServers: tgt:9093\n{spec_extra}"
        )
    }

    fn source_connector(config: &str, extra_spec: &str) -> String {
        format!(
            "apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaConnector\nmetadata:\n  name: src\n  namespace: ns\n  \
             labels:\n    strimzi.io/cluster: c\nspec:\n  class: MirrorSourceConnector\n{extra_spec}  config:\n    \
             source.cluster.alias: A\n    target.cluster.alias: B\n    source.cluster.bootstrap.servers: src:9092\n{config}"
        )
    }

    const FROM_FILE: &str = "    target.cluster.bootstrap.servers: ${file:/tmp/strimzi-connect.properties:bootstrap.servers}\n    \
         target.cluster.security.protocol: ${file:/tmp/strimzi-connect.properties:security.protocol}\n    \
         target.cluster.sasl.mechanism: ${file:/tmp/strimzi-connect.properties:sasl.mechanism}\n    \
         target.cluster.sasl.jaas.config: ${file:/tmp/strimzi-connect.properties:sasl.jaas.config}\n";

    fn load(files: &[(&str, &str)]) -> Loaded {
        load_texts(files).unwrap()
    }

    #[test]
    fn scram_with_tls_pattern_and_strimzisecrets() {
        let spec = "  tls:\n    trustedCertificates:\n      - secretName: ca\n        pattern: \"*.crt\"\n  \
                    authentication:\n    type: scram-sha-512\n    username: u\n    passwordSecret:\n      secretName: pw\n      password: p\n  \
                    config:\n    config.providers: file\n    config.providers.file.class: org.apache.kafka.common.config.provider.FileConfigProvider\n";
        let config = format!(
            "{FROM_FILE}    target.cluster.ssl.truststore.type: PEM\n    \
             target.cluster.ssl.truststore.certificates: ${{strimzisecrets:ns/c-connect-tls-trusted-certs:ca.crt}}\n"
        );
        let l = load(&[
            ("connect.yaml", &connect(spec)),
            ("connector.yaml", &source_connector(&config, "")),
            (
                "secrets.yaml",
                &format!(
                    "{}---\n{}",
                    secret("ns", "pw", &[("p", "pa\"ss")]),
                    secret("ns", "ca", &[("a.crt", CERT), ("b.crt", CERT)])
                ),
            ),
        ]);
        let f = &l.config.flows[0];
        assert_eq!(f.target.security_protocol, SecurityProtocol::SaslSsl);
        let sasl = f.target.sasl.as_ref().unwrap();
        assert_eq!(sasl.mechanism, SaslMechanism::ScramSha512);
        assert_eq!(
            sasl.password.expose(),
            "pa\"ss",
            "quoted into the JAAS text and back"
        );
        match &f.target.tls.truststore {
            Some(Truststore::PemInline(pem)) => assert_eq!(pem, &format!("{CERT}\n{CERT}")),
            other => panic!("{other:?}"),
        }
        // Strimzi's defaults for the worker.
        assert_eq!(f.worker.group_id, "connect-cluster");
        assert_eq!(f.worker.offset_storage_topic, "connect-cluster-offsets");
        assert_eq!(f.worker.offset_storage_replication_factor, 3);
    }

    #[test]
    fn v1_connect_names_group_and_offsets_topic_in_fields() {
        let spec = "  groupId: g-v1\n  offsetStorageTopic: o-v1\n  configStorageTopic: c\n  statusStorageTopic: s\n  \
                    config:\n    group.id: ignored\n";
        let l = load(&[
            (
                "connect.yaml",
                &connect(spec).replace("kafka.strimzi.io/v1beta2", "kafka.strimzi.io/v1"),
            ),
            (
                "connector.yaml",
                &source_connector("    target.cluster.bootstrap.servers: tgt:9093\n", ""),
            ),
        ]);
        let w = &l.config.flows[0].worker;
        assert_eq!(w.group_id, "g-v1");
        assert_eq!(w.offset_storage_topic, "o-v1");
    }

    #[test]
    fn plaintext_connect_and_paused_connector() {
        let config = "    target.cluster.bootstrap.servers: ${file:/tmp/strimzi-connect.properties:bootstrap.servers}\n    \
                      target.cluster.security.protocol: ${file:/tmp/strimzi-connect.properties:security.protocol}\n";
        let spec = "  config:\n    config.providers: file\n    config.providers.file.class: org.apache.kafka.common.config.provider.FileConfigProvider\n";
        let l = load(&[
            (
                "connect.yaml",
                &connect(spec).replace(
                    "    strimzi.io/use-connector-resources: \"true\"\n",
                    "    other: x\n",
                ),
            ),
            (
                "connector.yaml",
                &source_connector(config, "  state: paused\n"),
            ),
        ]);
        let f = &l.config.flows[0];
        assert_eq!(f.target.security_protocol, SecurityProtocol::Plaintext);
        assert_eq!(f.target.bootstrap_servers, "tgt:9093");
        assert!(!f.source_connector.as_ref().unwrap().enabled);
        let w: Vec<String> = l.warnings.iter().map(ToString::to_string).collect();
        assert!(
            w.iter()
                .any(|w| w.contains("lacks the annotation strimzi.io/use-connector-resources")),
            "{w:#?}"
        );
        assert!(
            w.iter()
                .any(|w| w.contains("key 'spec.state': the connector is paused or stopped")),
            "{w:#?}"
        );
    }

    #[test]
    fn tls_only_connect_and_target_mismatch_warning() {
        let spec = "  tls:\n    trustedCertificates:\n      - secretName: ca\n        certificate: a.crt\n  \
                    config:\n    config.providers: file\n    config.providers.file.class: org.apache.kafka.common.config.provider.FileConfigProvider\n";
        let config = "    target.cluster.bootstrap.servers: other:9093\n    target.cluster.security.protocol: ${file:/tmp/strimzi-connect.properties:security.protocol}\n    \
                      target.cluster.ssl.truststore.location: ${file:/tmp/strimzi-connect.properties:ssl.truststore.location}\n    \
                      target.cluster.ssl.truststore.password: ${file:/tmp/strimzi-connect.properties:ssl.truststore.password}\n";
        let l = load(&[
            ("connect.yaml", &connect(spec)),
            ("connector.yaml", &source_connector(config, "")),
            ("ca.yaml", &secret("ns", "ca", &[("a.crt", CERT)])),
        ]);
        let f = &l.config.flows[0];
        assert_eq!(f.target.security_protocol, SecurityProtocol::Ssl);
        assert!(matches!(&f.target.tls.truststore, Some(Truststore::PemInline(p)) if p == CERT));
        assert!(l.warnings.iter().any(|w| w.message.contains(
            "Connect keeps its offsets on this cluster, but flow A->B's target is other:9093"
        )));
    }

    #[test]
    fn tls_authentication_uses_the_secrets_certificate_and_key() {
        let (cert, key) = client_pair();
        let spec = "  tls:\n    trustedCertificates:\n      - secretName: ca\n        certificate: a.crt\n  \
                    authentication:\n    type: tls\n    certificateAndKey:\n      secretName: user\n      \
                    certificate: user.crt\n      key: user.key\n  \
                    config:\n    config.providers: file\n    config.providers.file.class: org.apache.kafka.common.config.provider.FileConfigProvider\n";
        let f = "${file:/tmp/strimzi-connect.properties";
        let base = format!(
            "    target.cluster.bootstrap.servers: {f}:bootstrap.servers}}\n    \
             target.cluster.security.protocol: {f}:security.protocol}}\n    \
             target.cluster.ssl.truststore.type: {f}:ssl.truststore.type}}\n    \
             target.cluster.ssl.truststore.certificates: {f}:ssl.truststore.certificates}}\n"
        );
        // What connectors written for Strimzi ≤0.45 refer to, and what newer ones refer to.
        let older = format!(
            "{base}    target.cluster.ssl.keystore.location: {f}:ssl.keystore.location}}\n    \
             target.cluster.ssl.keystore.password: {f}:ssl.keystore.password}}\n"
        );
        let newer = format!(
            "{base}    target.cluster.ssl.keystore.type: {f}:ssl.keystore.type}}\n    \
             target.cluster.ssl.keystore.certificate.chain: {f}:ssl.keystore.certificate.chain}}\n    \
             target.cluster.ssl.keystore.key: {f}:ssl.keystore.key}}\n"
        );
        let secrets = format!(
            "{}---\n{}",
            secret("ns", "ca", &[("a.crt", &cert)]),
            secret("ns", "user", &[("user.crt", &cert), ("user.key", &key)])
        );
        for config in [older, newer] {
            let l = load(&[
                ("connect.yaml", &connect(spec)),
                ("connector.yaml", &source_connector(&config, "")),
                ("secrets.yaml", &secrets),
            ]);
            let flow = &l.config.flows[0];
            assert_eq!(flow.target.security_protocol, SecurityProtocol::Ssl);
            assert!(flow.target.sasl.is_none());
            match flow.target.tls.keystore.as_ref().map(|k| &k.source) {
                Some(KeystoreSource::PemInline {
                    certificate_chain,
                    key: k,
                }) => {
                    assert_eq!(certificate_chain, &cert);
                    assert_eq!(k.expose(), key);
                }
                other => panic!("{other:?}"),
            }
            // `strait validate` shows the certificate is there, never the key.
            let text = crate::config::describe(&l.config);
            assert!(
                text.contains(
                    "      tls client certificate: inline PEM (1 certificate(s), key [redacted])"
                ),
                "{text}"
            );
            let body = key.lines().nth(1).unwrap();
            assert!(!text.contains(body), "{text}");
            assert!(!format!("{:?}", l.config).contains(body));
            assert!(!l.warnings.iter().any(|w| w.to_string().contains(body)));
        }

        // Without spec.tls the certificate could not be sent.
        let no_tls = spec.replace(
            "  tls:\n    trustedCertificates:\n      - secretName: ca\n        certificate: a.crt\n",
            "",
        );
        let e = load_texts(&[
            ("connect.yaml", &connect(&no_tls)),
            ("connector.yaml", &source_connector(FROM_FILE, "")),
            ("secrets.yaml", &secrets),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("spec.authentication.type 'tls' of KafkaConnect ns/c needs spec.tls"),
            "{e}"
        );
        // A missing Secret key is named.
        let e = load_texts(&[
            (
                "connect.yaml",
                &connect(&spec.replace("key: user.key", "key: tls.key")),
            ),
            ("connector.yaml", &source_connector(FROM_FILE, "")),
            ("secrets.yaml", &secrets),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("Secret ns/user (spec.authentication.certificateAndKey of KafkaConnect ns/c) has no key 'tls.key'"),
            "{e}"
        );
    }

    #[test]
    fn exactly_once_from_the_connect_worker_and_the_connector() {
        let spec = "  config:\n    group.id: mirror-group\n    offset.flush.interval.ms: 10000\n    \
                    exactly.once.source.support: enabled\n";
        let config = "    target.cluster.bootstrap.servers: tgt:9093\n    exactly.once.support: required\n    \
                      transaction.boundary: interval\n    \
                      producer.override.transaction.timeout.ms: 30000\n    \
                      source.consumer.isolation.level: read_committed\n";
        let l = load(&[
            ("connect.yaml", &connect(spec)),
            ("connector.yaml", &source_connector(config, "")),
        ]);
        let eo = l.config.flows[0]
            .source_connector
            .as_ref()
            .unwrap()
            .exactly_once
            .clone();
        assert_eq!(
            eo,
            Some(ExactlyOnceConfig {
                // Connect's `<group.id>-<connector>`, the connector being metadata.name.
                transactional_id_prefix: "mirror-group-src".to_owned(),
                // The interval defaults to the worker's offset.flush.interval.ms.
                commit_interval: Duration::from_secs(10),
                transaction_timeout: Duration::from_secs(30),
                required: true,
            })
        );
        assert!(l.warnings.is_empty(), "{:#?}", l.warnings);

        // The connector alone can turn it on; without either it is off.
        let own = "    target.cluster.bootstrap.servers: tgt:9093\n    \
                   strait.exactly.once.enabled: true\n    strait.transactional.id.prefix: mm2-eu\n";
        let l = load(&[
            ("connect.yaml", &connect("")),
            ("connector.yaml", &source_connector(own, "")),
        ]);
        let eo = l.config.flows[0]
            .source_connector
            .as_ref()
            .unwrap()
            .exactly_once
            .clone();
        assert_eq!(
            eo.map(|e| e.transactional_id_prefix),
            Some("mm2-eu".to_owned())
        );
        let l = load(&[
            (
                "connect.yaml",
                &connect("  config:\n    exactly.once.source.support: preparing\n"),
            ),
            (
                "connector.yaml",
                &source_connector("    target.cluster.bootstrap.servers: tgt:9093\n", ""),
            ),
        ]);
        assert!(
            l.config.flows[0]
                .source_connector
                .as_ref()
                .unwrap()
                .exactly_once
                .is_none()
        );

        let e = load_texts(&[
            (
                "connect.yaml",
                &connect("  config:\n    exactly.once.source.support: always\n"),
            ),
            (
                "connector.yaml",
                &source_connector("    target.cluster.bootstrap.servers: tgt:9093\n", ""),
            ),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            e.ends_with(
                "connect.yaml, document 1 (KafkaConnect ns/c), key 'exactly.once.source.support': \
                 'always' is not valid (expected disabled, preparing or enabled)"
            ),
            "{e}"
        );
        let e = load_texts(&[
            ("connect.yaml", &connect(spec)),
            (
                "connector.yaml",
                &source_connector(
                    "    target.cluster.bootstrap.servers: tgt:9093\n    consumer.isolation.level: read_uncommitted\n",
                    "",
                ),
            ),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            e.contains(
                "(KafkaConnector ns/src), key 'consumer.isolation.level': 'read_uncommitted' is not \
                 allowed with exactly-once replication"
            ),
            "{e}"
        );
    }

    #[test]
    fn invalid_strimzi_resources() {
        let spec = "  config:\n    config.providers: file\n    config.providers.file.class: org.apache.kafka.common.config.provider.FileConfigProvider\n";
        let e = load_texts(&[
            (
                "connect.yaml",
                &connect(spec).replace("  bootstrapServers: tgt:9093\n", ""),
            ),
            (
                "connector.yaml",
                &source_connector("    target.cluster.bootstrap.servers: t:1\n", ""),
            ),
        ])
        .unwrap_err()
        .to_string();
        assert!(e.ends_with("connect.yaml, document 1 (KafkaConnect ns/c), key 'spec.bootstrapServers': is required"), "{e}");
        let e = load_texts(&[
            ("connect.yaml", &connect("  config:\n    group.id: [a]\n")),
            (
                "connector.yaml",
                &source_connector("    target.cluster.bootstrap.servers: t:1\n", ""),
            ),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            e.ends_with("key 'spec.config.group.id': must be a plain value, not a list"),
            "{e}"
        );
        let tls_missing = "  tls:\n    trustedCertificates:\n      - secretName: nope\n        certificate: ca.crt\n  \
                           config:\n    config.providers: file\n    config.providers.file.class: org.apache.kafka.common.config.provider.FileConfigProvider\n";
        let e = load_texts(&[
            ("connect.yaml", &connect(tls_missing)),
            ("connector.yaml", &source_connector(FROM_FILE, "")),
        ])
        .unwrap_err()
        .to_string();
        assert!(e.contains("cannot resolve ${file:/tmp/strimzi-connect.properties:bootstrap.servers}: Secret ns/nope (spec.tls.trustedCertificates[0] of KafkaConnect ns/c) not found"), "{e}");
    }
}
