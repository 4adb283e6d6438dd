//! Kafka config providers: `${provider:[path:]key}` references in configuration values,
//! resolved by the providers declared with `config.providers=a,b`,
//! `config.providers.<name>.class=<Java class>` and `config.providers.<name>.param.<k>=<v>`.
//!
//! Resolution follows Kafka (one pass, resolved text is not scanned again, several references
//! per value), with one deliberate difference: a reference that cannot be resolved (unknown
//! provider, missing file, object or key) is an error naming it, never an empty string or
//! literal text left in place.

mod allowed_paths;
pub mod directory;
pub mod env;
pub mod file;
pub mod glob;
pub mod kube_api;
pub mod kubernetes;
pub mod placeholder;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use super::error::{ConfigError, ConfigWarning, Origin};
use super::properties::Properties;
use super::settings::{Setting, Settings, is_sensitive_key};
pub use kubernetes::{KubernetesObjects, ObjectKind};
pub use placeholder::{Placeholder, find_placeholders};

/// One provider implementation (Kafka's `ConfigProvider`).
pub trait ConfigProvider: fmt::Debug + Send + Sync {
    /// Whether the values it returns are secrets (never shown in messages).
    fn is_secret(&self) -> bool;

    /// The value of `key` under `path`. The error explains why there is none and must never
    /// contain a value.
    fn get(&self, path: &str, key: &str) -> Result<String, String>;
}

/// Looks up an environment variable.
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Stand-in `.properties` files by path; an `Err` says why one could not be built.
pub type VirtualFiles = BTreeMap<PathBuf, Result<Properties, String>>;

/// What the providers may read: Kubernetes objects, environment variables and files that
/// stand in for files Strait's own pod does not have.
#[derive(Clone)]
pub struct ProviderEnv {
    /// ConfigMaps and Secrets (from manifests given with `-f`, then the Kubernetes API).
    pub kubernetes: Arc<dyn KubernetesObjects>,
    /// The namespace of a Kubernetes reference without one (`${secret:name:key}`); Strimzi's
    /// providers use the pod's namespace, so readers pass the KafkaConnect's.
    pub default_namespace: Option<String>,
    /// Looks up an environment variable (injectable so tests need no process environment).
    pub env_var: EnvLookup,
    /// `.properties` files used by the FileConfigProvider when no such file exists locally,
    /// e.g. `/tmp/strimzi-connect.properties` derived from a KafkaConnect. An `Err` explains
    /// why the stand-in could not be built, and is reported only if the file is referenced.
    pub virtual_files: Arc<VirtualFiles>,
}

impl ProviderEnv {
    /// An environment reading the process environment and the given Kubernetes objects.
    pub fn new(kubernetes: Arc<dyn KubernetesObjects>) -> Self {
        Self {
            kubernetes,
            default_namespace: None,
            env_var: Arc::new(|name| std::env::var(name).ok()),
            virtual_files: Arc::new(BTreeMap::new()),
        }
    }
}

impl fmt::Debug for ProviderEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderEnv")
            .field("kubernetes", &self.kubernetes)
            .field("default_namespace", &self.default_namespace)
            .field(
                "virtual_files",
                &self.virtual_files.keys().collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Java provider classes and the Rust implementation each maps to.
pub const KNOWN_CLASSES: &[&str] = &[
    file::CLASS,
    directory::CLASS,
    env::CLASS,
    kubernetes::CONFIG_MAP_CLASS,
    kubernetes::SECRET_CLASS,
];

/// A value with its references replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The resolved text.
    pub value: String,
    /// Whether any part came from a secret provider.
    pub secret: bool,
}

/// A reference that could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    /// The reference as written.
    pub reference: String,
    /// Why.
    pub reason: String,
}

/// The providers of one configuration scope (a Connect worker, an `mm2.properties`).
#[derive(Debug, Default)]
pub struct Providers {
    entries: BTreeMap<String, Result<Box<dyn ConfigProvider>, String>>,
}

impl Providers {
    /// No providers: every reference is an error.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the provider `name`.
    pub fn insert(&mut self, name: impl Into<String>, provider: Box<dyn ConfigProvider>) {
        self.entries.insert(name.into(), Ok(provider));
    }

