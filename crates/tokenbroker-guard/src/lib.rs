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

mod claims;
mod client_name;
mod config;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod guard;
mod https_redirect;
mod jose_header;
mod json_value;
mod jwks;
mod layer;
mod metrics;
mod rejection;
mod revocations;
mod token;
mod verifier;
mod verifying_key;

pub use client_name::{ClientNameLayer, ClientNamePolicy, ClientNameService, RateLimits};
pub use config::{GuardConfig, JwksPolicy, RevocationFeed, MAX_POLL_INTERVAL};
pub use guard::{Guard, GuardError};
pub use https_redirect::redirect_router;
pub use jwks::{JwksCache, MAX_JWKS_BYTES, MAX_JWKS_KEYS, MAX_JWKS_MAX_AGE};
pub use layer::{GuardLayer, GuardService};
pub use metrics::GuardMetrics;
pub use rejection::Rejection;
pub use revocations::{RevocationList, MAX_FEED_BYTES};
pub use token::VerifiedToken;
pub use verifier::{default_algorithms, is_asymmetric, KeyLookup, KeySource, TokenRules, Verifier};
pub use verifying_key::{KeyError, VerifyingKey};
