//! The command line: one file per subcommand.

pub mod check;
pub mod http;
pub mod offsets;
pub mod run;
pub mod validate;
pub mod verify;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use strait::config::{KubernetesApiMode, KubernetesApiOptions, LoadOptions};

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

    /// When ConfigMaps and Secrets that no file given with -f holds are read from the
    /// Kubernetes API: `auto` only in a pod (KUBERNETES_SERVICE_HOST set), with its service
    /// account; `always`, also through a kubeconfig (KUBECONFIG or ~/.kube/config); `never`.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        env = "STRAIT_KUBERNETES_API"
    )]
    pub kubernetes_api: KubernetesApi,

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

impl Cli {
    /// How configuration files are loaded: the process environment and the API mode.
    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            kubernetes_api: KubernetesApiOptions {
                mode: match self.kubernetes_api {
                    KubernetesApi::Auto => KubernetesApiMode::Auto,
                    KubernetesApi::Always => KubernetesApiMode::Always,
                    KubernetesApi::Never => KubernetesApiMode::Never,
                },
                ..KubernetesApiOptions::default()
            },
            ..LoadOptions::default()
        }
    }
}

/// `--kubernetes-api`: when the Kubernetes API is consulted for ConfigMaps and Secrets.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum KubernetesApi {
    /// Only when running in a pod.
    Auto,
    /// Always (a kubeconfig outside a cluster).
    Always,
    /// Never: only files given with -f.
    Never,
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
        /// Where to serve /healthz, /readyz, /metrics, /status, Connect's /connectors and the
        /// dashboard [default: 0.0.0.0:8080; port 0 picks a free port]. An address given here
        /// must be free; when the default is taken Strait logs an error and runs without it.
        #[arg(long = "http-addr", env = "STRAIT_HTTP_ADDR", value_name = "HOST:PORT")]
        http_addr: Option<SocketAddr>,
    },
    /// Check configuration files without starting anything; print the resolved flows with
    /// secrets redacted. Exit code 2 when the configuration is invalid.
    Validate {
        /// Configuration files, as for `run`.
        #[arg(short = 'f', long = "config", required = true)]
        config: Vec<PathBuf>,
    },
    /// Connect to every cluster as the configured users and list each Kafka permission (ACL)
    /// the flows need that is missing (docs/permissions.md). Exit 1 when one is missing.
    Check(check::CheckArgs),
    /// Compare every replicated source partition with its remote copy (counts, and in order
    /// key, value, headers, timestamp); exit 0 only when everything checked is equal.
    Verify(verify::VerifyArgs),
    /// Consumer-group failover: the target offsets a group should use (`translate`), and
    /// writing them to the target group (`apply`).
    Offsets(offsets::OffsetsArgs),
}

/// Exit code for an invalid configuration.
pub const EXIT_INVALID_CONFIG: u8 = 2;
/// Exit code for a runtime failure.
pub const EXIT_FAILURE: u8 = 1;
