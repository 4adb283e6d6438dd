//! The `allowed.paths` parameter of Kafka's file and directory providers (3.8+): a reference
//! may only read below one of these absolute paths.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// The parameter name.
pub(super) const PARAM: &str = "allowed.paths";

/// Allowed roots; `None` allows everything (Kafka's default).
#[derive(Debug, Clone, Default)]
pub(super) struct AllowedPaths(Option<Vec<PathBuf>>);

impl AllowedPaths {
    /// Reads the parameter from provider params.
    pub(super) fn from_params(params: &BTreeMap<String, String>) -> Result<Self, String> {
        let Some(list) = params.get(PARAM) else {
            return Ok(Self(None));
        };
        let mut roots = Vec::new();
        for p in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let path = Path::new(p);
            if !path.is_absolute() {
                return Err(format!("{PARAM}: '{p}' is not an absolute path"));
            }
            roots.push(normalize(path));
        }
        Ok(Self(Some(roots)))
    }

    /// Checks that `path` (normalised, as Kafka does) lies below an allowed root.
    pub(super) fn check(&self, path: &Path) -> Result<(), String> {
        let Some(roots) = &self.0 else {
            return Ok(());
        };
        let normal = normalize(path);
        if roots.iter().any(|r| normal.starts_with(r)) {
            return Ok(());
        }
        let shown: Vec<String> = roots.iter().map(|r| r.display().to_string()).collect();
        Err(format!(
            "{} is not below the provider's {PARAM} ({})",
            path.display(),
            shown.join(", ")
        ))
    }
}

/// Removes `.` and resolves `..` lexically, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_allowed_roots_only() {
        let params = BTreeMap::from([(PARAM.to_owned(), "/opt/kafka, /etc/x".to_owned())]);
        let a = AllowedPaths::from_params(&params).unwrap();
        assert!(a.check(Path::new("/opt/kafka/p/file")).is_ok());
        assert!(a.check(Path::new("/opt/kafka/../etc/passwd")).is_err());
        assert!(a.check(Path::new("/opt/kafkaX/file")).is_err());
        assert!(AllowedPaths::default().check(Path::new("/any")).is_ok());
        let bad = BTreeMap::from([(PARAM.to_owned(), "relative".to_owned())]);
        assert!(AllowedPaths::from_params(&bad).is_err());
    }
}