    /// Whether a provider `name` is declared (even if its class is unknown).
    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// Adds a provider by its Java class name. An unknown class or bad parameter is recorded
    /// and reported when a reference uses the provider, as Kafka fails only when it loads it;
    /// a warning says so now.
    pub fn declare(
        &mut self,
        name: &str,
        class: Option<&str>,
        params: &BTreeMap<String, String>,
        env: &ProviderEnv,
        at: &Origin,
        warnings: &mut Vec<ConfigWarning>,
    ) {
        let class_key = format!("config.providers.{name}.class");
        let built = match class {
            None => Err(format!("{class_key} is not set")),
            Some(class) => build(class.trim(), params, env).map(|(provider, unknown)| {
                for param in unknown {
                    warnings.push(ConfigWarning::new(
                        at.clone()
                            .with_key(format!("config.providers.{name}.param.{param}")),
                        format!("parameter not supported by {class}; ignored"),
                    ));
                }
                provider
            }),
        };
        if let Err(reason) = &built {
            warnings.push(ConfigWarning::new(
                at.clone().with_key(class_key),
                format!("provider '{name}' cannot be used: {reason}"),
            ));
        }
        self.entries.insert(name.to_owned(), built);
    }

    /// Declares the providers a configuration lists in `config.providers` (its keys given as
    /// `(key, value)` pairs, unresolved).
    pub fn from_config<'a>(
        config: impl IntoIterator<Item = (&'a str, &'a str)>,
        env: &ProviderEnv,
        at: &Origin,
        warnings: &mut Vec<ConfigWarning>,
    ) -> Self {
        let config: BTreeMap<&str, &str> = config.into_iter().collect();
        let mut providers = Self::new();
        let Some(names) = config.get("config.providers") else {
            return providers;
        };
        for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let param_prefix = format!("config.providers.{name}.param.");
            let params: BTreeMap<String, String> = config
                .iter()
                .filter_map(|(k, v)| {
                    k.strip_prefix(&param_prefix)
                        .map(|p| (p.to_owned(), (*v).to_owned()))
                })
                .collect();
            let class = config
                .get(format!("config.providers.{name}.class").as_str())
                .copied();
            providers.declare(name, class, &params, env, at, warnings);
        }
        providers
    }

    /// Replaces every reference in `value` (one pass, left to right).
    pub fn resolve(&self, value: &str) -> Result<Resolved, Unresolved> {
        let mut out = String::with_capacity(value.len());
        let mut secret = false;
        let mut last = 0;
        for p in find_placeholders(value) {
            out.push_str(&value[last..p.range.start]);
            last = p.range.end;
            let unresolved = |reason: String| Unresolved {
                reference: p.text.to_owned(),
                reason,
            };
            let provider = match self.entries.get(p.provider) {
                Some(Ok(provider)) => provider,
                Some(Err(reason)) => return Err(unresolved(reason.clone())),
                None => {
                    let known: Vec<&str> = self.entries.keys().map(String::as_str).collect();
                    return Err(unresolved(if known.is_empty() {
                        format!(
                            "no config provider named '{}' is declared (config.providers is empty)",
                            p.provider
                        )
                    } else {
                        format!(
                            "no config provider named '{}' (declared: {})",
                            p.provider,
                            known.join(", ")
                        )
                    }));
                }
            };
            let got = provider.get(p.path, p.key).map_err(unresolved)?;
            if !find_placeholders(&got).is_empty() {
                // Kafka would pass the inner reference on as literal text; Strait refuses to.
                return Err(unresolved(
                    "the value it returns contains another ${...} reference, which Kafka never \
                     resolves (references are resolved in one pass)"
                        .to_owned(),
                ));
            }
            secret |= provider.is_secret();
            out.push_str(&got);
        }
        out.push_str(&value[last..]);
        Ok(Resolved { value: out, secret })
    }

    /// Resolves a whole configuration: `(key, value, key as written)` triples into
    /// [`Settings`]. Errors name `at`, the key and the reference.
    pub fn resolve_all<'a>(
        &self,
        raw: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
        at: &Origin,
    ) -> Result<Settings, ConfigError> {
        let mut settings = Settings::new();
        for (key, value, written_as) in raw {
            let resolved = self.resolve(value).map_err(|u| ConfigError::Unresolved {
                at: Box::new(at.clone().with_key_as(key, written_as)),
                reference: u.reference,
                reason: u.reason,
            })?;
            settings.insert(
                key.to_owned(),
                Setting {
                    value: resolved.value,
                    sensitive: resolved.secret
                        || is_sensitive_key(key)
                        || is_sensitive_key(written_as),
                    written_as: written_as.to_owned(),
                },
            );
        }
        Ok(settings)
    }
}

