//! The routes and their handlers: thin wrappers that take a snapshot and shape it.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::http::{connect_api, dashboard, prometheus};
use crate::status::Registry;
use crate::status::snapshot::Health;

type Shared = State<Arc<Registry>>;

/// Every route, over `registry`.
pub fn router(registry: Arc<Registry>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .route("/connectors", get(connectors))
        .route("/connectors/{name}", get(connector))
        .route("/connectors/{name}/status", get(connector_status))
        .route("/connectors/{name}/config", get(connector_config))
        .route("/", get(dashboard::index))
        .route("/assets/{file}", get(dashboard::asset))
        .with_state(registry)
}

fn json(code: u16, body: &impl serde::Serialize) -> Response {
    let code = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match serde_json::to_string_pretty(body) {
        Ok(text) => (code, [(header::CONTENT_TYPE, "application/json")], text).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// Plain text, 200 when `ok`, 503 with one reason per line otherwise.
fn health(h: &Health) -> Response {
    if h.ok {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        let mut body = h.reasons.join("\n");
        body.push('\n');
        (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
    }
}

async fn healthz(State(r): Shared) -> Response {
    health(&r.snapshot().live)
}

async fn readyz(State(r): Shared) -> Response {
    health(&r.snapshot().ready)
}

async fn metrics(State(r): Shared) -> Response {
    let text = prometheus::render(&r.snapshot());
    ([(header::CONTENT_TYPE, prometheus::CONTENT_TYPE)], text).into_response()
}

async fn status(State(r): Shared) -> Response {
    json(200, &r.snapshot())
}

/// Connect's `expand` parameter, which may repeat (`?expand=status&expand=info`).
fn expand(query: Option<String>) -> Vec<String> {
    query
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, _)| *k == "expand")
        .map(|(_, v)| v.to_owned())
        .collect()
}

async fn connectors(State(r): Shared, RawQuery(q): RawQuery) -> Response {
    let (code, body) = connect_api::list(&r, &expand(q));
    json(code, &body)
}

async fn connector(State(r): Shared, Path(name): Path<String>) -> Response {
    let (code, body) = connect_api::info(&r, &name);
    json(code, &body)
}

async fn connector_status(State(r): Shared, Path(name): Path<String>) -> Response {
    let (code, body) = connect_api::status(&r, &name);
    json(code, &body)
}

async fn connector_config(State(r): Shared, Path(name): Path<String>) -> Response {
    let (code, body) = connect_api::config(&r, &name);
    json(code, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expand_reads_repeated_parameters() {
        assert_eq!(
            expand(Some("expand=status&x=1&expand=info".into())),
            vec!["status", "info"]
        );
        assert!(expand(None).is_empty());
    }
}
