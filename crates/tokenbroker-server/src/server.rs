//! The running authorization server: one start path for every configuration.
//!
//! Clients live in the registry (SQLite in the data directory, PostgreSQL by URL so several nodes
//! share one registry, or memory); keys and the pepper live in the data directory and survive
//! restarts, or in memory. Plain HTTP is only served on loopback addresses unless explicitly
//! allowed (Entur partner authentication: communication with the authentication server enforces
//! HTTPS).

use std::net::SocketAddr;
use std::sync::Arc;

use axum_server::tls_rustls::RustlsConfig;

use crate::config::{ServerConfig, Storage, TlsFiles};
use crate::data_dir::DataDir;
use crate::dialect::Dialect;
use crate::error::ServeError;
use crate::kek::Kek;
use crate::key_reload::{
    reload_keys_on_change, AbortOnDrop, MAX_KEY_RELOAD_INTERVAL, MIN_KEY_RELOAD_INTERVAL,
};
use crate::key_store::KeyStore;
use crate::keyring::KeyRing;
use crate::limits::Limits;
use crate::listener::{ListenerLimits, ServerHandle};
use crate::registry::{Pepper, Registry, MAX_TOKEN_LIFETIME};
use crate::routes::{router, Surface, JWKS_PATH};
use crate::signer::Bound;
use crate::state::AppState;
use tokenbroker_guard::redirect_router;
use tokenbroker_wire::Clock;

/// A running authorization server; stops gracefully on [`stop`](Self::stop), and stops accepting
/// requests when dropped.
#[derive(Debug)]
pub struct AuthServer {
    addr: SocketAddr,
    /// `https` when the listeners serve TLS, else `http` (whatever the configured issuer says).
    scheme: &'static str,
    state: Arc<AppState>,
    handle: ServerHandle,
    redirect: Option<(SocketAddr, ServerHandle)>,
    admin: Option<(SocketAddr, ServerHandle)>,
    keys: KeyStore,
    /// Key reloading, and the fleet's limits on a shared registry.
    _background: Vec<AbortOnDrop>,
    #[cfg(feature = "testing")]
    doubles: Arc<crate::faults::TestDoubles>,
}

/// What the storage gave the server to start with.
struct Opened {
    registry: Registry,
    keys: KeyStore,
    data: Option<DataDir>,
}

impl AuthServer {
    /// Opens the registry, loads (or creates) the keys, and starts serving.
    pub async fn start(config: ServerConfig) -> Result<Self, ServeError> {
        Self::start_with(config, |_| axum::Router::new()).await
    }

    /// Like [`start`](Self::start), with more routes on the same listener: `extend` gets the
    /// bound address and issuer and returns routes to merge (the development sandbox adds its
    /// demo partner APIs this way).
    pub async fn start_with(
        config: ServerConfig,
        extend: impl FnOnce(&Bound) -> axum::Router,
    ) -> Result<Self, ServeError> {
        check_config(&config)?;
        let tls = match &config.tls {
            Some(files) => Some(load_tls(files).await?),
            None => None,
        };
        let opened = open_storage(&config).await?;
        let (listener, addr) = bind(config.listen).await?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let issuer = config
            .issuer
            .clone()
            .unwrap_or_else(|| format!("{scheme}://{addr}"));
        if opened.data.is_some() {
            opened
                .registry
                .check_issuer(&issuer, config.issuer.is_some())
                .await?;
        }
        opened
            .keys
            .ensure_keys(config.algorithm, opened.data.as_ref())
            .await?;
        let keyring = opened.keys.ring(&issuer).await?;
        let lifetime = config
            .default_lifetime
            .unwrap_or_else(|| config.profile.default_lifetime());
        let mut state = AppState::new(
            issuer,
            keyring,
            config.profile,
            opened.registry,
            lifetime,
            Arc::clone(&config.clock),
        );
        state.trusted_proxies = config.trusted_proxies.clone();
        state.portal_cookies_secure = tls.is_some() || config.insecure_http;
        let (limits, shared_limits) = Limits::for_registry(&state.registry);
        state.limits = limits;
        let state = Arc::new(state);
        let mut background = vec![AbortOnDrop(tokio::spawn(reload_keys_on_change(
            opened.keys.clone(),
            Arc::clone(&state),
            config.key_reload_interval,
        )))];
        // Client authentication from memory, current within CLIENT_VIEW_BOUND.
        background.push(AbortOnDrop(tokio::spawn(
            state.registry.clone().keep_client_view(),
        )));
        if let Some(shared) = shared_limits {
            background.push(AbortOnDrop(tokio::spawn(shared.keep_current())));
        }
        let extra = extend(&Bound {
            addr,
            issuer: state.issuer.clone(),
            state: Arc::clone(&state),
        });
        let surface = if config.admin_listen.is_some() {
            Surface::Public
        } else {
            Surface::All
        };
        let app = router(Arc::clone(&state), surface).merge(extra);
        #[cfg(feature = "testing")]
        let doubles = Arc::new(crate::faults::TestDoubles::default());
        #[cfg(feature = "testing")]
        let app = doubles.wrap(app);
        let admin = match config.admin_listen {
            Some(admin_addr) => Some(
                spawn_admin(
                    admin_addr,
                    router(Arc::clone(&state), Surface::Admin),
                    tls.clone(),
                    config.limits,
                )
                .await?,
            ),
            None => None,
        };
        let handle = serve(listener, addr, app, tls, config.limits)?;
        let redirect = match config.http_redirect {
            Some(redirect_addr) => {
                Some(spawn_redirect(redirect_addr, addr.port(), config.limits).await?)
            }
            None => None,
        };
        tracing::info!(%addr, issuer = %state.issuer, "authorization server listening");
        Ok(Self {
            addr,
            scheme,
            state,
            handle,
            redirect,
            admin,
            keys: opened.keys,
            _background: background,
            #[cfg(feature = "testing")]
            doubles,
        })
    }

