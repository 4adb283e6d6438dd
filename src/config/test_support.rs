//! Helpers for reader tests: configuration files in a temporary directory.

use std::path::PathBuf;
use std::sync::Arc;

use super::{ConfigError, LoadOptions, Loaded, load_with};

/// Writes `files` (name, content) to a new temporary directory and loads them, with an
/// environment holding only `STRAIT_TEST_VAR=from-env`.
pub(crate) fn load_texts(files: &[(&str, &str)]) -> Result<Loaded, ConfigError> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let paths: Vec<PathBuf> = files
        .iter()
        .map(|(name, text)| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).expect("write fixture");
            p
        })
        .collect();
    let options = LoadOptions {
        env_var: Arc::new(|n| (n == "STRAIT_TEST_VAR").then(|| "from-env".to_owned())),
        ..LoadOptions::default()
    };
    load_with(&paths, &options)
}

/// A v1 Secret manifest with `stringData`.
pub(crate) fn secret(namespace: &str, name: &str, data: &[(&str, &str)]) -> String {
    let mut s = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {namespace}\nstringData:\n"
    );
    for (k, v) in data {
        s.push_str(&format!(
            "  {k}: {}\n",
            serde_json::to_string(v).unwrap_or_default()
        ));
    }
    s
}

/// A throwaway EC key (PKCS#8 PEM) and its self-signed certificate, made by openssl.
pub(crate) fn client_pair() -> (String, String) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "u.key",
            "-out",
            "u.crt",
            "-subj",
            "/CN=user",
            "-days",
            "2",
        ])
        .current_dir(dir.path())
        .output()
        .expect("openssl is needed by this test");
    assert!(out.status.success(), "{out:?}");
    let read = |n: &str| std::fs::read_to_string(dir.path().join(n)).expect("openssl output");
    (read("u.crt"), read("u.key"))
}
