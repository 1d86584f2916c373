//! Why the server could not start.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::data_dir::DataDirError;
use crate::kek::KekError;
use crate::key_store::KeyStoreError;
use crate::keys::KeyError;
use crate::registry::RegistryError;

/// Why the server could not start: each variant names what was refused and keeps its cause.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The data directory is unusable.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// The registry could not be opened.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A signing key could not be made or loaded.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The signing keys in the registry could not be opened or created.
    #[error(transparent)]
    Keys(#[from] KeyStoreError),
    /// The in-memory key-encryption key could not be made.
    #[error(transparent)]
    Kek(#[from] KekError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// Plain HTTP was asked for on an address other than loopback.
    #[error(
        "refusing to serve plain HTTP on {addr}: only loopback addresses may use HTTP; \
         configure a TLS certificate and key, or allow insecure HTTP behind a TLS-terminating proxy"
    )]
    PlainHttpBeyondLoopback {
        /// The listen address.
        addr: SocketAddr,
    },
    /// An HTTP redirect listener was asked for without TLS on the main listener.
    #[error(
        "an HTTP-to-HTTPS redirect listener needs TLS on the main listener: it redirects to HTTPS"
    )]
    RedirectWithoutTls,
    /// The TLS certificate or key could not be loaded.
    #[error("TLS certificate {} / key {}: {source}", cert.display(), key.display())]
    Tls {
        /// The certificate chain file.
        cert: PathBuf,
        /// The private key file.
        key: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A shared registry without an explicit issuer: each node's default (its own address)
    /// would make the nodes different issuers.
    #[error(
        "a node on a shared registry (a database URL) needs an explicit issuer: each node's \
         default, its own address, would make them different issuers"
    )]
    IssuerRequired,
    /// The default token lifetime is zero or longer than the registry allows.
    #[error("the default token lifetime must be 1 s to {} days", crate::registry::MAX_TOKEN_LIFETIME.as_secs() / 86_400)]
    LifetimeOutOfRange,
    /// The key schedule would be checked not at all, or less often than daily.
    #[error(
        "the key reload interval must be {} ms to {} s",
        crate::key_reload::MIN_KEY_RELOAD_INTERVAL.as_millis(),
        crate::key_reload::MAX_KEY_RELOAD_INTERVAL.as_secs()
    )]
    KeyReloadIntervalOutOfRange,
    /// An in-memory server was given a database URL: its registry lives in memory, and a shared
    /// registry needs the data directory's pepper.
    #[error("an in-memory server keeps its registry in memory; it takes no database URL")]
    DatabaseUrlInMemory,
}

impl ServeError {
    /// Whether the configuration was refused (a usage error), rather than the environment failing
    /// (a port taken, a database down).
    pub fn is_configuration(&self) -> bool {
        matches!(
            self,
            Self::PlainHttpBeyondLoopback { .. }
                | Self::RedirectWithoutTls
                | Self::Tls { .. }
                | Self::DatabaseUrlInMemory
                | Self::LifetimeOutOfRange
                | Self::KeyReloadIntervalOutOfRange
                | Self::IssuerRequired
                | Self::DataDir(_)
                | Self::Key(_)
        ) || matches!(self, Self::Registry(registry) if registry.is_configuration())
            || matches!(self, Self::Keys(keys) if keys.is_configuration())
    }
}
