//! A profile at run time: its cached token source, its X-JWT source, and the headers it adds.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokenbroker::profile::SecretSource;
use tokenbroker::redis_cache::RedisTokenCache;
use tokenbroker::wire::https::PlainHttpHosts;
use tokenbroker::{
    AccessToken, Backoff, CachedTokenSource, ClientName, ClientSecret, Clock, FetchBudget,
    RefreshPolicy, TokenClient, XJwtSource,
};
use url::Url;

use crate::error::AgentError;

/// A resolved `[profiles.NAME]`: the client library's [`Profile`](tokenbroker::Profile), as the
/// CLI loads it from `tokenbroker.toml`.
pub use tokenbroker::Profile as ProfileSpec;

/// Why no usable token could be had: the 503's `reason`.
#[derive(Debug, Clone)]
pub struct NoToken(pub String);

/// A bearer token and, for Communication APIs, the X-JWT issued for it.
#[derive(Clone)]
pub(crate) struct Credentials {
    pub bearer: AccessToken,
    pub x_jwt: Option<AccessToken>,
}

/// A token with less than this (or a tenth of its lifetime, if shorter) left is never put on a
/// request: it could expire on the way. The source's refresh policy normally keeps tokens far
/// from this line; this is the last check before the header is written.
const MIN_INJECT_LIFETIME: Duration = Duration::from_secs(1);

pub(crate) struct Profile {
    pub name: String,
    pub source: Arc<CachedTokenSource>,
    x_jwt: Option<XJwtSource<CachedTokenSource>>,
    pub client_name: Option<ClientName>,
    pub transaction_ids: bool,
    pub secret_file: Option<PathBuf>,
    x_jwt_password_file: Option<PathBuf>,
    pub logout_url: Option<Url>,
    pub revocation_url: Option<Url>,
    /// Hosts besides loopback its upstreams may be reached at over plain HTTP.
    pub plain_http_hosts: PlainHttpHosts,
    /// Token lookups by the proxy and the token endpoint (cache hits = lookups − waits).
    lookups: AtomicU64,
    /// The time the profile's tokens expire by (its token source's clock).
    clock: Arc<dyn Clock>,
}

impl Profile {
    pub(crate) fn new(
        spec: ProfileSpec,
        budget: FetchBudget,
        shared: Option<Arc<RedisTokenCache>>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, AgentError> {
        let plain_http_hosts = spec.client.plain_http_hosts().clone();
        let client =
            TokenClient::with_clock(spec.client, Arc::clone(&clock)).map_err(|source| {
                AgentError::Client {
                    setting: format!("profile {}", spec.name),
                    source,
                }
            })?;
        let mut builder = CachedTokenSource::builder(client)
            .policy(agent_policy())
            .budget(budget);
        if let Some(cache) = shared {
            builder = builder.shared_cache(cache);
        }
        let source = Arc::new(builder.build());
        let x_jwt = spec.x_jwt.map(|config| {
            XJwtSource::new(Arc::clone(&source), config).with_clock(Arc::clone(&clock))
        });
        Ok(Self {
            name: spec.name,
            source,
            x_jwt,
            client_name: spec.client_name,
            transaction_ids: spec.transaction_ids,
            secret_file: spec.secret_file,
            x_jwt_password_file: spec.x_jwt_password_file,
            logout_url: spec.logout_url,
            revocation_url: spec.revocation_url,
            plain_http_hosts,
            lookups: AtomicU64::new(0),
            clock,
        })
    }

    /// Valid credentials, or why there are none. Never a token that is about to expire.
    pub(crate) async fn credentials(&self) -> Result<Credentials, NoToken> {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        let credentials = match &self.x_jwt {
            Some(x_jwt) => x_jwt.credentials().await.map(|(bearer, x)| Credentials {
                bearer,
                x_jwt: Some(x),
            }),
            None => self.source.token().await.map(|bearer| Credentials {
                bearer,
                x_jwt: None,
            }),
        }
        .map_err(|error| NoToken(error.to_string()))?;
        let now = self.clock.now();
        let inject = RefreshPolicy {
            min_remaining: MIN_INJECT_LIFETIME,
            ..RefreshPolicy::default()
        };
        let expiring = std::iter::once(&credentials.bearer)
            .chain(&credentials.x_jwt)
            .any(|token| now >= inject.usable_until(token));
        if expiring {
            return Err(NoToken(
                "the only token available is about to expire; not sending it".into(),
            ));
        }
        Ok(credentials)
    }

    /// The upstream rejected `used` (401): drop it, so the next lookup fetches.
    pub(crate) fn invalidate(&self, used: &Credentials) {
        self.source.invalidate(&used.bearer);
        if let (Some(source), Some(x_jwt)) = (&self.x_jwt, &used.x_jwt) {
            source.invalidate(x_jwt);
        }
    }

    /// True when the profile holds a token with enough lifetime left to be handed out.
    pub(crate) fn ready(&self) -> bool {
        let now = self.clock.now();
        self.source
            .peek()
            .is_some_and(|token| now < agent_policy().usable_until(&token))
    }

    /// Seconds until the cached token expires, if there is one.
    pub(crate) fn seconds_to_expiry(&self) -> Option<f64> {
        self.source
            .peek()
            .map(|token| token.remaining(self.clock.now()).as_secs_f64())
    }

    pub(crate) fn lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }

    /// True when a secret came from a file (and can be reloaded).
    pub(crate) fn has_secret_files(&self) -> bool {
        self.secret_file.is_some() || self.x_jwt_password_file.is_some()
    }

    /// Re-reads the secret files (client secret, X-JWT password); true when one changed.
    pub(crate) fn reload_secret(&self) -> Result<bool, String> {
        let mut changed = false;
        if let Some(secret) = self.read_secret_file(self.secret_file.as_deref(), "secret")? {
            if self.source.client().replace_secret(secret) {
                // A refresh that failed with the old secret may be cooling down; try the new one.
                self.source.clear_cooldown();
                changed = true;
            }
        }
        let password_file = self.x_jwt_password_file.as_deref();
        if let (Some(x_jwt), Some(password)) = (
            &self.x_jwt,
            self.read_secret_file(password_file, "X-JWT password")?,
        ) {
            changed |= x_jwt.replace_password(password);
        }
        Ok(changed)
    }

    fn read_secret_file(
        &self,
        path: Option<&std::path::Path>,
        what: &str,
    ) -> Result<Option<ClientSecret>, String> {
        let Some(path) = path else {
            return Ok(None);
        };
        SecretSource::File(path.to_owned())
            .load()
            .map(Some)
            .map_err(|error| {
                format!(
                    "profile {}: cannot re-read the {what}: {error}; keeping the current {what}",
                    self.name
                )
            })
    }
}

/// The library's policy with fewer retries: a request waiting on the token endpoint should get
/// its 503 within a few seconds, not after a long backoff.
fn agent_policy() -> RefreshPolicy {
    RefreshPolicy {
        backoff: Backoff {
            max_attempts: 3,
            base: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
        },
        ..RefreshPolicy::default()
    }
}
