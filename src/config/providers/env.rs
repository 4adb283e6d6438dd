//! Kafka's EnvVarConfigProvider: `${env:NAME}` is an environment variable.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{ConfigProvider, EnvLookup, ProviderEnv};

/// The Java class name.
pub const CLASS: &str = "org.apache.kafka.common.config.provider.EnvVarConfigProvider";

/// `config.providers.<n>.param.allowlist.pattern`: regex (whole name) of readable variables.
pub const ALLOWLIST_PARAM: &str = "allowlist.pattern";

/// Reads environment variables.
pub struct EnvVarProvider {
    allowlist: Option<regex::Regex>,
    lookup: EnvLookup,
}

impl std::fmt::Debug for EnvVarProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvVarProvider")
            .field("allowlist", &self.allowlist)
            .finish_non_exhaustive()
    }
}

impl EnvVarProvider {
    /// A provider with the given `config.providers.<n>.param.*`.
    pub fn new(params: &BTreeMap<String, String>, env: &ProviderEnv) -> Result<Self, String> {
        let allowlist = match params.get(ALLOWLIST_PARAM) {
            None => None,
            Some(p) => Some(
                regex::Regex::new(&format!("^(?:{p})$"))
                    .map_err(|e| format!("{ALLOWLIST_PARAM} '{p}' is not a valid regex: {e}"))?,
            ),
        };
        Ok(Self {
            allowlist,
            lookup: Arc::clone(&env.env_var),
        })
    }
}

impl ConfigProvider for EnvVarProvider {
    fn is_secret(&self) -> bool {
        false
    }

    fn get(&self, path: &str, key: &str) -> Result<String, String> {
        if !path.is_empty() {
            return Err("environment variables take no path (write ${env:NAME})".to_owned());
        }
        if let Some(allow) = &self.allowlist
            && !allow.is_match(key)
        {
            return Err(format!(
                "'{key}' does not match the provider's {ALLOWLIST_PARAM}"
            ));
        }
        (self.lookup)(key).ok_or_else(|| format!("environment variable '{key}' is not set"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::providers::kubernetes::MapObjects;

    #[test]
    fn lookup_allowlist_and_path() {
        let mut env = ProviderEnv::new(Arc::new(MapObjects::default()));
        env.env_var = Arc::new(|n| (n == "KAFKA_USER").then(|| "u".to_owned()));
        let params = BTreeMap::from([(ALLOWLIST_PARAM.to_owned(), "KAFKA_.*".to_owned())]);
        let p = EnvVarProvider::new(&params, &env).unwrap();
        assert_eq!(p.get("", "KAFKA_USER").unwrap(), "u");
        assert_eq!(
            p.get("", "KAFKA_NOPE").unwrap_err(),
            "environment variable 'KAFKA_NOPE' is not set"
        );
        assert!(p.get("", "HOME").unwrap_err().contains("allowlist.pattern"));
        assert!(p.get("x", "KAFKA_USER").is_err());
        let bad = BTreeMap::from([(ALLOWLIST_PARAM.to_owned(), "(".to_owned())]);
        assert!(EnvVarProvider::new(&bad, &env).is_err());
    }
}
