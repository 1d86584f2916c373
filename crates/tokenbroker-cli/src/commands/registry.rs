//! Opening a server's registry from the command line, as the local operator.

use std::path::PathBuf;

use tokenbroker_server::registry::{Registry, RegistryError};
use tokenbroker_server::DataDir;

use crate::args::RegistryArgs;
use crate::exit::{CliError, CliResult};

/// Who the audit log names for changes made with the CLI.
pub(crate) const OPERATOR: &str = "operator";

/// The data directory used when none is given: the user data dir, or `./tokenbroker-data`.
pub(crate) fn default_data_dir() -> PathBuf {
    dirs::data_local_dir()
        .map(|dir| dir.join("tokenbroker"))
        .unwrap_or_else(|| PathBuf::from("tokenbroker-data"))
}

/// Opens the registry the arguments point at (creating an empty one if needed).
pub(crate) async fn open(args: &RegistryArgs) -> CliResult<Registry> {
    let data = DataDir::open(args.data_dir.clone().unwrap_or_else(default_data_dir))
        .map_err(|e| CliError::usage(e.to_string()))?;
    let url = match &args.database_url {
        Some(url) => url.clone(),
        None => data
            .registry_url()
            .map_err(|e| CliError::usage(e.to_string()))?,
    };
    let pepper = data.pepper().map_err(|e| CliError::usage(e.to_string()))?;
    Registry::open(&url, pepper).await.map_err(registry_error)
}

/// Exit code 2 for requests the registry refuses, 4 when the database fails.
pub(crate) fn registry_error(error: RegistryError) -> CliError {
    match error {
        RegistryError::Database { .. } => CliError::failure(error.to_string()),
        RegistryError::UnknownClient(_) | RegistryError::Invalid(_) => {
            CliError::usage(error.to_string())
        }
    }
}

/// Prints `value` as one line of JSON.
pub(crate) fn print_json(value: &impl serde::Serialize) -> CliResult {
    let text = serde_json::to_string(value)
        .map_err(|e| CliError::failure(format!("cannot encode JSON: {e}")))?;
    println!("{text}");
    Ok(())
}
