//! The seed deployment read three ways (Strimzi manifests, mm2.properties, Strait YAML) must
//! give the same flow; plus invalid configurations and secret hygiene across all readers.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::*;

/// Every secret value in the fixtures; none may ever be printed.
const SECRETS: &[&str] = &[
    "Tgt-S3cret-pass-9417",
    "Src-S3cret-pass-5521",
    "Ts-S3cret-pass-3380",
];

const OBJECTS: &[&str] = &[
    "useast-config.yaml",
    "useast-password.yaml",
    "useast-cert.yaml",
    "uswest-secret.yaml",
    "uswest-config.yaml",
    "replication-config.yaml",
];
const STRIMZI: &[&str] = &["kafka-connect.yaml", "connectors.yaml", "rbac.yaml"];

fn seed(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/seed")
        .join(name)
}

fn options() -> LoadOptions {
    LoadOptions {
        env_var: Arc::new(|name| (name == "STRAIT_TEST_TOPICS").then(|| "test.*".to_owned())),
        ..LoadOptions::default()
    }
}

fn load_seed(names: &[&str]) -> Loaded {
    let files: Vec<PathBuf> = OBJECTS.iter().chain(names).map(|n| seed(n)).collect();
    load_with(&files, &options()).unwrap()
}

fn only_flow(l: &Loaded, name: &str) -> FlowConfig {
    l.config
        .flows
        .iter()
        .find(|f| f.name() == name)
        .cloned()
        .unwrap_or_else(|| panic!("no flow {name}"))
}

/// Everything about a connection, secrets included (Debug redacts them).
fn conn_print(c: &ClusterConnection) -> String {
    let mut s = format!("{c:#?}");
    if let Some(sasl) = &c.sasl {
        s.push_str(sasl.password.expose());
    }
    if let Some(
        Truststore::Jks {
            password: Some(p), ..
        }
        | Truststore::Pkcs12 {
            password: Some(p), ..
        },
    ) = &c.tls.truststore
    {
        s.push_str(p.expose());
    }
    s
}

/// Everything about a flow, secrets included.
fn flow_print(f: &FlowConfig) -> String {
    let mut s = format!("{f:#?}");
    s.push_str(&conn_print(&f.source));
    s.push_str(&conn_print(&f.target));
    if let Some(h) = f
        .heartbeat_connector
        .as_ref()
        .and_then(|h| h.heartbeats_cluster.as_ref())
    {
        s.push_str(&conn_print(h));
    }
    s
}

fn assert_no_secret(text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "secret {s} shown in:\n{text}");
    }
}

