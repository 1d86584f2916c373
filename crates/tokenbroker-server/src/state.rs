//! What every request handler shares.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokenbroker_wire::Clock;

use crate::dialect::Profile;
use arc_swap::ArcSwap;

use crate::access_log::RefusalWarnings;
use crate::keyring::KeyRing;
use crate::limits::Limits;
use crate::metrics::ServerMetrics;
use crate::registry::{Registry, MAX_TOKEN_LIFETIME};
use crate::signing_pool::SigningPool;

/// The server's shared state.
pub(crate) struct AppState {
    /// The `iss` of issued tokens.
    pub issuer: String,
    /// The keys: which sign, which are published. Swapped whole when the schedule changes.
    pub keyring: ArcSwap<KeyRing>,
    /// False while the registry's key schedule has changed but could not be loaded: this node
    /// may be signing with a key the others have retired, so it is not ready.
    pub keys_current: std::sync::atomic::AtomicBool,
    /// The dialect of the standard token path (`/oauth2/token`) and of the metadata.
    pub profile: Profile,
    /// Known clients.
    pub registry: Registry,
    /// Brute-force protection for client and administrator authentication.
    pub limits: Limits,
    /// Prometheus metrics.
    pub metrics: ServerMetrics,
    /// Where access tokens are signed (RSA off the async workers).
    pub(crate) signing: SigningPool,
    /// The rate limit on warnings about refused client logins.
    pub(crate) refusal_warnings: RefusalWarnings,
    default_lifetime_secs: AtomicU64,
    /// The time tokens are stamped and checked with.
    clock: Arc<dyn Clock>,
    /// Proxies whose forwarded client addresses are believed.
    pub(crate) trusted_proxies: Vec<ipnet::IpNet>,
    /// The browser reaches the portal over HTTPS (our TLS, or a TLS-terminating proxy in front
    /// of `insecure_http`): its session cookie is `Secure` with the `__Host-` prefix.
    pub(crate) portal_cookies_secure: bool,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("issuer", &self.issuer)
            .field("profile", &self.profile)
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State for a server issuing as `issuer`.
    pub(crate) fn new(
        issuer: String,
        keyring: KeyRing,
        profile: Profile,
        registry: Registry,
        default_lifetime: Duration,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            keyring: ArcSwap::from_pointee(keyring),
            keys_current: std::sync::atomic::AtomicBool::new(true),
            issuer,
            profile,
            registry,
            limits: Limits::default(),
            metrics: ServerMetrics::default(),
            refusal_warnings: RefusalWarnings::default(),
            signing: SigningPool::default(),
            default_lifetime_secs: AtomicU64::new(default_lifetime.as_secs().max(1)),
            clock,
            trusted_proxies: Vec::new(),
            portal_cookies_secure: false,
        }
    }

    /// Now, on the server's clock: what `iat`/`exp` are stamped with and tokens checked against.
    pub(crate) fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// The server's clock.
    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Now as an RFC 7519 NumericDate, on the server's clock.
    pub(crate) fn unix_now(&self) -> i64 {
        self.clock.unix_seconds()
    }

    /// The current key ring.
    pub(crate) fn keyring(&self) -> std::sync::Arc<KeyRing> {
        self.keyring.load_full()
    }

    /// Lifetime of tokens for clients without their own.
    pub(crate) fn default_lifetime(&self) -> Duration {
        Duration::from_secs(self.default_lifetime_secs.load(Ordering::Relaxed))
    }

    /// Changes the default token lifetime (at least one second).
    pub(crate) fn set_default_lifetime(&self, lifetime: Duration) {
        self.default_lifetime_secs.store(
            lifetime.min(MAX_TOKEN_LIFETIME).as_secs().max(1),
            Ordering::Relaxed,
        );
    }
}
