//! The HTTP listener: health, readiness, Prometheus metrics, status, the read side of Kafka
//! Connect's REST API, and the dashboard. One listener per process (`--http-addr`, default
//! `0.0.0.0:8080`); everything it serves is read from the [`crate::status::Registry`].
//!
//! | path | answers |
//! |---|---|
//! | `/healthz` | 200 while the process is live ([`crate::status::readiness`]) |
//! | `/readyz` | 200 when every flow replicates what it was assigned, else 503 with reasons |
//! | `/metrics` | Prometheus text ([`prometheus`]) |
//! | `/status` | JSON snapshot ([`crate::status::ProcessSnapshot`]) |
//! | `/connectors...` | Kafka Connect's read API ([`connect_api`]) |
//! | `/` | the dashboard ([`dashboard`]) |

pub mod connect_api;
pub mod dashboard;
pub mod prometheus;
pub mod routes;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::status::Registry;

/// The default listen address.
pub const DEFAULT_ADDR: &str = "0.0.0.0:8080";

/// Why the listener could not run.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The address could not be bound (in use, not permitted, not local).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Serving stopped with an I/O error.
    #[error("HTTP server: {0}")]
    Serve(std::io::Error),
}

/// A bound listener, ready to serve.
#[derive(Debug)]
pub struct Listener {
    inner: tokio::net::TcpListener,
    /// The address actually bound (the port is chosen by the system when 0 was asked for).
    pub local_addr: SocketAddr,
}

/// Binds `addr` (call inside a Tokio runtime).
pub async fn bind(addr: SocketAddr) -> Result<Listener, HttpError> {
    let inner = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| HttpError::Bind { addr, source })?;
    let local_addr = inner
        .local_addr()
        .map_err(|source| HttpError::Bind { addr, source })?;
    Ok(Listener { inner, local_addr })
}

/// This host's name, as Connect's `worker_id` starts: `$HOSTNAME` (the pod name on
/// Kubernetes), else `/etc/hostname`, else `localhost`.
fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
        })
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Serves `registry` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: Listener,
    registry: Arc<Registry>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), HttpError> {
    registry.set_worker_id(format!("{}:{}", host_name(), listener.local_addr.port()));
    tracing::info!(addr = %listener.local_addr, "HTTP listener up");
    axum::serve(listener.inner, routes::router(registry))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(HttpError::Serve)
}