#[test]
fn strimzi_seed_resolves() {
    let l = load_seed(STRIMZI);
    assert_eq!(l.config.flows.len(), 1);
    let f = only_flow(&l, "uswest->useast");
    assert_eq!(
        f.source.bootstrap_servers,
        "uswest-kafka-bootstrap.kafka-uswest:9093"
    );
    assert_eq!(f.source.security_protocol, SecurityProtocol::SaslSsl);
    let sasl = f.source.sasl.as_ref().unwrap();
    assert_eq!(
        (sasl.mechanism, sasl.username.as_str()),
        (SaslMechanism::Plain, "replicator-uswest")
    );
    assert_eq!(sasl.password.expose(), "Src-S3cret-pass-5521");
    match &f.source.tls.truststore {
        Some(Truststore::Jks { path, password }) => {
            assert_eq!(path, Path::new("/mnt/uswest-truststore/truststore.jks"));
            assert_eq!(password.as_ref().unwrap().expose(), "Ts-S3cret-pass-3380");
        }
        other => panic!("{other:?}"),
    }
    // The target comes from what Strimzi writes to /tmp/strimzi-connect.properties.
    assert_eq!(
        f.target.bootstrap_servers,
        "useast-kafka-bootstrap.kafka-useast:9093"
    );
    let sasl = f.target.sasl.as_ref().unwrap();
    assert_eq!(sasl.username, "replicator-useast");
    assert_eq!(sasl.password.expose(), "Tgt-S3cret-pass-9417");
    match &f.target.tls.truststore {
        Some(Truststore::PemInline(pem)) => {
            assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
        }
        other => panic!("{other:?}"),
    }
    assert!(f.target.tls.verify_hostname);
    assert_eq!(f.worker.group_id, "repl-uswest-useast-consumer-group");
    assert_eq!(
        f.worker.offset_storage_topic,
        "repl-uswest-useast-offsets-topic"
    );
    assert_eq!(f.worker.offset_storage_replication_factor, -1);
    let s = f.source_connector.as_ref().unwrap();
    assert_eq!(s.name, "mirror-source-connector");
    assert_eq!(
        (s.tasks_max, s.topics.clone()),
        (3, vec!["test.*".to_owned()])
    );
    assert_eq!(s.refresh_topics_interval, Duration::from_secs(10));
    let c = f.checkpoint_connector.as_ref().unwrap();
    assert_eq!(c.name, "mirror-checkpoint-connector");
    assert!(c.sync_group_offsets_enabled);
    assert_eq!(c.groups, vec!["test.*"]);
    assert_eq!(c.refresh_groups_interval, Duration::from_secs(10));
    let h = f.heartbeat_connector.as_ref().unwrap();
    assert_eq!(h.name, "mirror-heartbeat-connector");
    // The seed points the heartbeat connector at the source cluster.
    assert_eq!(
        conn_print(h.heartbeats_cluster.as_ref().unwrap()),
        conn_print(&f.source)
    );
    // Only the truststore mounted in the Connect pod is reported.
    assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
    assert!(
        l.warnings[0]
            .message
            .contains("/mnt/uswest-truststore/truststore.jks")
    );
}

#[test]
fn native_yaml_matches_strimzi() {
    let strimzi = only_flow(&load_seed(STRIMZI), "uswest->useast");
    let native = load_seed(&["strait.yaml"]);
    assert_eq!(native.config.flows.len(), 1);
    assert_eq!(
        flow_print(&only_flow(&native, "uswest->useast")),
        flow_print(&strimzi)
    );
}

#[test]
fn mm2_properties_matches_strimzi() {
    let strimzi = only_flow(&load_seed(STRIMZI), "uswest->useast");
    let l = load_seed(&["mm2.properties"]);
    assert_eq!(
        l.config.flows.len(),
        2,
        "MM2 runs a herder per ordered pair"
    );
    let mut mm2 = only_flow(&l, "uswest->useast");
    // Connector names are the class names in dedicated mode.
    assert_eq!(
        mm2.source_connector.as_ref().unwrap().name,
        "MirrorSourceConnector"
    );
    mm2.source_connector.as_mut().unwrap().name = "mirror-source-connector".to_owned();
    mm2.checkpoint_connector.as_mut().unwrap().name = "mirror-checkpoint-connector".to_owned();
    assert_eq!(conn_print(&mm2.source), conn_print(&strimzi.source));
    assert_eq!(conn_print(&mm2.target), conn_print(&strimzi.target));
    assert_eq!(mm2.policy, strimzi.policy);
    assert_eq!(mm2.worker, strimzi.worker);
    assert_eq!(mm2.source_connector, strimzi.source_connector);
    assert_eq!(mm2.checkpoint_connector, strimzi.checkpoint_connector);
    // MM2 writes heartbeats into each flow's target; the reverse (disabled) flow brings them to
    // uswest, where the seed's heartbeat connector writes them.
    assert!(
        mm2.heartbeat_connector
            .as_ref()
            .unwrap()
            .heartbeats_cluster
            .is_none()
    );
    let reverse = only_flow(&l, "useast->uswest");
    assert!(!reverse.source_connector.as_ref().unwrap().enabled);
    assert!(!reverse.checkpoint_connector.as_ref().unwrap().enabled);
    assert!(
        reverse
            .heartbeat_connector
            .as_ref()
            .unwrap()
            .emit_heartbeats_enabled
    );
    let seed_heartbeats = strimzi
        .heartbeat_connector
        .unwrap()
        .heartbeats_cluster
        .unwrap();
    assert_eq!(conn_print(&reverse.target), conn_print(&seed_heartbeats));
    assert_eq!(reverse.worker.group_id, "useast-mm2");
    assert_eq!(
        reverse.worker.offset_storage_topic,
        "mm2-offsets.useast.internal"
    );
}

