//! Secrets reloaded from their files on SIGHUP and when the files change, without dropping
//! requests: the new secret is swapped into the token client; tokens already issued stay in use.
//!
//! Changes are found by re-reading the (small) files every `secret_poll_interval` rather than
//! with inotify: Kubernetes updates mounted secrets by swapping a symlinked directory, which
//! file-event watchers miss unless they watch the parent, and a read every few seconds costs
//! nothing.

use std::sync::Arc;
use std::time::Duration;

use crate::state::AgentState;

/// Re-reads every profile's secret file; returns how many secrets changed.
pub(crate) fn reload_secrets(state: &AgentState, why: &str) -> usize {
    let mut changed = 0;
    for profile in state.profiles.values() {
        match profile.reload_secret() {
            Ok(true) => {
                changed += 1;
                tracing::info!(profile = %profile.name, trigger = why, "client secret reloaded");
            }
            Ok(false) => {}
            Err(problem) => tracing::warn!("{problem}"),
        }
    }
    changed
}

/// Polls the secret files until the agent stops.
pub(crate) fn spawn_file_watch(
    state: Arc<AgentState>,
    every: Duration,
) -> Option<tokio::task::JoinHandle<()>> {
    let has_files = state.profiles.values().any(|p| p.has_secret_files());
    if every.is_zero() || !has_files {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            reload_secrets(&state, "file change");
        }
    }))
}
