//! `strait check`: connect to every cluster of every flow as the configured users and list each
//! Kafka permission (ACL) a flow needs that the user lacks, by name, before a flow runs into
//! it. Exit 0 when nothing is missing, 1 when something is (or a cluster could not be
//! checked), 2 on invalid configuration. See docs/permissions.md.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use strait::config::{LoadOptions, load_with};
use strait::permissions::{Verdict, check as check_flow};

use super::{EXIT_FAILURE, EXIT_INVALID_CONFIG};

/// Arguments of `strait check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Configuration files, as for `run`.
    #[arg(short = 'f', long = "config", required = true)]
    pub config: Vec<PathBuf>,
    /// Seconds each request to a cluster may take.
    #[arg(long, default_value_t = 15)]
    pub timeout: u64,
    /// Also list the permissions that are granted (`ok`).
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

/// Runs `strait check`.
pub fn check(args: &CheckArgs, options: &LoadOptions) -> ExitCode {
    let loaded = match load_with(&args.config, options) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: invalid configuration: {e}");
            return ExitCode::from(EXIT_INVALID_CONFIG);
        }
    };
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let timeout = Duration::from_secs(args.timeout.max(1));
    let (mut missing, mut unverified, mut granted, mut failed) = (0usize, 0usize, 0usize, 0usize);
    for flow in &loaded.config.flows {
        println!("flow {}", flow.name());
        for report in runtime.block_on(check_flow(flow, timeout)) {
            println!(
                "  {} ({}, as {})",
                report.label, report.bootstrap, report.principal
            );
            if let Some(e) = &report.error {
                println!("ERROR    {}: not checked: {e}", report.label);
                failed += 1;
                continue;
            }
            for o in &report.outcomes {
                match &o.verdict {
                    Verdict::Granted => {
                        granted += 1;
                        if args.verbose {
                            println!("{}", o.line(&report.label));
                        }
                    }
                    Verdict::Missing => {
                        missing += 1;
                        println!("{}", o.line(&report.label));
                        println!(
                            "         grant: {}",
                            o.permission.kafka_acls_command(&report.principal)
                        );
                    }
                    Verdict::Unverified(_) => {
                        unverified += 1;
                        println!("{}", o.line(&report.label));
                    }
                }
            }
        }
    }
    println!(
        "{granted} granted, {missing} missing, {unverified} not verifiable yet, {failed} cluster(s) not checked"
    );
    if missing > 0 || failed > 0 {
        ExitCode::from(EXIT_FAILURE)
    } else {
        ExitCode::SUCCESS
    }
}
