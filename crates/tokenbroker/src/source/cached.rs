//! The cached token source: lock-free reads, refresh ahead, one fetch at a time.
//!
//! Entur's authentication pages: "Cache access tokens securely and reuse them until they expire"; Entur partner authentication:
//! re-authenticate "some time before it expires". How:
//!
//! - The current token sits in an [`ArcSwapOption`]: reading it takes no lock, which matters
//!   because every API call reads it.
//! - Once [`RefreshPolicy::refresh_at`] of its lifetime has passed, the first caller to notice
//!   starts one background fetch and everybody keeps getting the still-valid token meanwhile
//!   (stale-while-revalidate).
//! - A token closer to expiry than the policy's minimum is never handed out; callers then wait.
//! - Whatever the number of callers, at most one fetch is in flight: they all await the same
//!   shared future (single flight).
//! - Failed fetches retry with jittered exponential backoff; the old token keeps being served
//!   while it is still usable.
//! - After a failed fetch, no new one starts for a window that doubles with each failure in a
//!   row ([`RefreshPolicy::failure_window`]); callers meanwhile get the last error at once, so
//!   an outage costs the token endpoint one attempt per window, not one per caller, and the
//!   first attempt after the window ends it.
//! - Optionally, a [`FetchBudget`] caps the requests to the token endpoint, and a
//!   [`SharedCache`] lets a fleet of processes share one token.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwapOption;
use futures::future::{BoxFuture, FutureExt, Shared};

use crate::cache_key::CacheKey;
use crate::error::Error;
use crate::exchange::TokenClient;
use crate::source::budget::{BudgetLeft, BudgetMeter, FetchBudget};
use crate::source::policy::{RefreshPolicy, Schedule};
use crate::source::shared::SharedCache;
use crate::source::TokenSource;
use crate::token::AccessToken;
use crate::wire::Clock;

/// The one fetch in progress, shared by everybody who waits for it.
type Flight = Shared<BoxFuture<'static, Result<AccessToken, Error>>>;

/// A [`TokenSource`] that caches the token of one [`TokenClient`] and refreshes it ahead of expiry.
///
/// Cloning is cheap and clones share the cache. Needs a Tokio runtime: refreshes run as tasks.
#[derive(Clone)]
pub struct CachedTokenSource {
    state: Arc<State>,
}

struct State {
    client: TokenClient,
    clock: Arc<dyn Clock>,
    policy: RefreshPolicy,
    budget: BudgetMeter,
    shared: Option<(Arc<dyn SharedCache>, CacheKey)>,
    current: ArcSwapOption<Entry>,
    flight: Mutex<Option<Flight>>,
    /// The failures since the last token, if the last fetch failed.
    outage: Mutex<Option<Outage>>,
    last_invalidation: Mutex<Option<SystemTime>>,
    /// The fingerprint of the last token the API rejected: never taken back from a shared cache.
    rejected: Mutex<Option<String>>,
    fetches: AtomicU64,
    failures: AtomicU64,
    budget_refusals: AtomicU64,
    waits: AtomicU64,
}

/// Counters of one [`CachedTokenSource`], for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// Requests sent to the token endpoint (retries included).
    pub fetches: u64,
    /// Of those, the ones that failed.
    pub fetch_failures: u64,
    /// Token requests not sent because the [`FetchBudget`] was spent.
    pub budget_refusals: u64,
    /// Tokens taken from the [`SharedCache`] instead of the token endpoint.
    pub shared_hits: u64,
    /// Calls that had to wait for a fetch (see [`CachedTokenSource::wait_count`]).
    pub waits: u64,
}

/// Builds a [`CachedTokenSource`] with a policy, a budget or a shared cache.
#[must_use]
pub struct CachedTokenSourceBuilder {
    client: TokenClient,
    policy: RefreshPolicy,
    budget: FetchBudget,
    shared: Option<Arc<dyn SharedCache>>,
}

impl std::fmt::Debug for CachedTokenSourceBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedTokenSourceBuilder")
            .field("client", &self.client)
            .field("policy", &self.policy)
            .field("shared", &self.shared.is_some())
            .finish_non_exhaustive()
    }
}

