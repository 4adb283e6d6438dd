//! Mutual TLS against the test bed's mTLS listeners (`<base>+3`: SSL, client certificate
//! required, principal `User:CN=strait-client`): every keystore format connects, a client
//! without a certificate is refused with a clear error, and whole flows run over mTLS from
//! Strait YAML (JKS keystore on the source, PEM keystore file on the target) and from a Strimzi
//! KafkaConnect with `authentication.type: tls` (PKCS#12 on the source, the Secret's PEM on the
//! target). No secret may appear in any output.
//! Needs a test bed with the mTLS listener: `testbed/kafka.sh up` (or one started with
//! `STRAIT_TESTBED_RUN`, which these tests honour).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use common::{
    ClientKeystore, Cluster, StraitProcess, Testbed, create_topic, produce_samples, topic_counts,
    unique, wait_for,
};
use strait::kafka::{ConnectError, check_connection};

/// Every secret of the test bed a flow over mTLS could leak.
fn secrets(tb: &Testbed) -> Vec<String> {
    let mut out: Vec<String> = [
        "KEYSTORE_JKS_PASSWORD",
        "KEYSTORE_P12_PASSWORD",
        "CLIENT_KEY_PASSWORD",
        "TRUSTSTORE_JKS_PASSWORD",
    ]
    .iter()
    .map(|k| tb.var(k).to_owned())
    .collect();
    // A line of the private key's base64 stands for the key.
    let key = std::fs::read_to_string(tb.var("CLIENT_KEY_PEM")).unwrap();
    out.push(key.lines().nth(2).unwrap().to_owned());
    out
}

fn assert_no_secret(tb: &Testbed, what: &str, text: &str) {
    for secret in secrets(tb) {
        assert!(
            !text.contains(&secret),
            "a secret leaked into {what}:\n{text}"
        );
    }
}

