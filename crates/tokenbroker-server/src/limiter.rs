//! Brute-force protection: after too many failed client authentications from one source address
//! or for one client id within a window, further attempts get 429 with `Retry-After` until the
//! window ends — even with the right secret, so guessing cannot continue in parallel with
//! legitimate use.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries kept before expired windows are swept (bounds memory under a flood of sources).
const SWEEP_ABOVE: usize = 10_000;

/// What a failure is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum LimitKey {
    /// A source address.
    Ip(IpAddr),
    /// A client id (whether or not it exists).
    Client(String),
}

/// Limits failed authentications per key within a fixed window.
#[derive(Debug)]
pub(crate) struct FailureLimiter {
    per_ip: u32,
    per_client: u32,
    window: Duration,
    windows: Mutex<HashMap<LimitKey, (Instant, u32)>>,
}

impl FailureLimiter {
    /// At most `per_ip` failures per address and `per_client` per client id within `window`.
    pub(crate) fn new(per_ip: u32, per_client: u32, window: Duration) -> Self {
        Self {
            per_ip,
            per_client,
            window,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// When any of `keys` has used up its failures: how long until it may try again.
    pub(crate) fn blocked(&self, keys: &[LimitKey]) -> Option<Duration> {
        let windows = self.lock();
        let now = Instant::now();
        keys.iter()
            .filter_map(|key| {
                let (started, failures) = windows.get(key)?;
                let left = self.window.checked_sub(now.duration_since(*started))?;
                (*failures >= self.limit(key)).then_some(left)
            })
            .max()
    }

    /// Counts one failed authentication against each of `keys`.
    pub(crate) fn record_failure(&self, keys: &[LimitKey]) {
        let mut windows = self.lock();
        let now = Instant::now();
        if windows.len() > SWEEP_ABOVE {
            windows.retain(|_, (started, _)| now.duration_since(*started) < self.window);
        }
        for key in keys {
            let entry = windows.entry(key.clone()).or_insert((now, 0));
            if now.duration_since(entry.0) >= self.window {
                *entry = (now, 0);
            }
            entry.1 = entry.1.saturating_add(1);
        }
    }

    fn limit(&self, key: &LimitKey) -> u32 {
        match key {
            LimitKey::Ip(_) => self.per_ip,
            LimitKey::Client(_) => self.per_client,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<LimitKey, (Instant, u32)>> {
        self.windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Default for FailureLimiter {
    /// 60 failures per address and 20 per client id per minute.
    fn default() -> Self {
        Self::new(60, 20, Duration::from_secs(60))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_a_key_after_its_limit_until_the_window_ends() {
        let limiter = FailureLimiter::new(3, 2, Duration::from_millis(200));
        let ip = LimitKey::Ip("127.0.0.1".parse().unwrap());
        let client = LimitKey::Client("c".into());
        limiter.record_failure(&[ip.clone(), client.clone()]);
        assert_eq!(limiter.blocked(&[ip.clone(), client.clone()]), None);
        limiter.record_failure(&[ip.clone(), client.clone()]);
        assert!(
            limiter.blocked(std::slice::from_ref(&client)).is_some(),
            "the client id reached 2"
        );
        assert_eq!(
            limiter.blocked(std::slice::from_ref(&ip)),
            None,
            "the address is at 2 of 3"
        );
        assert_eq!(limiter.blocked(&[LimitKey::Client("other".into())]), None);
        std::thread::sleep(Duration::from_millis(220));
        assert_eq!(limiter.blocked(&[ip, client]), None, "a new window");
    }
}
