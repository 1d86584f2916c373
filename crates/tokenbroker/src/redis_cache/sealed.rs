//! Tokens at rest in Redis are sealed with an AEAD (AES-256-GCM), so whoever can read Redis —
//! an operator, a backup, a `MONITOR` session — cannot use them.
//!
//! Layout of a stored value: `tb1` ‖ 96-bit random nonce ‖ ciphertext ‖ 128-bit tag. The Redis key
//! is the associated data, so a sealed token moved to another key does not open.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;

use crate::error::{ConfigError, Error};
use crate::token::AccessToken;
use crate::token_record::TokenRecord;

const VERSION: &[u8] = b"tb1";

/// The AES-256-GCM key that seals tokens in the shared cache.
///
/// `Debug` never shows the key.
pub struct CacheCipher {
    key: LessSafeKey,
    random: SystemRandom,
}

impl CacheCipher {
    /// A key from 32 bytes of base64 (standard or URL-safe alphabet, padding optional), e.g. the
    /// output of `openssl rand -base64 32`. `source` names where it came from, for the error.
    pub fn from_base64(encoded: &str, source: &str) -> Result<Self, Error> {
        let encoded = encoded.trim();
        let bytes = [
            &base64::engine::general_purpose::STANDARD,
            &base64::engine::general_purpose::URL_SAFE,
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ]
        .iter()
        .find_map(|engine| engine.decode(encoded).ok())
        .ok_or_else(|| ConfigError::CacheKeyNotBase64 {
            origin: source.to_owned(),
        })?;
        Self::from_bytes(&bytes, source)
    }

    /// A key from exactly 32 raw bytes.
    pub fn from_bytes(bytes: &[u8], source: &str) -> Result<Self, Error> {
        let unbound =
            UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| ConfigError::CacheKeyLength {
                origin: source.to_owned(),
                length: bytes.len(),
            })?;
        Ok(Self {
            key: LessSafeKey::new(unbound),
            random: SystemRandom::new(),
        })
    }

    /// Seals `token` for storage under `redis_key`.
    pub(crate) fn seal(&self, redis_key: &str, token: &AccessToken) -> Result<Vec<u8>, Error> {
        let record = TokenRecord::of(token);
        let mut buffer = serde_json::to_vec(&record)
            .map_err(|_| Error::Seal("the token record does not encode"))?;
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .map_err(|_| Error::Seal("the system random generator failed"))?;
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(redis_key.as_bytes()),
                &mut buffer,
            )
            .map_err(|_| Error::Seal("the AEAD refused to seal"))?;
        let mut sealed = Vec::with_capacity(VERSION.len() + NONCE_LEN + buffer.len());
        sealed.extend_from_slice(VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&buffer);
        Ok(sealed)
    }

    /// Opens a value stored under `redis_key`; `None` when it was sealed with another key,
    /// under another Redis key, tampered with, or is not ours.
    pub(crate) fn open(&self, redis_key: &str, sealed: &[u8]) -> Option<AccessToken> {
        let rest = sealed.strip_prefix(VERSION)?;
        if rest.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = ciphertext.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(redis_key.as_bytes()), &mut buffer)
            .ok()?;
        serde_json::from_slice::<TokenRecord>(plain)
            .ok()?
            .into_token()
    }
}

impl std::fmt::Debug for CacheCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CacheCipher(AES-256-GCM)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

    fn token() -> AccessToken {
        let now = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        AccessToken::new(
            "eyJ.the-token.sig",
            now,
            now + Duration::from_secs(3600),
            Some("a b".into()),
            Some("refresh".into()),
        )
    }

    #[test]
    fn a_sealed_token_opens_with_its_times_but_not_elsewhere() {
        let cipher = CacheCipher::from_base64(KEY, "test key").unwrap();
        let sealed = cipher.seal("k1", &token()).unwrap();
        assert!(!String::from_utf8_lossy(&sealed).contains("the-token"));
        let opened = cipher.open("k1", &sealed).unwrap();
        assert_eq!(opened.secret(), "eyJ.the-token.sig");
        assert_eq!(opened.expires_at(), token().expires_at());
        assert_eq!(opened.obtained_at(), token().obtained_at());
        assert_eq!(opened.scope(), Some("a b"));
        assert_eq!(
            opened.refresh_token(),
            None,
            "refresh tokens are not shared"
        );
        assert!(
            cipher.open("k2", &sealed).is_none(),
            "bound to its Redis key"
        );
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(cipher.open("k1", &tampered).is_none());
        let other = CacheCipher::from_bytes(&[7u8; 32], "other").unwrap();
        assert!(other.open("k1", &sealed).is_none());
        assert!(cipher.open("k1", b"garbage").is_none());
    }

    #[test]
    fn bad_keys_are_named_errors_without_the_value() {
        let short = CacheCipher::from_base64("c2hvcnQ=", "$CACHE_KEY")
            .unwrap_err()
            .to_string();
        assert!(
            short.contains("$CACHE_KEY") && short.contains("32 bytes"),
            "{short}"
        );
        let garbage = CacheCipher::from_base64("not base64 at all!", "$CACHE_KEY")
            .unwrap_err()
            .to_string();
        assert!(
            garbage.contains("not base64") && !garbage.contains("at all"),
            "{garbage}"
        );
    }
}
