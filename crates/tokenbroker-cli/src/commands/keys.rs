//! `tokenbroker keys`: list and rotate the server's signing keys.

use std::time::Duration;

use serde_json::json;
use tokenbroker_server::DataDir;
use tokenbroker_server::KeyAlgorithm;
use tokenbroker_server::JWKS_MAX_AGE_SECONDS;

use crate::args::{KeysArgs, KeysCommand};
use crate::commands::registry::{default_data_dir, open, print_json, registry_error};
use crate::exit::{CliError, CliResult};

/// Tokens of the Entur profile live 24 h (Entur partner API authentication): never retire a key sooner by default.
const MINIMUM_RETAIN: Duration = Duration::from_secs(24 * 3600);

/// Runs one key-management command.
pub(crate) async fn run(args: KeysArgs) -> CliResult {
    let data = DataDir::open(
        args.registry
            .data_dir
            .clone()
            .unwrap_or_else(default_data_dir),
    )
    .map_err(|e| CliError::usage(e.to_string()))?;
    match args.command {
        KeysCommand::List { json } => list(&data, json),
        KeysCommand::Rotate {
            algorithm,
            publish_ahead,
            retain,
            json,
        } => {
            let current = data
                .key_entries(KeyAlgorithm::default())
                .map_err(|e| CliError::usage(e.to_string()))?;
            let algorithm = match algorithm {
                Some(name) => name
                    .parse()
                    .map_err(|e: tokenbroker_server::KeyError| CliError::usage(e.to_string()))?,
                None => current
                    .last()
                    .map(|e| e.key.key_algorithm())
                    .unwrap_or_default(),
            };
            let retain = match retain {
                Some(seconds) => Duration::from_secs(seconds),
                None => longest_lifetime(&args.registry).await?.max(MINIMUM_RETAIN),
            };
            let publish_ahead = Duration::from_secs(publish_ahead.unwrap_or(JWKS_MAX_AGE_SECONDS));
            let rotation = data
                .rotate_keys(algorithm, publish_ahead, retain)
                .map_err(|e| CliError::usage(e.to_string()))?;
            if json {
                print_json(&rotation)
            } else {
                println!(
                    "new {} key {} is published now and signs from {} (in {} s)",
                    rotation.algorithm,
                    rotation.kid,
                    rotation.signs_from,
                    publish_ahead.as_secs()
                );
                for (kid, retire_after) in &rotation.retiring {
                    println!(
                        "key {kid} stops signing then and stays published until {retire_after}"
                    );
                }
                for kid in &rotation.removed {
                    println!("removed key {kid}: every token it signed has expired");
                }
                Ok(())
            }
        }
    }
}

fn list(data: &DataDir, as_json: bool) -> CliResult {
    let entries = data
        .key_entries(KeyAlgorithm::default())
        .map_err(|e| CliError::usage(e.to_string()))?;
    let rows: Vec<_> = entries
        .iter()
        .map(|e| {
            json!({
                "kid": e.key.kid(),
                "algorithm": e.key.key_algorithm().name(),
                "signs_from": e.signs_from,
                "signs_until": e.signs_until,
                "retire_after": e.retire_after,
            })
        })
        .collect();
    if as_json {
        return print_json(&rows);
    }
    for row in rows {
        println!("{row}");
    }
    Ok(())
}

async fn longest_lifetime(registry: &crate::args::RegistryArgs) -> CliResult<Duration> {
    let registry = open(registry).await?;
    let clients = registry.list_clients().await.map_err(registry_error);
    registry.close().await;
    Ok(clients?
        .iter()
        .filter_map(|c| c.lifetime())
        .max()
        .unwrap_or_default())
}
