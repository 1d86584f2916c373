//! The issuer's public keys, cached.
//!
//! - Reads are lock-free (`arc-swap`): every request looks a key up.
//! - One refresh at a time, whatever the number of callers.
//! - A background task refreshes before the server's `Cache-Control: max-age` runs out.
//! - An unknown `kid` (a key rotated in) triggers a refresh, but at most once per cooldown, so a
//!   flood of forged `kid`s cannot amplify into JWKS requests.
//! - Through an issuer outage the known keys stay usable for `stale_if_error`; after that the
//!   guard fails closed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use bytes::Bytes;
use jsonwebtoken::jwk::{Jwk, JwkSet};

use tokenbroker_wire::{read_limited, LimitedBodyError};

use crate::config::JwksPolicy;
use crate::verifier::{KeyLookup, KeySource};
use crate::verifying_key::VerifyingKey;

/// The longest a fetched key set is trusted without a refresh, whatever `max-age` the issuer
/// sends: a day, so a rotated-out key leaves every guard within one, and a `max-age` near
/// `u64::MAX` cannot overflow the clock arithmetic.
pub const MAX_JWKS_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// The largest JWK Set body read (a set of a few keys is a few KiB).
pub const MAX_JWKS_BYTES: usize = 256 * 1024;

/// The most keys kept from one JWK Set.
pub const MAX_JWKS_KEYS: usize = 64;

/// One fetched key set.
struct KeySet {
    keys: HashMap<String, Arc<VerifyingKey>>,
    fetched_at: Instant,
    max_age: Duration,
}

impl KeySet {
    fn empty() -> Self {
        Self {
            keys: HashMap::new(),
            fetched_at: Instant::now(),
            max_age: Duration::ZERO,
        }
    }
}

/// The cached JWKS of one issuer.
pub struct JwksCache {
    url: String,
    http: reqwest::Client,
    policy: JwksPolicy,
    keys: ArcSwap<KeySet>,
    refreshing: tokio::sync::Mutex<()>,
    last_unknown_kid_refresh: Mutex<Option<Instant>>,
    fetches: AtomicU64,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache")
            .field("url", &self.url)
            .field("fetches", &self.fetches)
            .finish_non_exhaustive()
    }
}

impl JwksCache {
    /// A cache for the JWKS at `url`; empty until [`refresh`](Self::refresh) succeeds.
    pub fn new(url: String, policy: JwksPolicy) -> Self {
        Self {
            url,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a plain HTTP client builds"),
            policy,
            keys: ArcSwap::from_pointee(KeySet::empty()),
            refreshing: tokio::sync::Mutex::new(()),
            last_unknown_kid_refresh: Mutex::new(None),
            fetches: AtomicU64::new(0),
        }
    }

    /// The key for `kid`, refreshing once (within the cooldown) when it is unknown.
    pub async fn key(&self, kid: &str) -> Result<Arc<VerifyingKey>, KeyLookup> {
        if let Some(found) = self.cached(kid)? {
            return Ok(found);
        }
        if self.may_refresh_for_unknown_kid() {
            let _ = self.refresh().await;
        }
        match self.cached(kid)? {
            Some(found) => Ok(found),
            // Never had any keys: the issuer is unreachable, not the token unknown.
            None if self.key_count() == 0 => Err(KeyLookup::Unavailable),
            None => Err(KeyLookup::Unknown),
        }
    }

    /// Fetches the JWKS now (one fetch at a time; concurrent callers share it).
    pub async fn refresh(&self) -> Result<(), String> {
        let started = Instant::now();
        let _only_one = self.refreshing.lock().await;
        if self.keys.load().fetched_at > started {
            return Ok(()); // someone else refreshed while we waited
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        match self.fetch().await {
            Ok(set) => {
                tracing::debug!(url = %self.url, keys = set.keys.len(), "JWKS refreshed");
                self.keys.store(Arc::new(set));
                Ok(())
            }
            Err(error) => {
                tracing::warn!(url = %self.url, %error, "JWKS refresh failed; keeping the known keys");
                Err(error)
            }
        }
    }

    /// Keeps the keys fresh until the task is dropped: refreshes at 80 % of `max-age`, retries
    /// every `retry_interval` while the issuer is unreachable.
    pub async fn keep_fresh(self: Arc<Self>) {
        loop {
            let wait = {
                let set = self.keys.load();
                // max_age is at most MAX_JWKS_MAX_AGE, so this cannot overflow.
                let due = set.fetched_at + set.max_age.mul_f64(0.8);
                due.saturating_duration_since(Instant::now())
            };
            tokio::time::sleep(wait).await;
            if self.refresh().await.is_err() {
                tokio::time::sleep(self.policy.retry_interval).await;
            }
        }
    }

    /// How many times the JWKS was requested.
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// How many keys are known.
    pub fn key_count(&self) -> usize {
        self.keys.load().keys.len()
    }

    fn cached(&self, kid: &str) -> Result<Option<Arc<VerifyingKey>>, KeyLookup> {
        let set = self.keys.load();
        if set.keys.is_empty() {
            return Ok(None);
        }
        // stale_if_error comes from configuration: a sum past the clock's range trusts forever.
        let trusted_until = set
            .fetched_at
            .checked_add(set.max_age)
            .and_then(|at| at.checked_add(self.policy.stale_if_error));
        if trusted_until.is_some_and(|until| Instant::now() > until) {
            return Err(KeyLookup::Unavailable);
        }
        Ok(set.keys.get(kid).cloned())
    }

    fn may_refresh_for_unknown_kid(&self) -> bool {
        let mut last = self
            .last_unknown_kid_refresh
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < self.policy.unknown_kid_cooldown) {
            return false;
        }
        *last = Some(now);
        true
    }

