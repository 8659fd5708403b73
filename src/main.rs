//! The `sweeplab` binary: parses the command line (`cli`) and turns errors into exit codes;
//! `anyhow` lives only here and in `cli`.

use std::process::ExitCode;

use clap::Parser;
use sweeplab::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match sweeplab::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(sweeplab::cli::exit_code_of(&err))
        }
    }
}
