//! Starting and stopping the HTTP listener of `strait run`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use strait::http::{self, DEFAULT_ADDR};
use strait::status::Registry;

use super::EXIT_FAILURE;

/// A running listener; [`HttpServer::stop`] ends it.
#[derive(Debug)]
pub struct HttpServer {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl HttpServer {
    /// Stops accepting, finishes requests in progress.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), self.task).await;
    }
}

/// Binds and serves `registry`. An address given with `--http-addr` must bind, or the process
/// exits 1; the default address is best effort, so that a second `strait run` on one machine
/// still replicates (it logs an error and runs without a listener).
pub async fn start(
    addr: Option<SocketAddr>,
    registry: Arc<Registry>,
) -> Result<Option<HttpServer>, ExitCode> {
    let explicit = addr.is_some();
    let addr = match addr {
        Some(a) => a,
        None => DEFAULT_ADDR
            .parse()
            .map_err(|_| ExitCode::from(EXIT_FAILURE))?,
    };
    let listener = match http::bind(addr).await {
        Ok(l) => l,
        Err(e) if explicit => {
            tracing::error!("{e}");
            return Err(ExitCode::from(EXIT_FAILURE));
        }
        Err(e) => {
            tracing::error!("{e}; running without health, metrics and status endpoints");
            return Ok(None);
        }
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
        };
        if let Err(e) = http::serve(listener, registry, shutdown).await {
            tracing::error!("{e}");
        }
    });
    Ok(Some(HttpServer { stop, task }))
}
