//! Brute-force protection that cannot be turned against the clients it protects, in fixed memory.
//!
//! Failed authentications are counted in fixed windows against three keys:
//! - the source address (IPv6 aggregated by /64, since one host holds a whole /64): guessing
//!   from one place stops after [`LimiterRules::per_address`] failures, whatever the client ids;
//! - the client id *from* that address: [`LimiterRules::per_client_address`];
//! - the client id from anywhere: past [`LimiterRules::per_client`] failures, only addresses that
//!   authenticated that client successfully in the last [`LimiterRules::trusted_for`] get through.
//!
//! So failures from one address never stop the right secret from another address the client
//! already uses (client ids are public: they are in every token), while guessing stays bounded per
//! address and per client. The OAuth endpoints and the admin API count in separate realms, so
//! failed token requests cannot lock administrators out.
//!
//! Keys are hashed with a per-process random key (no attacker-chosen collisions) and never store
//! the presented id, so a long client id costs no memory; each table holds at most
//! [`MAX_ENTRIES`] entries, swept by time. Past that, new keys share one overflow bucket, so a
//! flood of fresh addresses is limited together instead of growing memory.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The most entries in each table (windows; trusted pairs): about 5 MB at worst.
pub(crate) const MAX_ENTRIES: usize = 100_000;

/// Which endpoints an attempt was made at: each realm counts on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Realm {
    /// Client authentication at the token, introspection and revocation endpoints.
    OAuth,
    /// Administrator tokens at the admin API.
    Admin,
}

/// One authentication attempt: where it came from and which client ids it presented.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attempt<'a> {
    /// The endpoints' realm.
    pub(crate) realm: Realm,
    /// The source address (the peer, or the client a trusted proxy names).
    pub(crate) address: IpAddr,
    /// The client ids presented (Basic credentials may be read two ways).
    pub(crate) client_ids: &'a [&'a str],
}

/// How many failures are tolerated, and for how long.
#[derive(Debug, Clone)]
pub(crate) struct LimiterRules {
    /// Failures per source address per window, all clients together.
    pub(crate) per_address: u32,
    /// Failures per client id from one source address per window.
    pub(crate) per_client_address: u32,
    /// Failures per client id from all addresses per window; past it, only trusted addresses.
    pub(crate) per_client: u32,
    /// The window.
    pub(crate) window: Duration,
    /// How long an address that authenticated a client stays trusted for it.
    pub(crate) trusted_for: Duration,
}

impl Default for LimiterRules {
    /// 60 failures per address, 10 per client from one address, 100 per client from everywhere,
    /// per minute; trust lasts a day.
    fn default() -> Self {
        Self {
            per_address: 60,
            per_client_address: 10,
            per_client: 100,
            window: Duration::from_secs(60),
            trusted_for: Duration::from_secs(24 * 3600),
        }
    }
}

/// A fixed window: when it started and the failures in it.
#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

#[derive(Debug, Default)]
struct Tables {
    windows: HashMap<u64, Window>,
    trusted: HashMap<u64, Instant>,
    last_sweep: Option<Instant>,
}

/// Limits failed authentications; see the module documentation for the rules.
#[derive(Debug)]
pub(crate) struct FailureLimiter {
    rules: LimiterRules,
    hasher: std::collections::hash_map::RandomState,
    tables: Mutex<Tables>,
}

/// The key every new entry shares once a table is full.
const OVERFLOW: u64 = 0;

impl FailureLimiter {
    /// A limiter with these rules.
    pub(crate) fn new(rules: LimiterRules) -> Self {
        Self {
            rules,
            hasher: std::collections::hash_map::RandomState::new(),
            tables: Mutex::new(Tables::default()),
        }
    }

