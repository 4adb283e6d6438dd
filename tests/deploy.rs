//! `deploy/`: the Kustomize base deploying the seed's flow with Strait, rendered offline (a
//! tiny renderer for the two Kustomization fields the base uses, cross-checked against
//! `kubectl kustomize` when kubectl is installed), parsed into typed `k8s-openapi` objects and
//! checked: names, least-privilege RBAC matching exactly what the configuration references,
//! the service account token mounted for the in-process config providers, mounts as the
//! seed's, probes, security; then the pod's own command line and environment are rehearsed
//! with `strait validate` against a Kubernetes API server (`tests/kube_mock`) that enforces the
//! Role: the Role's `get`s suffice, and each one is needed. Also the image's build script, in
//! its check-only mode.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod kube_mock;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Container, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use serde_json::Value;

use kube_mock::repo_root;

const NS: &str = "repl";

fn deploy() -> PathBuf {
    repo_root().join("deploy/kustomize")
}

fn yaml_docs(text: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(text)
        .unwrap()
        .into_iter()
        .filter(|v| !v.is_null())
        .collect()
}

/// Renders a kustomization: its `resources` (files or kustomization folders), with
/// `namespace` applied. Fails on any other field, so the renderer never silently differs from
/// kustomize.
fn render(dir: &Path) -> Vec<Value> {
    let k = yaml_docs(&std::fs::read_to_string(dir.join("kustomization.yaml")).unwrap()).remove(0);
    for key in k.as_object().unwrap().keys() {
        assert!(
            ["apiVersion", "kind", "namespace", "resources"].contains(&key.as_str()),
            "{}: field {key} is not supported by the test renderer",
            dir.display()
        );
    }
    let mut out = Vec::new();
    for r in k["resources"].as_array().unwrap() {
        let path = dir.join(r.as_str().unwrap());
        if path.is_dir() {
            out.extend(render(&path));
        } else {
            out.extend(yaml_docs(&std::fs::read_to_string(&path).unwrap()));
        }
    }
    if let Some(ns) = k["namespace"].as_str() {
        for o in &mut out {
            o["metadata"]["namespace"] = Value::String(ns.to_owned());
        }
    }
    out
}

fn find(objects: &[Value], kind: &str, name: &str) -> Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
        .clone()
}

fn typed<T: serde::de::DeserializeOwned>(objects: &[Value], kind: &str, name: &str) -> T {
    serde_json::from_value(find(objects, kind, name))
        .unwrap_or_else(|e| panic!("{kind} {name} is not a valid Kubernetes object: {e}"))
}

/// `${cfmap:ns/name:key}` and `${secret:ns/name:key}` in every string of `v`.
fn references(v: &Value, out: &mut BTreeSet<(String, String, String)>) {
    match v {
        Value::String(s) => {
            let mut rest = s.as_str();
            while let Some(i) = rest.find("${") {
                let inner = &rest[i + 2..];
                let end = inner.find('}').unwrap();
                let (provider, path) = inner[..end].split_once(':').unwrap();
                let (ns, name) = path.split(':').next().unwrap().split_once('/').unwrap();
                out.insert((provider.to_owned(), ns.to_owned(), name.to_owned()));
                rest = &inner[end..];
            }
        }
        Value::Array(a) => a.iter().for_each(|x| references(x, out)),
        Value::Object(o) => o.values().for_each(|x| references(x, out)),
        _ => {}
    }
}

/// What the flow's configuration needs from the API, per kind ("configmaps"/"secrets").
fn referenced_objects(flow: &ConfigMap) -> BTreeMap<&'static str, BTreeSet<String>> {
    let data = flow.data.as_ref().unwrap();
    let connect = yaml_docs(&data["kafka-connect.yaml"]).remove(0);
    let mut refs = BTreeSet::new();
    for c in yaml_docs(&data["connectors.yaml"]) {
        references(&c["spec"]["config"], &mut refs);
    }
    let mut out: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
    for (provider, ns, name) in refs {
        let kind = match provider.as_str() {
            "cfmap" => "configmaps",
            "secret" => "secrets",
            // Strimzi's worker file, which Strait derives from the KafkaConnect.
            "file" => continue,
            other => panic!("unexpected provider {other}"),
        };
        assert_eq!(ns, NS);
        out.entry(kind).or_default().insert(name);
    }
    // The KafkaConnect's own Secrets: its trusted certificates and its password.
    let spec = &connect["spec"];
    for c in spec["tls"]["trustedCertificates"].as_array().unwrap() {
        out.entry("secrets")
            .or_default()
            .insert(c["secretName"].as_str().unwrap().to_owned());
    }
    out.entry("secrets").or_default().insert(
        spec["authentication"]["passwordSecret"]["secretName"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    out
}

fn container<'a>(list: &'a [Container], name: &str) -> &'a Container {
    list.iter().find(|c| c.name == name).unwrap()
}

