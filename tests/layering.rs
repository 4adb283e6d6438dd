//! The parts of `src/` depend only downward (docs/architecture.md, "The folders, bottom to
//! top"): this test reads every source file and fails on an import of a part that is not below
//! the importing one. Test modules (`#[cfg(test)] mod tests`) and comments are not counted.
//! Within a part, files may use each other freely.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::path::{Path, PathBuf};

/// Each part and the parts it may use.
const ALLOWED: &[(&str, &[&str])] = &[
    ("wire", &[]),
    ("policy", &[]),
    ("config", &["policy"]),
    ("kafka", &["config"]),
    ("status", &["config", "kafka", "policy"]),
    ("permissions", &["policy", "config", "kafka"]),
    ("source", &["wire", "policy", "config", "kafka", "status"]),
    (
        "checkpoint",
        &["wire", "policy", "config", "kafka", "status"],
    ),
    (
        "heartbeat",
        &["wire", "policy", "config", "kafka", "status"],
    ),
    (
        "flow",
        &[
            "wire",
            "policy",
            "config",
            "kafka",
            "status",
            "permissions",
            "source",
            "checkpoint",
            "heartbeat",
        ],
    ),
    ("http", &["status"]),
    ("verify", &["wire", "policy", "config", "kafka", "source"]),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source without test modules and comment lines.
fn production_code(text: &str) -> String {
    let text = text
        .split_once("#[cfg(test)]\nmod tests")
        .map_or(text, |(code, _)| code);
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn parts_depend_only_downward() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let parts: Vec<&str> = ALLOWED.iter().map(|(p, _)| *p).collect();
    let mut violations = Vec::new();
    for (part, allowed) in ALLOWED {
        let mut files = Vec::new();
        rust_files(&src.join(part), &mut files);
        assert!(!files.is_empty(), "src/{part} has no files");
        for file in files {
            let code = production_code(&std::fs::read_to_string(&file).unwrap());
            for other in &parts {
                if other == part || allowed.contains(other) {
                    continue;
                }
                if code.contains(&format!("crate::{other}::"))
                    || code.contains(&format!("crate::{other};"))
                    || code.contains(&format!("crate::{other}}}"))
                {
                    violations.push(format!(
                        "{} uses crate::{other} ({part} may use: {})",
                        file.strip_prefix(&src).unwrap().display(),
                        allowed.join(", ")
                    ));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "imports against the layering of docs/architecture.md:\n{}",
        violations.join("\n")
    );
}