impl CachedTokenSourceBuilder {
    /// Refresh timing and retries (default: [`RefreshPolicy::default`]).
    pub fn policy(mut self, policy: RefreshPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Caps the requests to the token endpoint (default: no cap).
    pub fn budget(mut self, budget: FetchBudget) -> Self {
        self.budget = budget;
        self
    }

    /// Consults `cache` before the token endpoint, under the client's [`CacheKey`].
    pub fn shared_cache(mut self, cache: Arc<dyn SharedCache>) -> Self {
        self.shared = Some(cache);
        self
    }

    /// The source.
    pub fn build(self) -> CachedTokenSource {
        let key = self.client.config().cache_key();
        CachedTokenSource {
            state: Arc::new(State {
                clock: Arc::clone(self.client.clock()),
                client: self.client,
                policy: self.policy,
                budget: BudgetMeter::new(self.budget),
                shared: self.shared.map(|cache| (cache, key)),
                current: ArcSwapOption::empty(),
                flight: Mutex::new(None),
                outage: Mutex::new(None),
                last_invalidation: Mutex::new(None),
                rejected: Mutex::new(None),
                fetches: AtomicU64::new(0),
                failures: AtomicU64::new(0),
                budget_refusals: AtomicU64::new(0),
                waits: AtomicU64::new(0),
            }),
        }
    }
}

struct Entry {
    token: AccessToken,
    schedule: Schedule,
}

/// Fetches failing in a row: the last error, how many, when the next attempt may start, and
/// whether any was logged as a warning (its end is then logged at the same level).
#[derive(Clone)]
struct Outage {
    error: Error,
    failures: u32,
    retry_at: SystemTime,
    warned: bool,
}

/// The state of a [`CachedTokenSource`], for readiness probes and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceHealth {
    /// No token yet, and no fetch has failed: the first one has not run or is running.
    Empty,
    /// A token not yet due for refresh.
    Fresh,
    /// A usable token, due for refresh (which is running or about to).
    Refreshing,
    /// The last fetches failed.
    Failing {
        /// Failed fetches in a row.
        failures: u32,
        /// How long until the next attempt may start.
        retry_in: Duration,
        /// Whether a usable token is still being served meanwhile.
        serving: bool,
    },
}

/// What a caller needs from the current token.
#[derive(Clone, Copy)]
enum Want {
    /// Not yet due for refresh: no refresh needs to start.
    Fresh,
    /// Still usable: the caller may have it.
    Usable,
}

impl CachedTokenSource {
    /// Caches tokens from `client` with the default [`RefreshPolicy`].
    pub fn new(client: TokenClient) -> Self {
        Self::with_policy(client, RefreshPolicy::default())
    }

    /// Caches tokens from `client` with `policy`.
    pub fn with_policy(client: TokenClient, policy: RefreshPolicy) -> Self {
        Self::builder(client).policy(policy).build()
    }

    /// Starts a source with more settings: budget, shared cache.
    pub fn builder(client: TokenClient) -> CachedTokenSourceBuilder {
        CachedTokenSourceBuilder {
            client,
            policy: RefreshPolicy::default(),
            budget: FetchBudget::default(),
            shared: None,
        }
    }

    /// A valid token: the cached one when fresh, otherwise the result of the (single) refresh.
    pub async fn token(&self) -> Result<AccessToken, Error> {
        let now = self.state.clock.now();
        let want_refresh = {
            let current = self.state.current.load();
            match current.as_deref() {
                Some(entry) if now < entry.schedule.refresh_at => return Ok(entry.token.clone()),
                Some(entry) if now < entry.schedule.usable_until => Some(entry.token.clone()),
                _ => None,
            }
        };
        if let Some(still_valid) = want_refresh {
            self.state.refresh_in_background(now);
            return Ok(still_valid);
        }
        match self.state.start_or_join(now, Want::Usable) {
            Ok(token) => Ok(token),
            Err(flight) => {
                self.state.waits.fetch_add(1, Ordering::Relaxed);
                flight.await
            }
        }
    }

    /// The API rejected `token` (401): drop it if it is still current and no other invalidation
    /// happened within [`RefreshPolicy::min_invalidate_interval`]. Returns true if it was dropped.
    pub fn invalidate(&self, token: &AccessToken) -> bool {
        self.state.invalidate(token)
    }

    /// The cached token, if any, without fetching or checking its age.
    pub fn peek(&self) -> Option<AccessToken> {
        self.state
            .current
            .load()
            .as_ref()
            .map(|entry| entry.token.clone())
    }

    /// How many requests this source has sent to the token endpoint (retries included).
    pub fn fetch_count(&self) -> u64 {
        self.state.fetches.load(Ordering::Relaxed)
    }

    /// How many calls to [`token`](Self::token) had to wait for a fetch (cold start, or no usable
    /// token left). With refresh ahead working, this stops growing after the first call.
    pub fn wait_count(&self) -> u64 {
        self.state.waits.load(Ordering::Relaxed)
    }

    /// The client this source fetches with.
    pub fn client(&self) -> &TokenClient {
        &self.state.client
    }

