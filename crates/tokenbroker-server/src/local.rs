//! A real authorization server on a loopback port, for tests, the demo and local development.
//!
//! It issues real RS256 JWTs over real HTTP, so the client is tested against the wire, not a
//! mock. Start it and point a client at one of its token URLs; with the `testing` feature, read
//! its counters and flip its faults ([`TestDoubles`](crate::faults::TestDoubles)).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::dialect::{Dialect, Profile};
#[cfg(feature = "testing")]
use crate::faults::{Faults, TestDoubles};
use crate::keyring::KeyRing;
use crate::keys::{KeyError, SigningKey};
use crate::registry::{Pepper, Registry, RegistryError};
use crate::routes::{router, ServerHandle};
use crate::state::AppState;
use crate::static_client::StaticClient;

/// What the local server is started with.
#[derive(Debug, Clone)]
pub struct LocalServerConfig {
    /// Registered clients.
    pub clients: Vec<StaticClient>,
    /// Token lifetime for clients without their own (default one hour).
    pub default_lifetime: Duration,
    /// `iss` of issued tokens; the server's own URL when `None`.
    pub issuer: Option<String>,
}

impl Default for LocalServerConfig {
    fn default() -> Self {
        Self {
            clients: Vec::new(),
            default_lifetime: Duration::from_secs(3600),
            issuer: None,
        }
    }
}

impl LocalServerConfig {
    /// A configuration with these clients.
    pub fn with_clients(clients: impl IntoIterator<Item = StaticClient>) -> Self {
        Self {
            clients: clients.into_iter().collect(),
            ..Self::default()
        }
    }
}

/// Why the local server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Binding the port failed.
    #[error("could not listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// Key generation failed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The registry could not be set up.
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

/// A running local authorization server; stops when dropped.
pub struct LocalAuthServer {
    addr: SocketAddr,
    state: Arc<AppState>,
    #[cfg(feature = "testing")]
    doubles: Arc<TestDoubles>,
    _handle: ServerHandle,
}

impl LocalAuthServer {
    /// Starts on an ephemeral port of 127.0.0.1.
    pub async fn start(config: LocalServerConfig) -> Result<Self, StartError> {
        Self::bind(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Starts on `addr`.
    pub async fn bind(addr: SocketAddr, config: LocalServerConfig) -> Result<Self, StartError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        // RSA key generation takes tens of milliseconds of CPU: keep it off the async workers.
        let key = tokio::task::spawn_blocking(SigningKey::generate_rs256)
            .await
            .map_err(|e| KeyError::from_message(format!("key generation task failed: {e}")))??;
        let issuer = config.issuer.unwrap_or_else(|| format!("http://{addr}"));
        let registry =
            Registry::open("sqlite::memory:", Pepper::new(&Pepper::generate_bytes())).await?;
        for client in &config.clients {
            registry
                .create_client(client.to_new_client(), "local-server")
                .await?;
        }
        let keyring = KeyRing::single(&issuer, key);
        let state = Arc::new(AppState::new(
            issuer,
            keyring,
            Profile::Entur,
            registry,
            config.default_lifetime,
        ));
        let app = router(Arc::clone(&state));
        #[cfg(feature = "testing")]
        let doubles = Arc::new(TestDoubles::default());
        #[cfg(feature = "testing")]
        let app = doubles.wrap(app);
        let handle = ServerHandle::spawn(listener, app);
        tracing::debug!(%addr, "local authorization server listening");
        Ok(Self {
            addr,
            state,
            #[cfg(feature = "testing")]
            doubles,
            _handle: handle,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The token URL for a provider dialect.
    pub fn token_url(&self, dialect: Dialect) -> String {
        format!("{}{}", self.url(), dialect.token_path())
    }

    /// The JWKS URL.
    pub fn jwks_url(&self) -> String {
        format!("{}/.well-known/jwks.json", self.url())
    }

    /// The issuer (`iss`) of its tokens.
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    /// The key ring (its keys' public parts verify tokens; `Debug` hides private keys).
    pub fn keyring(&self) -> std::sync::Arc<KeyRing> {
        self.state.keyring()
    }

    /// Requests that reached a token endpoint, failed ones included.
    #[cfg(feature = "testing")]
    pub fn token_requests(&self) -> u64 {
        self.doubles.token_requests()
    }

    /// Requests for the JWKS (verifiers fetching keys).
    #[cfg(feature = "testing")]
    pub fn jwks_requests(&self) -> u64 {
        self.doubles.jwks_requests()
    }

    /// Tokens issued.
    #[cfg(feature = "testing")]
    pub fn tokens_issued(&self) -> u64 {
        self.doubles.tokens_issued()
    }

    /// The client registry (in memory).
    pub fn registry(&self) -> &crate::registry::Registry {
        &self.state.registry
    }

    /// The fault knobs.
    #[cfg(feature = "testing")]
    pub fn faults(&self) -> &Faults {
        self.doubles.faults()
    }

    /// Changes the lifetime of tokens for clients without their own.
    pub fn set_default_lifetime(&self, lifetime: Duration) {
        self.state.set_default_lifetime(lifetime);
    }
}
