//! Why the server could not start.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::data_dir::DataDirError;
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
    /// The default token lifetime is zero or longer than the registry allows.
    #[error("the default token lifetime must be 1 s to {} days", crate::registry::MAX_TOKEN_LIFETIME.as_secs() / 86_400)]
    LifetimeOutOfRange,
    /// An in-memory server was given a database URL: its registry lives in memory, and a shared
    /// registry needs the data directory's pepper.
    #[error("an in-memory server keeps its registry in memory; it takes no database URL")]
    DatabaseUrlInMemory,
    /// A background task (key generation or loading) did not finish.
    #[error("{what} did not finish: {source}")]
    Task {
        /// What the task was doing.
        what: &'static str,
        /// The cause.
        source: tokio::task::JoinError,
    },
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
                | Self::DataDir(_)
                | Self::Key(_)
        )
    }
}