    /// Counters for metrics.
    pub fn stats(&self) -> SourceStats {
        let state = &self.state;
        SourceStats {
            fetches: state.fetches.load(Ordering::Relaxed),
            fetch_failures: state.failures.load(Ordering::Relaxed),
            budget_refusals: state.budget_refusals.load(Ordering::Relaxed),
            shared_hits: state.shared.as_ref().map_or(0, |(cache, _)| cache.hits()),
            waits: state.waits.load(Ordering::Relaxed),
        }
    }

    /// What is left of the [`FetchBudget`] now.
    pub fn budget_left(&self) -> BudgetLeft {
        self.state.budget.left(self.state.clock.now())
    }

    /// Lets the next fetch start at once even after recent failures; for when the cause was
    /// fixed (a reloaded secret).
    pub fn clear_cooldown(&self) {
        *lock(&self.state.outage) = None;
    }

    /// Whether the source has a token to hand out, and whether its fetches are failing.
    pub fn health(&self) -> SourceHealth {
        let now = self.state.clock.now();
        let current = self.state.current.load();
        let usable = current
            .as_deref()
            .filter(|entry| now < entry.schedule.usable_until);
        if let Some(outage) = lock(&self.state.outage).as_ref() {
            return SourceHealth::Failing {
                failures: outage.failures,
                retry_in: outage.retry_at.duration_since(now).unwrap_or_default(),
                serving: usable.is_some(),
            };
        }
        match usable {
            Some(entry) if now < entry.schedule.refresh_at => SourceHealth::Fresh,
            Some(_) => SourceHealth::Refreshing,
            None => SourceHealth::Empty,
        }
    }
}

impl TokenSource for CachedTokenSource {
    fn token(&self) -> impl std::future::Future<Output = Result<AccessToken, Error>> + Send {
        CachedTokenSource::token(self)
    }

    fn invalidate(&self, token: &AccessToken) -> bool {
        CachedTokenSource::invalidate(self, token)
    }
}

impl std::fmt::Debug for CachedTokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedTokenSource")
            .field("client", &self.state.client)
            .field("current", &self.peek())
            .finish_non_exhaustive()
    }
}

impl State {
    fn refresh_in_background(self: &Arc<Self>, now: SystemTime) {
        // Detached on purpose: the spawned task completes the refresh whether or not anyone awaits.
        let _ = self.start_or_join(now, Want::Fresh);
    }

    /// The last error, while the window after a failed fetch is open.
    fn waiting_out(&self, now: SystemTime) -> Option<Error> {
        lock(&self.outage)
            .as_ref()
            .filter(|outage| now < outage.retry_at)
            .map(|outage| outage.error.clone())
    }

    /// The current token if it satisfies `want`, else the flight that will replace it (started
    /// here if none is running, and none failed within the window: then a flight that is
    /// already over, with the last error). Checked under the flight lock: a finishing flight
    /// stores its token before it clears the slot, so no caller can miss it and start a
    /// needless fetch.
    fn start_or_join(self: &Arc<Self>, now: SystemTime, want: Want) -> Result<AccessToken, Flight> {
        let mut slot = lock(&self.flight);
        if let Some(flight) = slot.as_ref() {
            return Err(flight.clone());
        }
        if let Some(entry) = self.current.load().as_deref() {
            let good_until = match want {
                Want::Fresh => entry.schedule.refresh_at,
                Want::Usable => entry.schedule.usable_until,
            };
            if now < good_until {
                return Ok(entry.token.clone());
            }
        }
        if let Some(error) = self.waiting_out(now) {
            return Err(futures::future::ready(Err(error)).boxed().shared());
        }
        let state = Arc::clone(self);
        let task = tokio::spawn(async move { state.run_flight().await });
        let flight = async move {
            task.await
                .unwrap_or_else(|join_error| Err(Error::Interrupted(Arc::new(join_error))))
        }
        .boxed()
        .shared();
        *slot = Some(flight.clone());
        Err(flight)
    }

    async fn run_flight(self: Arc<Self>) -> Result<AccessToken, Error> {
        let result = match &self.shared {
            Some((cache, key)) => {
                let acceptable = |token: &AccessToken| self.acceptable_from_shared(token);
                cache
                    .obtain(key, &acceptable, self.fetch_with_retries().boxed())
                    .await
            }
            None => self.fetch_with_retries().await,
        };
        let mut slot = lock(&self.flight);
        match &result {
            Ok(token) => {
                let schedule = self.policy.schedule(token);
                self.current.store(Some(Arc::new(Entry {
                    token: token.clone(),
                    schedule,
                })));
                if let Some(outage) = lock(&self.outage).take() {
                    // At the failures' level, so whoever saw the outage sees its end.
                    let failures = outage.failures;
                    if outage.warned {
                        tracing::warn!(
                            failures,
                            "the token endpoint answers again; a new token is cached"
                        );
                    } else {
                        tracing::debug!(
                            failures,
                            "the token endpoint answers again; a new token is cached"
                        );
                    }
                }
            }
            Err(error) => self.record_failure(error),
        }
        *slot = None;
        result
    }

