//! The `strait` binary: parses the command line, runs the subcommand, maps errors to exit codes
//! (0 ok, 1 runtime failure, 2 invalid configuration).

mod cli;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use cli::{Cli, Command, LogFormat};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let options = cli.load_options();
    match cli.command {
        Command::Run { config, http_addr } => cli::run::run(&config, http_addr, &options),
        Command::Validate { config } => cli::validate::validate(&config, &options),
        Command::Check(args) => cli::check::check(&args, &options),
        Command::Verify(args) => cli::verify::verify(&args, &options),
        Command::Offsets(args) => cli::offsets::offsets(&args, &options),
    }
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_env("STRAIT_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only on a terminal: log files and CI output stay plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
