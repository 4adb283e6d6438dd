//! `strait verify`: compare every replicated source partition with its remote copy and print
//! the verdict as a table (or JSON). Exit 0 only when everything checked is equal.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use strait::config::{LoadOptions, load_with};
use strait::verify::{VerifyOptions, verify as run_verify};

use super::{EXIT_FAILURE, EXIT_INVALID_CONFIG};

/// Arguments of `strait verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Configuration files, as for `run` (flows, aliases, replication policy, topic filters).
    #[arg(short = 'f', long = "config", required = true)]
    pub config: Vec<PathBuf>,
    /// Only source topics matching this regex (whole name, as MM2's `topics`). Repeatable.
    #[arg(long = "topic")]
    pub topics: Vec<String>,
    /// Only this flow (`source->target`, or its source alias). Repeatable.
    #[arg(long = "flow")]
    pub flows: Vec<String>,
    /// Only this partition. Repeatable.
    #[arg(long = "partition")]
    pub partitions: Vec<i32>,
    /// Source offset to start from in every partition checked (default: the log start, see
    /// `docs/verify.md` for how the copy's start is found).
    #[arg(long)]
    pub from_offset: Option<i64>,
    /// Partitions checked at the same time.
    #[arg(long, default_value_t = 4)]
    pub parallelism: usize,
    /// Do not compare timestamps (for remote topics with `message.timestamp.type=LogAppendTime`).
    #[arg(long)]
    pub ignore_timestamps: bool,
    /// Seconds a partition may deliver nothing before its end before it is reported as not
    /// checked.
    #[arg(long, default_value_t = 30)]
    pub idle_timeout: u64,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `strait verify`: 0 when every partition checked is equal, 1 when one is not or could
/// not be checked, 2 on invalid configuration.
pub fn verify(args: &VerifyArgs, options: &LoadOptions) -> ExitCode {
    let loaded = match load_with(&args.config, options) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: invalid configuration: {e}");
            return ExitCode::from(EXIT_INVALID_CONFIG);
        }
    };
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    let opts = VerifyOptions {
        flows: args.flows.clone(),
        topics: args.topics.clone(),
        partitions: args.partitions.clone(),
        from_offset: args.from_offset,
        parallelism: args.parallelism.max(1),
        compare_timestamps: !args.ignore_timestamps,
        idle_timeout: Duration::from_secs(args.idle_timeout.max(1)),
        // A bar only for a person watching: never in CI logs or pipes.
        progress: std::io::stderr().is_terminal(),
    };
    let report = match run_verify(&loaded.config.flows, &opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("error: cannot write the report as JSON: {e}");
                return ExitCode::from(EXIT_FAILURE);
            }
        }
    } else {
        print!("{}", report.table());
    }
    if report.equal {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILURE)
    }
}
