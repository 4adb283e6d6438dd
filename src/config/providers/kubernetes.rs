//! Strimzi's Kubernetes config providers (`io.strimzi.kafka.KubernetesConfigMapConfigProvider`
//! and `KubernetesSecretConfigProvider`): `${cfmap:namespace/name:key}` reads a key of a
//! ConfigMap or Secret. Objects come from a [`KubernetesObjects`] lookup: the manifests given
//! with `-f` ([`MapObjects`]), which may fall back to the Kubernetes API
//! ([`super::kube_api::ApiObjects`]) for objects they do not hold.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, LazyLock};

use regex::Regex;

use super::{ConfigProvider, ProviderEnv, glob};

/// The ConfigMap provider's Java class name.
pub const CONFIG_MAP_CLASS: &str = "io.strimzi.kafka.KubernetesConfigMapConfigProvider";
/// The Secret provider's Java class name.
pub const SECRET_CLASS: &str = "io.strimzi.kafka.KubernetesSecretConfigProvider";
/// `config.providers.<n>.param.separator`: joins the values of several keys a glob matches.
pub const SEPARATOR_PARAM: &str = "separator";

static PATH: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^([a-z0-9.-]+/)?[a-z0-9.-]+$").ok());

/// The two kinds of object the providers read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ObjectKind {
    /// A ConfigMap (`data`, text).
    ConfigMap,
    /// A Secret (`data` base64-decoded, or `stringData`).
    Secret,
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ConfigMap => "ConfigMap",
            Self::Secret => "Secret",
        })
    }
}

/// An object's data: decoded bytes by key.
pub type ObjectData = BTreeMap<String, Vec<u8>>;

/// Finds ConfigMaps and Secrets by namespace and name.
pub trait KubernetesObjects: fmt::Debug + Send + Sync {
    /// The data (decoded bytes by key) of the object, `Ok(None)` if there is no such object.
    /// `namespace` is `None` when the reference names none and no default is known.
    /// `Err` explains a failed lookup (ambiguity, API errors) and never contains a value.
    fn data(
        &self,
        kind: ObjectKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<ObjectData>, String>;

    /// Where a missing object was looked for, or how to provide it: the parenthesis of
    /// "ConfigMap ns/name not found (...)". `namespace` as given to [`Self::data`].
    fn not_found_hint(&self, _namespace: Option<&str>) -> String {
        "pass its manifest with -f".to_owned()
    }
}

/// One object's namespace (`None` when its manifest names none) and data.
type NamespacedData = (Option<String>, ObjectData);

/// Objects held in memory (read from manifests). An object whose manifest has no namespace
/// matches any namespace, as `kubectl apply` would put it in the current one. Objects it does
/// not hold are looked up in the fallback, if any (the Kubernetes API): objects given with
/// `-f` win, so a manifest can override what the cluster holds.
#[derive(Clone, Default)]
pub struct MapObjects {
    objects: BTreeMap<(ObjectKind, String), Vec<NamespacedData>>,
    fallback: Option<Arc<dyn KubernetesObjects>>,
}

/// Names objects and keys only: their data holds Secret values.
impl fmt::Debug for MapObjects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let objects: Vec<String> = self
            .objects
            .iter()
            .flat_map(|((kind, name), list)| {
                list.iter().map(move |(ns, data)| {
                    let keys: Vec<&str> = data.keys().map(String::as_str).collect();
                    match ns {
                        Some(ns) => format!("{kind} {ns}/{name} [{}]", keys.join(", ")),
                        None => format!("{kind} {name} [{}]", keys.join(", ")),
                    }
                })
            })
            .collect();
        f.debug_struct("MapObjects")
            .field("objects", &objects)
            .field("fallback", &self.fallback)
            .finish()
    }
}

impl MapObjects {
    /// No objects; lookups of objects not inserted later go to `fallback`.
    pub fn with_fallback(fallback: Arc<dyn KubernetesObjects>) -> Self {
        Self {
            objects: BTreeMap::new(),
            fallback: Some(fallback),
        }
    }

    /// Adds (or replaces) an object.
    pub fn insert(
        &mut self,
        kind: ObjectKind,
        namespace: Option<&str>,
        name: &str,
        data: ObjectData,
    ) {
        let list = self.objects.entry((kind, name.to_owned())).or_default();
        let ns = namespace.map(str::to_owned);
        match list.iter_mut().find(|(n, _)| *n == ns) {
            Some(entry) => entry.1 = data,
            None => list.push((ns, data)),
        }
    }

