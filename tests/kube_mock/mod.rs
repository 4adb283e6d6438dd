//! A Kubernetes API server for tests: `tests/java/KubeApiMock.java` (fabric8's
//! kubernetes-server-mock, CRUD mode, HTTPS on 127.0.0.1, bearer token required), started
//! with the jars `testbed/kube-api.sh fetch` resolves, and kubeconfigs pointing at it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The bearer token the mock requires.
pub const TOKEN: &str = "test-token-K8s-0042";

/// The repository root (tests run with the package root as working directory).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Access rules, as RBAC would apply them to the service account.
#[derive(Debug, Default)]
pub struct Access<'a> {
    /// Object paths (`/api/v1/namespaces/NS/secrets/NAME`) answered with 403.
    pub forbid: &'a [String],
    /// When not empty: the only ConfigMap/Secret paths a `get` may read (a Role with
    /// `resourceNames`); any other answers 403.
    pub allow: &'a [String],
}

/// A running mock. It stops when dropped, or when the test process ends (it serves until its
/// standard input closes).
#[derive(Debug)]
pub struct KubeMock {
    /// `https://127.0.0.1:PORT`.
    pub url: String,
    /// The server's self-signed certificate, to trust as the CA.
    pub ca_pem: Vec<u8>,
    child: Child,
    dir: tempfile::TempDir,
}

impl KubeMock {
    /// Starts a mock holding the objects of `manifests` (YAML files).
    pub fn start(manifests: &[PathBuf], access: &Access<'_>) -> KubeMock {
        let fetch = Command::new("bash")
            .arg(repo_root().join("testbed/kube-api.sh"))
            .arg("fetch")
            .stderr(Stdio::inherit())
            .output()
            .unwrap();
        assert!(fetch.status.success(), "testbed/kube-api.sh fetch failed");
        let libs = String::from_utf8(fetch.stdout).unwrap().trim().to_owned();

        let dir = tempfile::tempdir().unwrap();
        let log = std::fs::File::create(dir.path().join("mock.log")).unwrap();
        let mut cmd = Command::new("java");
        cmd.arg("-cp")
            .arg(format!("{libs}/*"))
            .arg(repo_root().join("tests/java/KubeApiMock.java"))
            .arg(TOKEN);
        for p in access.forbid {
            cmd.arg("--forbid").arg(p);
        }
        for p in access.allow {
            cmd.arg("--allow").arg(p);
        }
        cmd.args(manifests);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let mut words = line.split_whitespace();
        assert_eq!(
            words.next(),
            Some("ready"),
            "the mock did not start: {line}\n{}",
            std::fs::read_to_string(dir.path().join("mock.log")).unwrap_or_default()
        );
        let url = words.next().unwrap().to_owned();
        assert!(url.starts_with("https://127.0.0.1:"), "{url}");
        let ca_pem = std::fs::read(words.next().unwrap()).unwrap();
        KubeMock {
            url,
            ca_pem,
            child,
            dir,
        }
    }

    /// A kubeconfig for this mock (its CA, [`TOKEN`], context namespace `namespace`).
    pub fn kubeconfig(&self, dir: &Path, namespace: &str) -> PathBuf {
        kubeconfig(dir, &self.url, Some(&self.ca_pem), TOKEN, namespace)
    }
}

impl Drop for KubeMock {
    fn drop(&mut self) {
        // Our own child, by its handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A kubeconfig for `server`, trusting `ca` (PEM; none: only the system's CAs), sending
/// `token`, with `namespace` as the context's namespace.
pub fn kubeconfig(
    dir: &Path,
    server: &str,
    ca: Option<&[u8]>,
    token: &str,
    namespace: &str,
) -> PathBuf {
    let ca = ca
        .map(|pem| format!("    certificate-authority-data: {}\n", STANDARD.encode(pem)))
        .unwrap_or_default();
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: mock\n  cluster:\n    server: {server}\n{ca}\
             contexts:\n- name: mock\n  context:\n    cluster: mock\n    user: strait\n    namespace: {namespace}\n\
             current-context: mock\nusers:\n- name: strait\n  user:\n    token: {token}\n"
        ),
    )
    .unwrap();
    path
}
