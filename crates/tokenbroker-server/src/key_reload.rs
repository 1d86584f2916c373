//! Swapping in a new key ring when the key schedule in the registry changes: a rotation made on
//! any node, or with `tokenbroker keys rotate`, reaches every node within
//! [`KEY_RELOAD_INTERVAL`] plus the time to load it, and at once on PostgreSQL, where the change
//! is announced with `NOTIFY` and every node listens.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::key_store::KeyStore;
use crate::registry::{ChangeWatch, Topic};
use crate::state::AppState;

/// How often a node looks for a changed key schedule by default: one single-row read, so every
/// node has a rotation within about a second even where nothing announces it (SQLite, or a
/// PostgreSQL listener that dropped).
pub const KEY_RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// The shortest key reload interval accepted: a read every 100 ms per node is plenty.
pub const MIN_KEY_RELOAD_INTERVAL: Duration = Duration::from_millis(100);

/// The longest key reload interval accepted: a day, for nodes that rely on PostgreSQL's
/// announcements.
pub const MAX_KEY_RELOAD_INTERVAL: Duration = Duration::from_secs(86_400);

/// Reloads the key ring whenever the schedule's change marker moves: checked when a change is
/// announced (PostgreSQL `LISTEN/NOTIFY`) and every `interval` in any case.
pub(crate) async fn reload_keys_on_change(
    keys: KeyStore,
    state: Arc<AppState>,
    interval: Duration,
) {
    let mut seen = keys
        .registry()
        .change_marker(Topic::KeySchedule)
        .await
        .ok()
        .flatten();
    let mut watch = ChangeWatch::new(keys.registry(), Topic::KeySchedule, interval).await;
    loop {
        watch.wait().await;
        let marker = match keys.registry().change_marker(Topic::KeySchedule).await {
            Ok(marker) => marker,
            Err(error) => {
                tracing::warn!(%error, "cannot read the key schedule; keeping the current keys");
                continue;
            }
        };
        if marker == seen {
            continue;
        }
        match keys.ring(&state.issuer).await {
            Ok(ring) => {
                let kids: Vec<&str> = ring.entries().iter().map(|e| e.key.kid()).collect();
                tracing::info!(?kids, "key ring reloaded");
                state.keyring.store(Arc::new(ring));
                state.keys_current.store(true, Ordering::Relaxed);
                seen = marker;
            }
            Err(error) => {
                state.keys_current.store(false, Ordering::Relaxed);
                tracing::error!(%error, "the key schedule changed but cannot be loaded; keeping the current keys, not ready")
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
