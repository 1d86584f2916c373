//! Starting, reloading and stopping the agent.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use tokenbroker::Clock;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::error::AgentError;
use crate::profile::ProfileSpec;
use crate::settings::AgentSettings;
use crate::state::AgentState;
use crate::{connections, health, logout, proxy, reload, token_endpoint, workers};

/// Everything the agent needs: the `[agent]` table and the profiles its upstreams use.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The `[agent]` table.
    pub settings: AgentSettings,
    /// The resolved profiles (at least those the upstreams name).
    pub profiles: Vec<ProfileSpec>,
    /// The clock every profile's tokens expire by (the system clock by default).
    pub clock: Arc<dyn Clock>,
}

impl AgentConfig {
    /// An agent with these settings and profiles, on the system clock.
    pub fn new(settings: AgentSettings, profiles: Vec<ProfileSpec>) -> Self {
        Self {
            settings,
            profiles,
            clock: tokenbroker::wire::system_clock(),
        }
    }
}

/// A running agent. Call [`Agent::shutdown`] to stop it gracefully. Dropping it stops it too,
/// without waiting: the serving threads stop accepting and finish their open connections in the
/// background, background tasks end, the Unix socket is removed; there is no logout.
pub struct Agent {
    addr: SocketAddr,
    socket: Option<PathBuf>,
    state: Arc<AgentState>,
    stop: watch::Sender<bool>,
    /// The TCP serving threads, each completing when drained.
    workers: Vec<oneshot::Receiver<()>>,
    /// The Unix socket's server, on the caller's runtime.
    unix_server: Option<JoinHandle<()>>,
    background: Vec<JoinHandle<()>>,
    drain_timeout: Duration,
    logout_on_shutdown: bool,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("addr", &self.addr)
            .field("socket", &self.socket)
            .finish_non_exhaustive()
    }
}

impl Agent {
    /// Validates the configuration, opens the listeners and starts fetching every profile's
    /// token in the background (so `/readyz` turns green without waiting for traffic).
    pub async fn start(config: AgentConfig) -> Result<Agent, AgentError> {
        let settings = config.settings;
        let state = Arc::new(AgentState::build(
            &settings,
            config.profiles,
            &config.clock,
        )?);
        let (stop, stopped) = watch::channel(false);
        let (addr, listeners) = workers::bind(settings.listen, settings.serving_threads())?;
        let workers = workers::spawn(listeners, &state, router, &stopped)?;
        let unix_server = match &settings.unix_socket {
            Some(path) => {
                let listener = bind_unix(path)?;
                let router = router(Arc::clone(&state));
                Some(tokio::spawn(connections::serve(
                    listener,
                    Arc::clone(&state),
                    router,
                    stopped,
                )))
            }
            None => None,
        };
        let mut background = warm_up(&state);
        // The Unix socket's requests use these pools, on this runtime.
        background.push(tokio::spawn(Arc::clone(&state).close_idle_connections()));
        let poll = AgentSettings::duration(settings.secret_poll_interval);
        background.extend(reload::spawn_file_watch(Arc::clone(&state), poll));
        tracing::info!(%addr, upstreams = state.upstreams.len(), profiles = state.profiles.len(), "agent started");
        Ok(Agent {
            addr,
            socket: settings.unix_socket.clone(),
            state,
            stop,
            workers,
            unix_server,
            background,
            drain_timeout: AgentSettings::duration(settings.drain_timeout),
            logout_on_shutdown: settings.logout_on_shutdown,
        })
    }

    /// The TCP address it listens on (the real port when the configuration said 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Re-reads the secret files now (what SIGHUP does); returns how many secrets changed.
    pub fn reload_secrets(&self) -> usize {
        reload::reload_secrets(&self.state, "reload")
    }

    /// Stops accepting connections, lets in-flight requests finish (up to `drain_timeout`),
    /// then logs tokens out if `logout_on_shutdown` is set.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let workers = std::mem::take(&mut self.workers);
        let unix_server = self.unix_server.take();
        let drained = tokio::time::timeout(self.drain_timeout, async {
            for worker in workers {
                let _ = worker.await;
            }
            if let Some(server) = unix_server {
                let _ = server.await;
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                drain_timeout_seconds = self.drain_timeout.as_secs_f32(),
                "requests still running at the drain timeout were cut off"
            );
        }
        // No refresh may start while the tokens are being logged out.
        self.stop_background();
        if self.logout_on_shutdown {
            logout::log_out_all(&self.state).await;
        }
        tracing::info!("agent stopped");
        // Dropping self removes the Unix socket.
    }

    /// Ends the background tasks: warm-up, secret polling, idle-connection sweeping.
    fn stop_background(&self) {
        for task in &self.background {
            task.abort();
        }
    }

    /// Runs until SIGTERM or SIGINT, reloading secrets on SIGHUP; then shuts down gracefully.
    #[cfg(unix)]
    pub async fn run_until_signal(self) -> std::io::Result<()> {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hangup = signal(SignalKind::hangup())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        loop {
            tokio::select! {
                _ = hangup.recv() => {
                    let changed = reload::reload_secrets(&self.state, "SIGHUP");
                    tracing::info!(changed, "SIGHUP: secrets re-read");
                }
                _ = terminate.recv() => break,
                _ = interrupt.recv() => break,
            }
        }
        tracing::info!("shutting down: draining in-flight requests");
        self.shutdown().await;
        Ok(())
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        self.stop_background();
        if let Some(path) = &self.socket {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn router(state: Arc<AgentState>) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/v1/token/{profile}", get(token_endpoint::token))
        .fallback(proxy::forward)
        .with_state(state)
}

/// Binds the socket and restricts it to this user (0600) before anyone can have connected:
/// the permissions are set while the agent is not yet accepting.
fn bind_unix(path: &Path) -> Result<tokio::net::UnixListener, AgentError> {
    use std::os::unix::fs::PermissionsExt;
    let failed = |source| AgentError::Listen {
        what: path.display().to_string(),
        source,
    };
    if path.exists() {
        // A socket left by a previous run; anything else is not ours to delete.
        let is_socket = std::os::unix::fs::FileTypeExt::is_socket(
            &std::fs::symlink_metadata(path).map_err(failed)?.file_type(),
        );
        if !is_socket {
            return Err(AgentError::Config(format!(
                "[agent] unix_socket {} exists and is not a socket",
                path.display()
            )));
        }
        std::fs::remove_file(path).map_err(failed)?;
    }
    let listener = tokio::net::UnixListener::bind(path).map_err(failed)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(failed)?;
    Ok(listener)
}

fn warm_up(state: &AgentState) -> Vec<JoinHandle<()>> {
    state
        .profiles
        .values()
        .map(|profile| {
            let profile = Arc::clone(profile);
            tokio::spawn(async move {
                if let Err(reason) = profile.credentials().await {
                    tracing::warn!(profile = %profile.name, reason = %reason.0, "no token at start-up; will retry on demand");
                }
            })
        })
        .collect()
}
