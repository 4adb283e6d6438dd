//! `strait validate`: resolve the configuration and print it, without connecting anywhere.

use std::path::PathBuf;
use std::process::ExitCode;

use strait::config::{LoadOptions, describe, load_with};

use super::EXIT_INVALID_CONFIG;

/// Loads `files`, prints warnings and the resolved flows; exit 2 on invalid configuration.
pub fn validate(files: &[PathBuf], options: &LoadOptions) -> ExitCode {
    match load_with(files, options) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                eprintln!("warning: {w}");
            }
            print!("{}", describe(&loaded.config));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_INVALID_CONFIG)
        }
    }
}
