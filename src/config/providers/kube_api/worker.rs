//! The thread that talks to the Kubernetes API: a current-thread tokio runtime of its own, so
//! callers may block on it from anywhere, including from inside another runtime (where
//! `block_on` would panic). It serves one `get` at a time and ends when its [`Worker`] is
//! dropped.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};

use super::error::{ApiError, Target, chain};
use super::{IN_CLUSTER_ENV, KubernetesApiOptions};
use crate::config::providers::kubernetes::{ObjectData, ObjectKind};

/// Extra time a caller waits beyond the worker's own timeout, so the worker's precise error
/// (timeout, connection refused) normally arrives first.
const GRACE: Duration = Duration::from_secs(2);

type Reply = Result<Option<ObjectData>, ApiError>;

struct Request {
    target: Target,
    reply: mpsc::Sender<Reply>,
}

/// What the thread reports once its client is configured.
struct Ready {
    server: String,
    default_namespace: String,
}

/// A handle on the API thread.
pub(super) struct Worker {
    requests: mpsc::Sender<Request>,
    server: String,
    default_namespace: String,
    timeout: Duration,
}

impl Worker {
    /// Starts the thread and configures its client; fails if no configuration is found or it
    /// is unusable.
    pub(super) fn start(options: &KubernetesApiOptions) -> Result<Self, ApiError> {
        let (ready_tx, ready_rx) = mpsc::channel();
        let (requests, requests_rx) = mpsc::channel();
        let thread_options = options.clone();
        std::thread::Builder::new()
            .name("strait-kube-api".to_owned())
            .spawn(move || serve(&thread_options, &ready_tx, &requests_rx))
            .map_err(|e| ApiError::Stopped {
                reason: format!("cannot start its thread: {e}"),
            })?;
        let ready = match ready_rx.recv_timeout(options.timeout + GRACE) {
            Ok(ready) => ready?,
            Err(RecvTimeoutError::Timeout) => {
                return Err(ApiError::Config {
                    reason: format!(
                        "configuring the client took more than {} s",
                        options.timeout.as_secs()
                    ),
                });
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(ApiError::Stopped {
                    reason: "its thread ended while configuring the client".to_owned(),
                });
            }
        };
        tracing::info!(
            server = %ready.server,
            namespace = %ready.default_namespace,
            "reading ConfigMaps and Secrets not given with -f from the Kubernetes API"
        );
        Ok(Self {
            requests,
            server: ready.server,
            default_namespace: ready.default_namespace,
            timeout: options.timeout,
        })
    }

    /// The API server's address.
    pub(super) fn server(&self) -> &str {
        &self.server
    }

    /// The namespace of references that name none: the pod's (or the kubeconfig context's).
    pub(super) fn default_namespace(&self) -> &str {
        &self.default_namespace
    }

    /// `get`s the object; `Ok(None)` on 404.
    pub(super) fn get(&self, target: Target) -> Reply {
        let (reply, answer) = mpsc::channel();
        let stopped = || ApiError::Stopped {
            reason: "its thread is gone".to_owned(),
        };
        self.requests
            .send(Request {
                target: target.clone(),
                reply,
            })
            .map_err(|_| stopped())?;
        match answer.recv_timeout(self.timeout + GRACE) {
            Ok(reply) => reply,
            Err(RecvTimeoutError::Timeout) => {
                Err(ApiError::timeout(&self.server, target, self.timeout))
            }
            Err(RecvTimeoutError::Disconnected) => Err(stopped()),
        }
    }
}

