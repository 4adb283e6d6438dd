//! KafkaMirrorMaker2 resources as Strimzi's own examples write them
//! (tests/fixtures/strimzi-mm2/, each naming the Strimzi file and commit it comes from), with
//! the Secrets the operator and the User Operator would have made.

use crate::config::test_support::{client_pair, load_texts};
use crate::config::{
    FlowConfig, KeystoreSource, Loaded, SaslMechanism, SecurityProtocol, Truststore,
};

const CERT_A: &str = "-----BEGIN CERTIFICATE-----\nMIIBclusterA\n-----END CERTIFICATE-----\n";
const CERT_B: &str = "-----BEGIN CERTIFICATE-----\nMIIBclusterB\n-----END CERTIFICATE-----\n";
const PASSWORD_A: &str = "pw-of-a-7Hq2";
const PASSWORD_B: &str = "pw-of-b-9Zx4";

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/strimzi-mm2/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A Secret without a namespace, as the examples' resources have none.
fn secret(name: &str, data: &[(&str, &str)]) -> String {
    let mut s = format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\nstringData:\n");
    for (k, v) in data {
        s.push_str(&format!("  {k}: {}\n", serde_json::to_string(v).unwrap()));
    }
    s
}

/// The cluster CA Secrets the operator makes for clusters `cluster-a` and `cluster-b`.
fn ca_secrets() -> String {
    format!(
        "{}---\n{}",
        secret("cluster-a-cluster-ca-cert", &[("ca.crt", CERT_A)]),
        secret("cluster-b-cluster-ca-cert", &[("ca.crt", CERT_B)])
    )
}

/// The KafkaUser Secrets of the SCRAM example.
fn scram_secrets() -> String {
    format!(
        "{}---\n{}",
        secret("cluster-a-user", &[("password", PASSWORD_A)]),
        secret("cluster-b-user", &[("password", PASSWORD_B)])
    )
}

/// The KafkaUser Secrets of the mTLS example, both users with `cert` and `key`.
fn tls_user_secrets(cert: &str, key: &str) -> String {
    format!(
        "{}---\n{}",
        secret("cluster-a-user", &[("user.crt", cert), ("user.key", key)]),
        secret("cluster-b-user", &[("user.crt", cert), ("user.key", key)])
    )
}

fn load(files: &[(&str, &str)]) -> Loaded {
    match load_texts(files) {
        Ok(l) => l,
        Err(e) => panic!("{e}"),
    }
}