    async fn fetch(&self) -> Result<KeySet, String> {
        let response = self
            .http
            .get(&self.url)
            .send()
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status()));
        }
        let max_age = max_age(response.headers())
            .unwrap_or(self.policy.default_max_age)
            .min(MAX_JWKS_MAX_AGE);
        let body = read_bounded(response, MAX_JWKS_BYTES).await?;
        let keys = parse_key_set(&body)?;
        Ok(KeySet {
            keys,
            fetched_at: Instant::now(),
            max_age,
        })
    }
}

impl KeySource for JwksCache {
    async fn key(&self, kid: &str) -> Result<Arc<VerifyingKey>, KeyLookup> {
        JwksCache::key(self, kid).await
    }
}

/// A JWK the guard can use: it has a `kid` and an asymmetric public key for an allowed `alg`.
fn usable_key(jwk: &Jwk) -> Option<(String, Arc<VerifyingKey>)> {
    let kid = jwk.common.key_id.clone()?;
    let key = VerifyingKey::from_jwk(jwk).ok()?;
    Some((kid, Arc::new(key)))
}

/// The usable keys of a JWK Set body (RFC 7517 §5), at most [`MAX_JWKS_KEYS`].
pub(crate) fn parse_key_set(body: &[u8]) -> Result<HashMap<String, Arc<VerifyingKey>>, String> {
    let set: JwkSet = serde_json::from_slice(body).map_err(|e| format!("not a JWK Set: {e}"))?;
    Ok(set
        .keys
        .iter()
        .filter_map(usable_key)
        .take(MAX_JWKS_KEYS)
        .collect())
}

/// The body of `response`, refused once it passes `limit` bytes.
pub(crate) async fn read_bounded(
    response: reqwest::Response,
    limit: usize,
) -> Result<Bytes, String> {
    read_limited(reqwest::Body::from(response), limit)
        .await
        .map_err(|error| match error {
            LimitedBodyError::Read(cause) => format!("reading the body failed: {cause}"),
            too_large => too_large.to_string(),
        })
}

/// `Cache-Control: max-age=N` (RFC 9111 §5.2.2.1).
pub(crate) fn max_age(headers: &http::HeaderMap) -> Option<Duration> {
    headers
        .get_all(http::header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|directive| {
            directive
                .trim()
                .strip_prefix("max-age=")?
                .trim()
                .parse()
                .ok()
        })
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Any `max-age` the issuer sends, up to `u64::MAX` and beyond, gives a trust period the
        /// refresh arithmetic can add to the clock without overflow.
        #[test]
        fn any_max_age_is_bounded(seconds in proptest::num::u64::ANY, suffix in "[0-9]{0,3}") {
            let mut headers = http::HeaderMap::new();
            let value = format!("max-age={seconds}{suffix}");
            headers.insert(http::header::CACHE_CONTROL, value.parse().unwrap());
            let max_age = max_age(&headers).unwrap_or(Duration::ZERO).min(MAX_JWKS_MAX_AGE);
            let now = Instant::now();
            proptest::prop_assert!(now.checked_add(max_age.mul_f64(0.8)).is_some());
            proptest::prop_assert!(now.checked_add(max_age).is_some());
        }
    }

    #[test]
    fn reads_max_age() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::CACHE_CONTROL,
            "public, max-age=300".parse().unwrap(),
        );
        assert_eq!(max_age(&headers), Some(Duration::from_secs(300)));
        headers.insert(http::header::CACHE_CONTROL, "no-store".parse().unwrap());
        assert_eq!(max_age(&headers), None);
    }
}
