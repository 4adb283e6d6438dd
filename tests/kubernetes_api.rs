//! `${cfmap:...}` and `${secret:...}` resolved from a Kubernetes API server, as in a pod: a
//! real Kubernetes-API-speaking server (fabric8's kubernetes-server-mock in CRUD mode over
//! HTTPS, `tests/java/KubeApiMock.java`) holding the seed's ConfigMaps and Secrets and a few
//! more, reached through a kubeconfig with its CA and a bearer token (the server refuses
//! requests without the token). Checks values (Secret data base64-decoded, `stringData`,
//! globs, the kubeconfig's namespace), precedence of `-f` manifests, every error a user can
//! meet (missing object or key, 403 with the Role to fix, 401, unreachable server, untrusted
//! certificate, timeout), lookups from inside a tokio runtime, and the whole seed flow through
//! `strait validate` with its objects served by the API only, and a KafkaMirrorMaker2 whose
//! Secrets the API serves, with no secret in any output.
//! Needs a JDK and Maven (the mock's jars are resolved by `testbed/kube-api.sh fetch`); talks
//! only to 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod kube_mock;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use strait::config::{
    KubernetesApiMode, KubernetesApiOptions, LoadOptions, Loaded, Truststore, load_with,
};

use kube_mock::{Access, KubeMock, TOKEN, kubeconfig, repo_root};

/// Every secret value the API serves; none may ever be printed.
const SECRETS: &[&str] = &[
    "Api-S3cret-value-7731",
    "Api-S3cret-string-2290",
    "Tgt-S3cret-pass-9417",
    "Src-S3cret-pass-5521",
    "Ts-S3cret-pass-3380",
    TOKEN,
];
/// The seed's objects, all in namespace `repl`.
const SEED_OBJECTS: &[&str] = &[
    "uswest-config.yaml",
    "useast-config.yaml",
    "replication-config.yaml",
    "uswest-secret.yaml",
    "useast-cert.yaml",
    "useast-password.yaml",
];
/// A Secret the mock answers 403 for, as RBAC does for a name the Role does not list.
const FORBIDDEN: &str = "/api/v1/namespaces/repl/secrets/forbidden-secret";

/// A valid `sasl.jaas.config` for flows whose test is about another key.
const JAAS: &str = "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"p\";";

/// Objects of the tests' own namespace `apps` (the kubeconfig context's namespace).
fn app_objects() -> String {
    let jaas = "org.apache.kafka.common.security.plain.PlainLoginModule required \
                username=\"api-user\" password=\"Api-S3cret-value-7731\";";
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n  namespace: apps\n\
         data:\n  alias: from-api\n  bootstrap: api-kafka:9093\n  topics: 'orders.*'\n\
         ---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: apps\n\
         data:\n  jaas: {}\n  binary: {}\nstringData:\n  extra: Api-S3cret-string-2290\n",
        STANDARD.encode(jaas),
        STANDARD.encode([0xff, 0xfe, 0x00]),
    )
}

/// The mock shared by all tests of this file (one JVM), holding the seed's objects and
/// [`app_objects`]; it ends with this process.
fn mock() -> &'static KubeMock {
    static MOCK: OnceLock<(KubeMock, tempfile::TempDir)> = OnceLock::new();
    &MOCK
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let apps = dir.path().join("apps.yaml");
            std::fs::write(&apps, app_objects()).unwrap();
            let mut manifests = vec![apps];
            manifests.extend(SEED_OBJECTS.iter().map(|n| seed(n)));
            let forbid = [FORBIDDEN.to_owned()];
            let access = Access {
                forbid: &forbid,
                allow: &[],
            };
            (KubeMock::start(&manifests, &access), dir)
        })
        .0
}

fn mock_kubeconfig(dir: &Path) -> PathBuf {
    mock().kubeconfig(dir, "apps")
}