    /// The signing keys in the registry: a rotation made here reaches every node sharing the
    /// registry, this one included, within [`KEY_RELOAD_INTERVAL`](crate::KEY_RELOAD_INTERVAL).
    pub fn key_store(&self) -> &KeyStore {
        &self.keys
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http(s)://ADDRESS` of the listener: `https` when it serves TLS (the issuer may differ
    /// when configured, e.g. behind a TLS-terminating proxy).
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// `http(s)://ADDRESS` of the admin listener, when there is one.
    pub fn admin_url(&self) -> Option<String> {
        self.admin_addr()
            .map(|admin| format!("{}://{admin}", self.scheme))
    }

    /// The token URL of a provider dialect on this server.
    pub fn token_url(&self, dialect: Dialect) -> String {
        format!("{}{}", self.url(), dialect.token_path())
    }

    /// The JWKS URL.
    pub fn jwks_url(&self) -> String {
        format!("{}{JWKS_PATH}", self.url())
    }

    /// The admin listener's address (admin API and metrics), when there is one.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().map(|(addr, _)| *addr)
    }

    /// The plain-HTTP redirect listener's address, when there is one.
    pub fn redirect_addr(&self) -> Option<SocketAddr> {
        self.redirect.as_ref().map(|(addr, _)| *addr)
    }

    /// The clock tokens are stamped and checked with.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        self.state.clock()
    }

    /// The issuer identifier (`iss`).
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    /// The registry it serves from.
    pub fn registry(&self) -> &Registry {
        &self.state.registry
    }

    /// The key ring as it is now (its keys' public parts verify tokens; `Debug` hides private
    /// keys).
    pub fn keyring(&self) -> Arc<KeyRing> {
        self.state.keyring()
    }

    /// The `kid` of the key that signs new tokens now.
    pub fn signing_kid(&self) -> String {
        self.keyring()
            .signing_key(self.state.unix_now())
            .kid()
            .to_owned()
    }

    /// Changes the lifetime of tokens for clients without their own (at least one second).
    pub fn set_default_lifetime(&self, lifetime: std::time::Duration) {
        self.state.set_default_lifetime(lifetime);
    }

    /// Stops accepting requests, finishes in-flight ones, closes the registry.
    pub async fn stop(self) {
        if let Some((_, redirect)) = self.redirect {
            redirect.stop().await;
        }
        if let Some((_, admin)) = self.admin {
            admin.stop().await;
        }
        self.handle.stop().await;
        self.state.registry.close().await;
    }
}

/// Test doubles: request counters and fault knobs (feature `testing`, never in a shipped build).
#[cfg(feature = "testing")]
impl AuthServer {
    /// Requests that reached a token endpoint, failed ones included.
    pub fn token_requests(&self) -> u64 {
        self.doubles.token_requests()
    }

    /// Requests for the JWKS (verifiers fetching keys).
    pub fn jwks_requests(&self) -> u64 {
        self.doubles.jwks_requests()
    }

    /// Tokens issued.
    pub fn tokens_issued(&self) -> u64 {
        self.doubles.tokens_issued()
    }

    /// The fault knobs.
    pub fn faults(&self) -> &crate::faults::Faults {
        self.doubles.faults()
    }
}

