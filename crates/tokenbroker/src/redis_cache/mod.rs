//! A [`SharedCache`] in Redis: one token for a whole fleet (cargo feature `redis`).
//!
//! For each [`CacheKey`] there are two Redis keys:
//! - `PREFIX:token:KEY` holds the token, sealed with AES-256-GCM ([`CacheCipher`]), with a TTL
//!   equal to the token's remaining lifetime, so Redis forgets it when it expires.
//! - `PREFIX:lease:KEY` is the distributed single flight: whoever sets it (`SET NX PX`) looks for
//!   the token once more (the previous holder may have stored it a moment ago) and otherwise
//!   fetches from the token endpoint; the others poll for the token it stores. The holder releases the
//!   lease with a compare-and-delete script, so a holder whose lease already expired cannot
//!   delete someone else's. A waiter gives up after [`RedisCacheConfig::max_wait`] and fetches
//!   itself, so a holder that crashed costs a bounded delay, not an outage.
//!
//! Redis down, slow or full of garbage never fails a fetch: every Redis step falls back to the
//! token endpoint (see [`SharedCache`]).

mod connection;
mod sealed;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::future::{BoxFuture, FutureExt};
use redis::Script;

use crate::cache_key::CacheKey;
use crate::error::{ConfigError, Error};
use crate::source::shared::{Acceptable, Fetch, SharedCache};
use crate::token::AccessToken;

use connection::Connection;
pub use sealed::CacheCipher;

/// Deletes the lease only if it still holds our id.
const RELEASE_LEASE: &str = r#"
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0
"#;

/// Where the shared cache lives and how patient it is.
#[derive(Debug)]
pub struct RedisCacheConfig {
    /// `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS).
    pub url: String,
    /// The key that seals tokens at rest.
    pub cipher: CacheCipher,
    /// Prefix of every Redis key (default `tokenbroker`).
    pub key_prefix: String,
    /// Bound on each Redis operation, connecting included (default 250 ms).
    pub operation_timeout: Duration,
    /// How long a fetch lease lasts if its holder never releases it (default 15 s).
    pub lease: Duration,
    /// How long a waiter waits for another instance's token before fetching itself (default 5 s).
    pub max_wait: Duration,
    /// How often a waiter looks for the token (default 50 ms).
    pub poll_interval: Duration,
}

impl RedisCacheConfig {
    /// Defaults for `url` and `cipher`.
    pub fn new(url: impl Into<String>, cipher: CacheCipher) -> Self {
        Self {
            url: url.into(),
            cipher,
            key_prefix: "tokenbroker".into(),
            operation_timeout: Duration::from_millis(250),
            lease: Duration::from_secs(15),
            max_wait: Duration::from_secs(5),
            poll_interval: Duration::from_millis(50),
        }
    }
}

/// Tokens shared through Redis; hand it to
/// [`CachedTokenSourceBuilder::shared_cache`](crate::CachedTokenSourceBuilder::shared_cache).
pub struct RedisTokenCache {
    connection: Connection,
    cipher: CacheCipher,
    key_prefix: String,
    lease: Duration,
    max_wait: Duration,
    poll_interval: Duration,
    release: Script,
    hits: AtomicU64,
}

impl RedisTokenCache {
    /// Checks the URL; connects lazily, on first use, so a Redis that is down at start-up does not
    /// stop the service.
    pub fn new(config: RedisCacheConfig) -> Result<Self, Error> {
        let label = redact(&config.url);
        let client =
            redis::Client::open(config.url.as_str()).map_err(|e| ConfigError::SharedCacheUrl {
                url: label.clone(),
                source: Arc::new(e),
            })?;
        Ok(Self {
            connection: Connection::new(client, label, config.operation_timeout),
            cipher: config.cipher,
            key_prefix: config.key_prefix,
            lease: config.lease,
            max_wait: config.max_wait,
            poll_interval: config.poll_interval,
            release: Script::new(RELEASE_LEASE),
            hits: AtomicU64::new(0),
        })
    }

