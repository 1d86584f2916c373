//! The failed-authentication limits across a fleet: the rules of `limiter.rs`, counted in the
//! shared registry so N nodes allow what one node allows, not N times as much.
//!
//! The happy path never waits for the database: a request is checked against this node's own
//! counts and against the set of blocked keys, which every node reads from the registry every
//! [`BLOCKS_POLL_INTERVAL`]. Only a failure writes (one upsert per key, and a block once a key
//! passes its limit); a success writes its (client, address) trust at most once per
//! [`TRUST_REFRESH`]; and a client blocked everywhere asks the registry whether the address is
//! trusted for it. A block made on one node reaches the others within the poll interval.
//!
//! Keys are keyed hashes under the shared pepper: every node computes the same key, and the
//! registry holds no client id or address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::limiter::{aggregate, Attempt, LimiterRules};
use crate::registry::Registry;

/// How often a node reads the fleet's blocked keys.
pub const BLOCKS_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// A node records a trusted (client, address) pair again only after this long.
const TRUST_REFRESH: Duration = Duration::from_secs(3600);

/// The most trust records remembered as written, per node.
const MAX_TRUST_CACHE: usize = 100_000;

/// What a key counts, and so its limit.
#[derive(Debug, Clone, Copy)]
enum KeyKind {
    Address,
    Pair,
    Client,
}

/// The fleet-wide half of the limiter.
pub(crate) struct SharedLimits {
    registry: Registry,
    rules: LimiterRules,
    /// Blocked keys and until when (Unix seconds), as last read, plus this node's own blocks.
    blocks: ArcSwap<HashMap<String, i64>>,
    /// When this node last wrote each trusted pair.
    trust_written: Mutex<HashMap<String, i64>>,
    /// Pairs the registry said were not trusted, and when: asked again only a poll interval
    /// later, so requests naming a blocked client cannot each cost a database read.
    untrusted_seen: Mutex<HashMap<String, i64>>,
}

impl std::fmt::Debug for SharedLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedLimits")
            .field("blocks", &self.blocks.load().len())
            .finish_non_exhaustive()
    }
}

