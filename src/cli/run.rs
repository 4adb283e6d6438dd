//! `strait run`: run every configured flow until SIGTERM/SIGINT, then stop cleanly.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use strait::config::{LoadOptions, load_with};
use strait::flow::run_flow_with_status;
use strait::status::Registry;
use tokio::sync::watch;

use super::{EXIT_FAILURE, EXIT_INVALID_CONFIG};

/// Loads `files` and runs the flows; exit 0 after a clean stop, 1 on failure, 2 on invalid
/// configuration.
pub fn run(files: &[PathBuf], http_addr: Option<SocketAddr>, options: &LoadOptions) -> ExitCode {
    let loaded = match load_with(files, options) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("invalid configuration: {e}");
            return ExitCode::from(EXIT_INVALID_CONFIG);
        }
    };
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    if loaded.config.flows.is_empty() {
        tracing::error!("invalid configuration: no flow to run");
        return ExitCode::from(EXIT_INVALID_CONFIG);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("cannot start the runtime: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    runtime.block_on(async move {
        let (stop_tx, stop_rx) = watch::channel(false);
        let registry = Registry::new();
        let http = match super::http::start(http_addr, registry.clone()).await {
            Ok(h) => h,
            Err(code) => return code,
        };
        let mut tasks = tokio::task::JoinSet::new();
        for flow in loaded.config.flows {
            let status = registry.add_flow(&flow);
            tasks.spawn(run_flow_with_status(flow, stop_rx.clone(), status));
        }
        let mut failed = false;
        tokio::select! {
            _ = shutdown_signal() => {
                tracing::info!("stopping: signal received");
            }
            Some(first) = tasks.join_next() => {
                // A flow ended by itself: that is a failure (or a panic); stop the others too.
                failed = true;
                report(first);
            }
        }
        let _ = stop_tx.send(true);
        while let Some(r) = tasks.join_next().await {
            failed |= !report(r);
        }
        if let Some(h) = http {
            h.stop().await;
        }
        if failed {
            ExitCode::from(EXIT_FAILURE)
        } else {
            ExitCode::SUCCESS
        }
    })
}

/// Logs a flow's outcome; true when it ended cleanly.
fn report(r: Result<Result<(), strait::flow::FlowError>, tokio::task::JoinError>) -> bool {
    match r {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::error!("{e}");
            false
        }
        Err(e) => {
            tracing::error!("a flow task failed: {e}");
            false
        }
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
