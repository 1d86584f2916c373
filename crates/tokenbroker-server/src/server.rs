//! `tokenbroker serve`: the authorization server on a data directory.
//!
//! Clients live in the registry (SQLite in the data directory, or PostgreSQL by URL so several
//! nodes share one registry); keys and the pepper live in the data directory and survive
//! restarts. Plain HTTP is only served on loopback addresses unless explicitly allowed (Entur partner authentication:
//! communication with the authentication server enforces HTTPS).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::data_dir::{DataDir, DataDirError};
use crate::dialect::Profile;
use crate::keyring::KeyRing;
use crate::keys::KeyAlgorithm;
use crate::registry::{Registry, RegistryError};
use crate::routes::{router, ServerHandle};
use crate::state::AppState;
use crate::time::unix_now;
use tokenbroker_guard::https_redirect::redirect_router;

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
    /// The algorithm of the first key (later keys are chosen at rotation).
    pub algorithm: KeyAlgorithm,
    /// Serve HTTPS with this certificate chain and key (PEM files).
    pub tls: Option<TlsFiles>,
    /// Also listen for plain HTTP here, answering 301 (GET/HEAD) or 405 towards HTTPS (Entur partner authentication).
    pub http_redirect: Option<SocketAddr>,
}

/// A PEM certificate chain and its private key.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The certificate chain.
    pub cert: PathBuf,
    /// The private key.
    pub key: PathBuf,
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
            algorithm: KeyAlgorithm::default(),
            tls: None,
            http_redirect: None,
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

/// What routes added with [`AuthServer::start_with`] may know about the server.
pub struct Bound {
    /// The bound address.
    pub addr: SocketAddr,
    /// The issuer identifier.
    pub issuer: String,
    state: Arc<AppState>,
}

impl Bound {
    /// Signs a JWT with the issuer's current key (e.g. Telenor's X-JWT in the sandbox).
    pub fn sign<T: serde::Serialize>(
        &self,
        header_typ: &str,
        claims: &T,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        sign_with_ring(&self.state, header_typ, claims)
    }

    /// A signer that outlives this call, for handlers.
    pub fn signer(&self) -> Signer {
        Signer(Arc::clone(&self.state))
    }
}

/// Signs JWTs with the issuer's current key; cheap to clone into handlers.
#[derive(Clone)]
pub struct Signer(Arc<AppState>);

impl Signer {
    /// Signs `claims` with the key that signs now, header `typ` as given.
    pub fn sign<T: serde::Serialize>(
        &self,
        header_typ: &str,
        claims: &T,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        sign_with_ring(&self.0, header_typ, claims)
    }
}

fn sign_with_ring<T: serde::Serialize>(
    state: &AppState,
    header_typ: &str,
    claims: &T,
) -> Result<String, jsonwebtoken::errors::Error> {
    let ring = state.keyring();
    let key = ring.signing_key(unix_now());
    let mut header = jsonwebtoken::Header::new(key.algorithm());
    header.typ = Some(header_typ.to_owned());
    header.kid = Some(key.kid().to_owned());
    jsonwebtoken::encode(&header, claims, key.encoding_key())
}

/// A running authorization server.
pub struct AuthServer {
    addr: SocketAddr,
    state: Arc<AppState>,
    handle: ServerHandle,
    redirect: Option<(SocketAddr, ServerHandle)>,
    _reloader: AbortOnDrop,
}

