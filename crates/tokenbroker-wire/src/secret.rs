//! Secrets kept out of every log line, `Debug` output and error message.
//!
//! `Debug`, `Display`, logs and errors show at most a short fingerprint of a secret or a token:
//! eight hex digits of SHA-256 tell two values apart in a log without revealing anything usable.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// The first eight hex digits of the SHA-256 of `secret`, e.g. `sha256:1f2e3d4c`.
pub fn fingerprint(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let mut out = String::with_capacity(15);
    out.push_str("sha256:");
    for byte in &digest[..4] {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// An OAuth2 `client_secret` ([RFC 6749 §2.3.1](https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1)).
///
/// `Debug` shows only a fingerprint. The value is reached through [`ExposeSecret`], so every place
/// that reads it says so.
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
        let (a, b) = (
            self.expose_secret().as_bytes(),
            other.expose_secret().as_bytes(),
        );
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl ExposeSecret<str> for ClientSecret {
    fn expose_secret(&self) -> &str {
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

    #[test]
    fn fingerprint_is_short_stable_and_hides_the_input() {
        let a = fingerprint("super-secret-value");
        assert_eq!(a, fingerprint("super-secret-value"));
        assert_ne!(a, fingerprint("super-secret-valuE"));
        assert_eq!(a.len(), "sha256:".len() + 8);
        assert!(!a.contains("secret"));
    }

    #[test]
    fn same_as_compares_values() {
        assert!(ClientSecret::new("a").same_as(&ClientSecret::new("a")));
        assert!(!ClientSecret::new("a").same_as(&ClientSecret::new("ab")));
        assert!(!ClientSecret::new("ab").same_as(&ClientSecret::new("ac")));
    }
}
