//! Revoked tokens, learnt by polling the authorization server's revocation feed.
//!
//! JWTs are self-contained, so a revoked token stays cryptographically valid until its `exp`.
//! The guard polls `GET <feed>?since=<time>` and rejects the listed `jti`s; a revocation takes
//! effect within one poll interval. Entries are dropped once their token has expired.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use serde::Deserialize;

#[derive(Deserialize)]
pub(crate) struct Feed {
    revocations: Vec<Entry>,
    server_time: i64,
    /// Where the next page starts, when this one was full.
    #[serde(default)]
    next: Option<Cursor>,
}

impl Feed {
    /// A feed page from its JSON body.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(body).map_err(|e| format!("not a revocation feed: {e}"))
    }
}

#[derive(Deserialize)]
struct Cursor {
    since: i64,
    after: String,
}

/// The most feed pages read in one poll (100,000 revocations at the server's default page).
const MAX_PAGES_PER_POLL: usize = 100;

#[derive(Deserialize)]
struct Entry {
    jti: String,
    exp: i64,
}

/// The set of revoked `jti`s, with each token's `exp`.
pub struct RevocationList {
    url: String,
    http: reqwest::Client,
    revoked: ArcSwap<HashMap<String, i64>>,
    /// The earliest `exp` in `revoked` (`i64::MAX` when empty): a poll rebuilds the set only
    /// when the feed brings something or an entry has expired.
    earliest_exp: AtomicI64,
    since: AtomicI64,
    /// Set by the first poll that succeeds.
    fetched: AtomicBool,
}

impl std::fmt::Debug for RevocationList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevocationList")
            .field("url", &self.url)
            .field("revoked", &self.revoked.load().len())
            .finish_non_exhaustive()
    }
}

/// The largest revocation-feed page read: about 100,000 entries.
pub const MAX_FEED_BYTES: usize = 16 * 1024 * 1024;

impl RevocationList {
    /// A list fed from `url`.
    pub fn new(url: String) -> Self {
        Self {
            url,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("a plain HTTP client builds"),
            revoked: ArcSwap::from_pointee(HashMap::new()),
            earliest_exp: AtomicI64::new(i64::MAX),
            since: AtomicI64::new(0),
            fetched: AtomicBool::new(false),
        }
    }

    /// True when `jti` was revoked (lock-free).
    pub fn is_revoked(&self, jti: &str) -> bool {
        self.revoked.load().contains_key(jti)
    }

    /// Fetches what was revoked since the last poll, page by page, and merges it in, dropping
    /// the entries whose token has expired.
    ///
    /// Readers keep reading the current set while a poll runs; a new set replaces it only when
    /// something changed. A poll that brings nothing new and finds nothing expired copies
    /// nothing: with a million revocations held, a copy is about 80 MB and 30 ms.
    pub async fn poll(&self) -> Result<usize, String> {
        // Ask again for the last second seen: entries revoked in it may have arrived after we read.
        let mut since = self.since.load(Ordering::Relaxed).saturating_sub(1).max(0);
        let mut after: Option<String> = None;
        let now = unix_now();
        let mut updated =
            (self.earliest_exp.load(Ordering::Relaxed) < now).then(|| self.unexpired_copy(now));
        let mut new = 0;
        let mut server_time = None;
        for _ in 0..MAX_PAGES_PER_POLL {
            let feed = self.page(since, after.as_deref()).await?;
            if !feed.revocations.is_empty() {
                new += feed.revocations.len();
                updated
                    .get_or_insert_with(|| self.unexpired_copy(now))
                    .extend(feed.revocations.into_iter().map(|e| (e.jti, e.exp)));
            }
            // The first page's time: whatever is revoked while we page is in the next poll.
            server_time.get_or_insert(feed.server_time);
            match feed.next {
                Some(next) => (since, after) = (next.since, Some(next.after)),
                None => break,
            }
        }
        if let Some(revoked) = updated {
            let earliest = revoked.values().copied().min().unwrap_or(i64::MAX);
            self.revoked.store(Arc::new(revoked));
            self.earliest_exp.store(earliest, Ordering::Relaxed);
        }
        if let Some(time) = server_time {
            self.since.store(time, Ordering::Relaxed);
        }
        self.fetched.store(true, Ordering::Relaxed);
        Ok(new)
    }

    /// A copy of the set without the entries whose token has expired by `now`.
    fn unexpired_copy(&self, now: i64) -> HashMap<String, i64> {
        let current = self.revoked.load();
        let mut copy = HashMap::with_capacity(current.len());
        copy.extend(
            current
                .iter()
                .filter(|(_, exp)| **exp >= now)
                .map(|(jti, exp)| (jti.clone(), *exp)),
        );
        copy
    }

    async fn page(&self, since: i64, after: Option<&str>) -> Result<Feed, String> {
        let mut request = self.http.get(&self.url).query(&[("since", since)]);
        if let Some(after) = after {
            request = request.query(&[("after", after)]);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status()));
        }
        let body = crate::jwks::read_bounded(response, MAX_FEED_BYTES).await?;
        Feed::parse(&body)
    }

    /// Polls every `interval` until dropped: at once first if no poll has succeeded yet,
    /// otherwise one interval from now (a guard that has just fetched does not fetch again).
    pub async fn keep_polling(self: Arc<Self>, interval: Duration) {
        let first = if self.fetched.load(Ordering::Relaxed) {
            tokio::time::Instant::now() + interval
        } else {
            tokio::time::Instant::now()
        };
        let mut ticker = tokio::time::interval_at(first, interval);
        loop {
            ticker.tick().await;
            if let Err(error) = self.poll().await {
                tracing::warn!(url = %self.url, %error, "revocation feed unavailable; keeping the known revocations");
            }
        }
    }
}

fn unix_now() -> i64 {
    tokenbroker_wire::Clock::unix_seconds(&tokenbroker_wire::SystemClock)
}
