//! How a token is written down for another process: the one record both shared caches store
//! (sealed in Redis, in a 0600 file for the CLI), with enough to rebuild the [`AccessToken`]
//! and its original times, so every reader schedules its refresh at the same moment. Refresh
//! tokens are never stored.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::token::AccessToken;

/// A stored token.
#[derive(Serialize, Deserialize)]
pub(crate) struct TokenRecord {
    access_token: String,
    obtained_at_ms: u64,
    expires_at_ms: u64,
    scope: Option<String>,
}

impl TokenRecord {
    /// The record of `token`.
    pub(crate) fn of(token: &AccessToken) -> Self {
        Self {
            access_token: token.secret().to_owned(),
            obtained_at_ms: unix_millis(token.obtained_at()),
            expires_at_ms: unix_millis(token.expires_at()),
            scope: token.scope().map(str::to_owned),
        }
    }

    /// The token again, if the record is one a token response could have produced: a token a
    /// header can carry, and times that exist and expire after they were obtained.
    pub(crate) fn into_token(self) -> Option<AccessToken> {
        crate::wire::headers::bearer_value(&self.access_token)?;
        let at = |ms: u64| SystemTime::UNIX_EPOCH.checked_add(Duration::from_millis(ms));
        let (obtained_at, expires_at) = (at(self.obtained_at_ms)?, at(self.expires_at_ms)?);
        if expires_at <= obtained_at {
            return None;
        }
        Some(AccessToken::new(
            self.access_token,
            obtained_at,
            expires_at,
            self.scope,
            None,
        ))
    }
}

fn unix_millis(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