impl SharedLimits {
    /// Limits counted in `registry` under `rules`.
    pub(crate) fn new(registry: Registry, rules: LimiterRules) -> Self {
        Self {
            registry,
            rules,
            blocks: ArcSwap::from_pointee(HashMap::new()),
            trust_written: Mutex::new(HashMap::new()),
            untrusted_seen: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(wait)` when a key of `attempt` is blocked across the fleet.
    pub(crate) async fn check(&self, attempt: &Attempt<'_>) -> Result<(), Duration> {
        let now = self.registry.now();
        // An owned snapshot: the trust lookup below awaits, and arc-swap's guards are meant to
        // be short-lived.
        let blocks = self.blocks.load_full();
        let blocked = |key: &str| {
            blocks
                .get(key)
                .filter(|until| **until > now)
                .map(|until| Duration::from_secs((until - now).unsigned_abs()))
        };
        let mut wait = blocked(&self.key(attempt, KeyKind::Address, None));
        for client in attempt.client_ids {
            wait = wait.max(blocked(&self.key(attempt, KeyKind::Pair, Some(client))));
            if let Some(everywhere) = blocked(&self.key(attempt, KeyKind::Client, Some(client))) {
                if !self.is_trusted(attempt, client, now).await {
                    wait = wait.max(Some(everywhere));
                }
            }
        }
        wait.map_or(Ok(()), Err)
    }

    /// Counts a failure of `attempt` under each of its keys, blocking those past their limit.
    pub(crate) async fn failed(&self, attempt: &Attempt<'_>) {
        let mut keys = vec![(self.key(attempt, KeyKind::Address, None), KeyKind::Address)];
        for client in attempt.client_ids {
            keys.push((
                self.key(attempt, KeyKind::Pair, Some(client)),
                KeyKind::Pair,
            ));
            keys.push((
                self.key(attempt, KeyKind::Client, Some(client)),
                KeyKind::Client,
            ));
        }
        let now = self.registry.now();
        let window = self.rules.window.as_secs() as i64;
        for (key, kind) in keys {
            let counted = self.registry.count_failure(&key, now, window).await;
            let (failures, started) = match counted {
                Ok(counted) => counted,
                Err(error) => {
                    tracing::warn!(%error, "cannot count a failed authentication fleet-wide");
                    return;
                }
            };
            if failures >= i64::from(self.limit(kind)) {
                let until = started.saturating_add(window);
                self.block_here(&key, until);
                if let Err(error) = self.registry.block(&key, until).await {
                    tracing::warn!(%error, "cannot share a block with the fleet");
                }
            }
        }
    }

    /// Records that `client` authenticated from `attempt`'s address, at most once per
    /// [`TRUST_REFRESH`] per pair.
    pub(crate) async fn succeeded(&self, attempt: &Attempt<'_>, client: &str) {
        let key = self.key(attempt, KeyKind::Pair, Some(client));
        let now = self.registry.now();
        let refresh = TRUST_REFRESH.as_secs() as i64;
        {
            let mut written = lock(&self.trust_written);
            if written.get(&key).is_some_and(|at| now - at < refresh) {
                return;
            }
            remember(&mut written, key.clone(), now, refresh);
        }
        if let Err(error) = self.registry.trust(&key, now).await {
            tracing::warn!(%error, "cannot record a trusted address fleet-wide");
        }
    }

    /// Reads the fleet's blocks every [`BLOCKS_POLL_INTERVAL`], and sweeps what no longer
    /// matters once a window; runs until dropped with its task.
    pub(crate) async fn keep_current(self: Arc<Self>) {
        let mut interval = tokio::time::interval(BLOCKS_POLL_INTERVAL);
        let mut last_sweep = 0;
        loop {
            interval.tick().await;
            let now = self.registry.now();
            match self.registry.blocks(now).await {
                Ok(rows) => self.blocks.store(Arc::new(rows.into_iter().collect())),
                Err(error) => tracing::warn!(%error, "cannot read the fleet's blocks"),
            }
            let window = self.rules.window.as_secs() as i64;
            if now - last_sweep >= window {
                let trust = self.rules.trusted_for.as_secs() as i64;
                let swept = self.registry.sweep_limits(
                    now,
                    now.saturating_sub(window),
                    now.saturating_sub(trust),
                );
                if let Err(error) = swept.await {
                    tracing::warn!(%error, "cannot sweep the fleet's limits");
                }
                last_sweep = now;
            }
        }
    }

    async fn is_trusted(&self, attempt: &Attempt<'_>, client: &str, now: i64) -> bool {
        let key = self.key(attempt, KeyKind::Pair, Some(client));
        let trusted_for = self.rules.trusted_for.as_secs() as i64;
        if lock(&self.trust_written)
            .get(&key)
            .is_some_and(|at| now - at < trusted_for)
        {
            return true;
        }
        let recheck = BLOCKS_POLL_INTERVAL.as_secs() as i64;
        if lock(&self.untrusted_seen)
            .get(&key)
            .is_some_and(|at| now - at < recheck)
        {
            return false;
        }
        let since = now.saturating_sub(trusted_for);
        let trusted = self
            .registry
            .is_trusted(&key, since)
            .await
            .unwrap_or_else(|error| {
                tracing::warn!(%error, "cannot read trusted addresses; treating as untrusted");
                false
            });
        if !trusted {
            remember(&mut lock(&self.untrusted_seen), key, now, recheck);
        }
        trusted
    }

    /// Applies a block on this node at once, before the next poll.
    fn block_here(&self, key: &str, until: i64) {
        self.blocks.rcu(|blocks| {
            let mut blocks = HashMap::clone(blocks);
            blocks.insert(key.to_owned(), until);
            blocks
        });
    }

    fn limit(&self, kind: KeyKind) -> u32 {
        match kind {
            KeyKind::Address => self.rules.per_address,
            KeyKind::Pair => self.rules.per_client_address,
            KeyKind::Client => self.rules.per_client,
        }
    }

    fn key(&self, attempt: &Attempt<'_>, kind: KeyKind, client: Option<&str>) -> String {
        let address: IpAddr = aggregate(attempt.address);
        let label = match kind {
            KeyKind::Address => format!("{:?}|a|{address}", attempt.realm),
            KeyKind::Pair => format!("{:?}|p|{address}|{}", attempt.realm, client.unwrap_or("")),
            KeyKind::Client => format!("{:?}|c|{}", attempt.realm, client.unwrap_or("")),
        };
        self.registry.limit_key(&label)
    }
}

/// Notes `key` at `now` in a map bounded by [`MAX_TRUST_CACHE`]: entries older than `keep`
/// seconds are dropped when it is full, and a key that still does not fit is not noted.
fn remember(map: &mut HashMap<String, i64>, key: String, now: i64, keep: i64) {
    if map.len() >= MAX_TRUST_CACHE {
        map.retain(|_, at| now - *at < keep);
    }
    if map.len() < MAX_TRUST_CACHE {
        map.insert(key, now);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
