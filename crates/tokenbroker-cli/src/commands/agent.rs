//! `tokenbroker agent`: run the sidecar agent from the `[agent]` table until SIGTERM/SIGINT;
//! SIGHUP re-reads secret files.

use tokenbroker_agent::{Agent, AgentConfig};

use crate::args::AgentArgs;
use crate::config;
use crate::exit::{CliError, CliResult};

/// Loads the configuration, starts the agent, prints where it listens, and serves.
pub(crate) async fn run(args: &AgentArgs) -> CliResult {
    let path = config::locate(args.config.as_deref())?.ok_or_else(|| {
        CliError::usage(
            "no config file: tokenbroker agent needs a tokenbroker.toml with an [agent] table (pass --config FILE)",
        )
    })?;
    let file = config::load(&path)?;
    let settings = file.agent.clone().ok_or_else(|| {
        CliError::usage(format!(
            "config file {} has no [agent] table (see README: Sidecar agent)",
            path.display()
        ))
    })?;
    let profiles = settings
        .profile_names()
        .iter()
        .map(|name| config::resolve_named(&file, name, &path))
        .collect::<CliResult<Vec<_>>>()?;
    let agent = Agent::start(AgentConfig::new(settings, profiles))
        .await
        .map_err(|e| match e {
            error if error.is_configuration() => {
                CliError::usage(format!("config file {}: {error}", path.display()))
            }
            error => CliError::failure(error.to_string()),
        })?;
    // The first line is the contract: scripts wait for it and read the address from it.
    println!("listening on http://{}", agent.addr());
    agent
        .run_until_signal()
        .await
        .map_err(|e| CliError::failure(format!("cannot handle signals: {e}")))
}
