use std::process::ExitCode;

use clap::Parser;
use sweeplab::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match sweeplab::app::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(sweeplab::app::exit_code_of(&err))
        }
    }
}
