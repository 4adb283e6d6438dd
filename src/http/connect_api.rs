//! The read side of Kafka Connect's REST API for the configured connectors, so scripts and
//! tools that poll a Connect cluster (`GET /connectors`, `/connectors/{name}`,
//! `/connectors/{name}/status`, `/connectors/{name}/config`) keep working against Strait.
//!
//! Shapes follow Connect's (`ConnectorInfo`, `ConnectorStateInfo`, its error body). The state
//! is this process's view: a connector is `RUNNING` when the part of the flow doing its work
//! runs here, `UNASSIGNED` while it starts, `FAILED` with Connect's `trace` holding the error,
//! and `STOPPED` when the configuration turns it off. All three Mirror connectors are source
//! connectors, so `type` is always `source`. Connector names are unique per Connect cluster;
//! when two flows of one process share a name (an `mm2.properties` with several flows), each
//! is listed as `<source>-><target>.<name>`, as Strimzi names MM2's connectors.

use serde_json::{Map, Value, json};

use crate::status::Registry;
use crate::status::connectors::ConnectorInfo;
use crate::status::snapshot::ConnectorSnapshot;

/// One connector as the API exposes it.
#[derive(Debug)]
struct Exposed {
    name: String,
    info: ConnectorInfo,
    state: ConnectorSnapshot,
}

/// A response: HTTP status and JSON body.
pub type Answer = (u16, Value);

/// The connectors of every flow, with the names the API uses.
fn exposed(registry: &Registry) -> Vec<Exposed> {
    let now = crate::status::now_ms();
    let mut out: Vec<(String, Exposed)> = Vec::new();
    for flow in registry.flows() {
        let snap = flow.snapshot(now);
        for (info, state) in flow.connectors().iter().zip(snap.connectors) {
            out.push((
                flow.name().to_owned(),
                Exposed {
                    name: info.name.clone(),
                    info: info.clone(),
                    state,
                },
            ));
        }
    }
    let names: Vec<String> = out.iter().map(|(_, e)| e.name.clone()).collect();
    out.into_iter()
        .map(|(flow, mut e)| {
            if names.iter().filter(|n| **n == e.name).count() > 1 {
                e.name = format!("{flow}.{}", e.name);
            }
            e
        })
        .collect()
}

fn not_found(name: &str) -> Answer {
    (
        404,
        json!({"error_code": 404, "message": format!("Connector {name} not found")}),
    )
}

fn info_json(e: &Exposed) -> Value {
    let mut config: Map<String, Value> = e
        .info
        .config
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    config.insert("name".to_owned(), Value::String(e.name.clone()));
    let tasks: Vec<Value> = task_ids(e)
        .map(|i| json!({"connector": e.name, "task": i}))
        .collect();
    json!({"name": e.name, "config": config, "tasks": tasks, "type": "source"})
}

/// Tasks exist while the connector is not stopped, `tasks.max` of them.
fn task_ids(e: &Exposed) -> std::ops::Range<u32> {
    if e.state.state == "STOPPED" {
        0..0
    } else {
        0..e.state.tasks_max
    }
}

fn status_json(e: &Exposed, worker_id: &str) -> Value {
    let with_trace = |mut v: Value| {
        if let (Some(t), Some(obj)) = (&e.state.trace, v.as_object_mut()) {
            obj.insert("trace".to_owned(), Value::String(t.clone()));
        }
        v
    };
    let connector = with_trace(json!({"state": e.state.state, "worker_id": worker_id}));
    let tasks: Vec<Value> = task_ids(e)
        .map(|i| with_trace(json!({"id": i, "state": e.state.state, "worker_id": worker_id})))
        .collect();
    json!({"name": e.name, "connector": connector, "tasks": tasks, "type": "source"})
}