#[test]
fn describe_and_warnings_never_show_secrets() {
    for files in [STRIMZI, &["mm2.properties"], &["strait.yaml"]] {
        let l = load_seed(files);
        let text = describe(&l.config);
        assert!(text.contains("password [redacted]"), "{text}");
        assert_no_secret(&text);
        assert_no_secret(&format!("{:?}", l.config));
        for w in &l.warnings {
            assert_no_secret(&w.to_string());
        }
    }
}

/// Which fixture set an invalid case starts from.
#[derive(Clone, Copy)]
enum Base {
    Strimzi,
    Mm2,
    Native,
}

/// Loads a fixture set from a temporary copy with `edits` applied (`(file, from, to)`; `to`
/// replaces the first occurrence; a `from` of `""` replaces the whole file, a `to` of `None`
/// leaves the file out), and returns the error.
fn error_with(base: Base, edits: &[(&str, &str, Option<&str>)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<&str> = match base {
        Base::Strimzi => OBJECTS.iter().chain(STRIMZI).copied().collect(),
        Base::Mm2 => OBJECTS.iter().copied().chain(["mm2.properties"]).collect(),
        Base::Native => OBJECTS.iter().copied().chain(["strait.yaml"]).collect(),
    };
    let mut files = Vec::new();
    let mut names: Vec<String> = names.into_iter().map(str::to_owned).collect();
    for (file, _, _) in edits {
        if !names.iter().any(|n| n == file) {
            names.push((*file).to_owned());
        }
    }
    for name in names {
        let mut text = std::fs::read_to_string(seed(&name)).unwrap_or_default();
        let mut skip = false;
        for (file, from, to) in edits.iter().filter(|(f, _, _)| *f == name) {
            let _ = file;
            match to {
                None => skip = true,
                Some(to) if from.is_empty() => text = (*to).to_owned(),
                Some(to) => {
                    assert!(text.contains(from), "{name} has no '{from}'");
                    text = text.replacen(from, to, 1);
                }
            }
        }
        if skip {
            continue;
        }
        let path = dir.path().join(&name);
        std::fs::write(&path, text).unwrap();
        files.push(path);
    }
    let e = match load_with(&files, &options()) {
        Ok(l) => panic!("loaded:\n{}", describe(&l.config)),
        Err(e) => e.to_string(),
    };
    assert_no_secret(&e);
    e
}

fn check(base: Base, edits: &[(&str, &str, Option<&str>)], expected: &[&str]) {
    let e = error_with(base, edits);
    for part in expected {
        assert!(e.contains(part), "error:\n{e}\nlacks:\n{part}");
    }
}

#[test]
fn invalid_strimzi_configs() {
    use Base::Strimzi;
    let src = "connectors.yaml";
    check(
        Strimzi,
        &[(
            src,
            "replication-config:topics}",
            Some("replication-config:topicz}"),
        )],
        &[
            "connectors.yaml, document 1 (KafkaConnector repl/mirror-source-connector), key 'topics': cannot resolve ${cfmap:repl/replication-config:topicz}: ConfigMap repl/replication-config has no key 'topicz' (keys: topics)",
        ],
    );
    check(
        Strimzi,
        &[("replication-config.yaml", "", None)],
        &[
            "key 'topics': cannot resolve ${cfmap:repl/replication-config:topics}: ConfigMap repl/replication-config not found (pass its manifest with -f)",
        ],
    );
    check(
        Strimzi,
        &[("uswest-secret.yaml", "", None)],
        &[
            "key 'source.cluster.sasl.jaas.config': cannot resolve ${secret:repl/uswest-secret:sasl.jaas.config}: Secret repl/uswest-secret not found",
        ],
    );
    check(
        Strimzi,
        &[(
            src,
            "${cfmap:repl/uswest-config:alias}",
            Some("${vault:repl/uswest-config:alias}"),
        )],
        &[
            "key 'source.cluster.alias': cannot resolve ${vault:repl/uswest-config:alias}: no config provider named 'vault' (declared: cfmap, file, secret, strimzidir, strimzienv, strimzifile, strimzisecrets)",
        ],
    );
    check(
        Strimzi,
        &[("useast-password.yaml", "", None)],
        &[
            "key 'target.cluster.bootstrap.servers': cannot resolve ${file:/tmp/strimzi-connect.properties:bootstrap.servers}: Secret repl/useast-password (spec.authentication.passwordSecret of KafkaConnect repl/repl-uswest-useast) not found",
        ],
    );
    check(
        Strimzi,
        &[(
            "uswest-secret.yaml",
            "ssl.truststore.password: ",
            Some("ssl.truststore.password: not*base64*"),
        )],
        &[
            "uswest-secret.yaml, document 1 (Secret repl/uswest-secret), key 'data.ssl.truststore.password': is not valid base64",
        ],
    );
    check(
        Strimzi,
        &[(
            src,
            "value.converter: org.apache.kafka.connect.converters.ByteArrayConverter",
            Some("value.converter: org.apache.kafka.connect.json.JsonConverter"),
        )],
        &[
            "(KafkaConnector repl/mirror-source-connector), key 'value.converter': 'org.apache.kafka.connect.json.JsonConverter' is not supported: Strait copies record bytes unchanged",
        ],
    );
    check(
        Strimzi,
        &[(
            src,
            "sync.group.offsets.enabled: true",
            Some("sync.group.offsets.enabled: \"yes\""),
        )],
        &[
            "document 2 (KafkaConnector repl/mirror-checkpoint-connector), key 'sync.group.offsets.enabled': 'yes' is not a boolean (expected true or false)",
        ],
    );
    check(
        Strimzi,
        &[(
            src,
            "refresh.topics.interval.seconds: 10",
            Some("refresh.topics.interval.seconds: 10m"),
        )],
        &["key 'refresh.topics.interval.seconds': '10m' is not a number of seconds"],
    );
    check(
        Strimzi,
        &[(
            src,
            "    #replication.policy.class",
            Some("    replication.policy.class: com.acme.MyPolicy\n    #"),
        )],
        &[
            "key 'replication.policy.class': 'com.acme.MyPolicy' is not supported (expected org.apache.kafka.connect.mirror.DefaultReplicationPolicy or org.apache.kafka.connect.mirror.IdentityReplicationPolicy)",
        ],
    );
    check(
        Strimzi,
        &[(src, "groups: test.*", Some("groups: \"test.(*\""))],
        &["key 'groups': 'test.(*' is not a valid regular expression"],
    );
    check(
        Strimzi,
        &[(
            src,
            "    source.cluster.alias: ${cfmap:repl/uswest-config:alias}\n",
            Some(""),
        )],
        &["(KafkaConnector repl/mirror-source-connector), key 'source.cluster.alias': is required"],
    );
    check(
        Strimzi,
        &[(
            src,
            "  labels:\n    strimzi.io/cluster: repl-uswest-useast\n",
            Some(""),
        )],
        &[
            "(KafkaConnector repl/mirror-source-connector), key 'metadata.labels.strimzi.io/cluster': is required",
        ],
    );
    check(
        Strimzi,
        &[(
            src,
            "strimzi.io/cluster: repl-uswest-useast",
            Some("strimzi.io/cluster: other-connect"),
        )],
        &["names KafkaConnect 'other-connect', which is not among the given files"],
    );
    check(
        Strimzi,
        &[(
            src,
            "class: org.apache.kafka.connect.mirror.MirrorSourceConnector",
            Some("class: org.apache.kafka.connect.file.FileStreamSourceConnector"),
        )],
        &[
            "key 'spec.class': 'org.apache.kafka.connect.file.FileStreamSourceConnector' is not a Mirror connector",
        ],
    );
    // tls authentication is supported (strimzi.rs tests it), but needs its certificate and key.
    check(
        Strimzi,
        &[("kafka-connect.yaml", "type: plain", Some("type: tls"))],
        &[
            "cannot resolve ${file:/tmp/strimzi-connect.properties:bootstrap.servers}: spec.authentication.certificateAndKey.secretName is required with authentication type tls",
        ],
    );
    check(
        Strimzi,
        &[("kafka-connect.yaml", "type: plain", Some("type: oauth"))],
        &[
            "spec.authentication.type 'oauth' of KafkaConnect repl/repl-uswest-useast is not supported (Strait supports tls, plain, scram-sha-256 and scram-sha-512)",
        ],
    );
    check(
        Strimzi,
        &[(
            "uswest-config.yaml",
            "security.protocol: SASL_SSL",
            Some("security.protocol: SASL_TLS"),
        )],
        &["key 'source.cluster.security.protocol': unknown security.protocol 'SASL_TLS'"],
    );
    let no_password = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: uswest-secret\n  namespace: repl\nstringData:\n  ssl.truststore.password: Ts-S3cret-pass-3380\n  sasl.jaas.config: org.apache.kafka.common.security.plain.PlainLoginModule required username=\"replicator-uswest\" passwd=\"Src-S3cret-pass-5521\";\n";
    check(
        Strimzi,
        &[("uswest-secret.yaml", "", Some(no_password))],
        &["key 'source.cluster.sasl.jaas.config': sasl.jaas.config has no 'password' option"],
    );
    check(
        Strimzi,
        &[(
            "mm2-cr.yaml",
            "",
            Some(
                "apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaMirrorMaker2\nmetadata:\n  name: mm2\n",
            ),
        )],
        &["mm2-cr.yaml, document 1 (KafkaMirrorMaker2 mm2), key 'spec': is required"],
    );
    check(
        Strimzi,
        &[(
            src,
            "producer.override.bootstrap.servers: ${cfmap:repl/uswest-config:bootstrap.servers}",
            Some("producer.override.bootstrap.servers: elsewhere:9093"),
        )],
        &[
            "(KafkaConnector repl/mirror-heartbeat-connector), key 'producer.override.bootstrap.servers': names other brokers ('elsewhere:9093')",
        ],
    );
    check(
        Strimzi,
        &[(
            src,
            "    source.cluster.bootstrap.servers: ${cfmap:repl/uswest-config:bootstrap.servers}\n    source.cluster.security.protocol: ${cfmap:repl/uswest-config:security.protocol}\n    source.cluster.sasl.mechanism: ${cfmap:repl/uswest-config:sasl.mechanism}\n    source.cluster.sasl.jaas.config: ${secret:repl/uswest-secret:sasl.jaas.config}\n    source.cluster.ssl.truststore.location: ${cfmap:repl/uswest-config:ssl.truststore.location}\n    source.cluster.ssl.truststore.password: ${secret:repl/uswest-secret:ssl.truststore.password}\n\n    # Target cluster configurations - mostly sourced from the Connect worker config\n    target.cluster.alias: ${cfmap:repl/useast-config:alias}\n    target.cluster.bootstrap.servers: ${file:/tmp/strimzi-connect.properties:bootstrap.servers}\n    target.cluster.security.protocol: ${file:/tmp/strimzi-connect.properties:security.protocol}\n    target.cluster.sasl.mechanism: ${file:/tmp/strimzi-connect.properties:sasl.mechanism}\n    target.cluster.sasl.jaas.config: ${file:/tmp/strimzi-connect.properties:sasl.jaas.config}\n    target.cluster.ssl.truststore.location: ${file:/tmp/strimzi-connect.properties:ssl.truststore.location}\n    target.cluster.ssl.truststore.password: ${file:/tmp/strimzi-connect.properties:ssl.truststore.password}\n---\napiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaConnector\nmetadata:\n  name: mirror-checkpoint-connector",
            Some(
                "    source.cluster.bootstrap.servers: other:9093\n    target.cluster.alias: ${cfmap:repl/useast-config:alias}\n    target.cluster.bootstrap.servers: ${file:/tmp/strimzi-connect.properties:bootstrap.servers}\n---\napiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaConnector\nmetadata:\n  name: mirror-checkpoint-connector",
            ),
        )],
        &[
            "(KafkaConnector repl/mirror-checkpoint-connector): its source.cluster.* connection differ from those of",
        ],
    );
    let second_source = std::fs::read_to_string(seed(src))
        .unwrap()
        .split("\n---\n")
        .next()
        .unwrap()
        .replace(
            "name: mirror-source-connector",
            "name: mirror-source-connector-2",
        );
    check(
        Strimzi,
        &[("more.yaml", "", Some(&second_source))],
        &["flow uswest->useast already has a connector of this kind"],
    );
}

#[test]
fn invalid_mm2_and_native_configs() {
    use Base::{Mm2, Native};
    check(
        Mm2,
        &[(
            "mm2.properties",
            "clusters = uswest, useast",
            Some("cluster = uswest, useast"),
        )],
        &["mm2.properties, key 'clusters': is required"],
    );
    check(
        Mm2,
        &[(
            "mm2.properties",
            "uswest->useast.enabled = true",
            Some("uswest->useast.enabled = yes"),
        )],
        &["mm2.properties, key 'uswest->useast.enabled': 'yes' is not a boolean"],
    );
    check(
        Mm2,
        &[(
            "mm2.properties",
            "cfmap.class = io.strimzi.kafka.KubernetesConfigMapConfigProvider",
            Some("cfmap.class = com.example.NoSuchProvider"),
        )],
        &[
            "cannot resolve ${cfmap:repl/uswest-config:bootstrap.servers}: unknown provider class 'com.example.NoSuchProvider'",
        ],
    );
    check(
        Mm2,
        &[(
            "mm2.properties",
            "useast-password:pass}",
            Some("useast-password:password}"),
        )],
        &[
            "mm2.properties (flow uswest->useast), key 'target.cluster.sasl.jaas.config' (set as 'useast.sasl.jaas.config'): cannot resolve ${secret:repl/useast-password:password}: Secret repl/useast-password has no key 'password' (keys: pass)",
        ],
    );
    check(
        Mm2,
        &[(
            "mm2.properties",
            "useast.bootstrap.servers = useast-kafka-bootstrap.kafka-useast:9093\n",
            Some(""),
        )],
        &["key 'target.cluster.bootstrap.servers': is required"],
    );
    check(
        Mm2,
        &[(
            "mm2.properties",
            "tasks.max = 3",
            Some("tasks.max = 3\nuswest->useast.emit.checkpoints.interval.seconds = -5s"),
        )],
        &[
            "key 'emit.checkpoints.interval.seconds' (set as 'uswest->useast.emit.checkpoints.interval.seconds'): '-5s' is not a number of seconds",
        ],
    );
    check(
        Native,
        &[("strait.yaml", "  - source:", Some("  - sourc:"))],
        &["strait.yaml (flow 1), key 'source': is required"],
    );
    check(
        Native,
        &[("strait.yaml", "flows:", Some("flow:"))],
        &["neither Kubernetes manifests"],
    );
    check(
        Native,
        &[("strait.yaml", "flows:", Some("version: 1\nflows:"))],
        &["strait.yaml: syntax error:", "version"],
    );
    check(
        Native,
        &[("strait.yaml", "cluster: source", Some("cluster: both"))],
        &["key 'heartbeat_connector.cluster': 'both' is not valid (expected source or target)"],
    );
    check(
        Native,
        &[(
            "strait.yaml",
            "offset.storage.replication.factor: -1",
            Some("offset.storage.partitions: 0"),
        )],
        &[
            "key 'offset.storage.partitions' (set as 'worker.offset.storage.partitions'): 0 is not valid",
        ],
    );
    check(
        Native,
        &[(
            "strait.yaml",
            "topics: ${cfmap:repl/replication-config:topics}",
            Some("topics: ${env:NO_SUCH_VARIABLE}"),
        )],
        &[
            "key 'topics': cannot resolve ${env:NO_SUCH_VARIABLE}: environment variable 'NO_SUCH_VARIABLE' is not set",
        ],
    );
    check(
        Native,
        &[(
            "strait.yaml",
            "topics: ${cfmap:repl/replication-config:topics}",
            Some("topics: ${file:/nonexistent/topics.properties:topics}"),
        )],
        &[
            "cannot resolve ${file:/nonexistent/topics.properties:topics}: file /nonexistent/topics.properties does not exist",
        ],
    );
    check(
        Native,
        &[(
            "strait.yaml",
            "tasks.max: 3",
            Some("tasks.max: 3\n    connectors: [source, mirror]"),
        )],
        &["key 'connectors': \"mirror\" is not a connector"],
    );
    check(
        Native,
        &[(
            "strait.yaml",
            "security.protocol: SASL_SSL",
            Some("security.protocol: SASL_SSL\n      ssl.keystore.location: /client.jks"),
        )],
        &[
            "key 'source.cluster.ssl.keystore.password': is required with source.cluster.ssl.keystore.location (as in Kafka)",
        ],
    );
    check(
        Native,
        &[(
            "strait.yaml",
            "security.protocol: SASL_SSL",
            Some(
                "security.protocol: SASL_SSL\n      ssl.keystore.type: PEM\n      ssl.keystore.location: /client.pem",
            ),
        )],
        &["key 'source.cluster.ssl.key.password': is required with a PEM keystore file"],
    );
    check(
        Native,
        &[(
            "strait.yaml",
            "security.protocol: SASL_SSL",
            Some(
                "security.protocol: SASL_SSL\n      ssl.keystore.key: ${secret:repl/uswest-secret:ssl.truststore.password}",
            ),
        )],
        &[
            "key 'source.cluster.ssl.keystore.key' (set as 'source.ssl.keystore.key'): needs source.cluster.ssl.keystore.certificate.chain (the certificate chain of the key)",
        ],
    );
}

#[test]
fn whole_load_errors() {
    let e = load_with(&[seed("useast-config.yaml")], &options())
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("no replication flow found in"), "{e}");
    let e = load_with(&[seed("no-such-file.yaml")], &options())
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("cannot read") && e.contains("no-such-file.yaml"),
        "{e}"
    );
    let mut files: Vec<PathBuf> = OBJECTS.iter().chain(STRIMZI).map(|n| seed(n)).collect();
    files.push(seed("strait.yaml"));
    let e = load_with(&files, &options()).unwrap_err().to_string();
    assert!(
        e.contains("strait.yaml: flow uswest->useast is also defined by"),
        "{e}"
    );
    assert!(
        e.contains("kafka-connect.yaml, document 1 (KafkaConnect repl/repl-uswest-useast)"),
        "{e}"
    );
}

