//! `tokenbroker serve`: the authorization server on a data directory.
//!
//! Clients live in the registry (SQLite in the data directory, or PostgreSQL by URL so several
//! nodes share one registry); keys and the pepper live in the data directory and survive
//! restarts. Plain HTTP is only served on loopback addresses unless explicitly allowed (seed 001:
//! communication with the authentication server enforces HTTPS).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::data_dir::{DataDir, DataDirError};
use crate::dialect::Profile;
use crate::registry::{Registry, RegistryError};
use crate::routes::{router, ServerHandle};
use crate::state::AppState;

/// The embedded default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory for the registry (SQLite), pepper and keys.
    pub data_dir: PathBuf,
    /// A PostgreSQL (or other SQLite) URL for the registry instead of the data directory's.
    pub database_url: Option<String>,
    /// The `iss` of tokens; `http://<listen address>` when `None`.
    pub issuer: Option<String>,
    /// Which provider to stand in for.
    pub profile: Profile,
    /// Token lifetime for clients without their own; the profile's default when `None`.
    pub default_lifetime: Option<Duration>,
    /// Serve plain HTTP on a non-loopback address (behind a TLS-terminating proxy).
    pub insecure_http: bool,
}

impl ServerConfig {
    /// The embedded default: loopback, Entur profile, data in `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen: DEFAULT_LISTEN.parse().expect("a valid address"),
            data_dir: data_dir.into(),
            database_url: None,
            issuer: None,
            profile: Profile::default(),
            default_lifetime: None,
            insecure_http: false,
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The data directory is unusable.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// The registry could not be opened.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The configuration is refused.
    #[error("{0}")]
    Refused(String),
}

/// A running authorization server.
pub struct AuthServer {
    addr: SocketAddr,
    state: Arc<AppState>,
    handle: ServerHandle,
}

impl AuthServer {
    /// Opens the data directory and registry, loads (or creates) the keys, and starts serving.
    pub async fn start(config: ServerConfig) -> Result<Self, ServeError> {
        if !config.listen.ip().is_loopback() && !config.insecure_http {
            return Err(ServeError::Refused(format!(
                "refusing to serve plain HTTP on {}: only loopback addresses may use HTTP; \
                 put a TLS-terminating proxy in front and pass --insecure-http",
                config.listen
            )));
        }
        let data = DataDir::open(&config.data_dir)?;
        let registry_url = config
            .database_url
            .clone()
            .unwrap_or_else(|| data.registry_url());
        let registry = Registry::open(&registry_url, data.pepper()?).await?;
        let keys = tokio::task::spawn_blocking(move || data.signing_keys())
            .await
            .map_err(|e| ServeError::Refused(format!("key loading failed: {e}")))??;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| ServeError::Bind {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ServeError::Bind {
            addr: config.listen,
            source,
        })?;
        let issuer = config
            .issuer
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        let lifetime = config
            .default_lifetime
            .unwrap_or_else(|| config.profile.default_lifetime());
        let state = Arc::new(AppState::new(
            issuer,
            keys,
            config.profile,
            registry,
            lifetime,
        ));
        let handle = ServerHandle::spawn(listener, router(Arc::clone(&state)));
        tracing::info!(%addr, issuer = %state.issuer, "authorization server listening");
        Ok(Self {
            addr,
            state,
            handle,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The issuer identifier (`iss`).
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    /// The registry it serves from.
    pub fn registry(&self) -> &Registry {
        &self.state.registry
    }

    /// The `kid` of the key that signs new tokens.
    pub fn signing_kid(&self) -> &str {
        self.state.signing_key().kid()
    }

    /// Stops accepting requests, finishes in-flight ones, closes the registry.
    pub async fn stop(self) {
        self.handle.stop().await;
        self.state.registry.close().await;
    }
}
