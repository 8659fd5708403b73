//! Command dispatch.

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// Runs one CLI command.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        _ => anyhow::bail!("not implemented yet"),
    }
}

/// The exit status for an error: 2 for bad usage or input, else 1.
pub fn exit_code_of(err: &anyhow::Error) -> u8 {
    err.chain()
        .find_map(|e| e.downcast_ref::<crate::Error>())
        .map(crate::Error::exit_code)
        .unwrap_or(1)
}