/// A Strait YAML flow whose source reads `alias`, `bootstrap` and `jaas` from the given
/// references, plus `extra` lines under the source.
fn flow_yaml(alias: &str, bootstrap: &str, jaas: &str, extra: &str) -> String {
    format!(
        "flows:\n  - source:\n      alias: {alias}\n      bootstrap.servers: {bootstrap}\n\
         \x20     security.protocol: SASL_SSL\n      sasl.mechanism: PLAIN\n      sasl.jaas.config: {jaas}\n{extra}\
         \x20   target:\n      alias: tgt\n      bootstrap.servers: tgt:9092\n\
         \x20   topics: ${{cfmap:apps/plain:topics}}\n"
    )
}

/// Loads `files` with the API always used through `kubeconfig`, and no process environment.
fn load_via(
    kubeconfig: &Path,
    files: &[PathBuf],
    timeout: Duration,
) -> Result<Loaded, strait::config::ConfigError> {
    let options = LoadOptions {
        env_var: Arc::new(|_| None),
        kubernetes_api: KubernetesApiOptions {
            mode: KubernetesApiMode::Always,
            kubeconfig: Some(kubeconfig.to_owned()),
            timeout,
        },
    };
    load_with(files, &options)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Loads one flow reading `reference` as its source alias; the error, if any, as text.
fn alias_from(kubeconfig: &Path, dir: &Path, reference: &str) -> Result<String, String> {
    let file = write(dir, "flow.yaml", &flow_yaml(reference, "b:9092", JAAS, ""));
    load_via(kubeconfig, &[file], Duration::from_secs(10))
        .map(|l| l.config.flows[0].source_alias.clone())
        .map_err(|e| e.to_string())
}

fn assert_no_secret(text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "secret {s} shown in:\n{text}");
    }
}

#[test]
fn values_resolve_from_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let kc = mock_kubeconfig(dir.path());
    let file = write(
        dir.path(),
        "flow.yaml",
        &flow_yaml(
            "${cfmap:apps/plain:alias}",
            // No namespace: the kubeconfig context's.
            "${cfmap:plain:bootstrap}",
            "${secret:apps/creds:jaas}",
            "      ssl.truststore.type: PEM\n      ssl.truststore.certificates: ${secret:repl/useast-cert:*.crt}\n",
        ),
    );
    let loaded = load_via(&kc, &[file], Duration::from_secs(10)).unwrap();
    let f = &loaded.config.flows[0];
    assert_eq!(f.source_alias, "from-api");
    assert_eq!(f.source.bootstrap_servers, "api-kafka:9093");
    // Secret data, base64-decoded by the client.
    let sasl = f.source.sasl.as_ref().unwrap();
    assert_eq!(sasl.username, "api-user");
    assert_eq!(sasl.password.expose(), "Api-S3cret-value-7731");
    // A glob over a seed Secret's keys.
    let cert = STANDARD
        .decode(
            std::fs::read_to_string(repo_root().join("tests/fixtures/seed/useast-cert.yaml"))
                .unwrap()
                .lines()
                .find_map(|l| l.trim().strip_prefix("ca.crt: "))
                .unwrap(),
        )
        .unwrap();
    match &f.source.tls.truststore {
        Some(Truststore::PemInline(pem)) => assert_eq!(pem.as_bytes(), cert.as_slice()),
        other => panic!("{other:?}"),
    }
    let description = strait::config::describe(&loaded.config);
    assert!(description.contains("orders.*"), "{description}");
    assert_no_secret(&description);
    assert_no_secret(&format!("{:?}", loaded.config));
}

#[test]
fn string_data_and_binary_keys() {
    let dir = tempfile::tempdir().unwrap();
    let kc = mock_kubeconfig(dir.path());
    let file = write(
        dir.path(),
        "flow.yaml",
        &flow_yaml(
            "a",
            "b:9092",
            "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"${secret:apps/creds:extra}\";",
            "",
        ),
    );
    let loaded = load_via(&kc, &[file], Duration::from_secs(10)).unwrap();
    let sasl = loaded.config.flows[0].source.sasl.clone().unwrap();
    assert_eq!(sasl.password.expose(), "Api-S3cret-string-2290");

    let e = alias_from(&kc, dir.path(), "${secret:apps/creds:binary}").unwrap_err();
    assert!(
        e.ends_with("key 'binary' of Secret apps/creds is not UTF-8 text"),
        "{e}"
    );
}

