//! `signaldesk`: parse the command line, start logging, run the subcommand.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    signaldesk::cli::run(signaldesk::cli::Cli::parse())
}