    /// `Err(wait)` when `attempt` must not be tried now: how long until it may be.
    pub(crate) fn check(&self, attempt: &Attempt<'_>, now: Instant) -> Result<(), Duration> {
        let tables = self.lock();
        let over = |key: u64, limit: u32| -> Option<Duration> {
            let window = tables.windows.get(&key)?;
            let left = self
                .rules
                .window
                .checked_sub(now.saturating_duration_since(window.started))
                .filter(|left| !left.is_zero())?;
            (window.failures >= limit).then_some(left)
        };
        // Once the table is full, an address it does not hold counts in the overflow bucket.
        let address = self.address_key(attempt);
        let address =
            if tables.windows.len() >= MAX_ENTRIES && !tables.windows.contains_key(&address) {
                OVERFLOW
            } else {
                address
            };
        let mut wait = over(address, self.rules.per_address);
        for client in attempt.client_ids {
            let pair = over(
                self.pair_key(attempt, client),
                self.rules.per_client_address,
            );
            let everywhere = over(self.client_key(attempt, client), self.rules.per_client)
                .filter(|_| !self.is_trusted(&tables, attempt, client, now));
            wait = wait.max(pair).max(everywhere);
        }
        wait.map_or(Ok(()), Err)
    }

    /// Counts one failed authentication of `attempt`.
    pub(crate) fn failed(&self, attempt: &Attempt<'_>, now: Instant) {
        let mut keys = vec![self.address_key(attempt)];
        for client in attempt.client_ids {
            keys.push(self.pair_key(attempt, client));
            keys.push(self.client_key(attempt, client));
        }
        let mut tables = self.lock();
        self.sweep_if_full(&mut tables, now);
        for key in keys {
            let key = if tables.windows.len() >= MAX_ENTRIES && !tables.windows.contains_key(&key) {
                OVERFLOW
            } else {
                key
            };
            let window = tables.windows.entry(key).or_insert(Window {
                started: now,
                failures: 0,
            });
            if now.saturating_duration_since(window.started) >= self.rules.window {
                *window = Window {
                    started: now,
                    failures: 0,
                };
            }
            window.failures = window.failures.saturating_add(1);
        }
    }

    /// Records that `client` authenticated from `attempt`'s address: that address stays trusted
    /// for the client while others exhaust its failures.
    pub(crate) fn succeeded(&self, attempt: &Attempt<'_>, client: &str, now: Instant) {
        let key = self.pair_key(attempt, client);
        let mut tables = self.lock();
        self.sweep_if_full(&mut tables, now);
        if tables.trusted.len() < MAX_ENTRIES || tables.trusted.contains_key(&key) {
            tables.trusted.insert(key, now);
        }
    }

