//! ConfigMaps and Secrets read from the Kubernetes API, for the `cfmap`/`secret` providers,
//! as Strimzi's providers read them in a Connect pod: with the pod's service account, one
//! `get` per named object (the seed's Role grants nothing else: no list, no watch).
//!
//! The API is a fallback behind the manifests given with `-f` (see
//! [`super::kubernetes::MapObjects`]); [`KubernetesApiMode`] says when it is consulted. The
//! client is configured by kube's inference (a kubeconfig from `KUBECONFIG` or
//! `~/.kube/config`, else the service account mounted at
//! `/var/run/secrets/kubernetes.io/serviceaccount`), only when a lookup first needs it.
//!
//! [`KubernetesObjects`] is synchronous and configuration may be loaded inside a tokio
//! runtime, where blocking on another runtime panics; so requests run on a thread of their own
//! with its own current-thread runtime ([`worker`]), and every wait is bounded.

mod error;
mod worker;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

pub use error::{ApiError, Lookup, Target};

use super::EnvLookup;
use super::kubernetes::{KubernetesObjects, ObjectData, ObjectKind};
use worker::Worker;

/// The variable Kubernetes sets in every pod; its presence means "running in a cluster".
pub const IN_CLUSTER_ENV: &str = "KUBERNETES_SERVICE_HOST";

/// How long one API request (or configuring the client) may take by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// When ConfigMaps and Secrets that no manifest given with `-f` holds are read from the
/// Kubernetes API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KubernetesApiMode {
    /// Only when running in a pod (`KUBERNETES_SERVICE_HOST` is set), with its service
    /// account: outside a cluster a missing object is an error, never a surprise lookup in
    /// whatever cluster the local kubeconfig points at.
    #[default]
    Auto,
    /// Always (outside a cluster, through the kubeconfig).
    Always,
    /// Never: only the manifests given with `-f`.
    Never,
}

impl fmt::Display for KubernetesApiMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Always => "always",
            Self::Never => "never",
        })
    }
}

/// Whether and how the Kubernetes API is used.
#[derive(Debug, Clone)]
pub struct KubernetesApiOptions {
    /// When the API is consulted.
    pub mode: KubernetesApiMode,
    /// A kubeconfig to use instead of kube's inference (tests; tools that name one).
    pub kubeconfig: Option<PathBuf>,
    /// The bound on configuring the client and on each request.
    pub timeout: Duration,
}

