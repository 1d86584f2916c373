//! # tokenbroker-guard
//!
//! The API side of OAuth2 client credentials: "the API validates the access token on every
//! request" (Entur partner authentication). A [`GuardLayer`] in front of axum/tower routes checks the bearer token
//! (RFC 6750) against the issuer's keys (JWKS, RFC 7517; discovered per RFC 8414), its `iss`,
//! `aud`, `exp`/`nbf`, `typ` and the issuer's revocation feed, enforces per-route scopes, and
//! answers the way the provider pages describe: 401 for a missing, invalid or expired token; 403 for a
//! valid token without the permission; 408 when the token expires during processing.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use tokenbroker_guard::{Guard, GuardConfig, GuardLayer, VerifiedToken};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let guard = Guard::start(GuardConfig::new("https://partner.dev.entur.org", "https://api.dev.entur.io")).await?;
//! let app: Router = Router::new().route(
//!     "/personalisation/v1/programs/{id}",
//!     get(|token: VerifiedToken| async move { format!("hello {}", token.client_id().unwrap_or("?")) })
//!         .layer(GuardLayer::new(guard).require_scopes(["personalisation:read"])),
//! );
//! # Ok(()) }
//! ```

pub mod client_name;
pub mod config;
pub mod guard;
pub mod https_redirect;
pub mod jwks;
pub mod layer;
pub mod metrics;
pub mod rejection;
pub mod revocations;
pub mod token;
pub mod verifier;

pub use client_name::{ClientNameLayer, ClientNamePolicy, RateLimits};
pub use config::{GuardConfig, JwksPolicy, RevocationFeed};
pub use guard::{Guard, GuardError};
pub use layer::{GuardLayer, GuardService};
pub use rejection::Rejection;
pub use token::VerifiedToken;
pub use verifier::{KeyLookup, KeySource, TokenRules, Verifier, VerifyingKey};