#[test]
fn manifests_given_with_f_win() {
    let dir = tempfile::tempdir().unwrap();
    let kc = mock_kubeconfig(dir.path());
    let local = write(
        dir.path(),
        "plain.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n  namespace: apps\n\
         data:\n  alias: from-file\n  topics: local.*\n",
    );
    let flow = write(
        dir.path(),
        "flow.yaml",
        &flow_yaml(
            "${cfmap:apps/plain:alias}",
            "${cfmap:apps/plain:bootstrap}",
            JAAS,
            "",
        ),
    );
    // The file's ConfigMap has no `bootstrap`: whole objects win, keys are not merged.
    let e = load_via(&kc, &[local.clone(), flow], Duration::from_secs(10))
        .unwrap_err()
        .to_string();
    assert!(
        e.ends_with("ConfigMap apps/plain has no key 'bootstrap' (keys: alias, topics)"),
        "{e}"
    );
    let flow = write(
        dir.path(),
        "flow.yaml",
        &flow_yaml("${cfmap:apps/plain:alias}", "b:9092", JAAS, ""),
    );
    let loaded = load_via(&kc, &[local, flow], Duration::from_secs(10)).unwrap();
    assert_eq!(loaded.config.flows[0].source_alias, "from-file");
}

#[test]
fn missing_objects_and_keys() {
    let dir = tempfile::tempdir().unwrap();
    let kc = mock_kubeconfig(dir.path());
    let url = &mock().url;
    let e = alias_from(&kc, dir.path(), "${cfmap:apps/absent:alias}").unwrap_err();
    assert!(
        e.ends_with(&format!(
            "cannot resolve ${{cfmap:apps/absent:alias}}: ConfigMap apps/absent not found \
             (neither given with -f nor on the Kubernetes API server at {url})"
        )),
        "{e}"
    );
    let e = alias_from(&kc, dir.path(), "${secret:absent:k}").unwrap_err();
    assert!(
        e.ends_with(&format!(
            "Secret absent not found (neither given with -f nor on the Kubernetes API server \
             at {url} in namespace apps)"
        )),
        "{e}"
    );
    let e = alias_from(&kc, dir.path(), "${cfmap:apps/plain:nope}").unwrap_err();
    assert!(
        e.ends_with("ConfigMap apps/plain has no key 'nope' (keys: alias, bootstrap, topics)"),
        "{e}"
    );
    let e = alias_from(&kc, dir.path(), "${secret:apps/creds:nope}").unwrap_err();
    assert!(
        e.ends_with("Secret apps/creds has no key 'nope' (keys: binary, extra, jaas)"),
        "{e}"
    );
    assert_no_secret(&e);
}

#[test]
fn forbidden_names_the_service_account_and_the_role() {
    let dir = tempfile::tempdir().unwrap();
    let kc = mock_kubeconfig(dir.path());
    let e = alias_from(&kc, dir.path(), "${secret:repl/forbidden-secret:k}").unwrap_err();
    assert!(
        e.ends_with(&format!(
            "cannot resolve ${{secret:repl/forbidden-secret:k}}: the Kubernetes API server at \
             {} does not let service account repl/strait get Secret repl/forbidden-secret \
             (403 Forbidden): the Role bound to it must grant \"get\" on secrets \
             \"forbidden-secret\" in namespace repl",
            mock().url
        )),
        "{e}"
    );
}

#[test]
fn a_refused_token_is_a_401() {
    let dir = tempfile::tempdir().unwrap();
    let m = mock();
    let kc = kubeconfig(dir.path(), &m.url, Some(&m.ca_pem), "not-the-token", "apps");
    let e = alias_from(&kc, dir.path(), "${cfmap:apps/plain:alias}").unwrap_err();
    assert!(
        e.contains(&format!(
            "the Kubernetes API server at {} rejected Strait's credentials getting ConfigMap \
             apps/plain (401 Unauthorized)",
            m.url
        )),
        "{e}"
    );
    assert!(!e.contains("not-the-token"), "{e}");
}

