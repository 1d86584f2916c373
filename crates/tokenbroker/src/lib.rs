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
//! The data flows one way, a module per step:
//! [`config`] → [`request`] → [`exchange`] (→ `response`, [`expiry`]) → [`token`] →
//! [`source`] (cache, refresh ahead) → [`middleware`] (headers on the API request).
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

#![warn(missing_docs)]

pub mod cache_key;
pub mod client_name;
pub mod clock;
pub mod config;
pub mod endpoint;
pub mod error;
pub mod exchange;
pub mod expiry;
pub mod fingerprint;
pub mod jwt;
pub mod middleware;
pub mod preset;
#[cfg(feature = "redis")]
pub mod redis_cache;
pub mod request;
mod response;
pub mod revocation;
pub mod secret;
pub mod source;
pub mod token;
pub mod transaction_id;
pub mod x_jwt;

pub use cache_key::CacheKey;
pub use client_name::ClientName;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{ClientConfig, ClientConfigBuilder};
pub use error::{Error, Rejection};
pub use exchange::TokenClient;
pub use middleware::AuthMiddleware;
pub use preset::{EnturEnvironment, TelenorRegion};
pub use request::{AuthStyle, BasicEncoding, TokenParams};
pub use secret::ClientSecret;
pub use source::{
    Backoff, BudgetLeft, CachedTokenSource, CachedTokenSourceBuilder, FetchBudget, RefreshPolicy,
    SharedCache, SourceStats, TokenSource,
};
pub use token::AccessToken;
pub use x_jwt::{XJwtConfig, XJwtSource};
