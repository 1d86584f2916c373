//! # tokenbroker
//!
//! OAuth2 client-credentials tokens for machine-to-machine APIs (RFC 6749 §4.4): fetch an access
//! token with a client id and secret, cache it, refresh it before it expires without making
//! callers wait, and put it — with the provider's other headers — on every API request.
//!
//! It speaks the three wire styles partner APIs use ([`AuthStyle`]): Entur's JSON body, RFC 6749
//! `client_secret_post`, and Telenor's `client_secret_basic`; and it knows the provider presets
//! ([`EnturEnvironment`], [`TelenorRegion`]).
//!
//! The data flows one way, a module per step: [`profile`] (a `tokenbroker.toml` entry and its
//! [`SecretSource`](profile::SecretSource)) → [`ClientConfig`] → the token request
//! ([`wire::client_auth`]) → [`TokenClient`] (response, [`effective_expiry`]) → [`AccessToken`] →
//! [`CachedTokenSource`] (cache, refresh ahead) → [`AuthMiddleware`] (headers on the API request,
//! [`apply_api_headers`]).
//!
//! The crate root holds every type; [`profile`], [`redis_cache`] (feature `redis`) and [`wire`]
//! are the namespaces.
//!
//! ```no_run
//! use std::sync::Arc;
//! use tokenbroker::{AuthMiddleware, CachedTokenSource, ClientConfig, ClientName, EnturEnvironment, TokenClient};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = ClientConfig::entur(EnturEnvironment::Dev, "my-client-id", std::env::var("ENTUR_SECRET")?)
//!     .build()?;
//! let tokens = Arc::new(CachedTokenSource::new(TokenClient::new(config)?));
//! let api = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(AuthMiddleware::new(tokens).client_name(ClientName::new("forsen_utvikling-infoplakat")?))
//!     .build();
//! let programs = api.get("https://api.dev.entur.io/personalisation/v1/programs/1").send().await?;
//! # Ok(()) }
//! ```
// docs.rs builds with `--cfg docsrs`: feature-gated items then carry a badge naming the feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod api_headers;
mod cache_key;
mod config;
mod error;
mod exchange;
mod expiry;
mod file_cache;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod middleware;
pub mod profile;
#[cfg(feature = "redis")]
pub mod redis_cache;
mod request;
mod resolver;
mod response;
mod revocation;
mod source;
mod token;
mod token_record;
pub mod trace;
mod x_jwt;

/// The vocabulary shared with the server, the guard and the agent: header names, the HTTPS rule,
/// provider facts, the client-authentication codec, JWT peeking.
pub use tokenbroker_wire as wire;

pub use api_headers::apply_api_headers;
pub use cache_key::CacheKey;
pub use config::{ClientConfig, ClientConfigBuilder, DEFAULT_LIFETIME, DEFAULT_REQUEST_TIMEOUT};
pub use error::{innermost_cause, ConfigError, Detail, Error, Rejection, Result};
pub use exchange::{TokenClient, MAX_RESPONSE_BYTES};
pub use expiry::effective_expiry;
pub use file_cache::FileTokenCache;
pub use middleware::AuthMiddleware;
pub use profile::Profile;
pub use request::TokenParams;
pub use source::shared::{Acceptable, Fetch};
pub use source::{
    Backoff, BudgetLeft, CachedTokenSource, CachedTokenSourceBuilder, FetchBudget, RefreshPolicy,
    SharedCache, SourceHealth, SourceStats, TokenSource,
};
pub use token::AccessToken;
pub use wire::client_auth::{AuthStyle, BasicEncoding};
pub use wire::provider::{EnturEnvironment, TelenorRegion};
pub use wire::{ClientName, ClientSecret, Clock, ManualClock, SystemClock};
pub use x_jwt::{XJwtConfig, XJwtSource};
