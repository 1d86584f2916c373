//! How to run the authorization server: where it listens, where it keeps its registry and keys,
//! which provider it stands in for.
//!
//! One [`ServerConfig`] drives every way of running it: `tokenbroker serve` on a data directory,
//! and the in-memory server that tests, the demo and CI pipelines start on a loopback port
//! ([`ServerConfig::in_memory`]). Both go through the same start path.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;

use tokenbroker_wire::{system_clock, Clock};

use crate::dialect::Profile;
use crate::kek::Kek;
use crate::keys::KeyAlgorithm;
use crate::listener::ListenerLimits;
use crate::static_client::StaticClient;

/// The embedded default listen address.
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8080);

/// Token lifetime of the in-memory server for clients without their own: one hour, short enough
/// that a test run sees refreshes, long enough that none happens by accident.
pub const IN_MEMORY_LIFETIME: Duration = Duration::from_secs(3600);

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Where the registry, the pepper and the keys live.
    pub storage: Storage,
    /// A PostgreSQL (or other SQLite) URL for the registry instead of the data directory's.
    pub database_url: Option<String>,
    /// The `iss` of tokens; `http(s)://<listen address>` when `None`.
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
    /// Also listen for plain HTTP here, answering 301 (GET/HEAD) or 405 towards HTTPS (Entur
    /// partner authentication: HTTP is redirected, backends calling over HTTP get 405).
    pub http_redirect: Option<SocketAddr>,
    /// The clock `iat`/`exp` are stamped with and tokens are checked against (introspection,
    /// revocation, logout), and that decides which key signs. The system clock by default; a
    /// [`ManualClock`](tokenbroker_wire::ManualClock) lets tests reach an expiry without waiting.
    /// Record-keeping times (audit log, revocation feed, secret rotation) use the system clock.
    pub clock: Arc<dyn Clock>,
    /// Connection cap and header/handshake timeout of every listener.
    pub limits: ListenerLimits,
    /// Proxies whose `Forwarded`/`X-Forwarded-For` is believed for the client's address (the
    /// TLS-terminating proxy in front of an `insecure_http` server); nobody else's is.
    pub trusted_proxies: Vec<IpNet>,
    /// Serve the admin API and `/metrics` here instead of on the public port, which then carries
    /// only the OAuth endpoints, keys, metadata and health.
    pub admin_listen: Option<SocketAddr>,
    /// The key-encryption key sealing the signing keys in the registry; the data directory's
    /// `kek` file (created on first start) when `None`, a fresh one in memory for the in-memory
    /// server. Every node of a fleet needs the same one.
    pub kek: Option<Arc<Kek>>,
    /// How often the node checks the registry for a changed key schedule, besides PostgreSQL's
    /// announcements ([`KEY_RELOAD_INTERVAL`](crate::KEY_RELOAD_INTERVAL) by default; 100 ms to
    /// a day).
    pub key_reload_interval: Duration,
}

/// Where the server keeps its state.
#[derive(Debug, Clone)]
pub enum Storage {
    /// A data directory: the SQLite registry (unless a database URL is given), the pepper and the
    /// keys, all surviving restarts. Key rotations made on disk are picked up while running.
    DataDir(PathBuf),
    /// Nothing on disk: an in-memory registry holding these clients, a fresh pepper and a fresh
    /// key, all gone when the server stops.
    Memory {
        /// Clients registered at start.
        clients: Vec<StaticClient>,
    },
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
    /// The embedded default: loopback port 8080, Entur profile, state in `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self::on(Storage::DataDir(data_dir.into()), DEFAULT_LISTEN)
    }

    /// A server with nothing on disk, on an ephemeral port of 127.0.0.1, with these clients and
    /// a one-hour default token lifetime: the faithful local stand-in for Entur and Telenor that
    /// tests and the demo run against.
    pub fn in_memory(clients: impl IntoIterator<Item = StaticClient>) -> Self {
        let mut config = Self::on(
            Storage::Memory {
                clients: clients.into_iter().collect(),
            },
            SocketAddr::from(([127, 0, 0, 1], 0)),
        );
        config.default_lifetime = Some(IN_MEMORY_LIFETIME);
        config
    }

    fn on(storage: Storage, listen: SocketAddr) -> Self {
        Self {
            listen,
            storage,
            database_url: None,
            issuer: None,
            profile: Profile::default(),
            default_lifetime: None,
            insecure_http: false,
            algorithm: KeyAlgorithm::default(),
            tls: None,
            http_redirect: None,
            clock: system_clock(),
            limits: ListenerLimits::default(),
            trusted_proxies: Vec::new(),
            admin_listen: None,
            kek: None,
            key_reload_interval: crate::key_reload::KEY_RELOAD_INTERVAL,
        }
    }

    /// The data directory, when the state lives in one.
    pub fn data_dir(&self) -> Option<&std::path::Path> {
        match &self.storage {
            Storage::DataDir(path) => Some(path),
            Storage::Memory { .. } => None,
        }
    }
}