fn labels_of_selector(d: &Deployment) -> BTreeMap<String, String> {
    d.spec
        .as_ref()
        .unwrap()
        .selector
        .match_labels
        .clone()
        .unwrap()
}

#[test]
fn the_base_deploys_the_seed_flow_with_least_privilege() {
    let objects = render(&deploy().join("base"));
    let kinds: BTreeSet<(String, String)> = objects
        .iter()
        .map(|o| {
            (
                o["kind"].as_str().unwrap().to_owned(),
                o["metadata"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("ServiceAccount", "strait"),
        ("Role", "strait-connector-configuration"),
        ("RoleBinding", "strait-connector-configuration"),
        ("ConfigMap", "strait-flow"),
        ("Deployment", "strait"),
        ("Service", "strait"),
        ("PodDisruptionBudget", "strait"),
    ]
    .iter()
    .map(|(k, n)| ((*k).to_owned(), (*n).to_owned()))
    .collect();
    assert_eq!(kinds, expected);
    assert!(objects.iter().all(|o| o["metadata"]["namespace"] == NS));

    let sa: ServiceAccount = typed(&objects, "ServiceAccount", "strait");
    assert_eq!(sa.automount_service_account_token, Some(false));
    let flow: ConfigMap = typed(&objects, "ConfigMap", "strait-flow");
    let role: Role = typed(&objects, "Role", "strait-connector-configuration");
    let binding: RoleBinding = typed(&objects, "RoleBinding", "strait-connector-configuration");
    let deployment: Deployment = typed(&objects, "Deployment", "strait");
    let service: Service = typed(&objects, "Service", "strait");
    let pdb: PodDisruptionBudget = typed(&objects, "PodDisruptionBudget", "strait");

    // The flow configuration is the seed's manifests, unchanged.
    let seed = repo_root().join("tests/fixtures/seed");
    let data = flow.data.as_ref().unwrap();
    for (key, file) in [
        ("kafka-connect.yaml", "kafka-connect.yaml"),
        ("connectors.yaml", "connectors.yaml"),
    ] {
        assert_eq!(
            yaml_docs(&data[key]),
            yaml_docs(&std::fs::read_to_string(seed.join(file)).unwrap()),
            "{key} differs from the seed's"
        );
    }

    // RBAC: `get` on exactly the objects the configuration references.
    let wanted = referenced_objects(&flow);
    assert_eq!(
        wanted["configmaps"],
        ["replication-config", "useast-config", "uswest-config"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    );
    assert_eq!(
        wanted["secrets"],
        ["useast-cert", "useast-password", "uswest-secret"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    );
    let rules = role.rules.unwrap();
    assert_eq!(rules.len(), 2);
    for rule in &rules {
        assert_eq!(rule.api_groups.as_deref(), Some(&[String::new()][..]));
        assert_eq!(rule.verbs, vec!["get".to_owned()]);
        let resources = rule.resources.clone().unwrap();
        assert_eq!(resources.len(), 1);
        let names: BTreeSet<String> = rule.resource_names.clone().unwrap().into_iter().collect();
        assert_eq!(names, wanted[resources[0].as_str()], "{}", resources[0]);
    }
    let subjects = binding.subjects.unwrap();
    assert_eq!(subjects.len(), 1);
    assert_eq!(
        (
            subjects[0].kind.as_str(),
            subjects[0].name.as_str(),
            subjects[0].namespace.as_deref()
        ),
        ("ServiceAccount", "strait", Some(NS))
    );
    assert_eq!(
        (
            binding.role_ref.kind.as_str(),
            binding.role_ref.name.as_str()
        ),
        ("Role", "strait-connector-configuration")
    );

    // The pod.
    let spec = deployment.spec.as_ref().unwrap();
    assert_eq!(spec.replicas, Some(3));
    let pod = spec.template.spec.as_ref().unwrap();
    assert_eq!(pod.service_account_name.as_deref(), Some("strait"));
    assert_eq!(pod.automount_service_account_token, Some(false));
    assert_eq!(
        pod.security_context.as_ref().unwrap().run_as_non_root,
        Some(true)
    );
    // The objects are read in process: no init container fetching them.
    assert!(pod.init_containers.is_none());
    assert_eq!(pod.containers.len(), 1);
    let strait = container(&pod.containers, "strait");
    let sc = strait.security_context.as_ref().unwrap();
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    assert_eq!(sc.allow_privilege_escalation, Some(false));
    assert_eq!(
        sc.capabilities.as_ref().unwrap().drop.as_deref(),
        Some(&["ALL".to_owned()][..])
    );
    let res = strait.resources.as_ref().unwrap();
    assert!(res.requests.as_ref().unwrap().contains_key("memory"));
    assert!(res.limits.as_ref().unwrap().contains_key("memory"));

    // Strait reads the flow's manifests; the objects they reference come from the API.
    let args = strait.args.clone().unwrap();
    assert_eq!(args[0], "run");
    assert!(args.contains(&"--http-addr=0.0.0.0:8080".to_owned()));
    let files: Vec<&String> = args
        .iter()
        .zip(args.iter().skip(1))
        .filter(|(a, _)| *a == "-f")
        .map(|(_, f)| f)
        .collect();
    assert_eq!(
        files,
        [
            "/etc/strait/flow/kafka-connect.yaml",
            "/etc/strait/flow/connectors.yaml"
        ]
    );
    let env: BTreeMap<String, String> = strait
        .env
        .clone()
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.value.unwrap_or_default()))
        .collect();
    assert_eq!(
        env.get("STRAIT_KUBERNETES_API").map(String::as_str),
        Some("auto")
    );

    // Mounts: the service account's token, CA and namespace where the in-cluster client reads
    // them; the truststore where the seed mounts it.
    let mounts = |c: &Container| -> BTreeMap<String, (String, bool)> {
        c.volume_mounts
            .as_ref()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m.name.clone(),
                    (m.mount_path.clone(), m.read_only.unwrap_or(false)),
                )
            })
            .collect()
    };
    let strait_mounts = mounts(strait);
    assert_eq!(
        strait_mounts["api-access"],
        (
            "/var/run/secrets/kubernetes.io/serviceaccount".to_owned(),
            true
        )
    );
    assert_eq!(strait_mounts["flow"], ("/etc/strait/flow".to_owned(), true));
    assert_eq!(strait_mounts["tmp"].0, "/tmp");
    let connect = yaml_docs(&data["kafka-connect.yaml"]).remove(0);
    let seed_volume = &connect["spec"]["template"]["pod"]["volumes"][0];
    let seed_mount = &connect["spec"]["template"]["connectContainer"]["volumeMounts"][0];
    let volume_name = seed_volume["name"].as_str().unwrap();
    assert_eq!(
        strait_mounts[volume_name],
        (seed_mount["mountPath"].as_str().unwrap().to_owned(), true)
    );
    let volumes = pod.volumes.as_ref().unwrap();
    let tv = volumes.iter().find(|v| v.name == volume_name).unwrap();
    let secret = tv.secret.as_ref().unwrap();
    assert_eq!(
        secret.secret_name.as_deref(),
        seed_volume["secret"]["secretName"].as_str()
    );
    let item = &secret.items.as_ref().unwrap()[0];
    // uswest-config's ssl.truststore.location names the mounted file.
    let location = format!(
        "{}/{}",
        seed_mount["mountPath"].as_str().unwrap(),
        item.path
    );
    let uswest_config =
        yaml_docs(&std::fs::read_to_string(seed.join("uswest-config.yaml")).unwrap()).remove(0);
    assert_eq!(
        uswest_config["data"]["ssl.truststore.location"],
        location.as_str()
    );
    assert_eq!(item.key, "truststore.jks");
    // The projected token: short-lived, with the cluster's CA and the pod's namespace.
    let access = volumes.iter().find(|v| v.name == "api-access").unwrap();
    let sources = access.projected.as_ref().unwrap().sources.clone().unwrap();
    let token = sources
        .iter()
        .find_map(|s| s.service_account_token.as_ref())
        .unwrap();
    assert_eq!(token.path, "token");
    assert!(token.expiration_seconds.unwrap() <= 3600);
    let ca = sources.iter().find_map(|s| s.config_map.as_ref()).unwrap();
    assert_eq!(ca.name, "kube-root-ca.crt");
    assert_eq!(ca.items.as_ref().unwrap()[0].path, "ca.crt");
    let ns = sources
        .iter()
        .find_map(|s| s.downward_api.as_ref())
        .unwrap();
    let ns = &ns.items.as_ref().unwrap()[0];
    assert_eq!(
        (
            ns.path.as_str(),
            ns.field_ref.as_ref().unwrap().field_path.as_str()
        ),
        ("namespace", "metadata.namespace")
    );
    assert!(
        !volumes.iter().any(|v| v.name == "objects"),
        "no volume of fetched objects"
    );

    // Probes and ports.
    let port = &strait.ports.as_ref().unwrap()[0];
    assert_eq!(
        (port.name.as_deref(), port.container_port),
        (Some("http"), 8080)
    );
    let probe_path = |p: &Option<k8s_openapi::api::core::v1::Probe>| {
        p.as_ref()
            .unwrap()
            .http_get
            .as_ref()
            .unwrap()
            .path
            .clone()
            .unwrap()
    };
    assert_eq!(probe_path(&strait.liveness_probe), "/healthz");
    assert_eq!(probe_path(&strait.readiness_probe), "/readyz");

    // Service and PodDisruptionBudget select the Deployment's pods.
    let selector = labels_of_selector(&deployment);
    let template_labels = spec
        .template
        .metadata
        .as_ref()
        .unwrap()
        .labels
        .clone()
        .unwrap();
    assert!(
        selector
            .iter()
            .all(|(k, v)| template_labels.get(k) == Some(v))
    );
    let svc = service.spec.unwrap();
    assert_eq!(svc.selector.unwrap(), selector);
    assert_eq!(svc.ports.unwrap()[0].name.as_deref(), Some("http"));
    let pdb = pdb.spec.unwrap();
    assert_eq!(pdb.selector.unwrap().match_labels.unwrap(), selector);
    assert!(pdb.max_unavailable.is_some());
}