fn error(files: &[(&str, &str)]) -> String {
    match load_texts(files) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

fn warnings(l: &Loaded) -> Vec<String> {
    l.warnings.iter().map(ToString::to_string).collect()
}

/// What every example's one mirror resolves to.
fn assert_example_flow(f: &FlowConfig, port: u16) {
    assert_eq!(f.name(), "cluster-a->cluster-b");
    assert_eq!(
        f.source.bootstrap_servers,
        format!("cluster-a-kafka-bootstrap:{port}")
    );
    assert_eq!(
        f.target.bootstrap_servers,
        format!("cluster-b-kafka-bootstrap:{port}")
    );
    let checkpoint = f.checkpoint_connector.as_ref().unwrap();
    assert_eq!(
        checkpoint.name,
        "cluster-a->cluster-b.MirrorCheckpointConnector"
    );
    assert_eq!(checkpoint.groups, vec![".*".to_owned()]);
    assert!(f.heartbeat_connector.is_none());
}

#[test]
fn v1_example() {
    let l = load(&[("mm2.yaml", &fixture("v1-kafka-mirror-maker-2.yaml"))]);
    assert_eq!(l.config.flows.len(), 1);
    let f = &l.config.flows[0];
    assert_example_flow(f, 9092);
    assert_eq!(f.source.security_protocol, SecurityProtocol::Plaintext);
    assert_eq!(f.worker.group_id, "my-mirror-maker-2-group");
    assert_eq!(f.worker.offset_storage_topic, "__my-mirror-maker-2-offset");
    assert_eq!(f.worker.offset_storage_replication_factor, -1);
    let source = f.source_connector.as_ref().unwrap();
    // The operator's KafkaConnector name, the first element of the Connect offsets' keys.
    assert_eq!(source.name, "cluster-a->cluster-b.MirrorSourceConnector");
    assert_eq!(source.topics, vec![".*".to_owned()]);
    assert_eq!(source.replication_factor, -1);
    assert!(!source.sync_topic_acls_enabled);
    assert_eq!(
        source.offset_syncs_topic_location,
        crate::config::OffsetSyncsLocation::Target
    );
    // The worker keys of spec.target.config are the worker's, not client properties.
    assert!(l.warnings.is_empty(), "{:#?}", warnings(&l));
}

#[test]
fn v1beta2_example_in_the_old_layout() {
    let l = load(&[("mm2.yaml", &fixture("v1beta2-kafka-mirror-maker-2.yaml"))]);
    let f = &l.config.flows[0];
    assert_example_flow(f, 9092);
    // The operator's defaults for the old layout.
    assert_eq!(f.worker.group_id, "mirrormaker2-cluster");
    assert_eq!(
        f.worker.offset_storage_topic,
        "mirrormaker2-cluster-offsets"
    );
    let w = warnings(&l);
    for field in [
        "spec.connectCluster",
        "spec.clusters",
        "spec.mirrors[0].sourceCluster",
        "spec.mirrors[0].targetCluster",
    ] {
        assert!(
            w.iter().any(|w| w.contains(&format!("key '{field}'"))
                && w.contains("is deprecated and removed in kafka.strimzi.io/v1")),
            "{field}: {w:#?}"
        );
    }
    assert_eq!(w.len(), 4, "{w:#?}");
}

#[test]
fn v1_tls_example() {
    let l = load(&[
        ("mm2.yaml", &fixture("v1-kafka-mirror-maker-2-tls.yaml")),
        ("ca.yaml", &ca_secrets()),
    ]);
    let f = &l.config.flows[0];
    assert_example_flow(f, 9093);
    assert_eq!(f.source.security_protocol, SecurityProtocol::Ssl);
    assert!(matches!(&f.source.tls.truststore, Some(Truststore::PemInline(p)) if p == CERT_A));
    assert!(matches!(&f.target.tls.truststore, Some(Truststore::PemInline(p)) if p == CERT_B));
    assert!(l.warnings.is_empty(), "{:#?}", warnings(&l));
}

#[test]
fn scram_examples_in_both_versions() {
    for file in [
        "v1-scram-sha-512-auth-mirror-maker-2.yaml",
        "v1beta2-scram-sha-512-auth-mirror-maker-2.yaml",
    ] {
        let l = load(&[
            ("example.yaml", &fixture(file)),
            ("ca.yaml", &ca_secrets()),
            ("users.yaml", &scram_secrets()),
        ]);
        let f = &l.config.flows[0];
        assert_example_flow(f, 9093);
        for (c, user, password, cert) in [
            (&f.source, "cluster-a-user", PASSWORD_A, CERT_A),
            (&f.target, "cluster-b-user", PASSWORD_B, CERT_B),
        ] {
            assert_eq!(c.security_protocol, SecurityProtocol::SaslSsl, "{file}");
            let sasl = c.sasl.as_ref().unwrap();
            assert_eq!(sasl.mechanism, SaslMechanism::ScramSha512);
            assert_eq!(sasl.username, user);
            assert_eq!(sasl.password.expose(), password);
            assert!(matches!(&c.tls.truststore, Some(Truststore::PemInline(p)) if p == cert));
        }
        assert!(
            f.checkpoint_connector
                .as_ref()
                .unwrap()
                .sync_group_offsets_enabled
        );
        // Strimzi 0.45's example leaves the old layout's Connect group to the default.
        let group = if file.starts_with("v1-") {
            "my-mirror-maker-2-group"
        } else {
            "mirrormaker2-cluster"
        };
        assert_eq!(f.worker.group_id, group, "{file}");
        // The example's Kafka, KafkaNodePool and KafkaUser resources are not Strait's.
        let w = warnings(&l);
        assert!(
            w.iter()
                .any(|w| w.contains("ignored: Strait does not use KafkaUser resources")),
            "{w:#?}"
        );
        // `strait validate` shows the flow, never a password.
        let text = crate::config::describe(&l.config);
        assert!(text.contains("cluster-a->cluster-b"), "{text}");
        for secret in [PASSWORD_A, PASSWORD_B] {
            assert!(!text.contains(secret), "{text}");
            assert!(!format!("{:?}", l.config).contains(secret));
            assert!(!w.iter().any(|w| w.contains(secret)));
        }
    }
}

#[test]
fn tls_authentication_examples_in_both_versions() {
    let (user_cert, user_key) = client_pair();
    let key_body = user_key.lines().nth(1).unwrap();
    for file in [
        "v1-tls-auth-mirror-maker-2.yaml",
        "v1beta2-tls-auth-mirror-maker-2.yaml",
    ] {
        let l = load(&[
            ("example.yaml", &fixture(file)),
            ("ca.yaml", &ca_secrets()),
            ("users.yaml", &tls_user_secrets(&user_cert, &user_key)),
        ]);
        let f = &l.config.flows[0];
        assert_example_flow(f, 9093);
        // Strimzi's current example runs only the checkpoint connector; 0.45's ran both.
        assert_eq!(
            f.source_connector.is_some(),
            file.starts_with("v1beta2"),
            "{file}"
        );
        for (c, ca) in [(&f.source, CERT_A), (&f.target, CERT_B)] {
            assert_eq!(c.security_protocol, SecurityProtocol::Ssl);
            assert!(matches!(&c.tls.truststore, Some(Truststore::PemInline(p)) if p == ca));
            assert!(c.sasl.is_none());
            match c.tls.keystore.as_ref().map(|k| &k.source) {
                Some(KeystoreSource::PemInline {
                    certificate_chain,
                    key,
                }) => {
                    assert_eq!(certificate_chain, &user_cert);
                    assert_eq!(key.expose(), user_key);
                }
                other => panic!("{other:?}"),
            }
        }
        let text = crate::config::describe(&l.config);
        assert!(
            text.contains("tls client certificate: inline PEM (1 certificate(s), key [redacted])"),
            "{text}"
        );
        assert!(!text.contains(key_body), "{text}");
        assert!(!format!("{:?}", l.config).contains(key_body));
        assert!(!warnings(&l).iter().any(|w| w.contains(key_body)));
    }
}

#[test]
fn custom_replication_policy_example() {
    let l = load(&[(
        "mm2.yaml",
        &fixture("v1-kafka-mirror-maker-2-custom-replication-policy.yaml"),
    )]);
    assert_eq!(
        l.config.flows[0].policy.kind,
        crate::config::PolicyKind::Identity
    );
}

const V1_HEAD: &str = "apiVersion: kafka.strimzi.io/v1\nkind: KafkaMirrorMaker2\nmetadata:\n  name: mm2\n  namespace: repl\nspec:\n  replicas: 2\n";

fn v1_target(alias: &str, auth: &str) -> String {
    format!(
        "  target:\n    alias: {alias}\n    bootstrapServers: {alias}:9092\n    groupId: {alias}-group\n    \
         configStorageTopic: {alias}-configs\n    offsetStorageTopic: {alias}-offsets\n    \
         statusStorageTopic: {alias}-status\n{auth}"
    )
}

fn v1_mirror(alias: &str, auth: &str, extra: &str) -> String {
    format!(
        "  - source:\n      alias: {alias}\n      bootstrapServers: {alias}:9092\n{auth}    \
         sourceConnector:\n      config:\n        replication.factor: 1\n{extra}"
    )
}

#[test]
fn several_mirrors_and_active_active() {
    // Two sources into one target: two flows sharing the worker.
    let two = format!(
        "{V1_HEAD}{}  mirrors:\n{}{}",
        v1_target("c", ""),
        v1_mirror(
            "a",
            "",
            "    topicsPattern: 'x.*'\n    topicsExcludePattern: x.internal\n"
        ),
        v1_mirror(
            "b",
            "",
            "    checkpointConnector: {}\n    groupsPattern: g1,g2\n"
        )
    );
    let l = load(&[("mm2.yaml", &two)]);
    let names: Vec<String> = l.config.flows.iter().map(FlowConfig::name).collect();
    assert_eq!(names, ["a->c", "b->c"]);
    for f in &l.config.flows {
        assert_eq!(f.worker.group_id, "c-group");
        assert_eq!(f.worker.offset_storage_topic, "c-offsets");
    }
    let a = l.config.flows[0].source_connector.as_ref().unwrap();
    assert_eq!(a.topics, ["x.*"]);
    assert_eq!(a.topics_exclude, ["x.internal"]);
    let b = l.config.flows[1].checkpoint_connector.as_ref().unwrap();
    assert_eq!(b.groups, ["g1", "g2"]);

    // Active/active: one resource per direction.
    let ab = format!(
        "{V1_HEAD}{}  mirrors:\n{}",
        v1_target("b", ""),
        v1_mirror("a", "", "")
    );
    let ba = format!(
        "{}{}  mirrors:\n{}",
        V1_HEAD.replace("name: mm2", "name: mm2-back"),
        v1_target("a", ""),
        v1_mirror("b", "", "")
    );
    let l = load(&[("ab.yaml", &ab), ("ba.yaml", &ba)]);
    let names: Vec<String> = l.config.flows.iter().map(FlowConfig::name).collect();
    assert_eq!(names, ["a->b", "b->a"]);
    assert_eq!(l.config.flows[1].worker.group_id, "a-group");

    let twice = format!(
        "{V1_HEAD}{}  mirrors:\n{}{}",
        v1_target("c", ""),
        v1_mirror("a", "", ""),
        v1_mirror("a", "", "")
    );
    let e = error(&[("mm2.yaml", &twice)]);
    assert!(
        e.ends_with("(KafkaMirrorMaker2 repl/mm2), key 'spec.mirrors[1].source.alias': alias 'a' is used twice: the target and the sources of a KafkaMirrorMaker2 need distinct aliases"),
        "{e}"
    );
}

#[test]
fn oauth_and_custom_authentication_are_refused() {
    let oauth = "      authentication:\n        type: oauth\n        clientId: mm2\n        tokenEndpointUri: https://sso/token\n";
    let v1 = format!(
        "{V1_HEAD}{}  mirrors:\n{}",
        v1_target("b", ""),
        v1_mirror("a", oauth, "")
    );
    let e = error(&[("mm2.yaml", &v1)]);
    assert!(
        e.ends_with("mm2.yaml, document 1 (KafkaMirrorMaker2 repl/mm2), key 'spec.mirrors[0].source.authentication.type': oauth is not supported yet (cluster 'a'); Strait supports tls, scram-sha-256, scram-sha-512 and plain"),
        "{e}"
    );
    let custom = "    authentication:\n      type: custom\n      sasl: true\n";
    let v1 = format!(
        "{V1_HEAD}{}  mirrors:\n{}",
        v1_target("b", custom),
        v1_mirror("a", "", "")
    );
    let e = error(&[("mm2.yaml", &v1)]);
    assert!(
        e.contains(
            "key 'spec.target.authentication.type': custom is not supported yet (cluster 'b')"
        ),
        "{e}"
    );
    // The old layout names the entry of spec.clusters.
    let old = fixture("v1beta2-kafka-mirror-maker-2.yaml").replace(
        "    bootstrapServers: cluster-b-kafka-bootstrap:9092\n",
        "    bootstrapServers: cluster-b-kafka-bootstrap:9092\n    authentication:\n      type: oauth\n      clientId: mm2\n",
    );
    let e = error(&[("mm2.yaml", &old)]);
    assert!(
        e.contains("key 'spec.clusters[1].authentication.type': oauth is not supported yet (cluster 'cluster-b')"),
        "{e}"
    );
}

#[test]
fn plain_and_scram_sha_256_without_tls() {
    let plain = "      authentication:\n        type: plain\n        username: u\n        passwordSecret:\n          secretName: pw\n          password: p\n";
    let scram = "    authentication:\n      type: scram-sha-256\n      username: v\n      passwordSecret:\n        secretName: pw\n        password: p\n";
    let text = format!(
        "{V1_HEAD}{}  mirrors:\n{}",
        v1_target("b", scram),
        v1_mirror("a", plain, "")
    );
    let pw = crate::config::test_support::secret("repl", "pw", &[("p", "s3cr3t-p")]);
    let l = load(&[("mm2.yaml", &text), ("pw.yaml", &pw)]);
    let f = &l.config.flows[0];
    assert_eq!(f.source.security_protocol, SecurityProtocol::SaslPlaintext);
    assert_eq!(
        f.source.sasl.as_ref().unwrap().mechanism,
        SaslMechanism::Plain
    );
    assert_eq!(
        f.target.sasl.as_ref().unwrap().mechanism,
        SaslMechanism::ScramSha256
    );
    assert_eq!(
        f.target.sasl.as_ref().unwrap().password.expose(),
        "s3cr3t-p"
    );

    // A missing Secret is named with the field that refers to it.
    let e = error(&[("mm2.yaml", &text)]);
    assert!(
        e.contains("key 'spec.target.authentication': Secret repl/pw (spec.target.authentication.passwordSecret of KafkaMirrorMaker2 repl/mm2) not found"),
        "{e}"
    );
}

#[test]
fn v1beta2_heartbeats_blacklists_and_config_providers() {
    let text = "apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaMirrorMaker2\nmetadata:\n  name: mm2\n  namespace: repl\nspec:\n  \
        connectCluster: b\n  clusters:\n  - alias: a\n    bootstrapServers: a:9092\n  - alias: b\n    bootstrapServers: b:9092\n    \
        config:\n      group.id: my-group\n      offset.storage.topic: my-offsets\n      config.storage.replication.factor: 1\n      \
        config.providers: secrets\n      config.providers.secrets.class: io.strimzi.kafka.KubernetesSecretConfigProvider\n  \
        mirrors:\n  - sourceCluster: a\n    targetCluster: b\n    sourceConnector:\n      config:\n        \
        replication.factor: ${secrets:repl/rf:n}\n    heartbeatConnector:\n      config:\n        heartbeats.topic.replication.factor: 1\n    \
        topicsBlacklistPattern: old.*\n    topicsExcludePattern: new.*\n    groupsBlacklistPattern: g.*\n";
    let rf = crate::config::test_support::secret("repl", "rf", &[("n", "2")]);
    let l = load(&[("mm2.yaml", text), ("rf.yaml", &rf)]);
    let f = &l.config.flows[0];
    assert_eq!(f.worker.group_id, "my-group");
    assert_eq!(f.worker.offset_storage_topic, "my-offsets");
    let s = f.source_connector.as_ref().unwrap();
    assert_eq!(s.replication_factor, 2);
    assert_eq!(s.topics_exclude, ["new.*"], "the newer field wins");
    let h = f.heartbeat_connector.as_ref().unwrap();
    assert_eq!(h.name, "a->b.MirrorHeartbeatConnector");
    let w = warnings(&l);
    assert_eq!(w.len(), 7, "only the deprecations: {w:#?}");
    for field in [
        "spec.mirrors[0].heartbeatConnector",
        "spec.mirrors[0].topicsBlacklistPattern",
        "spec.mirrors[0].groupsBlacklistPattern",
    ] {
        assert!(
            w.iter()
                .any(|w| w.contains(&format!("key '{field}'")) && w.contains("deprecated")),
            "{field}: {w:#?}"
        );
    }
}

#[test]
fn invalid_resources() {
    // v1 does not serve the old layout.
    let e = error(&[(
        "mm2.yaml",
        &fixture("v1beta2-kafka-mirror-maker-2.yaml")
            .replace("kafka.strimzi.io/v1beta2", "kafka.strimzi.io/v1"),
    )]);
    assert!(
        e.ends_with("key 'spec.clusters': is not part of kafka.strimzi.io/v1 (it was removed with v1beta2): use spec.target and spec.mirrors[].source; or keep apiVersion kafka.strimzi.io/v1beta2"),
        "{e}"
    );
    let e = error(&[(
        "mm2.yaml",
        &fixture("v1-kafka-mirror-maker-2.yaml")
            .replace("kafka.strimzi.io/v1", "kafka.strimzi.io/v1alpha1"),
    )]);
    assert!(
        e.contains("key 'apiVersion': 'kafka.strimzi.io/v1alpha1' is not served"),
        "{e}"
    );
    let e = error(&[(
        "mm2.yaml",
        &fixture("v1-kafka-mirror-maker-2.yaml")
            .replace("    groupId: my-mirror-maker-2-group\n", ""),
    )]);
    assert!(e.ends_with("key 'spec.target.groupId': is required"), "{e}");
    let e = error(&[(
        "mm2.yaml",
        &fixture("v1beta2-kafka-mirror-maker-2.yaml").replace(
            "targetCluster: \"cluster-b\"",
            "targetCluster: \"cluster-c\"",
        ),
    )]);
    assert!(
        e.contains(
            "key 'spec.mirrors[0].targetCluster': 'cluster-c' is not the target cluster 'cluster-b'"
        ),
        "{e}"
    );
    let e = error(&[(
        "mm2.yaml",
        &fixture("v1beta2-kafka-mirror-maker-2.yaml").replace(
            "sourceCluster: \"cluster-a\"",
            "sourceCluster: \"cluster-x\"",
        ),
    )]);
    assert!(e.contains("key 'spec.mirrors[0].sourceCluster': 'cluster-x' is not the alias of any of spec.clusters"), "{e}");
    // The old layout's duplicate is named where the mirror names its source.
    let old = fixture("v1beta2-kafka-mirror-maker-2.yaml");
    let mirror = &old[old.find("  - sourceCluster").unwrap()..];
    let e = error(&[("mm2.yaml", &format!("{old}{mirror}"))]);
    assert!(
        e.contains("key 'spec.mirrors[1].sourceCluster': alias 'cluster-a' is used twice"),
        "{e}"
    );
    // A mirror without connectors runs nothing, and says so.
    let l = load(&[(
        "mm2.yaml",
        &format!(
            "{V1_HEAD}{}  mirrors:\n{}  - source:\n      alias: idle\n      bootstrapServers: idle:9092\n",
            v1_target("c", ""),
            v1_mirror("a", "", "")
        ),
    )]);
    assert_eq!(l.config.flows.len(), 1);
    assert!(
        warnings(&l).iter().any(|w| w.contains(
            "key 'spec.mirrors[1]': has no connector (sourceConnector, checkpointConnector): nothing to run"
        )),
        "{:#?}",
        warnings(&l)
    );
    // Unknown fields are reported and ignored.
    let l = load(&[(
        "mm2.yaml",
        &fixture("v1-kafka-mirror-maker-2.yaml").replace(
            "    topicsPattern:",
            "    topicPattern: x\n    topicsPattern:",
        ),
    )]);
    assert!(
        warnings(&l).iter().any(|w| w.contains(
            "key 'spec.mirrors[0].topicPattern': ignored: not a field of KafkaMirrorMaker2 kafka.strimzi.io/v1"
        )),
        "{:#?}",
        warnings(&l)
    );
}
