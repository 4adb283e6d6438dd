//! Kubernetes manifests (multi-document YAML, as `kubectl ... -o yaml` writes them): each
//! document's kind and name, and the ConfigMaps and Secrets the config providers read.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine;
use serde_json::Value;

use super::error::{ConfigError, Origin};
use super::providers::kubernetes::{MapObjects, ObjectKind};
use super::yaml;

/// One Kubernetes object from a file.
#[derive(Debug, Clone)]
pub(crate) struct Manifest {
    /// File and document (1-based) it comes from, and `Kind namespace/name`.
    pub at: Origin,
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`, if set.
    pub namespace: Option<String>,
    /// The whole object.
    pub value: Value,
}

impl Manifest {
    /// `namespace/name`, or `name` without a namespace.
    pub fn qualified_name(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// Whether a YAML document looks like a Kubernetes object.
pub(crate) fn is_manifest(doc: &Value) -> bool {
    doc.get("apiVersion").is_some() && doc.get("kind").is_some()
}

/// The objects of a file's documents. `kind: List` documents are flattened into their items.
pub(crate) fn from_documents(docs: &[Value], path: &Path) -> Result<Vec<Manifest>, ConfigError> {
    let mut out = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        let at = Origin::file(path).with_document(i + 1);
        if yaml::str_at(doc, "/kind").as_deref() == Some("List") {
            let items = doc.get("items").and_then(Value::as_array).ok_or_else(|| {
                ConfigError::invalid(at.clone().with_key("items"), "a List needs a list of items")
            })?;
            for item in items {
                out.push(one(item, at.clone())?);
            }
        } else {
            out.push(one(doc, at)?);
        }
    }
    Ok(out)
}

fn one(doc: &Value, at: Origin) -> Result<Manifest, ConfigError> {
    let field = |pointer: &str, key: &str| {
        yaml::str_at(doc, pointer)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ConfigError::invalid(at.clone().with_key(key), "is required"))
    };
    let api_version = field("/apiVersion", "apiVersion")?;
    let kind = field("/kind", "kind")?;
    let name = field("/metadata/name", "metadata.name")?;
    let namespace = yaml::str_at(doc, "/metadata/namespace").filter(|s| !s.is_empty());
    let qualified = match &namespace {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    };
    Ok(Manifest {
        at: at.with_object(qualified),
        api_version,
        kind,
        name,
        namespace,
        value: doc.clone(),
    })
}

/// Adds the ConfigMaps and Secrets among `manifests` to `objects`. Secret `data` is base64
/// (decoded here; errors name the key but never show the value), `stringData` plain text and
/// wins over `data` for the same key, as the API server merges them. ConfigMap `binaryData`
/// is not read, as Strimzi's provider does not read it.
pub(crate) fn collect_objects(
    manifests: &[Manifest],
    objects: &mut MapObjects,
) -> Result<(), ConfigError> {
    for m in manifests {
        let kind = match (m.api_version.as_str(), m.kind.as_str()) {
            ("v1", "ConfigMap") => ObjectKind::ConfigMap,
            ("v1", "Secret") => ObjectKind::Secret,
            _ => continue,
        };
        let mut data = BTreeMap::new();
        for (key, value) in entries(m, "data")? {
            let bytes = match kind {
                ObjectKind::ConfigMap => value.into_bytes(),
                ObjectKind::Secret => {
                    let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
                    base64::engine::general_purpose::STANDARD
                        .decode(compact)
                        .map_err(|_| {
                            ConfigError::invalid(
                                m.at.clone().with_key(format!("data.{key}")),
                                "is not valid base64 (Secret data must be base64-encoded; use stringData for plain text)",
                            )
                        })?
                }
            };
            data.insert(key, bytes);
        }
        if kind == ObjectKind::Secret {
            for (key, value) in entries(m, "stringData")? {
                data.insert(key, value.into_bytes());
            }
        }
        objects.insert(kind, m.namespace.as_deref(), &m.name, data);
    }
    Ok(())
}

/// The string entries of the mapping `field` (absent or null = none).
fn entries(m: &Manifest, field: &str) -> Result<Vec<(String, String)>, ConfigError> {
    match m.value.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| {
                yaml::scalar(v).map(|s| (k.clone(), s)).ok_or_else(|| {
                    ConfigError::invalid(
                        m.at.clone().with_key(format!("{field}.{k}")),
                        format!("must be a string, not {}", yaml::type_name(v)),
                    )
                })
            })
            .collect(),
        Some(other) => Err(ConfigError::invalid(
            m.at.clone().with_key(field),
            format!("must be a mapping, not {}", yaml::type_name(other)),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::providers::KubernetesObjects;

    fn parse(text: &str) -> Result<MapObjects, ConfigError> {
        let path = Path::new("objects.yaml");
        let docs = yaml::documents(text, path)?;
        let manifests = from_documents(&docs, path)?;
        let mut objects = MapObjects::default();
        collect_objects(&manifests, &mut objects)?;
        Ok(objects)
    }

    #[test]
    fn kubectl_output() {
        let o = parse(
            "apiVersion: v1\ndata:\n  pass: c2VjcmV0\nkind: Secret\nmetadata:\n  creationTimestamp: null\n  name: pw\n  namespace: repl\n\
             stringData:\n  plain: text\n---\napiVersion: v1\ndata:\n  alias: useast\n  n: 3\nkind: ConfigMap\nmetadata:\n  name: cm\n",
        )
        .unwrap();
        let s = o
            .data(ObjectKind::Secret, Some("repl"), "pw")
            .unwrap()
            .unwrap();
        assert_eq!(s["pass"], b"secret");
        assert_eq!(s["plain"], b"text");
        let c = o
            .data(ObjectKind::ConfigMap, Some("any"), "cm")
            .unwrap()
            .unwrap();
        assert_eq!(c["alias"], b"useast");
        assert_eq!(c["n"], b"3");
    }

    #[test]
    fn invalid_objects() {
        let e = parse("apiVersion: v1\nkind: Secret\nmetadata:\n  name: pw\n  namespace: repl\ndata:\n  pass: 'SECRET!!not base64'\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "objects.yaml, document 1 (Secret repl/pw), key 'data.pass': is not valid base64 (Secret data must be base64-encoded; use stringData for plain text)"
        );
        let e = parse("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "objects.yaml, document 1, key 'metadata.name': is required"
        );
        let e = parse("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\ndata:\n  k: [1, 2]\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "objects.yaml, document 2 (ConfigMap b), key 'data.k': must be a string, not a list"
        );
    }
}
