//! The server's notion of "now": Unix seconds, as tokens (RFC 7519 NumericDate) and the registry
//! store time.

use tokenbroker_wire::{Clock, SystemClock};

/// Seconds since the Unix epoch on the system clock (0 for a clock set before 1970), converted
/// as every [`Clock`] converts.
pub(crate) fn unix_now() -> i64 {
    SystemClock.unix_seconds()
}
