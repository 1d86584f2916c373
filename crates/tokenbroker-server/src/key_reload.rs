//! Loading the key ring from the data directory, and swapping in a new one when
//! `tokenbroker keys rotate` changes the key files while the server runs.

use std::sync::Arc;
use std::time::Duration;

use crate::data_dir::DataDir;
use crate::error::ServeError;
use crate::keyring::KeyRing;
use crate::keys::{KeyAlgorithm, SigningKey};
use crate::state::AppState;

/// How often the server looks for key rotations made by `tokenbroker keys rotate`.
pub const KEY_RELOAD_INTERVAL: Duration = Duration::from_secs(2);

/// The data directory's keys (creating the first one with `algorithm` if there is none).
pub(crate) async fn load_keyring(
    data: &DataDir,
    issuer: &str,
    algorithm: KeyAlgorithm,
) -> Result<KeyRing, ServeError> {
    let data = data.clone();
    // Key generation and parsing are CPU work: keep them off the async workers.
    let entries = tokio::task::spawn_blocking(move || data.key_entries(algorithm))
        .await
        .map_err(|source| ServeError::Task {
            what: "loading the keys",
            source,
        })??;
    Ok(KeyRing::new(issuer, entries))
}

/// A ring of one fresh key that lives only in memory.
pub(crate) async fn fresh_keyring(
    issuer: &str,
    algorithm: KeyAlgorithm,
) -> Result<KeyRing, ServeError> {
    // RSA key generation takes tens of milliseconds of CPU: keep it off the async workers.
    let key = tokio::task::spawn_blocking(move || SigningKey::generate(algorithm))
        .await
        .map_err(|source| ServeError::Task {
            what: "generating a key",
            source,
        })??;
    Ok(KeyRing::single(issuer, key))
}

/// Swaps in the new key ring whenever the key manifest changes on disk.
pub(crate) async fn reload_keys_on_change(
    data: DataDir,
    state: Arc<AppState>,
    algorithm: KeyAlgorithm,
) {
    let mut seen = data.keys_changed_at();
    let mut interval = tokio::time::interval(KEY_RELOAD_INTERVAL);
    loop {
        interval.tick().await;
        let changed = data.keys_changed_at();
        if changed == seen {
            continue;
        }
        match load_keyring(&data, &state.issuer, algorithm).await {
            Ok(ring) => {
                let kids: Vec<String> = ring
                    .entries()
                    .iter()
                    .map(|e| e.key.kid().to_owned())
                    .collect();
                state.keyring.store(Arc::new(ring));
                seen = changed;
                tracing::info!(?kids, "key ring reloaded");
            }
            Err(error) => {
                tracing::error!(%error, "key files changed but cannot be loaded; keeping the current keys")
            }
        }
    }
}

/// A background task that ends with its owner.
#[derive(Debug)]
pub(crate) struct AbortOnDrop(pub(crate) tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
