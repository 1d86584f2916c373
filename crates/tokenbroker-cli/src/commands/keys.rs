//! `tokenbroker keys`: list and rotate the server's signing keys.

use std::time::Duration;

use serde_json::json;
use tokenbroker_server::{DataDir, KeyAlgorithm, KeyStore, KeyStoreError, JWKS_MAX_AGE_SECONDS};

use crate::args::{KeysArgs, KeysCommand};
use crate::commands::registry::{default_data_dir, kek, print_json, registry_error, OPERATOR};
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
    let store = KeyStore::for_data_dir(
        &data,
        args.registry.database_url.as_deref(),
        kek(&args.kek)?,
    )
    .await
    .map_err(store_error)?;
    // Like a server's first start: old key files are imported, or a first key is made.
    store
        .ensure_keys(KeyAlgorithm::default(), Some(&data))
        .await
        .map_err(store_error)?;
    let result = match args.command {
        KeysCommand::List { json } => list(&store, json).await,
        KeysCommand::Rotate {
            algorithm,
            publish_ahead,
            retain,
            json,
        } => rotate(&store, algorithm, publish_ahead, retain, json).await,
    };
    store.registry().close().await;
    result
}

async fn rotate(
    store: &KeyStore,
    algorithm: Option<String>,
    publish_ahead: Option<u64>,
    retain: Option<u64>,
    json: bool,
) -> CliResult {
    let algorithm = match algorithm {
        Some(name) => name
            .parse()
            .map_err(|e: tokenbroker_server::KeyError| CliError::usage(e.to_string()))?,
        None => store
            .registry()
            .signing_keys()
            .await
            .map_err(registry_error)?
            .last()
            .and_then(|key| key.algorithm.parse().ok())
            .unwrap_or_default(),
    };
    let retain = match retain {
        Some(seconds) => Duration::from_secs(seconds),
        None => longest_lifetime(store).await?.max(MINIMUM_RETAIN),
    };
    let publish_ahead = Duration::from_secs(publish_ahead.unwrap_or(JWKS_MAX_AGE_SECONDS));
    let rotation = store
        .rotate(algorithm, publish_ahead, retain, OPERATOR)
        .await
        .map_err(store_error)?;
    if json {
        return print_json(&rotation);
    }
    println!(
        "new {} key {} is published now and signs from {} (in {} s); every node picks it up \
         within {} s",
        rotation.algorithm,
        rotation.kid,
        rotation.signs_from,
        publish_ahead.as_secs(),
        tokenbroker_server::KEY_RELOAD_INTERVAL.as_secs()
    );
    for (kid, retire_after) in &rotation.retiring {
        println!("key {kid} stops signing then and stays published until {retire_after}");
    }
    for kid in &rotation.removed {
        println!("removed key {kid}: every token it signed has expired");
    }
    Ok(())
}

async fn list(store: &KeyStore, as_json: bool) -> CliResult {
    let keys = store
        .registry()
        .signing_keys()
        .await
        .map_err(registry_error)?;
    if as_json {
        let rows: Vec<_> = keys
            .iter()
            .map(|key| {
                json!({
                    "kid": key.kid,
                    "algorithm": key.algorithm,
                    "publish_from": key.publish_from,
                    "signs_from": key.signs_from,
                    "signs_until": key.signs_until,
                    "retire_after": key.retire_after,
                })
            })
            .collect();
        return print_json(&rows);
    }
    for key in keys {
        let until = |at: Option<i64>| at.map_or_else(|| "-".to_owned(), |at| at.to_string());
        println!(
            "{} {} signs from {} until {}, published until {}",
            key.algorithm,
            key.kid,
            key.signs_from,
            until(key.signs_until),
            until(key.retire_after)
        );
    }
    Ok(())
}

async fn longest_lifetime(store: &KeyStore) -> CliResult<Duration> {
    Ok(store
        .registry()
        .longest_client_lifetime()
        .await
        .map_err(registry_error)?
        .unwrap_or_default())
}

/// Exit code 2 for what the operator fixes (a wrong KEK or pepper, a bad delay), 4 otherwise.
fn store_error(error: KeyStoreError) -> CliError {
    match error {
        KeyStoreError::Registry(registry) => registry_error(registry),
        other if other.is_configuration() => CliError::usage(other.to_string()),
        other => CliError::failure(other.to_string()),
    }
}
