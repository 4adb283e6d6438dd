//! The command line: one file per subcommand.

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
    /// Run replication flows until SIGTERM or SIGINT.
    Run {
        /// Configuration file(s).
        #[arg(short = 'f', long = "config", required = true)]
        config: Vec<PathBuf>,
    },
}