    /// How many keys are tracked (both tables), for tests of the memory bound.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        let tables = self.lock();
        tables.windows.len() + tables.trusted.len()
    }

    fn is_trusted(
        &self,
        tables: &Tables,
        attempt: &Attempt<'_>,
        client: &str,
        now: Instant,
    ) -> bool {
        tables
            .trusted
            .get(&self.pair_key(attempt, client))
            .is_some_and(|at| now.saturating_duration_since(*at) < self.rules.trusted_for)
    }

    /// Drops expired entries when a table is full, at most once per tenth of a window, so a
    /// table full of live entries does not cost a full scan per request.
    fn sweep_if_full(&self, tables: &mut Tables, now: Instant) {
        let full = tables.windows.len() >= MAX_ENTRIES || tables.trusted.len() >= MAX_ENTRIES;
        let recently = tables
            .last_sweep
            .is_some_and(|at| now.saturating_duration_since(at) < self.rules.window / 10);
        if !full || recently {
            return;
        }
        let (window, trusted_for) = (self.rules.window, self.rules.trusted_for);
        tables
            .windows
            .retain(|_, w| now.saturating_duration_since(w.started) < window);
        tables
            .trusted
            .retain(|_, at| now.saturating_duration_since(*at) < trusted_for);
        tables.last_sweep = Some(now);
    }

    fn address_key(&self, attempt: &Attempt<'_>) -> u64 {
        self.hash(&(attempt.realm, 'a', aggregate(attempt.address)))
    }

    fn pair_key(&self, attempt: &Attempt<'_>, client: &str) -> u64 {
        self.hash(&(attempt.realm, 'p', aggregate(attempt.address), client))
    }

    fn client_key(&self, attempt: &Attempt<'_>, client: &str) -> u64 {
        self.hash(&(attempt.realm, 'c', client))
    }

    /// A keyed hash, never [`OVERFLOW`].
    fn hash(&self, value: &impl Hash) -> u64 {
        self.hasher.hash_one(value).max(1)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Default for FailureLimiter {
    fn default() -> Self {
        Self::new(LimiterRules::default())
    }
}

/// The unit an address is limited as: IPv4 (and IPv4-mapped IPv6) addresses whole, other IPv6
/// addresses by their /64 (one host or home network gets a whole /64).
pub(crate) fn aggregate(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> LimiterRules {
        LimiterRules {
            per_address: 5,
            per_client_address: 3,
            per_client: 4,
            window: Duration::from_secs(60),
            trusted_for: Duration::from_secs(3600),
        }
    }

    fn attempt<'a>(address: &str, clients: &'a [&'a str]) -> Attempt<'a> {
        Attempt {
            realm: Realm::OAuth,
            address: address.parse().unwrap(),
            client_ids: clients,
        }
    }

    #[test]
    fn a_client_is_limited_per_address_until_the_window_ends() {
        let limiter = FailureLimiter::new(rules());
        let start = Instant::now();
        let from_a = attempt("192.0.2.1", &["c"]);
        for _ in 0..3 {
            assert_eq!(limiter.check(&from_a, start), Ok(()));
            limiter.failed(&from_a, start);
        }
        assert!(
            limiter.check(&from_a, start).is_err(),
            "3 failures for c from a"
        );
        assert_eq!(
            limiter.check(&attempt("192.0.2.1", &["other"]), start),
            Ok(()),
            "the address is at 3 of 5"
        );
        assert_eq!(
            limiter.check(&from_a, start + Duration::from_secs(60)),
            Ok(()),
            "a new window"
        );
    }

    /// Failures from one address, even past the client's global limit, do not stop the right
    /// secret from an address that authenticated the client before.
    #[test]
    fn guessing_elsewhere_does_not_lock_out_a_trusted_address() {
        let limiter = FailureLimiter::new(rules());
        let now = Instant::now();
        let home = attempt("198.51.100.7", &["c"]);
        limiter.succeeded(&home, "c", now);
        for attacker in ["203.0.113.1", "203.0.113.2"] {
            for _ in 0..3 {
                limiter.failed(&attempt(attacker, &["c"]), now);
            }
        }
        assert!(
            limiter.check(&attempt("203.0.113.3", &["c"]), now).is_err(),
            "6 failures for c: a new address is refused"
        );
        assert_eq!(
            limiter.check(&home, now),
            Ok(()),
            "the trusted address is not"
        );
    }

    #[test]
    fn ipv6_counts_by_slash_64_and_realms_apart() {
        let limiter = FailureLimiter::new(rules());
        let now = Instant::now();
        for host in 1..=5 {
            limiter.failed(&attempt(&format!("2001:db8:1:2::{host}"), &[]), now);
        }
        assert!(limiter
            .check(&attempt("2001:db8:1:2:ffff::1", &[]), now)
            .is_err());
        assert_eq!(limiter.check(&attempt("2001:db8:1:3::1", &[]), now), Ok(()));
        let admin = Attempt {
            realm: Realm::Admin,
            ..attempt("2001:db8:1:2::1", &[])
        };
        assert_eq!(
            limiter.check(&admin, now),
            Ok(()),
            "the admin realm is apart"
        );
    }

    /// A flood of fresh addresses fills at most MAX_ENTRIES per table; the excess shares the
    /// overflow bucket, which is then limited. (Ids are hashed, never kept; the wire codec
    /// bounds them to 255 bytes before they get here.)
    #[test]
    fn memory_is_bounded_under_a_flood_of_keys() {
        let limiter = FailureLimiter::new(rules());
        let now = Instant::now();
        let long_id = "x".repeat(255);
        for n in 0..(MAX_ENTRIES as u32 / 2 + 10) {
            let address = IpAddr::V4(std::net::Ipv4Addr::from(n));
            let ids = [long_id.as_str()];
            limiter.failed(
                &Attempt {
                    realm: Realm::OAuth,
                    address,
                    client_ids: &ids,
                },
                now,
            );
        }
        assert!(
            limiter.tracked() <= MAX_ENTRIES + 1,
            "{}",
            limiter.tracked()
        );
        let newcomer = attempt("203.0.113.200", &[]);
        for _ in 0..5 {
            limiter.failed(&newcomer, now);
        }
        assert!(
            limiter.check(&newcomer, now).is_err(),
            "past the table's capacity, newcomers share one limited bucket"
        );
    }
}
