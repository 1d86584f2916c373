//! The client registry: clients, their secrets, administrators and an audit log, in SQLite (the
//! embedded default) or PostgreSQL (several AS nodes sharing one registry), through sqlx.
//!
//! Entur's authentication pages: clients are created by an administrator holding the client-administrator role,
//! and the secret is shown once ("Store the generated Client ID and Client Secret securely").
//! Secrets are stored hashed ([`hashing`]); rotation keeps the old secret valid for an overlap
//! window so deployments can switch without downtime.

pub mod admins;
pub mod audit;
mod changes;
mod client_view;
pub mod clients;
mod facts;
pub mod hashing;
mod limits;
pub mod refresh;
pub mod revocations;
mod rows;
pub mod seed;
pub mod sessions;
mod signing_keys;

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;

pub use admins::{Admin, AdminRecord, IssuedAdminToken, NewAdmin, Role, MAX_ADMIN_TOKEN_LIFETIME};
pub use audit::{actions, AuditEvent, AuditFilter, MAX_AUDIT_PAGE};
pub(crate) use changes::ChangeWatch;
pub use changes::{Announcements, Topic};
pub use client_view::{CLIENT_VIEW_BOUND, CLIENT_VIEW_POLL_INTERVAL, MAX_VIEWED_CLIENTS};
pub use clients::{
    AuthFailure, ClientChanges, ClientRecord, IssuedSecret, NewClient, SecretInfo, MAX_NAME_CHARS,
    MAX_SECRET_OVERLAP, MAX_TOKEN_LIFETIME, MAX_WORDS, MAX_WORD_BYTES, MIN_IMPORTED_SECRET_BYTES,
};
pub use hashing::{Pepper, SecretKind};
pub use limits::MAX_BLOCKS_READ;
pub use refresh::{RefreshGrant, StoredRefreshToken};
pub use revocations::{Revocation, MAX_OUTSTANDING_REVOCATIONS};
pub use seed::{SeedClient, Seeded, MAX_SEED_CLIENTS};
pub use sessions::{
    Session, SessionId, MAX_PASSWORD_BYTES, MAX_SESSIONS_PER_ADMIN, MIN_PASSWORD_CHARS,
    SESSION_IDLE, SESSION_LIFETIME,
};
pub use signing_keys::{Rotation, StoredKey};

/// The migrations that create and evolve the schema (`migrations/` in this crate).
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A registry failure: the database, or a request the registry refuses.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The database could not be opened, migrated or queried.
    #[error("registry database {location}: {source}")]
    Database {
        /// Which database (URL without credentials).
        location: String,
        /// What went wrong, as the database driver said it.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No client with this id.
    #[error("no client with id {0:?}")]
    UnknownClient(String),
    /// The request is invalid (bad name, empty audiences, …).
    #[error("{0}")]
    Invalid(String),
    /// The pepper is not the one the registry's secrets were hashed with.
    #[error(
        "registry {location} was created with another pepper: every stored secret would be \
         refused. Restore this node's pepper file from a backup (or copy it from a node that \
         works); do not start with a new one"
    )]
    PepperMismatch {
        /// Which database (URL without credentials).
        location: String,
    },
    /// The node's issuer is not the one the registry's nodes sign as.
    #[error(
        "the registry's nodes issue tokens as {recorded:?}, but this node would issue them as \
         {ours:?}: give it the recorded issuer"
    )]
    IssuerMismatch {
        /// The issuer recorded in the registry.
        recorded: String,
        /// This node's.
        ours: String,
    },
}

impl RegistryError {
    /// True for what an operator fixes in the node's configuration (its pepper, its issuer),
    /// rather than in the database or the request.
    pub fn is_configuration(&self) -> bool {
        matches!(
            self,
            Self::PepperMismatch { .. } | Self::IssuerMismatch { .. }
        )
    }
}

/// The registry; cheap to clone, clones share the connection pool.
#[derive(Clone)]
pub struct Registry {
    pool: AnyPool,
    pepper: Arc<Pepper>,
    location: Arc<str>,
    /// The URL as given (it may hold a password): for the PostgreSQL listener, never shown.
    url: Arc<str>,
    /// What administrator-token expiry is decided by (the system clock unless set).
    clock: Arc<dyn tokenbroker_wire::Clock>,
    /// The clients lately authenticated, while a keeper keeps them current.
    view: Arc<client_view::ClientView>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// Opens (creating if needed) and migrates the registry at `url`: `sqlite://PATH`,
    /// `sqlite::memory:` or `postgres://…`. Refuses a `pepper` other than the one the registry
    /// recorded first ([`RegistryError::PepperMismatch`]).
    pub async fn open(url: &str, pepper: Pepper) -> Result<Self, RegistryError> {
        sqlx::any::install_default_drivers();
        let location: Arc<str> = redact(url).into();
        let error = |source: Box<dyn std::error::Error + Send + Sync>| RegistryError::Database {
            location: location.to_string(),
            source,
        };
        let in_memory = url.starts_with("sqlite::memory:") || url.contains("mode=memory");
        let url = sqlite_create_if_missing(url);
        let mut options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        if in_memory {
            // Every connection to `:memory:` is its own database: keep exactly one, forever.
            options = options
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        } else {
            options = options.max_connections(8);
        }
        let pool = options.connect(&url).await.map_err(|e| error(e.into()))?;
        MIGRATOR.run(&pool).await.map_err(|e| error(e.into()))?;
        let registry = Self {
            pool,
            pepper: Arc::new(pepper),
            location,
            url: Arc::from(url.as_str()),
            clock: tokenbroker_wire::system_clock(),
            view: Arc::default(),
        };
        registry.check_pepper().await?;
        Ok(registry)
    }

    /// Decides administrator-token expiry on `clock` (the server passes its own, so tests reach
    /// an expiry without waiting).
    pub fn with_clock(mut self, clock: Arc<dyn tokenbroker_wire::Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Now, on the registry's clock (Unix seconds).
    pub(crate) fn now(&self) -> i64 {
        self.clock.unix_seconds()
    }

    /// Where the registry lives (credentials removed), for messages.
    pub fn location(&self) -> &str {
        &self.location
    }

    pub(crate) fn db_error(
        &self,
        error: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> RegistryError {
        RegistryError::Database {
            location: self.location.to_string(),
            source: error.into(),
        }
    }

    /// An insert's error: `duplicate` when a unique key was violated, a database error otherwise.
    pub(crate) fn insert_error(&self, error: sqlx::Error, duplicate: String) -> RegistryError {
        match error.as_database_error().map(|e| e.is_unique_violation()) {
            Some(true) => RegistryError::Invalid(duplicate),
            _ => self.db_error(error),
        }
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), RegistryError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(|e| self.db_error(e))
    }

    /// Checks the registry can be written: rewrites one probe row.
    pub async fn probe_write(&self) -> Result<(), RegistryError> {
        sqlx::query(
            "INSERT INTO write_probe (id, at) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET at = excluded.at",
        )
        .bind(crate::time::unix_now())
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(|e| self.db_error(e))
    }

    /// Closes the connection pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// SQLite refuses to open a missing file unless asked to create it.
fn sqlite_create_if_missing(url: &str) -> String {
    if url.starts_with("sqlite:") && !url.contains("memory") && !url.contains("mode=") {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}mode=rwc")
    } else {
        url.to_owned()
    }
}

/// The URL without a password, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}
