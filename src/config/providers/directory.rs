//! Kafka's DirectoryConfigProvider: `${dir:/some/dir:name}` is the whole content of the file
//! `name` directly inside `/some/dir` (as Kubernetes mounts Secrets), untrimmed.

use std::collections::BTreeMap;
use std::path::Path;

use super::ConfigProvider;
use super::allowed_paths::AllowedPaths;

/// The Java class name.
pub const CLASS: &str = "org.apache.kafka.common.config.provider.DirectoryConfigProvider";

/// Reads files of a directory; treated as secret since it serves mounted Secrets.
#[derive(Debug)]
pub struct DirectoryProvider {
    allowed: AllowedPaths,
}

impl DirectoryProvider {
    /// A provider with the given `config.providers.<n>.param.*`.
    pub fn new(params: &BTreeMap<String, String>) -> Result<Self, String> {
        Ok(Self {
            allowed: AllowedPaths::from_params(params)?,
        })
    }
}

impl ConfigProvider for DirectoryProvider {
    fn is_secret(&self) -> bool {
        true
    }

    fn get(&self, path: &str, key: &str) -> Result<String, String> {
        let dir = Path::new(path);
        self.allowed.check(dir)?;
        if !dir.is_dir() {
            return Err(format!("{path} is not a directory"));
        }
        // Only a file directly inside the directory: no separators, no `..`.
        if key.is_empty() || key.contains('/') || key == "." || key == ".." {
            return Err(format!("'{key}' is not a file name"));
        }
        let file = dir.join(key);
        if !file.is_file() {
            return Err(format!("{} has no file '{key}'", dir.display()));
        }
        std::fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_file_untrimmed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pass"), "s3cret\n").unwrap();
        let p = DirectoryProvider::new(&BTreeMap::new()).unwrap();
        let d = dir.path().to_str().unwrap();
        assert_eq!(p.get(d, "pass").unwrap(), "s3cret\n");
        assert!(
            p.get(d, "nope")
                .unwrap_err()
                .ends_with("has no file 'nope'")
        );
        assert!(p.get(d, "../x").is_err());
        assert!(
            p.get("/nonexistent-dir", "pass")
                .unwrap_err()
                .contains("not a directory")
        );
        assert!(p.is_secret());
    }
}