#[test]
fn the_service_monitor_overlay_adds_one_object() {
    let base = render(&deploy().join("base"));
    let objects = render(&deploy().join("servicemonitor"));
    assert_eq!(objects.len(), base.len() + 1);
    let sm = find(&objects, "ServiceMonitor", "strait");
    assert_eq!(sm["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(sm["metadata"]["namespace"], NS);
    let service: Service = typed(&objects, "Service", "strait");
    let labels = serde_json::to_value(service.metadata.labels.unwrap()).unwrap();
    assert_eq!(sm["spec"]["selector"]["matchLabels"], labels);
    assert_eq!(sm["spec"]["endpoints"][0]["port"], "http");
    assert_eq!(sm["spec"]["endpoints"][0]["path"], "/metrics");
}

/// The same objects as `kubectl kustomize` renders them, when kubectl is installed.
#[test]
fn the_renderer_agrees_with_kubectl_kustomize() {
    for dir in ["base", "servicemonitor"] {
        let path = deploy().join(dir);
        let Ok(out) = std::process::Command::new("kubectl")
            .arg("kustomize")
            .arg(&path)
            .output()
        else {
            eprintln!("kubectl not installed: comparing with kustomize skipped");
            return;
        };
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut theirs = yaml_docs(&String::from_utf8(out.stdout).unwrap());
        let mut ours = render(&path);
        let key = |v: &Value| format!("{}/{}", v["kind"], v["metadata"]["name"]);
        theirs.sort_by_key(key);
        ours.sort_by_key(key);
        assert_eq!(ours, theirs, "{dir}");
    }
}

/// The secret values of the seed's fixtures; none may be printed.
const SEED_SECRETS: &[&str] = &[
    "Tgt-S3cret-pass-9417",
    "Src-S3cret-pass-5521",
    "Ts-S3cret-pass-3380",
];

/// `/api/v1/namespaces/NS/RESOURCE/NAME` for every object the Role lets Strait `get`.
fn role_paths(role: &Role) -> Vec<String> {
    let mut paths = Vec::new();
    for rule in role.rules.as_ref().unwrap() {
        for resource in rule.resources.as_ref().unwrap() {
            for name in rule.resource_names.as_ref().unwrap() {
                paths.push(format!("/api/v1/namespaces/{NS}/{resource}/{name}"));
            }
        }
    }
    paths
}

/// Runs the pod's `strait` command line and environment, its flow files at `flow_dir`, as if
/// in a pod (`KUBERNETES_SERVICE_HOST` set) whose API is reached through `kubeconfig`, with
/// `validate` in place of `run`.
fn rehearse(container: &Container, flow_dir: &Path, kubeconfig: &Path) -> std::process::Output {
    let args = container.args.clone().unwrap();
    assert_eq!(args[0], "run");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_strait"));
    cmd.env_remove("STRAIT_KUBERNETES_API").arg("validate");
    for e in container.env.clone().unwrap() {
        cmd.env(e.name, e.value.unwrap_or_default());
    }
    // In a pod kube's inference takes the mounted service account; here a kubeconfig with the
    // same effect (the mock's CA, a bearer token, the pod's namespace).
    cmd.env("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        .env("KUBECONFIG", kubeconfig);
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        if a == "-f" {
            let f = it.next().unwrap();
            cmd.arg("-f")
                .arg(f.replace("/etc/strait/flow", flow_dir.to_str().unwrap()));
        }
    }
    cmd.output().unwrap()
}

/// The pod's command line, rehearsed: the flow ConfigMap's files at the path the Deployment
/// mounts them, the seed's ConfigMaps and Secrets served by a Kubernetes API server that lets
/// the service account `get` exactly what the Role grants. It validates; without one of the
/// Role's names it fails, naming the Role.
#[test]
fn the_pods_command_line_validates() {
    let objects = render(&deploy().join("base"));
    let flow: ConfigMap = typed(&objects, "ConfigMap", "strait-flow");
    let role: Role = typed(&objects, "Role", "strait-connector-configuration");
    let deployment: Deployment = typed(&objects, "Deployment", "strait");
    let pod = deployment.spec.unwrap().template.spec.unwrap();
    let strait = container(&pod.containers, "strait");

    let dir = tempfile::tempdir().unwrap();
    let flow_dir = dir.path().join("flow");
    std::fs::create_dir_all(&flow_dir).unwrap();
    for (k, v) in flow.data.unwrap() {
        std::fs::write(flow_dir.join(k), v).unwrap();
    }
    let seed = repo_root().join("tests/fixtures/seed");
    let manifests: Vec<PathBuf> = [
        "uswest-config",
        "useast-config",
        "replication-config",
        "uswest-secret",
        "useast-cert",
        "useast-password",
    ]
    .iter()
    .map(|n| seed.join(format!("{n}.yaml")))
    .collect();
    let allow = role_paths(&role);
    assert_eq!(allow.len(), 6, "{allow:?}");

    let api = kube_mock::KubeMock::start(
        &manifests,
        &kube_mock::Access {
            forbid: &[],
            allow: &allow,
        },
    );
    let kubeconfig = api.kubeconfig(dir.path(), NS);
    let out = rehearse(strait, &flow_dir, &kubeconfig);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("flow uswest->useast"), "{stdout}");
    assert!(
        stdout.contains("source connector 'mirror-source-connector'"),
        "{stdout}"
    );
    assert!(
        stdout.contains("checkpoint connector 'mirror-checkpoint-connector'"),
        "{stdout}"
    );
    for secret in SEED_SECRETS {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret}"
        );
    }
    drop(api);

    // Every name of the Role is needed: without uswest-secret, the 403 names what to grant.
    let fewer: Vec<String> = allow
        .iter()
        .filter(|p| !p.ends_with("/secrets/uswest-secret"))
        .cloned()
        .collect();
    let api = kube_mock::KubeMock::start(
        &manifests,
        &kube_mock::Access {
            forbid: &[],
            allow: &fewer,
        },
    );
    let kubeconfig = api.kubeconfig(dir.path(), NS);
    let out = rehearse(strait, &flow_dir, &kubeconfig);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "does not let service account repl/strait get Secret repl/uswest-secret (403 \
             Forbidden): the Role bound to it must grant \"get\" on secrets \"uswest-secret\" \
             in namespace repl"
        ),
        "{stderr}"
    );
}

