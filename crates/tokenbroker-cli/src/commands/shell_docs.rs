//! `tokenbroker completions SHELL` and `tokenbroker man`: generated from the same clap definition
//! that parses the arguments, so they cannot drift from it.

use clap::CommandFactory;

use crate::args::Cli;
use crate::exit::{CliError, CliResult};

/// Writes the completion script for `shell` to stdout.
pub(crate) fn completions(shell: clap_complete::Shell) -> CliResult {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "tokenbroker", &mut std::io::stdout());
    Ok(())
}

/// Writes the manual page (section 1, roff) to stdout.
pub(crate) fn man() -> CliResult {
    clap_mangen::Man::new(Cli::command())
        .render(&mut std::io::stdout())
        .map_err(|e| CliError::failure(format!("cannot write the manual page: {e}")))
}