#[test]
fn unknown_keys_are_reported_with_the_closest_known_key() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(seed("strait.yaml"))
        .unwrap()
        .replace(
            "refresh.topics.interval.seconds: 10",
            "refresh.topics.interval.seconds: 10\n      refresh.topic.interval.secs: 5",
        )
        .replace("tasks.max: 3", "tasks.max: 3\n    max.poll.records: 10");
    let path = dir.path().join("strait.yaml");
    std::fs::write(&path, text).unwrap();
    let mut files: Vec<PathBuf> = OBJECTS.iter().map(|n| seed(n)).collect();
    files.push(path);
    let l = load_with(&files, &options()).unwrap();
    let w: Vec<String> = l.warnings.iter().map(ToString::to_string).collect();
    assert!(w.iter().any(|w| w.contains("key 'refresh.topic.interval.secs' (set as 'source_connector.refresh.topic.interval.secs'): unknown connector key 'refresh.topic.interval.secs' ignored (closest known key: 'refresh.topics.interval.seconds')")), "{w:#?}");
    assert!(
        w.iter()
            .any(|w| w.contains("key 'max.poll.records': unknown connector key")),
        "{w:#?}"
    );
}

#[test]
#[ignore = "prints the seed's warnings and description"]
fn print_seed() {
    for files in [STRIMZI, &["mm2.properties"], &["strait.yaml"]] {
        let l = load_seed(files);
        for w in &l.warnings {
            eprintln!("warning: {w}");
        }
        eprintln!("{}", describe(&l.config));
    }
}
