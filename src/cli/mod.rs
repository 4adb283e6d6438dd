//! The command line: one file per subcommand.

pub mod run;
pub mod validate;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Strait: Kafka cross-cluster replication, compatible with MirrorMaker 2.
#[derive(Debug, Parser)]
#[command(name = "strait", version, about, long_about = None)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "STRAIT_LOG_FORMAT"
    )]
    pub log_format: LogFormat,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Strait's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the configured replication flows until SIGTERM or SIGINT.
    Run {
        /// Configuration files: Strait YAML, mm2.properties, or Kubernetes manifests (Strimzi
        /// KafkaConnect/KafkaConnector, ConfigMaps, Secrets). Repeatable.
        #[arg(short = 'f', long = "config", required = true)]
        config: Vec<PathBuf>,
    },
    /// Check configuration files without starting anything; print the resolved flows with
    /// secrets redacted. Exit code 2 when the configuration is invalid.
    Validate {
        /// Configuration files, as for `run`.
        #[arg(short = 'f', long = "config", required = true)]
        config: Vec<PathBuf>,
    },
}

/// Exit code for an invalid configuration.
pub const EXIT_INVALID_CONFIG: u8 = 2;
/// Exit code for a runtime failure.
pub const EXIT_FAILURE: u8 = 1;
