//! Entry point of the configuration readers: reads the files given with `-f`, recognises
//! each one's kind, and resolves them into one [`StraitConfig`].
//!
//! - YAML whose documents have `apiVersion` and `kind`: Kubernetes manifests (Strimzi
//!   `KafkaConnect`/`KafkaConnector`, and the ConfigMaps/Secrets providers read).
//! - Other YAML: Strait's own format (a `flows` list).
//! - `*.properties`: an MM2 dedicated-mode `mm2.properties`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::{ConfigError, ConfigWarning, Origin};
use super::manifests::{self, Manifest};
use super::properties::Properties;
use super::providers::kube_api::KubernetesApiOptions;
use super::providers::kubernetes::MapObjects;
use super::providers::{EnvLookup, KubernetesObjects, ProviderEnv};
use super::{
    FlowConfig, KeystoreSource, StraitConfig, Truststore, mm2_properties, native, strimzi, yaml,
};

/// The resolved configuration and what Strait wants the user to know about it.
#[derive(Debug)]
pub struct Loaded {
    /// The flows to run.
    pub config: StraitConfig,
    /// Keys ignored, settings with no equivalent, files only present where Strait runs, ...
    pub warnings: Vec<ConfigWarning>,
}

/// Where the loader looks things up; [`load`] uses the process environment.
#[derive(Clone)]
pub struct LoadOptions {
    /// Reads an environment variable (for the `env` providers, and to tell whether Strait
    /// runs in a Kubernetes pod).
    pub env_var: EnvLookup,
    /// Whether ConfigMaps and Secrets not given with `-f` are read from the Kubernetes API
    /// (default: only when running in a pod).
    pub kubernetes_api: KubernetesApiOptions,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            env_var: Arc::new(|name| std::env::var(name).ok()),
            kubernetes_api: KubernetesApiOptions::default(),
        }
    }
}

impl std::fmt::Debug for LoadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadOptions")
            .field("kubernetes_api", &self.kubernetes_api)
            .finish_non_exhaustive()
    }
}

/// Reads and resolves `files` (see the module documentation for the kinds recognised).
pub fn load(files: &[PathBuf]) -> Result<Loaded, ConfigError> {
    load_with(files, &LoadOptions::default())
}

enum Input {
    Manifests(Vec<Manifest>),
    Native(PathBuf, String),
    Mm2(PathBuf, Properties),
}

