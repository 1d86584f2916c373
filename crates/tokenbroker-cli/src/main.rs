//! `tokenbroker`: a thin shell over the tokenbroker libraries. Parses arguments, sets up logging,
//! runs one command, and maps failures to documented exit codes (see `exit`).

mod args;
mod commands;
mod config;
mod exit;
mod terminal;

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use args::{Cli, Command};
use commands::request::RequestSpec;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("tokenbroker: cannot start the async runtime: {error}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tokenbroker: {error}");
            error.exit_code()
        }
    }
}

async fn run(command: Command) -> exit::CliResult {
    match command {
        Command::Token {
            profile,
            cache,
            json,
        } => commands::token::run(&profile, &cache, json).await,
        Command::Decode { jwt, json } => commands::decode::run(jwt.as_deref(), json),
        Command::Request {
            url,
            method,
            headers,
            data,
            profile,
            cache,
        } => {
            let spec = RequestSpec {
                url: &url,
                method: &method,
                headers: &headers,
                data: data.as_deref(),
            };
            commands::request::run(&profile, &cache, spec).await
        }
        Command::Demo => commands::demo::run().await,
        Command::Serve(args) => commands::serve::run(&args).await,
        Command::Clients(args) => commands::clients::run(args).await,
        Command::Admins(args) => commands::admins::run(args).await,
        Command::Keys(args) => commands::keys::run(args).await,
        Command::Agent(args) => commands::agent::run(&args).await,
    }
}

/// Logs go to stderr so stdout carries only the result; `-v` or `RUST_LOG` turns them on.
fn init_logging(verbose: u8) {
    let filter = match (
        std::env::var("RUST_LOG").ok().filter(|v| !v.is_empty()),
        verbose,
    ) {
        (Some(spec), _) => EnvFilter::new(spec),
        (None, 0) => EnvFilter::new("warn"),
        (None, 1) => EnvFilter::new(
            "tokenbroker=debug,tokenbroker_server=debug,tokenbroker_agent=debug,warn",
        ),
        (None, _) => EnvFilter::new("trace"),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour_on_stderr())
        .with_target(false)
        .init();
}

/// Colour only for a person at a terminal, and not when they asked for none
/// (<https://no-color.org>): escape codes in a log file or a CI log are noise.
fn colour_on_stderr() -> bool {
    use std::io::IsTerminal;
    let refused = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    std::io::stderr().is_terminal() && !refused
}
