//! # tokenbroker-server
//!
//! An OAuth2 authorization server for the client credentials grant
//! ([RFC 6749 §4.4](https://www.rfc-editor.org/rfc/rfc6749#section-4.4)) issuing
//! [RFC 9068](https://www.rfc-editor.org/rfc/rfc9068) JWT access tokens, speaking the dialects of
//! Entur (Entur partner authentication) and Telenor (Telenor Norway client credentials grant,
//! Telenor Sweden Open APIs).
//!
//! [`AuthServer`] is the one server: `tokenbroker serve` runs it on a data directory
//! ([`ServerConfig::new`]); tests, the demo and CI pipelines run it with nothing on disk on a
//! loopback port ([`ServerConfig::in_memory`]), through the same start path. With the `testing`
//! feature (tests only), it also counts requests and takes fault knobs, in a layer no shipped
//! build contains.
//!
//! The client registry ([`registry`]) is the one public namespace; everything else is re-exported
//! here once.

mod access_log;
mod claims;
mod client_address;
mod client_auth;
mod config;
mod data_dir;
mod dialect;
mod endpoints;
mod error;
#[cfg(feature = "testing")]
mod faults;
mod jws;
mod kek;
mod key_reload;
mod key_store;
mod keyring;
mod keys;
mod limiter;
mod limits;
mod listener;
mod metrics;
mod oauth_error;
mod portal;
pub mod registry;
mod routes;
mod server;
mod shared_limits;
mod signer;
mod signing_pool;
mod state;
mod static_client;
mod time;
mod verify;

pub use access_log::{ACCESS_LOG_TARGET, TRACE_TARGET};
pub use claims::{sign_access_token, AccessTokenClaims};
pub use config::{ServerConfig, Storage, TlsFiles, DEFAULT_LISTEN, IN_MEMORY_LIFETIME};
#[cfg(any(test, feature = "testing"))]
pub use data_dir::write_legacy_key;
pub use data_dir::{DataDir, DataDirError, DataDirProblem};
pub use dialect::{Dialect, Profile, STANDARD_TOKEN_PATH};
pub use endpoints::jwks::JWKS_MAX_AGE_SECONDS;
pub use endpoints::revocation::{FEED_PAGE, MAX_FEED_PAGE};
pub use error::ServeError;
#[cfg(feature = "testing")]
pub use faults::{BodyFault, ExpiresInFormat, Faults, TestDoubles};
pub use kek::{Kek, KekError, KEK_BYTES};
pub use key_reload::{KEY_RELOAD_INTERVAL, MAX_KEY_RELOAD_INTERVAL, MIN_KEY_RELOAD_INTERVAL};
pub use key_store::{KeyStore, KeyStoreError, MAX_ROTATION_DELAY};
pub use keyring::{KeyEntry, KeyRing};
pub use keys::{jwk_set, KeyAlgorithm, KeyError, SigningKey};
pub use listener::{ListenerLimits, DRAIN_TIMEOUT};
pub use portal::PORTAL_PATH;
pub use registry::{Rotation, StoredKey};
pub use routes::{
    ADMIN_PATH, INTROSPECTION_PATH, JWKS_PATH, LOGOUT_PATH, MAX_BODY_BYTES, OPENAPI_PATH,
    REQUEST_TIMEOUT, REVOCATION_FEED_PATH, REVOCATION_PATH,
};
pub use server::AuthServer;
pub use shared_limits::BLOCKS_POLL_INTERVAL;
pub use signer::{Bound, Signer};
pub use static_client::StaticClient;