/// [`load`] with explicit options.
pub fn load_with(files: &[PathBuf], options: &LoadOptions) -> Result<Loaded, ConfigError> {
    let mut warnings = Vec::new();
    let mut inputs = Vec::new();
    for path in files {
        inputs.push(classify(path, &mut warnings)?);
    }
    let all_manifests: Vec<Manifest> = inputs
        .iter()
        .filter_map(|i| match i {
            Input::Manifests(m) => Some(m.iter().cloned()),
            _ => None,
        })
        .flatten()
        .collect();
    // Objects given with -f win; the API (when in use) is asked only for the others, lazily,
    // so a configuration that is complete in its files never touches it.
    let mut objects = match options.kubernetes_api.objects(&options.env_var) {
        Some(api) => MapObjects::with_fallback(Arc::new(api)),
        None => MapObjects::default(),
    };
    manifests::collect_objects(&all_manifests, &mut objects)?;
    strimzi::add_operator_objects(&all_manifests, &mut objects);
    let objects: Arc<dyn KubernetesObjects> = Arc::new(objects);
    let mut env = ProviderEnv::new(Arc::clone(&objects));
    env.env_var = Arc::clone(&options.env_var);

    let mut flows: Vec<(FlowConfig, Origin)> = Vec::new();
    for (flow, at) in strimzi::read(&all_manifests, &env, &mut warnings)? {
        flows.push((flow, at));
    }
    for input in &inputs {
        let (found, at) = match input {
            Input::Manifests(_) => continue,
            Input::Native(path, text) => (
                native::read(text, path, &env, &mut warnings)?,
                Origin::file(path),
            ),
            Input::Mm2(path, props) => (
                mm2_properties::read(props, path, &env, &mut warnings)?,
                Origin::file(path),
            ),
        };
        flows.extend(found.into_iter().map(|f| (f, at.clone())));
    }
    if flows.is_empty() {
        return Err(ConfigError::NoFlows {
            files: files
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let mut seen: BTreeMap<String, Origin> = BTreeMap::new();
    for (flow, at) in &flows {
        if let Some(first) = seen.insert(flow.name(), at.clone()) {
            return Err(ConfigError::invalid(
                at.clone(),
                format!(
                    "flow {} is also defined by {first}; each flow may be defined once",
                    flow.name()
                ),
            ));
        }
        local_files(flow, at, &mut warnings);
    }
    // A loop of flows that cannot tell replicated topics from local ones (Identity) would copy
    // the same records around forever; MM2 cannot detect it, Strait refuses it up front.
    // Only flows that replicate records count: MM2's heartbeat-only reverse flows copy nothing.
    let loops: Vec<(String, String, super::PolicyKind)> = flows
        .iter()
        .filter(|(f, _)| f.source_connector.as_ref().is_some_and(|s| s.enabled))
        .map(|(f, _)| {
            (
                f.source_alias.clone(),
                f.target_alias.clone(),
                f.policy.kind,
            )
        })
        .collect();
    if let Err(e) = crate::policy::check_flows_for_identity_cycles(&loops) {
        let at = flows.first().map(|(_, at)| at.clone()).unwrap_or_default();
        return Err(ConfigError::invalid(at, e.to_string()));
    }
    let mut unique = Vec::new();
    for w in warnings {
        if !unique.contains(&w) {
            unique.push(w);
        }
    }
    Ok(Loaded {
        config: StraitConfig {
            flows: flows.into_iter().map(|(f, _)| f).collect(),
        },
        warnings: unique,
    })
}

fn classify(path: &Path, warnings: &mut Vec<ConfigWarning>) -> Result<Input, ConfigError> {
    if path.extension().is_some_and(|e| e == "properties") {
        return Ok(Input::Mm2(path.to_owned(), Properties::read(path)?));
    }
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let docs = yaml::documents(&text, path)?;
    let Some(first) = docs.first() else {
        warnings.push(ConfigWarning::new(Origin::file(path), "the file is empty"));
        return Ok(Input::Manifests(Vec::new()));
    };
    if manifests::is_manifest(first) {
        return Ok(Input::Manifests(manifests::from_documents(&docs, path)?));
    }
    if native::is_native(first) {
        if docs.len() > 1 {
            return Err(ConfigError::invalid(
                Origin::file(path).with_document(2),
                "a Strait configuration file holds one YAML document",
            ));
        }
        return Ok(Input::Native(path.to_owned(), text));
    }
    Err(ConfigError::invalid(
        Origin::file(path).with_document(1),
        "neither Kubernetes manifests (apiVersion and kind) nor a Strait configuration (flows); \
         mm2.properties files must end in .properties",
    ))
}

/// Warns about truststore and keystore files that do not exist here: fine if they are mounted
/// where Strait runs, but `strait run` would fail on this machine.
fn local_files(flow: &FlowConfig, at: &Origin, warnings: &mut Vec<ConfigWarning>) {
    let mut conns = vec![("source", &flow.source), ("target", &flow.target)];
    if let Some(h) = flow
        .heartbeat_connector
        .as_ref()
        .and_then(|h| h.heartbeats_cluster.as_ref())
    {
        conns.push(("heartbeats", h));
    }
    let mut reported = Vec::new();
    for (side, conn) in conns {
        let truststore = match &conn.tls.truststore {
            Some(Truststore::PemFile(p))
            | Some(Truststore::Jks { path: p, .. })
            | Some(Truststore::Pkcs12 { path: p, .. }) => Some(("truststore", p)),
            _ => None,
        };
        let keystore = match conn.tls.keystore.as_ref().map(|k| &k.source) {
            Some(KeystoreSource::PemFile(p))
            | Some(KeystoreSource::Jks { path: p, .. })
            | Some(KeystoreSource::Pkcs12 { path: p, .. }) => Some(("keystore", p)),
            _ => None,
        };
        for (what, path) in truststore.into_iter().chain(keystore) {
            if !path.exists() && !reported.contains(&path) {
                reported.push(path);
                warnings.push(ConfigWarning::new(
                    at.clone(),
                    format!(
                        "flow {}: {side} {what} {} does not exist on this machine; it must exist where Strait runs",
                        flow.name(),
                        path.display()
                    ),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_flows_in_a_loop_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mm2.properties");
        std::fs::write(
            &path,
            "clusters = A, B\nA.bootstrap.servers = a:9092\nB.bootstrap.servers = b:9092\n\
             A->B.enabled = true\nB->A.enabled = true\n\
             replication.policy.class = org.apache.kafka.connect.mirror.IdentityReplicationPolicy\n",
        )
        .unwrap();
        let err = load(std::slice::from_ref(&path)).unwrap_err().to_string();
        assert!(err.contains("A->B (identity)"), "{err}");
        assert!(err.contains("B->A (identity)"), "{err}");

        // One direction, with MM2's heartbeat-only reverse flow, is fine.
        std::fs::write(
            &path,
            "clusters = A, B\nA.bootstrap.servers = a:9092\nB.bootstrap.servers = b:9092\n\
             A->B.enabled = true\n\
             replication.policy.class = org.apache.kafka.connect.mirror.IdentityReplicationPolicy\n",
        )
        .unwrap();
        assert!(load(&[path]).is_ok());
    }
}