impl Default for KubernetesApiOptions {
    fn default() -> Self {
        Self {
            mode: KubernetesApiMode::default(),
            kubeconfig: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

impl KubernetesApiOptions {
    /// The API lookup to fall back to, when the mode and the environment call for one.
    pub fn objects(&self, env_var: &EnvLookup) -> Option<ApiObjects> {
        let in_cluster = env_var(IN_CLUSTER_ENV).is_some_and(|v| !v.trim().is_empty());
        match self.mode {
            KubernetesApiMode::Never => None,
            KubernetesApiMode::Auto if !in_cluster => None,
            KubernetesApiMode::Auto | KubernetesApiMode::Always => {
                Some(ApiObjects::new(self.clone()))
            }
        }
    }
}

/// Objects read from the Kubernetes API, each fetched at most once (per configuration load:
/// one `ApiObjects` is made per load), failures included, so a reference used by many keys
/// costs one request and an unreachable server one timeout.
pub struct ApiObjects {
    options: KubernetesApiOptions,
    state: Mutex<State>,
}

/// The lookup key: kind, namespace, name.
type Key = (ObjectKind, String, String);

#[derive(Default)]
struct State {
    /// Started on the first lookup; its failure is kept and reported by every lookup.
    worker: Option<Result<Worker, ApiError>>,
    /// Every answer, failures included.
    cache: BTreeMap<Key, Result<Option<ObjectData>, ApiError>>,
}

impl ApiObjects {
    /// A lookup that configures its client when first used.
    pub fn new(options: KubernetesApiOptions) -> Self {
        Self {
            options,
            state: Mutex::new(State::default()),
        }
    }

    /// The object, `Ok(None)` when the API server has none (404).
    pub fn get(
        &self,
        kind: ObjectKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<ObjectData>, ApiError> {
        // Held across the request: lookups are sequential anyway, and this keeps one request
        // per object even if two threads ask at once.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let State { worker, cache } = &mut *state;
        let worker = match worker.get_or_insert_with(|| Worker::start(&self.options)) {
            Ok(w) => w,
            Err(e) => return Err(e.clone()),
        };
        let namespace = namespace.unwrap_or(worker.default_namespace()).to_owned();
        let key = (kind, namespace, name.to_owned());
        if let Some(hit) = cache.get(&key) {
            return hit.clone();
        }
        let target = Target {
            kind,
            namespace: key.1.clone(),
            name: key.2.clone(),
        };
        let got = worker.get(target);
        cache.insert(key, got.clone());
        got
    }
}

impl KubernetesObjects for ApiObjects {
    fn data(
        &self,
        kind: ObjectKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<ObjectData>, String> {
        self.get(kind, namespace, name).map_err(|e| e.to_string())
    }

    fn not_found_hint(&self, namespace: Option<&str>) -> String {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match (&state.worker, namespace) {
            (Some(Ok(w)), Some(_)) => format!(
                "neither given with -f nor on the Kubernetes API server at {}",
                w.server()
            ),
            // Name the namespace the API was asked in, which the reference does not show.
            (Some(Ok(w)), None) => format!(
                "neither given with -f nor on the Kubernetes API server at {} in namespace {}",
                w.server(),
                w.default_namespace()
            ),
            _ => "neither given with -f nor on the Kubernetes API server".to_owned(),
        }
    }
}

/// The options and server only: the cache holds Secret values.
impl fmt::Debug for ApiObjects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `try_lock`: formatting must not wait for (or deadlock with) a lookup in progress.
        let server = match self.state.try_lock() {
            Ok(state) => match &state.worker {
                Some(Ok(w)) => Some(w.server().to_owned()),
                _ => None,
            },
            Err(_) => None,
        };
        f.debug_struct("ApiObjects")
            .field("options", &self.options)
            .field("server", &server)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn env(in_cluster: bool) -> EnvLookup {
        Arc::new(move |name| (in_cluster && name == IN_CLUSTER_ENV).then(|| "10.0.0.1".to_owned()))
    }

    fn options(mode: KubernetesApiMode) -> KubernetesApiOptions {
        KubernetesApiOptions {
            mode,
            ..KubernetesApiOptions::default()
        }
    }

    #[test]
    fn auto_means_in_a_cluster_only() {
        assert!(
            options(KubernetesApiMode::Auto)
                .objects(&env(false))
                .is_none()
        );
        assert!(
            options(KubernetesApiMode::Auto)
                .objects(&env(true))
                .is_some()
        );
        assert!(
            options(KubernetesApiMode::Always)
                .objects(&env(false))
                .is_some()
        );
        assert!(
            options(KubernetesApiMode::Never)
                .objects(&env(true))
                .is_none()
        );
    }

    #[test]
    fn a_client_that_cannot_be_configured_is_an_error_every_time() {
        let dir = tempfile::tempdir().unwrap();
        let objects = ApiObjects::new(KubernetesApiOptions {
            mode: KubernetesApiMode::Always,
            kubeconfig: Some(dir.path().join("no-such-kubeconfig")),
            timeout: Duration::from_secs(5),
        });
        for _ in 0..2 {
            let e = objects
                .data(ObjectKind::ConfigMap, Some("ns"), "cm")
                .unwrap_err();
            assert!(e.starts_with("cannot use the Kubernetes API: "), "{e}");
            assert!(e.contains("no-such-kubeconfig"), "{e}");
        }
        assert_eq!(
            objects.not_found_hint(Some("ns")),
            "neither given with -f nor on the Kubernetes API server"
        );
    }

    #[test]
    fn debug_shows_no_data() {
        let objects = ApiObjects::new(KubernetesApiOptions::default());
        let shown = format!("{objects:?}");
        assert!(shown.starts_with("ApiObjects { options:"), "{shown}");
    }
}
