//! The server's notion of "now": Unix seconds, as tokens (RFC 7519 NumericDate) and the registry
//! store time.

use std::time::SystemTime;

/// Seconds since the Unix epoch (0 for a clock set before 1970).
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