#[test]
fn an_unreachable_server_is_named() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = format!("https://127.0.0.1:{port}");
    let kc = kubeconfig(dir.path(), &server, Some(&mock().ca_pem), TOKEN, "apps");
    let e = alias_from(&kc, dir.path(), "${cfmap:apps/plain:alias}").unwrap_err();
    assert!(
        e.contains(&format!(
            "cannot reach the Kubernetes API server at {server} to get ConfigMap apps/plain: "
        )),
        "{e}"
    );
    assert!(e.to_lowercase().contains("connection refused"), "{e}");
}

#[test]
fn an_untrusted_certificate_is_a_tls_error() {
    let dir = tempfile::tempdir().unwrap();
    // No CA: the mock's self-signed certificate is trusted by nothing.
    let kc = kubeconfig(dir.path(), &mock().url, None, TOKEN, "apps");
    let e = alias_from(&kc, dir.path(), "${cfmap:apps/plain:alias}").unwrap_err();
    assert!(
        e.contains(&format!(
            "cannot reach the Kubernetes API server at {} to get ConfigMap apps/plain: ",
            mock().url
        )),
        "{e}"
    );
    assert!(e.contains("certificate verify failed"), "{e}");
    assert!(
        e.contains("(TLS: the server's certificate is not signed by"),
        "{e}"
    );
}

#[test]
fn a_silent_server_times_out() {
    let dir = tempfile::tempdir().unwrap();
    // Accepts connections and never answers (not even the TLS handshake).
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = format!("https://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().take(8) {
            held.push(s);
        }
        std::thread::sleep(Duration::from_secs(30));
    });
    let kc = kubeconfig(dir.path(), &server, Some(&mock().ca_pem), TOKEN, "apps");
    let file = write(
        dir.path(),
        "flow.yaml",
        &flow_yaml("${cfmap:apps/plain:alias}", "b:9092", JAAS, ""),
    );
    let started = std::time::Instant::now();
    let e = load_via(&kc, &[file], Duration::from_secs(1))
        .unwrap_err()
        .to_string();
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    assert!(
        e.contains(&format!(
            "the Kubernetes API server at {server} did not answer within 1 s getting ConfigMap apps/plain"
        )),
        "{e}"
    );
}

/// Config is loaded synchronously, also from async code: no nested-runtime panic.
#[test]
fn lookups_work_inside_tokio_runtimes() {
    let dir = tempfile::tempdir().unwrap();
    let kc = mock_kubeconfig(dir.path());
    let file = write(
        dir.path(),
        "flow.yaml",
        &flow_yaml("${cfmap:apps/plain:alias}", "b:9092", JAAS, ""),
    );
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (kc2, file2) = (kc.clone(), file.clone());
    let alias = multi.block_on(async move {
        load_via(&kc2, &[file2], Duration::from_secs(10))
            .unwrap()
            .config
            .flows[0]
            .source_alias
            .clone()
    });
    assert_eq!(alias, "from-api");
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let alias = current.block_on(async move {
        load_via(&kc, &[file], Duration::from_secs(10))
            .unwrap()
            .config
            .flows[0]
            .source_alias
            .clone()
    });
    assert_eq!(alias, "from-api");
}