/// The thread's body: configure, report, then serve requests until the handle is dropped.
fn serve(
    options: &KubernetesApiOptions,
    ready: &mpsc::Sender<Result<Ready, ApiError>>,
    requests: &mpsc::Receiver<Request>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(ApiError::Stopped {
                reason: format!("cannot start its runtime: {e}"),
            }));
            return;
        }
    };
    let (client, server) = match runtime.block_on(connect(options)) {
        Ok((client, r)) => {
            let server = r.server.clone();
            if ready.send(Ok(r)).is_err() {
                return;
            }
            (client, server)
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    // The client's background tasks (tower's buffer) run while `block_on` drives a request.
    while let Ok(request) = requests.recv() {
        let result = runtime.block_on(fetch(&client, &server, &request.target, options.timeout));
        let _ = request.reply.send(result);
    }
}

/// Loads the client configuration (bounded: exec credential plugins may hang) and builds
/// the client with the timeouts applied.
async fn connect(options: &KubernetesApiOptions) -> Result<(Client, Ready), ApiError> {
    let mut config = tokio::time::timeout(options.timeout, load_config(options))
        .await
        .map_err(|_| ApiError::Config {
            reason: format!(
                "loading the client configuration took more than {} s",
                options.timeout.as_secs()
            ),
        })??;
    config.connect_timeout = Some(options.timeout);
    config.read_timeout = Some(options.timeout);
    config.write_timeout = Some(options.timeout);
    let server = config
        .cluster_url
        .to_string()
        .trim_end_matches('/')
        .to_owned();
    let ready = Ready {
        server: server.clone(),
        default_namespace: config.default_namespace.clone(),
    };
    let client = Client::try_from(config).map_err(|e| ApiError::Config {
        reason: format!("a client for {server} cannot be built: {}", chain(&e)),
    })?;
    Ok((client, ready))
}

async fn load_config(options: &KubernetesApiOptions) -> Result<Config, ApiError> {
    match &options.kubeconfig {
        Some(path) => {
            let context = format!("kubeconfig {}", path.display());
            let kubeconfig =
                Kubeconfig::read_from(path).map_err(|e| ApiError::config(&e, &context))?;
            Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .map_err(|e| ApiError::config(&e, &context))
        }
        None => Config::infer().await.map_err(|e| {
            ApiError::config(
                &e,
                &format!(
                    "neither a kubeconfig (KUBECONFIG, ~/.kube/config) nor the pod's service \
                     account ({IN_CLUSTER_ENV}, and a token mounted at \
                     /var/run/secrets/kubernetes.io/serviceaccount) could be used"
                ),
            )
        }),
    }
}

async fn fetch(client: &Client, server: &str, target: &Target, timeout: Duration) -> Reply {
    let got = tokio::time::timeout(timeout, get(client, target)).await;
    let result = match got {
        Err(_) => Err(ApiError::timeout(server, target.clone(), timeout)),
        Ok(Ok(data)) => Ok(data),
        Ok(Err(e)) => Err(ApiError::from_kube(e, server, target.clone(), timeout)),
    };
    match &result {
        Ok(Some(data)) => tracing::debug!(%server, object = %target, keys = data.len(), "read"),
        Ok(None) => tracing::debug!(%server, object = %target, "not found"),
        Err(e) => tracing::debug!(error = %e, "lookup failed"),
    }
    result
}

/// One `get` of the named object (the only verb the Role grants); `None` on 404, whatever
/// the body (a real API server sends a `NotFound` Status, proxies and mocks may send none).
async fn get(client: &Client, target: &Target) -> Result<Option<ObjectData>, kube::Error> {
    let (ns, name) = (target.namespace.as_str(), target.name.as_str());
    let got = match target.kind {
        ObjectKind::ConfigMap => Api::<ConfigMap>::namespaced(client.clone(), ns)
            .get(name)
            .await
            .map(config_map_data),
        ObjectKind::Secret => Api::<Secret>::namespaced(client.clone(), ns)
            .get(name)
            .await
            .map(secret_data),
    };
    match got {
        Ok(data) => Ok(Some(data)),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(None),
        Err(e) => Err(e),
    }
}

/// `data`, as the manifests reader takes it (`binaryData` is not read, as by Strimzi).
fn config_map_data(cm: ConfigMap) -> ObjectData {
    cm.data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.into_bytes()))
        .collect()
}

/// `data` (already base64-decoded), then `stringData` over it: a real API server has merged
/// `stringData` into `data` on write, but other servers may hand it back as written.
fn secret_data(secret: Secret) -> ObjectData {
    let mut data: ObjectData = secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect();
    for (k, v) in secret.string_data.unwrap_or_default() {
        data.insert(k, v.into_bytes());
    }
    data
}
