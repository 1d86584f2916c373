//! What a guard checks, and how it keeps its keys fresh.

use std::time::Duration;

use jsonwebtoken::Algorithm;

use crate::verifier::{default_algorithms, TokenRules};

/// How a guard validates tokens.
#[derive(Debug, Clone)]
pub struct GuardConfig {
    /// The expected `iss` (the authorization server's issuer identifier).
    pub issuer: String,
    /// This API's audience: the token's `aud` must contain it.
    pub audience: String,
    /// Where the keys are; discovered from the issuer's RFC 8414 metadata when `None`.
    pub jwks_url: Option<String>,
    /// Accepted signature algorithms; asymmetric only (HS* would let anyone holding the public key
    /// forge tokens).
    pub algorithms: Vec<Algorithm>,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway: Duration,
    /// Tokens longer than this are refused before any parsing.
    pub max_token_bytes: usize,
    /// When set, the JWT header's `typ` must equal it (RFC 9068: `at+jwt`).
    pub required_typ: Option<String>,
    /// JWKS refresh timing and outage tolerance.
    pub jwks: JwksPolicy,
    /// The authorization server's revocation feed and how often to poll it.
    pub revocations: Option<RevocationFeed>,
}

/// JWKS caching: refresh before the server's `Cache-Control: max-age` runs out, refresh on an
/// unknown `kid` at most once per cooldown, and keep using known keys through an outage.
#[derive(Debug, Clone)]
pub struct JwksPolicy {
    /// Lifetime assumed when the JWKS response has no `max-age` (default 5 min).
    pub default_max_age: Duration,
    /// Minimum time between refreshes caused by unknown `kid`s (default 10 s), so a flood of
    /// forged `kid`s cannot become a flood of JWKS requests.
    pub unknown_kid_cooldown: Duration,
    /// How long known keys stay usable after they should have been refreshed, while the issuer is
    /// unreachable (default 6 h).
    pub stale_if_error: Duration,
    /// Wait between attempts while the JWKS cannot be fetched (default 10 s).
    pub retry_interval: Duration,
}

impl Default for JwksPolicy {
    fn default() -> Self {
        Self {
            default_max_age: Duration::from_secs(300),
            unknown_kid_cooldown: Duration::from_secs(10),
            stale_if_error: Duration::from_secs(6 * 3600),
            retry_interval: Duration::from_secs(10),
        }
    }
}

/// The issuer's revocation feed (`GET …/revocations?since=…`).
#[derive(Debug, Clone)]
pub struct RevocationFeed {
    /// The feed's URL.
    pub url: String,
    /// How often it is polled: a revoked token is rejected within this interval.
    pub poll_interval: Duration,
}

impl GuardConfig {
    /// A configuration for tokens of `issuer` meant for `audience`, with the defaults: RS256,
    /// ES256 and EdDSA; 30 s leeway; 8 KiB tokens; `typ` not enforced; JWKS discovered.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            jwks_url: None,
            algorithms: default_algorithms(),
            leeway: Duration::from_secs(30),
            max_token_bytes: 8 * 1024,
            required_typ: None,
            jwks: JwksPolicy::default(),
            revocations: None,
        }
    }
}

impl GuardConfig {
    /// The token rules this configuration sets: its issuer and audience, algorithms, leeway, size
    /// limit and `typ`.
    pub fn rules(&self) -> TokenRules {
        TokenRules {
            issuer: self.issuer.clone(),
            audience: Some(self.audience.clone()),
            algorithms: self.algorithms.clone(),
            leeway: self.leeway,
            max_token_bytes: self.max_token_bytes,
            required_typ: self.required_typ.clone(),
        }
    }
}