fn validate(args: &[&str], files: &[PathBuf], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strait"));
    cmd.env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .env_remove("KUBECONFIG")
        .env_remove("STRAIT_KUBERNETES_API")
        .env("STRAIT_LOG", "debug")
        .arg("validate")
        .args(args);
    for f in files {
        cmd.arg("-f").arg(f);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn seed(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures/seed").join(name)
}

/// The seed's KafkaConnect and KafkaConnectors alone, their ConfigMaps and Secrets served by
/// the API: `strait validate` prints the same flow as with the objects given with -f, and no
/// secret appears in its output or its debug log.
#[test]
fn the_seed_flow_validates_with_its_objects_from_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let kc = mock_kubeconfig(dir.path());
    let kc = kc.to_str().unwrap();
    let manifests = [seed("kafka-connect.yaml"), seed("connectors.yaml")];

    let from_api = validate(
        &["--kubernetes-api", "always"],
        &manifests,
        &[("KUBECONFIG", kc)],
    );
    let stdout = String::from_utf8_lossy(&from_api.stdout);
    let stderr = String::from_utf8_lossy(&from_api.stderr);
    assert!(from_api.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("flow uswest->useast"), "{stdout}");
    assert!(
        stderr.contains("reading ConfigMaps and Secrets not given with -f from the Kubernetes API"),
        "{stderr}"
    );
    assert_no_secret(&stdout);
    assert_no_secret(&stderr);

    let mut all = manifests.to_vec();
    all.extend(SEED_OBJECTS.iter().map(|n| seed(n)));
    let from_files = validate(&["--kubernetes-api", "never"], &all, &[]);
    assert!(from_files.status.success());
    assert_eq!(stdout, String::from_utf8_lossy(&from_files.stdout));

    // In a pod (KUBERNETES_SERVICE_HOST set), `auto` uses the API; kube's inference finds the
    // kubeconfig first.
    let in_pod = validate(
        &[],
        &manifests,
        &[("KUBECONFIG", kc), ("KUBERNETES_SERVICE_HOST", "127.0.0.1")],
    );
    assert!(
        in_pod.status.success(),
        "{}",
        String::from_utf8_lossy(&in_pod.stderr)
    );
    assert_eq!(stdout, String::from_utf8_lossy(&in_pod.stdout));
}

/// Outside a pod, `auto` never asks the API (even with a kubeconfig at hand), nor does
/// `never` in a pod: the reference is reported as missing, exit code 2.
#[test]
fn auto_outside_a_pod_and_never_do_not_use_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let kc = mock_kubeconfig(dir.path());
    let kc = kc.to_str().unwrap();
    let manifests = [seed("kafka-connect.yaml"), seed("connectors.yaml")];
    for (args, env) in [
        (vec![], vec![("KUBECONFIG", kc)]),
        (
            vec!["--kubernetes-api", "never"],
            vec![("KUBECONFIG", kc), ("KUBERNETES_SERVICE_HOST", "127.0.0.1")],
        ),
        (
            vec![],
            vec![
                ("KUBECONFIG", kc),
                ("KUBERNETES_SERVICE_HOST", "127.0.0.1"),
                ("STRAIT_KUBERNETES_API", "never"),
            ],
        ),
    ] {
        let out = validate(&args, &manifests, &env);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?} {env:?}: {stderr}");
        assert!(
            stderr.contains("not found (pass its manifest with -f)"),
            "{args:?} {env:?}: {stderr}"
        );
    }
}

/// A KafkaMirrorMaker2 in the seed's namespace whose Secrets (the target's SCRAM password and
/// CA certificate) only the API serves: resolved as for a KafkaConnect, never shown.
#[test]
fn a_kafka_mirror_maker_2_reads_its_secrets_from_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let kc = mock_kubeconfig(dir.path());
    let mm2 = write(
        dir.path(),
        "mm2.yaml",
        "apiVersion: kafka.strimzi.io/v1\nkind: KafkaMirrorMaker2\nmetadata:\n  name: mm2\n  namespace: repl\n\
         spec:\n  target:\n    alias: useast\n    bootstrapServers: useast:9093\n    groupId: g\n    \
         offsetStorageTopic: o\n    configStorageTopic: c\n    statusStorageTopic: s\n    tls:\n      \
         trustedCertificates:\n        - secretName: useast-cert\n          certificate: ca.crt\n    \
         authentication:\n      type: scram-sha-512\n      username: replicator\n      passwordSecret:\n        \
         secretName: useast-password\n        password: pass\n  mirrors:\n  - source:\n      alias: uswest\n      \
         bootstrapServers: uswest:9092\n    sourceConnector: {}\n",
    );
    let loaded = load_via(&kc, std::slice::from_ref(&mm2), Duration::from_secs(10)).unwrap();
    let target = &loaded.config.flows[0].target;
    assert_eq!(
        target.sasl.as_ref().unwrap().password.expose(),
        "Tgt-S3cret-pass-9417"
    );
    assert!(
        matches!(&target.tls.truststore, Some(Truststore::PemInline(p)) if p.contains("BEGIN CERTIFICATE"))
    );

    let out = validate(
        &["--kubernetes-api", "always"],
        &[mm2],
        &[("KUBECONFIG", kc.to_str().unwrap())],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("flow uswest->useast"), "{stdout}");
    assert_no_secret(&stdout);
    assert_no_secret(&stderr);
}
