//! `tokenbroker`: a thin shell over the tokenbroker libraries. Parses arguments, sets up logging,
//! runs one command, and maps failures to documented exit codes (see `exit`).

mod args;
mod commands;
mod config;
mod exit;
mod logging;
mod seed_file;
#[cfg(feature = "otel")]
mod telemetry;
mod terminal;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};
use commands::request::RequestSpec;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_level = match cli.command {
        Command::Serve(_) | Command::Agent(_) => logging::DefaultLevel::Service,
        _ => logging::DefaultLevel::Quiet,
    };
    let service = match cli.command {
        Command::Serve(_) => "tokenbroker-serve",
        Command::Agent(_) => "tokenbroker-agent",
        _ => "tokenbroker",
    };
    // Dropped last, after the runtime: flushes the spans still queued.
    let _telemetry = match logging::init(cli.log_format, cli.verbose, default_level, service) {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("tokenbroker: {error}");
            return error.exit_code();
        }
    };
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
        Command::Doctor { profile } => commands::doctor::run(&profile).await,
        Command::Config {
            command: args::ConfigCommand::Check { profile },
        } => commands::config_check::run(&profile),
        Command::Completions { shell } => commands::shell_docs::completions(shell),
        Command::Man => commands::shell_docs::man(),
    }
}
