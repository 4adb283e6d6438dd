//! A temporary directory where tests make stores with the real tools (`openssl`, `keytool`).

use std::path::PathBuf;
use std::process::Command;

/// A fresh temporary directory; the tools run inside it.
pub(crate) struct ToolBed {
    pub(crate) dir: tempfile::TempDir,
}

impl ToolBed {
    pub(crate) fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A file of the directory.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `program` in the directory; panics with its output unless it succeeds. Returns
    /// its standard output.
    pub(crate) fn run(&self, program: &str, args: &[&str]) -> String {
        let out = Command::new(program)
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program} (needed by these tests): {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}