    async fn obtain_inner(
        &self,
        key: &CacheKey,
        acceptable: Acceptable<'_>,
        fetch: Fetch<'_>,
    ) -> Result<AccessToken, Error> {
        let token_key = format!("{}:token:{key}", self.key_prefix);
        let lease_key = format!("{}:lease:{key}", self.key_prefix);
        let lease_id = uuid::Uuid::new_v4().to_string();
        let give_up_at = Instant::now() + self.max_wait;
        loop {
            match self.shared_token(&token_key, acceptable).await {
                Ok(Some(token)) => return Ok(token),
                Ok(None) => {}
                Err(_) => return fetch.await,
            }
            match self.take_lease(&lease_key, &lease_id).await {
                Ok(true) => {
                    // Look again: the holder before us may have stored its token and released
                    // the lease between our look and our lease; fetching then would spend a
                    // second token for the fleet.
                    let result = match self.shared_token(&token_key, acceptable).await {
                        Ok(Some(token)) => Ok(token),
                        Ok(None) => self.fetch_and_store(&token_key, fetch).await,
                        Err(_) => fetch.await,
                    };
                    self.release_lease(&lease_key, &lease_id).await;
                    return result;
                }
                Ok(false) => {}
                Err(_) => return fetch.await,
            }
            if Instant::now() >= give_up_at {
                tracing::warn!(
                    waited_ms = self.max_wait.as_millis() as u64,
                    "another instance holds the fetch lease but stored no token; fetching here"
                );
                return self.fetch_and_store(&token_key, fetch).await;
            }
            tokio::time::sleep(self.poll_interval).await;
        }
    }

    /// The stored token when there is one `acceptable` takes (counted as a hit).
    async fn shared_token(
        &self,
        token_key: &str,
        acceptable: Acceptable<'_>,
    ) -> Result<Option<AccessToken>, connection::Unavailable> {
        let token = self
            .read(token_key)
            .await?
            .filter(|token| acceptable(token));
        if let Some(token) = &token {
            self.hits.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(
                token = token.fingerprint(),
                "token taken from the shared cache"
            );
        }
        Ok(token)
    }

    async fn fetch_and_store(
        &self,
        token_key: &str,
        fetch: Fetch<'_>,
    ) -> Result<AccessToken, Error> {
        let token = fetch.await?;
        self.store(token_key, &token).await;
        Ok(token)
    }

    /// The stored token, if there is one that opens; garbage counts as none.
    async fn read(&self, token_key: &str) -> Result<Option<AccessToken>, connection::Unavailable> {
        let sealed: Option<Vec<u8>> = self
            .connection
            .query(redis::cmd("GET").arg(token_key))
            .await?;
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let opened = self.cipher.open(token_key, &sealed);
        if opened.is_none() {
            tracing::warn!(
                key = token_key,
                "the shared cache holds a token this instance cannot open (another cache key? tampering?); ignoring it"
            );
        }
        Ok(opened)
    }

    async fn store(&self, token_key: &str, token: &AccessToken) {
        let ttl = token.remaining(SystemTime::now());
        if ttl < Duration::from_millis(1) {
            return;
        }
        let Ok(sealed) = self.cipher.seal(token_key, token) else {
            return;
        };
        let mut set = redis::cmd("SET");
        set.arg(token_key)
            .arg(sealed)
            .arg("PX")
            .arg(ttl.as_millis() as u64);
        // A failure is already logged by the connection; the token is still good locally.
        let _ = self.connection.query::<()>(&set).await;
    }

    async fn take_lease(
        &self,
        lease_key: &str,
        lease_id: &str,
    ) -> Result<bool, connection::Unavailable> {
        let mut set = redis::cmd("SET");
        set.arg(lease_key)
            .arg(lease_id)
            .arg("NX")
            .arg("PX")
            .arg(self.lease.as_millis() as u64);
        let reply: Option<String> = self.connection.query(&set).await?;
        Ok(reply.is_some())
    }

    async fn release_lease(&self, lease_key: &str, lease_id: &str) {
        let _ = self
            .connection
            .invoke::<i64>(&self.release, &[lease_key], &[lease_id])
            .await;
    }
}

impl SharedCache for RedisTokenCache {
    fn obtain<'a>(
        &'a self,
        key: &'a CacheKey,
        acceptable: Acceptable<'a>,
        fetch: Fetch<'a>,
    ) -> BoxFuture<'a, Result<AccessToken, Error>> {
        self.obtain_inner(key, acceptable, fetch).boxed()
    }

    fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }
}

impl std::fmt::Debug for RedisTokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTokenCache")
            .field("url", &self.connection.label())
            .field("key_prefix", &self.key_prefix)
            .finish_non_exhaustive()
    }
}

/// The URL without its password.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "(unparsable URL)".into(),
    }
}
