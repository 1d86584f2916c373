//! An access token with its expiry: what the cache stores and callers receive.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

use crate::wire::fingerprint;
use crate::wire::headers::bearer_value;

/// A bearer access token (RFC 6749 §1.4, RFC 6750) and when it stops being valid.
///
/// Cloning is cheap (a reference count), because every API call clones the cached token.
/// `Debug` shows a fingerprint, never the token.
#[derive(Clone)]
pub struct AccessToken(Arc<Inner>);

struct Inner {
    value: SecretString,
    authorization: HeaderValue,
    fingerprint: String,
    obtained_at: SystemTime,
    expires_at: SystemTime,
    scope: Option<String>,
    refresh_token: Option<SecretString>,
}

impl AccessToken {
    /// A token obtained at `obtained_at` that expires at `expires_at`.
    pub fn new(
        value: impl Into<String>,
        obtained_at: SystemTime,
        expires_at: SystemTime,
        scope: Option<String>,
        refresh_token: Option<String>,
    ) -> Self {
        let value: String = value.into();
        // The response parser refuses tokens a header cannot carry; this fallback never leaves.
        let authorization =
            bearer_value(&value).unwrap_or_else(|| HeaderValue::from_static("Bearer invalid"));
        Self(Arc::new(Inner {
            fingerprint: fingerprint(&value),
            value: SecretString::from(value),
            authorization,
            obtained_at,
            expires_at,
            scope,
            refresh_token: refresh_token.map(SecretString::from),
        }))
    }

    /// The token itself, to send as `Authorization: Bearer <token>`.
    pub fn secret(&self) -> &str {
        self.0.value.expose_secret()
    }

    /// `Bearer <token>`, marked sensitive so HTTP libraries keep it out of their logs.
    pub fn authorization_header(&self) -> &HeaderValue {
        &self.0.authorization
    }

    /// A short fingerprint of the token, safe to log.
    pub fn fingerprint(&self) -> &str {
        &self.0.fingerprint
    }

    /// When this client received the token.
    pub fn obtained_at(&self) -> SystemTime {
        self.0.obtained_at
    }

    /// When the token stops being valid: the earlier of `expires_in` and the JWT's `exp`.
    pub fn expires_at(&self) -> SystemTime {
        self.0.expires_at
    }

    /// The whole lifetime, from receipt to expiry.
    pub fn lifetime(&self) -> Duration {
        self.0
            .expires_at
            .duration_since(self.0.obtained_at)
            .unwrap_or_default()
    }

    /// Time left at `now`; zero once expired.
    pub fn remaining(&self, now: SystemTime) -> Duration {
        self.0.expires_at.duration_since(now).unwrap_or_default()
    }

    /// The granted scope, when the server said.
    pub fn scope(&self) -> Option<&str> {
        self.0.scope.as_deref()
    }

    /// The refresh token, when the server issued one (Telenor, Telenor Norway client credentials grant).
    pub fn refresh_token(&self) -> Option<&str> {
        self.0.refresh_token.as_ref().map(|t| t.expose_secret())
    }

    /// True when both handles are the very same token received once.
    pub fn same_as(&self, other: &AccessToken) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.secret() == other.secret()
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("fingerprint", &self.0.fingerprint)
            .field("expires_at", &self.0.expires_at)
            .field("scope", &self.0.scope)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_token_and_refresh_token() {
        let now = SystemTime::now();
        let token = AccessToken::new(
            "eyJ.secret-token.sig",
            now,
            now + Duration::from_secs(60),
            Some("a b".into()),
            Some("refresh-me-secret".into()),
        );
        let shown = format!("{token:?}");
        assert!(!shown.contains("secret-token"), "{shown}");
        assert!(!shown.contains("refresh-me"), "{shown}");
        assert!(token.authorization_header().is_sensitive());
        assert_eq!(token.lifetime(), Duration::from_secs(60));
        assert_eq!(
            token.remaining(now + Duration::from_secs(100)),
            Duration::ZERO
        );
    }
}