/// Plain HTTP only on loopback unless allowed; a redirect listener only in front of HTTPS; a
/// default lifetime within the registry's bounds.
fn check_config(config: &ServerConfig) -> Result<(), ServeError> {
    if !config.listen.ip().is_loopback() && config.tls.is_none() && !config.insecure_http {
        return Err(ServeError::PlainHttpBeyondLoopback {
            addr: config.listen,
        });
    }
    if let Some(admin) = config.admin_listen {
        if !admin.ip().is_loopback() && config.tls.is_none() && !config.insecure_http {
            return Err(ServeError::PlainHttpBeyondLoopback { addr: admin });
        }
    }
    if config.http_redirect.is_some() && config.tls.is_none() {
        return Err(ServeError::RedirectWithoutTls);
    }
    let shared_registry = config.database_url.is_some() && config.data_dir().is_some();
    if shared_registry && config.issuer.is_none() {
        return Err(ServeError::IssuerRequired);
    }
    if config
        .default_lifetime
        .is_some_and(|lifetime| lifetime.is_zero() || lifetime > MAX_TOKEN_LIFETIME)
    {
        return Err(ServeError::LifetimeOutOfRange);
    }
    let reload = MIN_KEY_RELOAD_INTERVAL..=MAX_KEY_RELOAD_INTERVAL;
    if !reload.contains(&config.key_reload_interval) {
        return Err(ServeError::KeyReloadIntervalOutOfRange);
    }
    Ok(())
}

async fn load_tls(files: &TlsFiles) -> Result<RustlsConfig, ServeError> {
    RustlsConfig::from_pem_file(&files.cert, &files.key)
        .await
        .map_err(|source| ServeError::Tls {
            cert: files.cert.clone(),
            key: files.key.clone(),
            source,
        })
}

async fn open_storage(config: &ServerConfig) -> Result<Opened, ServeError> {
    match &config.storage {
        Storage::DataDir(path) => {
            let data = DataDir::open(path)?;
            let url = config
                .database_url
                .clone()
                .map_or_else(|| data.registry_url(), Ok)?;
            let registry = Registry::open(&url, data.pepper()?)
                .await?
                .with_clock(Arc::clone(&config.clock));
            let keys =
                KeyStore::open_with_data_dir_kek(registry.clone(), &data, config.kek.clone())
                    .await?;
            Ok(Opened {
                registry,
                keys,
                data: Some(data),
            })
        }
        Storage::Memory { clients } => {
            if config.database_url.is_some() {
                return Err(ServeError::DatabaseUrlInMemory);
            }
            let pepper = Pepper::new(&Pepper::generate_bytes());
            let registry = Registry::open("sqlite::memory:", pepper)
                .await?
                .with_clock(Arc::clone(&config.clock));
            for client in clients {
                registry
                    .create_client(client.to_new_client(), "configuration")
                    .await?;
            }
            let kek = match &config.kek {
                Some(kek) => Arc::clone(kek),
                None => Arc::new(Kek::from_bytes(&Kek::generate_bytes()?)?),
            };
            let keys = KeyStore::open(registry.clone(), kek).await?;
            Ok(Opened {
                registry,
                keys,
                data: None,
            })
        }
    }
}

/// Binds `addr`; the listener and the address it got (port 0 becomes a real one).
async fn bind(addr: SocketAddr) -> Result<(tokio::net::TcpListener, SocketAddr), ServeError> {
    let failed = |source| ServeError::Bind { addr, source };
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(failed)?;
    let bound = listener.local_addr().map_err(failed)?;
    Ok((listener, bound))
}

/// Serves `app` on `listener` (bound at `addr`), over TLS when `tls` is set.
fn serve(
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    app: axum::Router,
    tls: Option<RustlsConfig>,
    limits: ListenerLimits,
) -> Result<ServerHandle, ServeError> {
    match tls {
        Some(tls) => ServerHandle::spawn_tls(listener, app, tls, limits),
        None => ServerHandle::spawn(listener, app, limits),
    }
    .map_err(|source| ServeError::Bind { addr, source })
}

/// The admin listener: the admin API and metrics, away from the public port.
async fn spawn_admin(
    addr: SocketAddr,
    app: axum::Router,
    tls: Option<RustlsConfig>,
    limits: ListenerLimits,
) -> Result<(SocketAddr, ServerHandle), ServeError> {
    let (listener, bound) = bind(addr).await?;
    Ok((bound, serve(listener, bound, app, tls, limits)?))
}

/// The plain-HTTP listener that points at HTTPS.
async fn spawn_redirect(
    addr: SocketAddr,
    https_port: u16,
    limits: ListenerLimits,
) -> Result<(SocketAddr, ServerHandle), ServeError> {
    let (listener, bound) = bind(addr).await?;
    let app = redirect_router(https_port);
    Ok((bound, serve(listener, bound, app, None, limits)?))
}
