//! A temporary directory where tests make stores with the real tools (`openssl`, `keytool`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The running test bed's env file as `KEY` -> value (`STRAIT_TESTBED_RUN/env`, else
/// `testbed/run/env`). `None` (with one line saying so) when the bed is not up, so `cargo test`
/// on a bare machine passes the unit tests; with `STRAIT_REQUIRE_TESTBED` set (scripts/test.sh,
/// CI) a missing bed fails the test instead.
pub(crate) fn testbed_env(test: &str) -> Option<impl Fn(&str) -> String> {
    let file = std::env::var_os("STRAIT_TESTBED_RUN")
        .map(|run| PathBuf::from(run).join("env"))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("testbed/run/env"));
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) if std::env::var_os("STRAIT_REQUIRE_TESTBED").is_some() => {
            panic!("{test}: the test bed is not up ({}: {e})", file.display())
        }
        Err(_) => {
            // Straight to stderr: the test harness captures `eprintln!` of passing tests.
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!("skipped {test}: needs the test bed (testbed/kafka.sh up)\n").as_bytes(),
            );
            return None;
        }
    };
    Some(move |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("{key} missing from {}", file.display()))
            .to_owned()
    })
}

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
