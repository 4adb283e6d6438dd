//! Flat configuration maps after `${...}` resolution: each value remembers whether it is
//! secret and how the user spelled its key, so errors can point at it without showing it.

use std::collections::BTreeMap;
use std::fmt;

/// One resolved configuration value.
#[derive(Clone, PartialEq, Eq)]
pub struct Setting {
    /// The value, with every `${...}` reference replaced.
    pub value: String,
    /// Whether the value must never be shown: it came from a secret provider, or its key names
    /// a password, JAAS configuration or key (see [`is_sensitive_key`]).
    pub sensitive: bool,
    /// The key as the user wrote it (e.g. `A->B.topics` for the connector key `topics`).
    pub written_as: String,
}

impl Setting {
    /// A value the user wrote directly under `key`.
    pub fn plain(key: &str, value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            sensitive: is_sensitive_key(key),
            written_as: key.to_owned(),
        }
    }

    /// The value for messages: the value itself, or `[redacted]` when it is sensitive.
    pub fn shown(&self) -> &str {
        if self.sensitive {
            "[redacted]"
        } else {
            &self.value
        }
    }
}

impl fmt::Debug for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Setting")
            .field("value", &self.shown())
            .field("written_as", &self.written_as)
            .finish()
    }
}

/// Resolved settings by key, sorted so iteration (and so warnings) are deterministic.
pub type Settings = BTreeMap<String, Setting>;

/// Whether a key's value is secret by its name alone: passwords, JAAS configurations, private
/// keys and other credentials, whatever provider (if any) supplied them.
pub fn is_sensitive_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("password")
        || key.contains("jaas")
        || key.contains("secret")
        || key.contains("credentials")
        || key.ends_with(".key")
        || key.ends_with("keystore.key")
        || key.ends_with("token")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_keys_by_name() {
        for k in [
            "sasl.jaas.config",
            "ssl.truststore.password",
            "target.cluster.ssl.key.password",
            "ssl.keystore.key",
            "sasl.oauthbearer.client.secret",
        ] {
            assert!(is_sensitive_key(k), "{k}");
        }
        for k in ["topics", "bootstrap.servers", "ssl.truststore.certificates"] {
            assert!(!is_sensitive_key(k), "{k}");
        }
    }

    #[test]
    fn debug_hides_sensitive_values() {
        let s = Setting::plain("sasl.jaas.config", "password=\"hunter2\"");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(s.shown(), "[redacted]");
        assert_eq!(Setting::plain("topics", "a").shown(), "a");
    }
}