/// `strait validate -f files...`: (success, stdout + stderr).
fn validate(files: &[PathBuf]) -> (bool, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_strait"));
    cmd.arg("validate");
    for f in files {
        cmd.arg("-f").arg(f);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// Runs `strait run -f files...` until `remote` on the target holds `n` records, then stops
/// it with SIGTERM and checks its exit and log.
async fn run_until_replicated(tb: &Testbed, dir: &Path, files: &[PathBuf], remote: &str, n: i64) {
    let more: Vec<String> = files[1..]
        .iter()
        .flat_map(|f| ["-f".to_owned(), f.display().to_string()])
        .collect();
    let more: Vec<&str> = more.iter().map(String::as_str).collect();
    let mut strait = StraitProcess::start_with(&files[0], &dir.join("strait.log"), &[], &more, &[]);
    let (tgt, r) = (tb.plaintext_config(Cluster::Target), remote.to_owned());
    let arrived = tokio::task::spawn_blocking(move || {
        wait_for(Duration::from_secs(120), || {
            topic_counts(&tgt, &r).is_some_and(|c| c.iter().sum::<i64>() == n)
        })
    })
    .await
    .unwrap();
    assert!(
        arrived,
        "records did not arrive on {remote}: {}",
        strait.log_text()
    );
    strait.signal("TERM");
    assert_eq!(
        strait.wait(Duration::from_secs(60)),
        Some(0),
        "{}",
        strait.log_text()
    );
    assert_no_secret(tb, "strait's log", &strait.log_text());
}

#[test]
fn every_keystore_format_connects_and_none_is_refused_clearly() {
    let tb = Testbed::get();
    for keystore in [
        ClientKeystore::Jks,
        ClientKeystore::Pkcs12,
        ClientKeystore::PemFile,
        ClientKeystore::PemInline,
    ] {
        for cluster in [Cluster::Source, Cluster::Target] {
            let conn = tb.mtls_connection(cluster, Some(keystore));
            let brokers = check_connection("c", &conn, Duration::from_secs(30))
                .unwrap_or_else(|e| panic!("{keystore:?} on {cluster:?}: {e}"));
            assert_eq!(brokers, 1);
        }
    }

    // Without a certificate the broker ends the TLS session: a TLS error that says what is
    // missing, not a timeout.
    let conn = tb.mtls_connection(Cluster::Source, None);
    let started = std::time::Instant::now();
    let err = check_connection("source", &conn, Duration::from_secs(30)).unwrap_err();
    assert!(matches!(err, ConnectError::Tls { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "cluster 'source' ({}): TLS handshake failed:",
            tb.mtls_bootstrap(Cluster::Source)
        )),
        "{message}"
    );
    assert!(
        message.contains("the broker requires a client certificate and none is configured"),
        "{message}"
    );
    assert!(started.elapsed() < Duration::from_secs(20), "{message}");
}

/// A Strait YAML flow over mTLS: the source with the JKS keystore (key password apart) and JKS
/// truststore, the target with the PEM keystore file (encrypted key) and the PEM CA.
fn mtls_yaml(tb: &Testbed, topic: &str, run: &str, jks_password: &str) -> String {
    format!(
        r#"flows:
  - source:
      alias: source
      bootstrap.servers: "{sb}"
      security.protocol: SSL
      ssl.truststore.location: "{ts_jks}"
      ssl.truststore.password: "{ts_jks_pw}"
      ssl.keystore.location: "{ks_jks}"
      ssl.keystore.password: "{jks_password}"
      ssl.key.password: "{key_pw}"
    target:
      alias: target
      bootstrap.servers: "{tbs}"
      security.protocol: SSL
      ssl.truststore.type: PEM
      ssl.truststore.location: "{ca}"
      ssl.keystore.type: PEM
      ssl.keystore.location: "{ks_pem}"
      ssl.key.password: "{key_pw}"
    connectors: [source]
    topics: "{topic}"
    replication.factor: 1
    offset-syncs.topic.replication.factor: 1
    refresh.topics.interval.seconds: 2
    sync.topic.acls.enabled: false
    worker:
      group.id: "{run}-group"
      offset.storage.topic: "{run}-offsets"
      offset.storage.partitions: 5
      offset.storage.replication.factor: 1
      offset.flush.interval.ms: 1000
"#,
        sb = tb.mtls_bootstrap(Cluster::Source),
        tbs = tb.mtls_bootstrap(Cluster::Target),
        ts_jks = tb.var("TRUSTSTORE_JKS"),
        ts_jks_pw = tb.var("TRUSTSTORE_JKS_PASSWORD"),
        ks_jks = tb.var("KEYSTORE_JKS"),
        key_pw = tb.var("CLIENT_KEY_PASSWORD"),
        ca = tb.var("TRUSTSTORE_PEM"),
        ks_pem = tb.var("KEYSTORE_PEM"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strait_yaml_flow_over_mtls() {
    let tb = Testbed::get();
    let topic = unique("mtls.yaml");
    create_topic(&tb.plaintext_config(Cluster::Source), &topic, 2).await;
    produce_samples(&tb.plaintext_config(Cluster::Source), &topic, 2, 0, 2_000);
    let dir = tempfile::tempdir().unwrap();
    let run = unique("mtls-yaml");

    // A wrong keystore password is an invalid configuration naming the key, not the password.
    let wrong = dir.path().join("wrong.yaml");
    std::fs::write(&wrong, mtls_yaml(&tb, &topic, &run, "not-the-password")).unwrap();
    let (ok, text) = validate(std::slice::from_ref(&wrong));
    assert!(!ok, "{text}");
    assert!(
        text.contains(&format!(
            "key 'source.cluster.ssl.keystore.password' (set as 'source.ssl.keystore.password'): JKS keystore {}: wrong keystore password",
            tb.var("KEYSTORE_JKS")
        )),
        "{text}"
    );
    assert!(!text.contains("not-the-password"), "{text}");

    let config = dir.path().join("strait.yaml");
    std::fs::write(
        &config,
        mtls_yaml(&tb, &topic, &run, tb.var("KEYSTORE_JKS_PASSWORD")),
    )
    .unwrap();
    let (ok, text) = validate(std::slice::from_ref(&config));
    assert!(ok, "{text}");
    for expected in [
        format!(
            "      tls client certificate: JKS {} (password [redacted], key password [redacted])",
            tb.var("KEYSTORE_JKS")
        ),
        format!(
            "      tls client certificate: PEM file {} (key password [redacted])",
            tb.var("KEYSTORE_PEM")
        ),
    ] {
        assert!(text.contains(&expected), "{expected:?} missing in:\n{text}");
    }
    assert_no_secret(&tb, "validate's output", &text);

    run_until_replicated(
        &tb,
        dir.path(),
        &[config],
        &format!("source.{topic}"),
        2_000,
    )
    .await;
}

fn secret(ns: &str, name: &str, data: &[(&str, &[u8])]) -> String {
    let mut s = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {ns}\ndata:\n"
    );
    for (k, v) in data {
        s += &format!("  {k}: {}\n", STANDARD.encode(v));
    }
    s
}

/// A KafkaConnect on the target's mTLS listener with `authentication.type: tls` (the client
/// certificate and key in a Secret, as Strimzi's User Operator writes them), and a
/// MirrorSourceConnector whose source uses the PKCS#12 keystore and whose target is read from
/// `/tmp/strimzi-connect.properties` the way connectors for Strimzi ≤0.45 do (keystore location
/// and password). Returns the files in `-f` order.
fn strimzi_files(tb: &Testbed, dir: &Path, topic: &str, run: &str) -> Vec<PathBuf> {
    let connect = format!(
        r#"apiVersion: kafka.strimzi.io/v1beta2
kind: KafkaConnect
metadata:
  name: mtls-connect
  namespace: repl
  annotations:
    strimzi.io/use-connector-resources: "true"
spec:
  bootstrapServers: "{tbs}"
  tls:
    trustedCertificates:
      - secretName: cluster-ca
        certificate: ca.crt
  authentication:
    type: tls
    certificateAndKey:
      secretName: strait-client
      certificate: user.crt
      key: user.key
  config:
    group.id: {run}-group
    offset.storage.topic: {run}-offsets
    offset.storage.replication.factor: 1
    offset.flush.interval.ms: 1000
    config.providers: secret,file
    config.providers.secret.class: io.strimzi.kafka.KubernetesSecretConfigProvider
    config.providers.file.class: org.apache.kafka.common.config.provider.FileConfigProvider
"#,
        tbs = tb.mtls_bootstrap(Cluster::Target),
    );
    let f = "${file:/tmp/strimzi-connect.properties";
    let connector = format!(
        r#"apiVersion: kafka.strimzi.io/v1beta2
kind: KafkaConnector
metadata:
  name: mtls-source
  namespace: repl
  labels:
    strimzi.io/cluster: mtls-connect
spec:
  class: org.apache.kafka.connect.mirror.MirrorSourceConnector
  tasksMax: 2
  config:
    key.converter: org.apache.kafka.connect.converters.ByteArrayConverter
    value.converter: org.apache.kafka.connect.converters.ByteArrayConverter
    topics: "{topic}"
    refresh.topics.interval.seconds: 2
    replication.factor: -1
    offset-syncs.topic.replication.factor: -1
    sync.topic.acls.enabled: false
    source.cluster.alias: source
    source.cluster.bootstrap.servers: "{sb}"
    source.cluster.security.protocol: SSL
    source.cluster.ssl.truststore.type: PEM
    source.cluster.ssl.truststore.certificates: ${{secret:repl/cluster-ca:ca.crt}}
    source.cluster.ssl.keystore.type: PKCS12
    source.cluster.ssl.keystore.location: "{p12}"
    source.cluster.ssl.keystore.password: ${{secret:repl/source-keystore:password}}
    target.cluster.alias: target
    target.cluster.bootstrap.servers: {f}:bootstrap.servers}}
    target.cluster.security.protocol: {f}:security.protocol}}
    target.cluster.ssl.truststore.location: {f}:ssl.truststore.location}}
    target.cluster.ssl.truststore.password: {f}:ssl.truststore.password}}
    target.cluster.ssl.keystore.location: {f}:ssl.keystore.location}}
    target.cluster.ssl.keystore.password: {f}:ssl.keystore.password}}