/// The image's build steps in check-only mode (the release build itself runs in CI):
/// `deploy/build.sh` with the binary under test, and the Dockerfile's shape.
#[test]
fn the_image_build_steps_check_the_binary() {
    let out_dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("bash")
        .arg(repo_root().join("deploy/build.sh"))
        .arg(out_dir.path())
        .env("STRAIT_BIN", env!("CARGO_BIN_EXE_strait"))
        .status()
        .unwrap();
    assert!(status.success());
    assert!(out_dir.path().join("strait").exists());

    let dockerfile = std::fs::read_to_string(repo_root().join("deploy/Dockerfile")).unwrap();
    let froms: Vec<&str> = dockerfile
        .lines()
        .filter(|l| l.starts_with("FROM "))
        .collect();
    assert_eq!(froms.len(), 2, "multi-stage: a build and a runtime stage");
    assert!(
        froms[1].contains("slim"),
        "small runtime image: {}",
        froms[1]
    );
    assert!(dockerfile.contains("RUN CARGO_TARGET_DIR=/src/target deploy/build.sh /out"));
    let user = dockerfile
        .lines()
        .rfind(|l| l.starts_with("USER "))
        .unwrap();
    assert!(
        !user.contains("root") && !user.contains(" 0"),
        "non-root: {user}"
    );
}
