//! # tokenbroker-server
//!
//! An OAuth2 authorization server for the client credentials grant (RFC 6749 §4.4) issuing
//! RFC 9068 JWT access tokens, speaking the dialects of Entur (Entur's authentication pages) and Telenor
//! (Telenor's authentication pages).
//!
//! [`AuthServer`] is the server `tokenbroker serve` runs; [`LocalAuthServer`] runs on a loopback
//! port with static clients and an RS256 key, the faithful stand-in the demo runs against. With
//! the `testing` feature (tests only), the local server also counts requests and takes fault
//! knobs, in a layer no shipped request path goes through.

#![warn(missing_docs)]

pub mod claims;
pub mod client_auth;
pub mod data_dir;
pub mod dialect;
pub mod endpoints;
#[cfg(feature = "testing")]
pub mod faults;
pub mod keyring;
pub mod keys;
pub mod limiter;
pub mod local;
pub mod metrics;
pub mod oauth_error;
pub mod registry;
pub mod routes;
pub mod server;
pub mod state;
pub mod static_client;
pub mod time;
pub mod verify;

pub use claims::AccessTokenClaims;
pub use dialect::{Dialect, Profile};
#[cfg(feature = "testing")]
pub use faults::{BodyFault, ExpiresInFormat, Faults, TestDoubles};
pub use keyring::KeyRing;
pub use keys::{KeyAlgorithm, SigningKey};
pub use local::{LocalAuthServer, LocalServerConfig, StartError};
pub use registry::Registry;
pub use server::{AuthServer, Bound, ServeError, ServerConfig, Signer, TlsFiles};
pub use static_client::StaticClient;
