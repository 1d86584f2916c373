//! Exponential backoff with full jitter, bounded in attempts and delay.
//!
//! Full jitter (a random delay between zero and the exponential cap) spreads a fleet's retries
//! instead of synchronising them. A server's `Retry-After` (429/503) is honoured as a floor.

use std::time::Duration;

/// Retry timing for failed token fetches.
#[derive(Debug, Clone)]
pub struct Backoff {
    /// Total attempts, the first included (default 4).
    pub max_attempts: u32,
    /// Cap of the first retry's delay (default 250 ms); doubles each retry.
    pub base: Duration,
    /// Largest delay between attempts, `Retry-After` included (default 30 s).
    pub max_delay: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The delay before retry number `retry` (0 for the first retry).
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let cap = self
            .base
            .saturating_mul(2u32.saturating_pow(retry.min(20)))
            .min(self.max_delay);
        let jittered = cap.mul_f64(fastrand::f64());
        jittered
            .max(retry_after.unwrap_or_default())
            .min(self.max_delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_stay_under_the_exponential_cap() {
        let backoff = Backoff::default();
        for retry in 0..10 {
            let cap = Duration::from_millis(250 * 2u64.pow(retry)).min(Duration::from_secs(30));
            for _ in 0..50 {
                assert!(backoff.delay(retry, None) <= cap);
            }
        }
    }

    #[test]
    fn retry_after_is_a_floor_but_bounded() {
        let backoff = Backoff::default();
        assert!(backoff.delay(0, Some(Duration::from_secs(3))) >= Duration::from_secs(3));
        assert_eq!(
            backoff.delay(0, Some(Duration::from_secs(3600))),
            Duration::from_secs(30)
        );
    }
}