impl AuthServer {
    /// Opens the data directory and registry, loads (or creates) the keys, and starts serving.
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
        if !config.listen.ip().is_loopback() && config.tls.is_none() && !config.insecure_http {
            return Err(ServeError::Refused(format!(
                "refusing to serve plain HTTP on {}: only loopback addresses may use HTTP; \
                 pass --tls-cert and --tls-key, or --insecure-http behind a TLS-terminating proxy",
                config.listen
            )));
        }
        if config.http_redirect.is_some() && config.tls.is_none() {
            return Err(ServeError::Refused(
                "--http-redirect-listen needs --tls-cert and --tls-key: it redirects to HTTPS"
                    .into(),
            ));
        }
        let tls = match &config.tls {
            Some(files) => Some(
                axum_server::tls_rustls::RustlsConfig::from_pem_file(&files.cert, &files.key)
                    .await
                    .map_err(|e| {
                        ServeError::Refused(format!(
                            "TLS certificate {} / key {}: {e}",
                            files.cert.display(),
                            files.key.display()
                        ))
                    })?,
            ),
            None => None,
        };
        let data = DataDir::open(&config.data_dir)?;
        let registry_url = config
            .database_url
            .clone()
            .unwrap_or_else(|| data.registry_url());
        let registry = Registry::open(&registry_url, data.pepper()?).await?;
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
        let scheme = if tls.is_some() { "https" } else { "http" };
        let issuer = config
            .issuer
            .clone()
            .unwrap_or_else(|| format!("{scheme}://{addr}"));
        let keyring = load_keyring(&data, &issuer, config.algorithm).await?;
        let lifetime = config
            .default_lifetime
            .unwrap_or_else(|| config.profile.default_lifetime());
        let state = Arc::new(AppState::new(
            issuer,
            keyring,
            config.profile,
            registry,
            lifetime,
        ));
        let reloader = tokio::spawn(reload_keys_on_change(
            data,
            Arc::clone(&state),
            config.algorithm,
        ));
        let extra = extend(&Bound {
            addr,
            issuer: state.issuer.clone(),
            state: Arc::clone(&state),
        });
        let app = router(Arc::clone(&state)).merge(extra);
        let handle = match tls {
            Some(tls) => ServerHandle::spawn_tls(listener, app, tls)
                .map_err(|source| ServeError::Bind { addr, source })?,
            None => ServerHandle::spawn(listener, app),
        };
        let redirect = match config.http_redirect {
            Some(redirect_addr) => Some(spawn_redirect(redirect_addr, addr.port()).await?),
            None => None,
        };
        tracing::info!(%addr, issuer = %state.issuer, "authorization server listening");
        Ok(Self {
            addr,
            state,
            handle,
            redirect,
            _reloader: AbortOnDrop(reloader),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The plain-HTTP redirect listener's address, when there is one.
    pub fn redirect_addr(&self) -> Option<SocketAddr> {
        self.redirect.as_ref().map(|(addr, _)| *addr)
    }

    /// The issuer identifier (`iss`).
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    /// The registry it serves from.
    pub fn registry(&self) -> &Registry {
        &self.state.registry
    }

    /// The `kid` of the key that signs new tokens now.
    pub fn signing_kid(&self) -> String {
        self.state
            .keyring()
            .signing_key(unix_now())
            .kid()
            .to_owned()
    }

    /// Stops accepting requests, finishes in-flight ones, closes the registry.
    pub async fn stop(self) {
        if let Some((_, redirect)) = self.redirect {
            redirect.stop().await;
        }
        self.handle.stop().await;
        self.state.registry.close().await;
    }
}

/// A background task that ends with its owner.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How often the server looks for key rotations made by `tokenbroker keys rotate`.
pub const KEY_RELOAD_INTERVAL: Duration = Duration::from_secs(2);

async fn load_keyring(
    data: &DataDir,
    issuer: &str,
    algorithm: KeyAlgorithm,
) -> Result<KeyRing, ServeError> {
    let data = data.clone();
    // Key generation and parsing are CPU work: keep them off the async workers.
    let entries = tokio::task::spawn_blocking(move || data.key_entries(algorithm))
        .await
        .map_err(|e| ServeError::Refused(format!("key loading failed: {e}")))??;
    Ok(KeyRing::new(issuer, entries))
}

/// Swaps in the new key ring whenever the key manifest changes on disk.
async fn reload_keys_on_change(data: DataDir, state: Arc<AppState>, algorithm: KeyAlgorithm) {
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

async fn spawn_redirect(
    addr: SocketAddr,
    https_port: u16,
) -> Result<(SocketAddr, ServerHandle), ServeError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { addr, source })?;
    Ok((
        bound,
        ServerHandle::spawn(listener, redirect_router(https_port)),
    ))
}
