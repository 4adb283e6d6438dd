//! Kafka's FileConfigProvider: `${file:/path/to/file.properties:key}` reads a key of a
//! `.properties` file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::allowed_paths::AllowedPaths;
use super::{ConfigProvider, ProviderEnv, VirtualFiles};
use crate::config::properties::Properties;

/// The Java class name.
pub const CLASS: &str = "org.apache.kafka.common.config.provider.FileConfigProvider";

/// Reads keys of `.properties` files; files Strait's pod lacks may have stand-ins
/// ([`ProviderEnv::virtual_files`]).
#[derive(Debug)]
pub struct FileProvider {
    allowed: AllowedPaths,
    virtual_files: Arc<VirtualFiles>,
    // Each file is read once, so all keys of one file come from the same contents.
    cache: Mutex<BTreeMap<PathBuf, Result<Properties, String>>>,
}

impl FileProvider {
    /// A provider with the given `config.providers.<n>.param.*`.
    pub fn new(params: &BTreeMap<String, String>, env: &ProviderEnv) -> Result<Self, String> {
        Ok(Self {
            allowed: AllowedPaths::from_params(params)?,
            virtual_files: Arc::clone(&env.virtual_files),
            cache: Mutex::new(BTreeMap::new()),
        })
    }

    fn load(&self, path: &Path) -> Result<Properties, String> {
        if path.exists() {
            return Properties::read(path).map_err(|e| e.to_string());
        }
        match self.virtual_files.get(path) {
            Some(Ok(props)) => Ok(props.clone()),
            Some(Err(reason)) => Err(reason.clone()),
            None => Err(format!("file {} does not exist", path.display())),
        }
    }
}

impl ConfigProvider for FileProvider {
    fn is_secret(&self) -> bool {
        false
    }

    fn get(&self, path: &str, key: &str) -> Result<String, String> {
        if path.is_empty() {
            return Err(
                "the reference names no file (expected ${provider:/path/file.properties:key})"
                    .to_owned(),
            );
        }
        let path = PathBuf::from(path);
        self.allowed.check(&path)?;
        let props = {
            let mut cache = self
                .cache
                .lock()
                .map_err(|_| "file cache poisoned".to_owned())?;
            cache
                .entry(path.clone())
                .or_insert_with(|| self.load(&path))
                .clone()?
        };
        props
            .get(key)
            .map(str::to_owned)
            .ok_or_else(|| format!("{} has no key '{key}'", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::providers::kubernetes::MapObjects;
    use std::io::Write;

    fn env(virtual_files: BTreeMap<PathBuf, Result<Properties, String>>) -> ProviderEnv {
        let mut env = ProviderEnv::new(Arc::new(MapObjects::default()));
        env.virtual_files = Arc::new(virtual_files);
        env
    }

    #[test]
    fn reads_keys_and_reports_missing_ones() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "a=1\nb.c : x:y").unwrap();
        let p = FileProvider::new(&BTreeMap::new(), &env(BTreeMap::new())).unwrap();
        let path = f.path().to_str().unwrap();
        assert_eq!(p.get(path, "a").unwrap(), "1");
        assert_eq!(p.get(path, "b.c").unwrap(), "x:y");
        assert!(p.get(path, "zz").unwrap_err().ends_with("has no key 'zz'"));
        assert_eq!(
            p.get("/nonexistent/f.properties", "a").unwrap_err(),
            "file /nonexistent/f.properties does not exist"
        );
    }

    #[test]
    fn stand_in_files_and_allowed_paths() {
        let props: Properties = [("k".to_owned(), "v".to_owned())].into_iter().collect();
        let vf = BTreeMap::from([
            (PathBuf::from("/nonexistent/strimzi.properties"), Ok(props)),
            (
                PathBuf::from("/nonexistent/broken.properties"),
                Err("no Secret".to_owned()),
            ),
        ]);
        let params = BTreeMap::from([("allowed.paths".to_owned(), "/nonexistent".to_owned())]);
        let p = FileProvider::new(&params, &env(vf)).unwrap();
        assert_eq!(p.get("/nonexistent/strimzi.properties", "k").unwrap(), "v");
        assert_eq!(
            p.get("/nonexistent/broken.properties", "k").unwrap_err(),
            "no Secret"
        );
        assert!(
            p.get("/etc/x.properties", "k")
                .unwrap_err()
                .contains("allowed.paths")
        );
    }
}
