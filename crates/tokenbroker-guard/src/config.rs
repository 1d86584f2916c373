//! What a guard checks, and how it keeps its keys fresh.

use std::sync::Arc;
use std::time::Duration;

use tokenbroker_wire::{system_clock, Clock};

use crate::verifier::{default_algorithms, TokenRules};

/// How a guard validates tokens.
#[derive(Debug, Clone)]
pub struct GuardConfig {
    /// What makes a token acceptable: issuer, audience (a guard requires one), algorithms,
    /// leeway, size limit and `typ` — the rules of the one [`Verifier`](crate::Verifier).
    pub rules: TokenRules,
    /// Where the keys are; discovered from the issuer's RFC 8414 metadata when `None`.
    pub jwks_url: Option<String>,
    /// JWKS refresh timing and outage tolerance.
    pub jwks: JwksPolicy,
    /// The authorization server's revocation feed and how often to poll it.
    pub revocations: Option<RevocationFeed>,
    /// The clock `exp` and `nbf` are checked against, and the 408 deadline counted from (the
    /// system clock by default; a [`ManualClock`](tokenbroker_wire::ManualClock) in tests).
    pub clock: Arc<dyn Clock>,
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
    /// How often it is polled: a revoked token is rejected within this interval. More than
    /// zero and at most [`MAX_POLL_INTERVAL`].
    pub poll_interval: Duration,
}

/// The longest revocation poll interval, a day: a revoked token may be honoured that long.
pub const MAX_POLL_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

impl GuardConfig {
    /// A configuration for tokens of `issuer` meant for `audience`, with the defaults: RS256,
    /// ES256 and EdDSA; 30 s leeway; 8 KiB tokens; `typ` not enforced; JWKS discovered; the
    /// system clock.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            rules: TokenRules {
                issuer: issuer.into(),
                audience: Some(audience.into()),
                algorithms: default_algorithms(),
                leeway: Duration::from_secs(30),
                max_token_bytes: 8 * 1024,
                required_typ: None,
            },
            jwks_url: None,
            jwks: JwksPolicy::default(),
            revocations: None,
            clock: system_clock(),
        }
    }
}