/// Builds the provider for a Java class; also returns the parameters it does not know.
fn build(
    class: &str,
    params: &BTreeMap<String, String>,
    env: &ProviderEnv,
) -> Result<(Box<dyn ConfigProvider>, Vec<String>), String> {
    let unknown = |known: &[&str]| -> Vec<String> {
        params
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .cloned()
            .collect()
    };
    match class {
        file::CLASS => Ok((
            Box::new(file::FileProvider::new(params, env)?),
            unknown(&[allowed_paths::PARAM]),
        )),
        directory::CLASS => Ok((
            Box::new(directory::DirectoryProvider::new(params)?),
            unknown(&[allowed_paths::PARAM]),
        )),
        env::CLASS => Ok((
            Box::new(env::EnvVarProvider::new(params, env)?),
            unknown(&[env::ALLOWLIST_PARAM]),
        )),
        kubernetes::CONFIG_MAP_CLASS => Ok((
            Box::new(kubernetes::KubernetesProvider::new(
                ObjectKind::ConfigMap,
                params,
                env,
            )),
            unknown(&[kubernetes::SEPARATOR_PARAM]),
        )),
        kubernetes::SECRET_CLASS => Ok((
            Box::new(kubernetes::KubernetesProvider::new(
                ObjectKind::Secret,
                params,
                env,
            )),
            unknown(&[kubernetes::SEPARATOR_PARAM]),
        )),
        other => Err(format!(
            "unknown provider class '{other}' (Strait supports {})",
            KNOWN_CLASSES.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::providers::kubernetes::MapObjects;

    #[derive(Debug)]
    struct Fixed(&'static str, bool);
    impl ConfigProvider for Fixed {
        fn is_secret(&self) -> bool {
            self.1
        }
        fn get(&self, path: &str, key: &str) -> Result<String, String> {
            match key {
                "missing" => Err(format!("no key '{key}' at '{path}'")),
                "nested" => Ok("${a:x}".to_owned()),
                _ => Ok(format!("{}[{path}|{key}]", self.0)),
            }
        }
    }

    fn providers() -> Providers {
        let mut p = Providers::new();
        p.insert("a", Box::new(Fixed("A", false)));
        p.insert("s", Box::new(Fixed("S", true)));
        p
    }

    #[test]
    fn one_pass_several_references() {
        let r = providers()
            .resolve("x ${a:k} y ${a:p:k:z} ${a:nested}")
            .unwrap_err();
        assert_eq!(r.reference, "${a:nested}");
        let r = providers().resolve("x ${a:k} y ${a:p:k:z}").unwrap();
        assert_eq!(r.value, "x A[|k] y A[p|k:z]");
        assert!(!r.secret);
        assert!(providers().resolve("${s:k}").unwrap().secret);
        assert_eq!(
            providers().resolve("plain $x {y}").unwrap().value,
            "plain $x {y}"
        );
    }

    #[test]
    fn unknown_provider_and_missing_key_are_errors() {
        let e = providers().resolve("${zz:k}").unwrap_err();
        assert_eq!(e.reference, "${zz:k}");
        assert_eq!(e.reason, "no config provider named 'zz' (declared: a, s)");
        let e = providers().resolve("${a:p:missing}").unwrap_err();
        assert_eq!(e.reason, "no key 'missing' at 'p'");
    }

    #[test]
    fn declared_from_config_with_unknown_class() {
        let env = ProviderEnv::new(Arc::new(MapObjects::default()));
        let mut warnings = Vec::new();
        let p = Providers::from_config(
            [
                ("config.providers", "file,vault"),
                ("config.providers.file.class", file::CLASS),
                (
                    "config.providers.vault.class",
                    "com.example.VaultConfigProvider",
                ),
            ],
            &env,
            &Origin::file("w.properties"),
            &mut warnings,
        );
        assert!(p.contains("file") && p.contains("vault"));
        let e = p.resolve("${vault:secret/x:pw}").unwrap_err();
        assert!(
            e.reason
                .starts_with("unknown provider class 'com.example.VaultConfigProvider'"),
            "{}",
            e.reason
        );
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0]
                .to_string()
                .contains("config.providers.vault.class")
        );
    }

    #[test]
    fn resolve_all_marks_secret_values_and_names_the_key() {
        let settings = providers()
            .resolve_all(
                [
                    ("t", "${a:k}", "t"),
                    ("pw", "${s:k}", "A.pw"),
                    ("x.password", "lit", "x.password"),
                ],
                &Origin::file("f"),
            )
            .unwrap();
        assert!(!settings["t"].sensitive);
        assert!(settings["pw"].sensitive);
        assert!(settings["x.password"].sensitive);
        let e = providers()
            .resolve_all(
                [("topics", "${cfmap:ns/n:topics}", "A->B.topics")],
                &Origin::file("f"),
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "f, key 'topics' (set as 'A->B.topics'): cannot resolve ${cfmap:ns/n:topics}: \
             no config provider named 'cfmap' (declared: a, s)"
        );
    }
}