"#,
        sb = tb.mtls_bootstrap(Cluster::Source),
        p12 = tb.var("KEYSTORE_P12"),
    );
    let read = |key: &str| std::fs::read(tb.var(key)).unwrap();
    let secrets = [
        secret("repl", "cluster-ca", &[("ca.crt", &read("TRUSTSTORE_PEM"))]),
        secret(
            "repl",
            "strait-client",
            &[
                ("user.crt", &read("CLIENT_CERT_PEM")),
                ("user.key", &read("CLIENT_KEY_PEM")),
            ],
        ),
        secret(
            "repl",
            "source-keystore",
            &[("password", tb.var("KEYSTORE_P12_PASSWORD").as_bytes())],
        ),
    ]
    .join("---\n");
    [
        ("connect.yaml", connect),
        ("connector.yaml", connector),
        ("secrets.yaml", secrets),
    ]
    .into_iter()
    .map(|(name, text)| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    })
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strimzi_tls_authentication_flow() {
    let tb = Testbed::get();
    let topic = unique("mtls.strimzi");
    create_topic(&tb.plaintext_config(Cluster::Source), &topic, 2).await;
    produce_samples(&tb.plaintext_config(Cluster::Source), &topic, 2, 0, 2_000);
    let dir = tempfile::tempdir().unwrap();
    let files = strimzi_files(&tb, dir.path(), &topic, &unique("mtls-strimzi"));

    // The resolved target carries the Secret's certificate chain (leaf and CA) and its key,
    // shown redacted; the source its PKCS#12 keystore.
    let (ok, text) = validate(&files);
    assert!(ok, "{text}");
    assert!(text.contains("flow source->target"), "{text}");
    assert!(
        text.contains(&format!(
            "  target 'target': {} via SSL",
            tb.mtls_bootstrap(Cluster::Target)
        )),
        "{text}"
    );
    for expected in [
        "      tls client certificate: inline PEM (2 certificate(s), key [redacted])".to_owned(),
        format!(
            "      tls client certificate: PKCS12 {} (password [redacted])",
            tb.var("KEYSTORE_P12")
        ),
    ] {
        assert!(text.contains(&expected), "{expected:?} missing in:\n{text}");
    }
    assert_no_secret(&tb, "validate's output", &text);

    run_until_replicated(&tb, dir.path(), &files, &format!("source.{topic}"), 2_000).await;
}
