//! When to refresh, when a token is too old to hand out, and how hard to retry.
//!
//! Entur partner authentication: "re-authenticates before it expire … Re-authentication will take some time, so execute
//! it some time before it expires."

use std::time::{Duration, SystemTime};

use crate::source::Backoff;
use crate::token::AccessToken;

/// Refresh timing and failure handling for [`crate::CachedTokenSource`].
#[derive(Debug, Clone)]
pub struct RefreshPolicy {
    /// Share of the lifetime after which a background refresh starts (default 0.75).
    pub refresh_at: f64,
    /// A token with less than this left is never handed out (default 30 s). For short-lived tokens
    /// it shrinks to a tenth of the lifetime, so a 10 s token is still usable for 9 s.
    pub min_remaining: Duration,
    /// Retries of a failed fetch.
    pub backoff: Backoff,
    /// After a failed fetch, no new one starts for this long (default 1 s), doubling with each
    /// failure in a row up to [`max_failure_cooldown`](Self::max_failure_cooldown). Callers
    /// with no usable token meanwhile get the last error at once: during an outage the token
    /// endpoint sees at most one attempt per window, however many callers there are.
    pub failure_cooldown: Duration,
    /// The longest window between attempts during an outage (default 30 s).
    pub max_failure_cooldown: Duration,
    /// At most one [`invalidate`](crate::TokenSource::invalidate) takes effect per this interval,
    /// so an API that rejects every token cannot drive a fetch loop.
    pub min_invalidate_interval: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            refresh_at: 0.75,
            min_remaining: Duration::from_secs(30),
            backoff: Backoff::default(),
            failure_cooldown: Duration::from_secs(1),
            max_failure_cooldown: Duration::from_secs(30),
            min_invalidate_interval: Duration::from_secs(5),
        }
    }
}

/// The two moments that matter for one cached token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Schedule {
    /// From here on, a background refresh should run.
    pub refresh_at: SystemTime,
    /// From here on, the token must not be handed out.
    pub usable_until: SystemTime,
}

impl RefreshPolicy {
    /// When a background refresh of `token` should start: at [`refresh_at`](Self::refresh_at)
    /// of its lifetime, and never after it stops being usable.
    pub fn refresh_at(&self, token: &AccessToken) -> SystemTime {
        self.schedule(token).refresh_at
    }

    /// From when `token` must not be handed out: [`min_remaining`](Self::min_remaining) before
    /// its expiry, or a tenth of its lifetime for short-lived tokens.
    pub fn usable_until(&self, token: &AccessToken) -> SystemTime {
        self.schedule(token).usable_until
    }

    /// How long no fetch starts after the `failures`-th failure in a row (from 1):
    /// [`failure_cooldown`](Self::failure_cooldown) doubled per failure, at most
    /// [`max_failure_cooldown`](Self::max_failure_cooldown).
    pub fn failure_window(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(20);
        self.failure_cooldown
            .saturating_mul(1 << doublings)
            .min(self.max_failure_cooldown.max(self.failure_cooldown))
    }

    /// When `token` should be refreshed and when it stops being usable.
    pub(crate) fn schedule(&self, token: &AccessToken) -> Schedule {
        let lifetime = token.lifetime();
        let margin = self.min_remaining.min(lifetime / 10);
        let usable_until = token.expires_at() - margin;
        let share = self.refresh_at.clamp(0.0, 1.0);
        let refresh_at = (token.obtained_at() + lifetime.mul_f64(share)).min(usable_until);
        Schedule {
            refresh_at,
            usable_until,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(lifetime: u64) -> (SystemTime, AccessToken) {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let token = AccessToken::new("t", now, now + Duration::from_secs(lifetime), None, None);
        (now, token)
    }

    #[test]
    fn a_day_long_token_refreshes_at_three_quarters() {
        let (now, token) = token(86_400);
        let schedule = RefreshPolicy::default().schedule(&token);
        assert_eq!(schedule.refresh_at, now + Duration::from_secs(64_800));
        assert_eq!(schedule.usable_until, now + Duration::from_secs(86_370));
    }

    #[test]
    fn failure_windows_double_up_to_the_maximum() {
        let policy = RefreshPolicy::default();
        let seconds: Vec<u64> = (1..=8)
            .map(|n| policy.failure_window(n).as_secs())
            .collect();
        assert_eq!(seconds, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(policy.failure_window(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn short_tokens_keep_a_tenth_as_margin() {
        let (now, token) = token(10);
        let schedule = RefreshPolicy::default().schedule(&token);
        assert_eq!(schedule.usable_until, now + Duration::from_secs(9));
        assert_eq!(schedule.refresh_at, now + Duration::from_millis(7_500));
    }
}