    /// The object as given in a manifest, without asking the fallback.
    fn held(
        &self,
        kind: ObjectKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<ObjectData>, String> {
        let Some(list) = self.objects.get(&(kind, name.to_owned())) else {
            return Ok(None);
        };
        let exact = list
            .iter()
            .find(|(ns, _)| namespace.is_some() && ns.as_deref() == namespace);
        let found = match exact {
            Some(e) => Some(e),
            None => {
                let candidates: Vec<_> = list
                    .iter()
                    .filter(|(ns, _)| ns.is_none() || namespace.is_none())
                    .collect();
                if candidates.len() > 1 {
                    return Err(format!(
                        "{kind} '{name}' exists in several namespaces; name one (namespace/{name})"
                    ));
                }
                candidates.first().copied()
            }
        };
        Ok(found.map(|(_, data)| data.clone()))
    }
}

impl KubernetesObjects for MapObjects {
    fn data(
        &self,
        kind: ObjectKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<ObjectData>, String> {
        match self.held(kind, namespace, name)? {
            Some(data) => Ok(Some(data)),
            None => match &self.fallback {
                Some(fallback) => fallback.data(kind, namespace, name),
                None => Ok(None),
            },
        }
    }

    fn not_found_hint(&self, namespace: Option<&str>) -> String {
        match &self.fallback {
            Some(fallback) => fallback.not_found_hint(namespace),
            None => "pass its manifest with -f".to_owned(),
        }
    }
}

/// Reads ConfigMap or Secret keys. Keys are globs: the values of all matching keys, sorted by
/// key, joined by the separator (default `\n`); a glob matching nothing gives `""` as in
/// Strimzi. A plain key (no glob syntax) that is missing is an error.
#[derive(Debug)]
pub struct KubernetesProvider {
    kind: ObjectKind,
    objects: Arc<dyn KubernetesObjects>,
    default_namespace: Option<String>,
    separator: String,
}

impl KubernetesProvider {
    /// A provider of `kind` objects with the given `config.providers.<n>.param.*`.
    pub fn new(kind: ObjectKind, params: &BTreeMap<String, String>, env: &ProviderEnv) -> Self {
        Self {
            kind,
            objects: Arc::clone(&env.kubernetes),
            default_namespace: env.default_namespace.clone(),
            separator: params
                .get(SEPARATOR_PARAM)
                .cloned()
                .unwrap_or_else(|| "\n".to_owned()),
        }
    }
}

impl ConfigProvider for KubernetesProvider {
    fn is_secret(&self) -> bool {
        self.kind == ObjectKind::Secret
    }

    fn get(&self, path: &str, key: &str) -> Result<String, String> {
        let kind = self.kind;
        if !PATH.as_ref().is_some_and(|re| re.is_match(path)) {
            return Err(format!(
                "'{path}' is not a valid {kind} path (expected namespace/name or name, lower case)"
            ));
        }
        let (namespace, name) = match path.split_once('/') {
            Some((ns, name)) => (Some(ns), name),
            None => (self.default_namespace.as_deref(), path),
        };
        let shown = match namespace {
            Some(ns) => format!("{kind} {ns}/{name}"),
            None => format!("{kind} {name}"),
        };
        let data = self.objects.data(kind, namespace, name)?.ok_or_else(|| {
            format!(
                "{shown} not found ({})",
                self.objects.not_found_hint(namespace)
            )
        })?;
        let utf8 = |k: &str, v: &[u8]| {
            String::from_utf8(v.to_vec())
                .map_err(|_| format!("key '{k}' of {shown} is not UTF-8 text"))
        };
        if !glob::is_glob(key) {
            let value = data.get(key).ok_or_else(|| {
                let keys: Vec<&str> = data.keys().map(String::as_str).collect();
                format!("{shown} has no key '{key}' (keys: {})", keys.join(", "))
            })?;
            return utf8(key, value);
        }
        let re = glob::compile(key).map_err(|e| format!("key glob '{key}' is malformed: {e}"))?;
        // BTreeMap iteration is already sorted by key, as Strimzi sorts matches.
        let values = data
            .iter()
            .filter(|(k, _)| re.is_match(k))
            .map(|(k, v)| utf8(k, v))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(values.join(&self.separator))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objects() -> Arc<dyn KubernetesObjects> {
        let mut o = MapObjects::default();
        o.insert(
            ObjectKind::ConfigMap,
            Some("repl"),
            "src",
            BTreeMap::from([
                ("alias".to_owned(), b"uswest".to_vec()),
                ("b.crt".to_owned(), b"B".to_vec()),
                ("a.crt".to_owned(), b"A".to_vec()),
            ]),
        );
        o.insert(
            ObjectKind::Secret,
            None,
            "pw",
            BTreeMap::from([
                ("bin".to_owned(), vec![0xff, 0xfe]),
                ("p".to_owned(), b"x".to_vec()),
            ]),
        );
        Arc::new(o)
    }

    fn provider(kind: ObjectKind, default_ns: Option<&str>) -> KubernetesProvider {
        let mut env = ProviderEnv::new(objects());
        env.default_namespace = default_ns.map(str::to_owned);
        KubernetesProvider::new(kind, &BTreeMap::new(), &env)
    }

    #[test]
    fn exact_and_glob_keys() {
        let p = provider(ObjectKind::ConfigMap, None);
        assert_eq!(p.get("repl/src", "alias").unwrap(), "uswest");
        assert_eq!(p.get("repl/src", "*.crt").unwrap(), "A\nB");
        assert_eq!(p.get("repl/src", "*.pem").unwrap(), "");
        assert_eq!(
            p.get("repl/src", "nope").unwrap_err(),
            "ConfigMap repl/src has no key 'nope' (keys: a.crt, alias, b.crt)"
        );
        assert!(!p.is_secret());
    }

    #[test]
    fn paths_namespaces_and_errors() {
        let p = provider(ObjectKind::ConfigMap, Some("repl"));
        assert_eq!(p.get("src", "alias").unwrap(), "uswest");
        assert!(
            p.get("Repl/Src", "alias")
                .unwrap_err()
                .contains("not a valid ConfigMap path")
        );
        assert_eq!(
            p.get("other/src", "alias").unwrap_err(),
            "ConfigMap other/src not found (pass its manifest with -f)"
        );
        let s = provider(ObjectKind::Secret, Some("anywhere"));
        assert!(s.is_secret());
        assert_eq!(s.get("pw", "p").unwrap(), "x");
        assert_eq!(
            s.get("pw", "bin").unwrap_err(),
            "key 'bin' of Secret anywhere/pw is not UTF-8 text"
        );
    }
}
