//! The client secret, kept out of every log line, `Debug` output and error message.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::fingerprint::fingerprint;

/// An OAuth2 `client_secret` (RFC 6749 §2.3.1).
///
/// `Debug` shows only a fingerprint; the value is exposed to the crate's wire code alone.
#[derive(Clone)]
pub struct ClientSecret(SecretString);

impl ClientSecret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(SecretString::from(value.into()))
    }

    /// A short fingerprint of the secret, safe to log: it tells which secret is in use.
    pub fn fingerprint(&self) -> String {
        fingerprint(self.0.expose_secret())
    }

    /// True when both hold the same value (compared in constant time).
    pub fn same_as(&self, other: &ClientSecret) -> bool {
        let (a, b) = (self.expose().as_bytes(), other.expose().as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    /// The secret itself, for building the token request only.
    pub(crate) fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientSecret({})", self.fingerprint())
    }
}

impl From<String> for ClientSecret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for ClientSecret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_a_fingerprint_not_the_secret() {
        let secret = ClientSecret::new("hunter2-very-secret");
        let shown = format!("{secret:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("sha256:"), "{shown}");
    }
}
