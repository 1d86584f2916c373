//! Starting, reloading and stopping the agent.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::AgentError;
use crate::profile::ProfileSpec;
use crate::settings::AgentSettings;
use crate::state::AgentState;
use crate::{health, logout, proxy, reload, token_endpoint};

/// Everything the agent needs: the `[agent]` table and the profiles its upstreams use.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The `[agent]` table.
    pub settings: AgentSettings,
    /// The resolved profiles (at least those the upstreams name).
    pub profiles: Vec<ProfileSpec>,
}

/// A running agent. Dropping it does not stop it; call [`Agent::shutdown`].
pub struct Agent {
    addr: SocketAddr,
    socket: Option<PathBuf>,
    state: Arc<AgentState>,
    stop: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
    background: Vec<JoinHandle<()>>,
    drain_timeout: Duration,
    logout_on_shutdown: bool,
}

impl Agent {
    /// Validates the configuration, opens the listeners and starts fetching every profile's
    /// token in the background (so `/readyz` turns green without waiting for traffic).
    pub async fn start(config: AgentConfig) -> Result<Agent, AgentError> {
        let settings = config.settings;
        let state = Arc::new(AgentState::build(&settings, config.profiles)?);
        let router = router(Arc::clone(&state));
        let (stop, stopped) = watch::channel(false);
        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .map_err(|source| AgentError::Listen {
                what: settings.listen.to_string(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| AgentError::Listen {
            what: settings.listen.to_string(),
            source,
        })?;
        let mut servers = vec![tokio::spawn(serve_tcp(
            listener,
            router.clone(),
            stopped.clone(),
        ))];
        if let Some(path) = &settings.unix_socket {
            let listener = bind_unix(path)?;
            servers.push(tokio::spawn(serve_unix(listener, router, stopped)));
        }
        let mut background = warm_up(&state);
        let poll = AgentSettings::duration(settings.secret_poll_interval);
        background.extend(reload::spawn_file_watch(Arc::clone(&state), poll));
        tracing::info!(%addr, upstreams = state.upstreams.len(), profiles = state.profiles.len(), "agent started");
        Ok(Agent {
            addr,
            socket: settings.unix_socket.clone(),
            state,
            stop,
            servers,
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
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let drained = tokio::time::timeout(self.drain_timeout, async {
            for server in self.servers {
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
        for task in &self.background {
            task.abort();
        }
        if self.logout_on_shutdown {
            logout::log_out_all(&self.state).await;
        }
        if let Some(path) = &self.socket {
            let _ = std::fs::remove_file(path);
        }
        tracing::info!("agent stopped");
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

fn router(state: Arc<AgentState>) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/v1/token/{profile}", get(token_endpoint::token))
        .fallback(proxy::forward)
        .with_state(state)
}

async fn serve_tcp(
    listener: tokio::net::TcpListener,
    router: Router,
    stopped: watch::Receiver<bool>,
) {
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(until_stopped(stopped))
        .await;
    if let Err(error) = served {
        tracing::error!(%error, "the agent's listener failed");
    }
}

async fn serve_unix(
    listener: tokio::net::UnixListener,
    router: Router,
    stopped: watch::Receiver<bool>,
) {
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(until_stopped(stopped))
        .await;
    if let Err(error) = served {
        tracing::error!(%error, "the agent's Unix socket failed");
    }
}

async fn until_stopped(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
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
