//! When a freshly received token expires.
//!
//! Entur's authentication pages: track expiry "via the `expires_in` field from the token response or the `exp`
//! claim inside the JWT". We take the earlier of the two, because whichever is earlier is when the
//! API starts answering 401. A difference of more than a minute means the server's clock and ours
//! disagree; we say so once in the log, since it makes refresh-ahead timing unreliable.

use std::time::{Duration, SystemTime};

use crate::wire::jwt::JwtTimes;

/// Disagreement between `expires_in` and `exp` above which we warn about clock skew.
const SKEW_WARNING: Duration = Duration::from_secs(60);

/// The effective expiry of a token received at `now`.
///
/// `expires_in` (RFC 6749 §5.1) counts from receipt; `jwt.expires_at` is absolute. Without either,
/// `default_lifetime` applies.
pub fn effective_expiry(
    now: SystemTime,
    expires_in: Option<Duration>,
    jwt: Option<JwtTimes>,
    default_lifetime: Duration,
) -> SystemTime {
    let from_response = expires_in.map(|lifetime| now + lifetime);
    let from_claim = jwt.and_then(|times| times.expires_at);
    match (from_response, from_claim) {
        (Some(response), Some(claim)) => {
            let gap = response
                .duration_since(claim)
                .or_else(|_| claim.duration_since(response))
                .unwrap_or_default();
            if gap > SKEW_WARNING {
                tracing::warn!(
                    gap_seconds = gap.as_secs(),
                    "token expires_in and the JWT exp claim disagree by more than 60 s: the \
                     server's clock and this machine's are skewed; using the earlier expiry"
                );
            }
            response.min(claim)
        }
        (Some(response), None) => response,
        (None, Some(claim)) => claim,
        (None, None) => now + default_lifetime,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Duration = Duration::from_secs(1_700_000_000);

    fn at(offset: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + NOW + Duration::from_secs(offset)
    }

    fn claim(exp: u64) -> Option<JwtTimes> {
        Some(JwtTimes {
            expires_at: Some(at(exp)),
            issued_at: None,
        })
    }

    #[test]
    fn the_earlier_of_expires_in_and_exp_wins() {
        let now = at(0);
        let hour = Some(Duration::from_secs(3600));
        assert_eq!(
            effective_expiry(now, hour, claim(600), Duration::ZERO),
            at(600)
        );
        assert_eq!(
            effective_expiry(now, hour, claim(7200), Duration::ZERO),
            at(3600)
        );
    }

    #[test]
    fn missing_expires_in_uses_exp_then_the_default() {
        let now = at(0);
        assert_eq!(
            effective_expiry(now, None, claim(900), Duration::ZERO),
            at(900)
        );
        assert_eq!(
            effective_expiry(now, None, None, Duration::from_secs(300)),
            at(300)
        );
    }
}