/// `GET /connectors`, with Connect's `?expand=status` / `?expand=info` (repeatable).
pub fn list(registry: &Registry, expand: &[String]) -> Answer {
    let all = exposed(registry);
    if expand.is_empty() {
        let names: Vec<&str> = all.iter().map(|e| e.name.as_str()).collect();
        return (200, json!(names));
    }
    let worker = registry.snapshot_worker_id();
    let mut out = Map::new();
    for e in &all {
        let mut entry = Map::new();
        if expand.iter().any(|x| x == "status") {
            entry.insert("status".to_owned(), status_json(e, &worker));
        }
        if expand.iter().any(|x| x == "info") {
            entry.insert("info".to_owned(), info_json(e));
        }
        out.insert(e.name.clone(), Value::Object(entry));
    }
    (200, Value::Object(out))
}

fn find(registry: &Registry, name: &str) -> Option<Exposed> {
    exposed(registry).into_iter().find(|e| e.name == name)
}

/// `GET /connectors/{name}`.
pub fn info(registry: &Registry, name: &str) -> Answer {
    match find(registry, name) {
        Some(e) => (200, info_json(&e)),
        None => not_found(name),
    }
}

/// `GET /connectors/{name}/status`.
pub fn status(registry: &Registry, name: &str) -> Answer {
    match find(registry, name) {
        Some(e) => (200, status_json(&e, &registry.snapshot_worker_id())),
        None => not_found(name),
    }
}

/// `GET /connectors/{name}/config`.
pub fn config(registry: &Registry, name: &str) -> Answer {
    match find(registry, name) {
        Some(e) => (200, info_json(&e)["config"].clone()),
        None => not_found(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{Component, ComponentState};

    #[test]
    fn shapes_follow_connect() {
        let r = Registry::new();
        let flow = crate::status::test_support::seed_like_flow();
        let st = r.add_flow(&flow);
        st.set_state(Component::Source, ComponentState::Running);
        r.set_worker_id("pod-0:8080".into());

        let (code, body) = list(&r, &[]);
        assert_eq!(code, 200);
        assert_eq!(
            body,
            json!([
                "mirror-source-connector",
                "mirror-checkpoint-connector",
                "mirror-heartbeat-connector"
            ])
        );
        let (code, body) = status(&r, "mirror-source-connector");
        assert_eq!(code, 200);
        assert_eq!(body["connector"]["state"], "RUNNING");
        assert_eq!(body["connector"]["worker_id"], "pod-0:8080");
        assert_eq!(body["tasks"].as_array().unwrap().len(), 3);
        assert_eq!(body["tasks"][2]["id"], 2);
        assert_eq!(body["type"], "source");
        let (_, body) = status(&r, "mirror-checkpoint-connector");
        assert_eq!(body["connector"]["state"], "UNASSIGNED");

        let (_, body) = info(&r, "mirror-source-connector");
        assert_eq!(
            body["config"]["connector.class"],
            "org.apache.kafka.connect.mirror.MirrorSourceConnector"
        );
        assert_eq!(
            body["tasks"][0],
            json!({"connector": "mirror-source-connector", "task": 0})
        );

        st.failed(Component::Source, &"broker said no");
        let (_, body) = status(&r, "mirror-source-connector");
        assert_eq!(body["connector"]["state"], "FAILED");
        assert_eq!(body["connector"]["trace"], "broker said no");

        let (code, body) = info(&r, "nope");
        assert_eq!(code, 404);
        assert_eq!(body["error_code"], 404);

        let (_, body) = list(&r, &["status".into(), "info".into()]);
        assert_eq!(body["mirror-heartbeat-connector"]["info"]["type"], "source");
        assert!(body["mirror-heartbeat-connector"]["status"]["connector"].is_object());
        assert_eq!(config(&r, "mirror-source-connector").1["tasks.max"], "3");
    }

    #[test]
    fn shared_names_are_qualified_by_flow() {
        let r = Registry::new();
        let mut a = crate::status::test_support::seed_like_flow();
        r.add_flow(&a);
        a.source_alias = "other".into();
        r.add_flow(&a);
        let (_, body) = list(&r, &[]);
        let names: Vec<String> = serde_json::from_value(body).unwrap();
        assert!(names.contains(&"uswest->useast.mirror-source-connector".to_owned()));
        assert!(names.contains(&"other->useast.mirror-source-connector".to_owned()));
    }
}
