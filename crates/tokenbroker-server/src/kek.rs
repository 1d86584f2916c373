//! The key-encryption key (KEK): it seals the signing keys' private halves before they are
//! stored in the registry, so a copy of the database alone cannot sign a token. It lives beside
//! the database, never in it: the data directory's `kek` file (32 random bytes, mode 0600), a
//! `--kek-file`, or `TOKENBROKER_KEK` (base64). Every node of a fleet holds the same one.
//!
//! A sealed key is `v1.` ‖ base64url(96-bit random nonce ‖ AES-256-GCM ciphertext ‖ tag); the
//! key's `kid` is the associated data, so a sealed key copied onto another row does not open.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::{hmac, rand};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

/// Bytes in a key-encryption key.
pub const KEK_BYTES: usize = 32;

const SEALED_PREFIX: &str = "v1.";

/// Why a KEK could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KekError {
    /// It is not 32 bytes long.
    #[error("a key-encryption key is {KEK_BYTES} bytes, not {0}")]
    Length(usize),
    /// Its base64 text does not decode.
    #[error("the key-encryption key is not base64")]
    NotBase64,
    /// The system random generator failed.
    #[error("the system random generator failed")]
    Random,
    /// A sealed key did not open: another KEK sealed it, or it was changed.
    #[error("signing key {kid} does not open with this key-encryption key")]
    Open {
        /// The key that did not open.
        kid: String,
    },
}

/// An AES-256-GCM key-encryption key. `Debug` shows nothing of it.
pub struct Kek {
    seal: LessSafeKey,
    check: hmac::Key,
}

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kek(AES-256-GCM)")
    }
}

impl Kek {
    /// A KEK from its 32 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KekError> {
        let unbound =
            UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| KekError::Length(bytes.len()))?;
        Ok(Self {
            seal: LessSafeKey::new(unbound),
            check: hmac::Key::new(hmac::HMAC_SHA256, bytes),
        })
    }

    /// A KEK from base64 text (standard or URL-safe alphabet, padding optional), e.g. the output
    /// of `openssl rand -base64 32`.
    pub fn from_base64(text: &str) -> Result<Self, KekError> {
        let text = text.trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .map_err(|_| KekError::NotBase64)?;
        Self::from_bytes(&bytes)
    }

    /// Fresh random KEK bytes.
    pub fn generate_bytes() -> Result<[u8; KEK_BYTES], KekError> {
        let mut bytes = [0u8; KEK_BYTES];
        rand::fill(&mut bytes).map_err(|_| KekError::Random)?;
        Ok(bytes)
    }

    /// A keyed fingerprint of this KEK, recorded in the registry so a node holding another one
    /// is refused at start; it reveals nothing of the key.
    pub fn fingerprint(&self) -> String {
        let tag = hmac::sign(&self.check, b"tokenbroker kek check v1");
        tag.as_ref()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// `plaintext` (a private key) sealed for the row of `kid`.
    pub(crate) fn seal(&self, kid: &str, plaintext: &[u8]) -> Result<String, KekError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce).map_err(|_| KekError::Random)?;
        let mut buffer = plaintext.to_vec();
        self.seal
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(kid.as_bytes()),
                &mut buffer,
            )
            .map_err(|_| KekError::Random)?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&buffer);
        Ok(format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(sealed)))
    }

    /// The plaintext sealed for the row of `kid`.
    pub(crate) fn open(&self, kid: &str, sealed: &str) -> Result<Vec<u8>, KekError> {
        let failed = || KekError::Open {
            kid: kid.to_owned(),
        };
        let bytes = sealed
            .strip_prefix(SEALED_PREFIX)
            .and_then(|text| URL_SAFE_NO_PAD.decode(text).ok())
            .filter(|bytes| bytes.len() > NONCE_LEN)
            .ok_or_else(failed)?;
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| failed())?;
        let mut buffer = ciphertext.to_vec();
        let plain = self
            .seal
            .open_in_place(nonce, Aad::from(kid.as_bytes()), &mut buffer)
            .map_err(|_| failed())?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_with_their_kek_and_kid() {
        let kek = Kek::from_bytes(&Kek::generate_bytes().unwrap()).unwrap();
        let sealed = kek.seal("kid-1", b"private key").unwrap();
        assert!(!sealed.contains("private key"));
        assert_eq!(kek.open("kid-1", &sealed).unwrap(), b"private key");
        assert!(matches!(
            kek.open("kid-2", &sealed),
            Err(KekError::Open { .. })
        ));
        let other = Kek::from_bytes(&Kek::generate_bytes().unwrap()).unwrap();
        assert!(other.open("kid-1", &sealed).is_err());
        assert_ne!(kek.fingerprint(), other.fingerprint());
        assert!(kek.open("kid-1", "v1.AAAA").is_err());
        assert!(matches!(
            Kek::from_bytes(&[0; 16]),
            Err(KekError::Length(16))
        ));
        let text = STANDARD.encode([7u8; KEK_BYTES]);
        assert_eq!(
            Kek::from_base64(&text).unwrap().fingerprint(),
            Kek::from_bytes(&[7u8; KEK_BYTES]).unwrap().fingerprint()
        );
        assert_eq!(format!("{kek:?}"), "Kek(AES-256-GCM)");
    }
}