    /// Opens (or widens) the window in which no fetch starts, after a failed flight.
    fn record_failure(&self, error: &Error) {
        let now = self.clock.now();
        let mut outage = lock(&self.outage);
        let failures = outage.as_ref().map_or(0, |o| o.failures).saturating_add(1);
        // A server's Retry-After is a floor (RFC 9110 §10.2.3), within the same bound.
        let retry_after = error
            .retry_after()
            .unwrap_or_default()
            .min(self.policy.max_failure_cooldown);
        let window = self.policy.failure_window(failures).max(retry_after);
        // Callers with no usable token get this error themselves; a failure behind a token
        // still being served is seen by nobody unless it is logged.
        let serving = self
            .current
            .load()
            .as_deref()
            .is_some_and(|entry| now < entry.schedule.usable_until);
        let warned = serving || outage.as_ref().is_some_and(|o| o.warned);
        *outage = Some(Outage {
            error: error.clone(),
            failures,
            retry_at: now + window,
            warned,
        });
        let retry_in_ms = window.as_millis() as u64;
        if serving {
            tracing::warn!(%error, failures, retry_in_ms, "token refresh failed; serving the cached token while it is usable, no new attempt until the window passes");
        } else {
            tracing::debug!(%error, failures, retry_in_ms, "token fetch failed; no new attempt until the window passes");
        }
    }

    /// A token another process stored is taken when it is not yet due for refresh (so the
    /// fleet refreshes at the same moment, once) and is not the one the API just rejected.
    fn acceptable_from_shared(&self, token: &AccessToken) -> bool {
        let not_due = self.clock.now() < self.policy.schedule(token).refresh_at;
        let rejected = lock(&self.rejected);
        not_due && rejected.as_deref() != Some(token.fingerprint())
    }

    async fn fetch_with_retries(&self) -> Result<AccessToken, Error> {
        let backoff = &self.policy.backoff;
        // Retries are for a blip; once fetches fail in a row, the failure window paces them.
        let attempts = if lock(&self.outage).is_some() {
            1
        } else {
            backoff.max_attempts
        };
        let mut retry = 0;
        loop {
            if let Err(refused) = self.budget.check(self.clock.now()) {
                self.budget_refusals.fetch_add(1, Ordering::Relaxed);
                return Err(refused);
            }
            self.fetches.fetch_add(1, Ordering::Relaxed);
            let sent_at = self.clock.now();
            let result = self.client.fetch().await;
            if !matches!(result, Err(Error::Network { .. })) {
                // It reached the provider (an HTTP answer, whatever it said): it counts.
                self.budget.record(sent_at);
            }
            if result.is_err() {
                self.failures.fetch_add(1, Ordering::Relaxed);
            }
            match result {
                Ok(token) => return Ok(token),
                Err(error) if error.is_transient() && retry + 1 < attempts => {
                    let delay = backoff.delay(retry, error.retry_after());
                    tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "token fetch failed; retrying");
                    tokio::time::sleep(delay).await;
                    retry += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    fn invalidate(&self, token: &AccessToken) -> bool {
        let now = self.clock.now();
        let mut last = lock(&self.last_invalidation);
        if let Some(at) = *last {
            let since = now.duration_since(at).unwrap_or(Duration::ZERO);
            if since < self.policy.min_invalidate_interval {
                return false;
            }
        }
        let current = self.current.load();
        if !current
            .as_deref()
            .is_some_and(|entry| entry.token.same_as(token))
        {
            return false;
        }
        if self.budget.left(now).exhausted() {
            // Dropping it would leave nothing to serve until the budget refills.
            tracing::warn!(
                token = token.fingerprint(),
                "the API rejected the access token, but the token budget is spent; keeping it"
            );
            return false;
        }
        let replaced = self.current.compare_and_swap(&*current, None);
        if !same_entry(&replaced, &current) {
            return false;
        }
        *last = Some(now);
        *lock(&self.rejected) = Some(token.fingerprint().to_owned());
        tracing::info!(
            token = token.fingerprint(),
            "the API rejected the access token; dropped it, the next caller fetches a new one"
        );
        true
    }
}

fn same_entry(a: &Option<Arc<Entry>>, b: &Option<Arc<Entry>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
