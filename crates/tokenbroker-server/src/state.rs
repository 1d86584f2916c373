//! What every request handler shares.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::dialect::Profile;
use crate::faults::Faults;
use arc_swap::ArcSwap;

use crate::keyring::KeyRing;
use crate::limiter::FailureLimiter;
use crate::metrics::ServerMetrics;
use crate::registry::Registry;

/// The server's shared state.
pub struct AppState {
    /// The `iss` of issued tokens.
    pub issuer: String,
    /// The keys: which sign, which are published. Swapped whole when the key files change.
    pub keyring: ArcSwap<KeyRing>,
    /// The dialect of the standard token path (`/oauth2/token`) and of the metadata.
    pub profile: Profile,
    /// Known clients.
    pub registry: Registry,
    /// Fault knobs.
    pub faults: Faults,
    /// Brute-force protection for client authentication.
    pub limiter: FailureLimiter,
    /// Prometheus metrics.
    pub metrics: ServerMetrics,
    default_lifetime_secs: AtomicU64,
    token_requests: AtomicU64,
    tokens_issued: AtomicU64,
    jwks_requests: AtomicU64,
}

impl AppState {
    /// State for a server issuing as `issuer`.
    pub fn new(
        issuer: String,
        keyring: KeyRing,
        profile: Profile,
        registry: Registry,
        default_lifetime: Duration,
    ) -> Self {
        Self {
            keyring: ArcSwap::from_pointee(keyring),
            issuer,
            profile,
            registry,
            faults: Faults::default(),
            limiter: FailureLimiter::default(),
            metrics: ServerMetrics::default(),
            default_lifetime_secs: AtomicU64::new(default_lifetime.as_secs().max(1)),
            token_requests: AtomicU64::new(0),
            tokens_issued: AtomicU64::new(0),
            jwks_requests: AtomicU64::new(0),
        }
    }

    /// The current key ring.
    pub fn keyring(&self) -> std::sync::Arc<KeyRing> {
        self.keyring.load_full()
    }

    /// Lifetime of tokens for clients without their own.
    pub fn default_lifetime(&self) -> Duration {
        Duration::from_secs(self.default_lifetime_secs.load(Ordering::Relaxed))
    }

    /// Changes the default token lifetime (at least one second).
    pub fn set_default_lifetime(&self, lifetime: Duration) {
        self.default_lifetime_secs
            .store(lifetime.as_secs().max(1), Ordering::Relaxed);
    }

    /// Requests that reached the token endpoint.
    pub fn token_requests(&self) -> u64 {
        self.token_requests.load(Ordering::Relaxed)
    }

    /// Tokens issued.
    pub fn tokens_issued(&self) -> u64 {
        self.tokens_issued.load(Ordering::Relaxed)
    }

    /// Requests for the JWKS.
    pub fn jwks_requests(&self) -> u64 {
        self.jwks_requests.load(Ordering::Relaxed)
    }

    pub(crate) fn count_jwks_request(&self) {
        self.jwks_requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_token_request(&self) {
        self.token_requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_token_issued(&self) {
        self.tokens_issued.fetch_add(1, Ordering::Relaxed);
    }
}
