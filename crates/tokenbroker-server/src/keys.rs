//! Signing keys and the JWKS that publishes them.
//!
//! RS256 (RFC 7518 §3.3) is what Entur/Auth0 issue and every JWT library verifies. The key id is
//! the key's RFC 7638 thumbprint, so it is stable and derived rather than invented.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

/// A private key that signs access tokens, with its public JWK.
pub struct SigningKey {
    pem: String,
    algorithm: Algorithm,
    kid: String,
    encoding: EncodingKey,
    public: Jwk,
}

/// Why a key could not be made.
#[derive(Debug, thiserror::Error)]
#[error("signing key: {0}")]
pub struct KeyError(String);

impl KeyError {
    pub(crate) fn from_message(message: String) -> Self {
        Self(message)
    }
}

impl SigningKey {
    /// Generates a fresh 2048-bit RSA key for RS256.
    pub fn generate_rs256() -> Result<Self, KeyError> {
        let pair = KeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| KeyError("RSA key generation failed".into()))?;
        let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair)
            .map_err(|_| KeyError("could not serialise the RSA key".into()))?;
        Self::from_rsa_pem(&pkcs8_pem(der.as_ref()))
    }

    /// Loads an RS256 key from PKCS#8 or PKCS#1 PEM.
    pub fn from_rsa_pem(pem: &str) -> Result<Self, KeyError> {
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes())
            .map_err(|e| KeyError(format!("not an RSA private key: {e}")))?;
        Self::with_encoding_key(pem.to_owned(), Algorithm::RS256, encoding)
    }

    fn with_encoding_key(
        pem: String,
        algorithm: Algorithm,
        encoding: EncodingKey,
    ) -> Result<Self, KeyError> {
        let mut public =
            Jwk::from_encoding_key(&encoding, algorithm).map_err(|e| KeyError(e.to_string()))?;
        let kid = public
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|e| KeyError(e.to_string()))?;
        public.common.key_id = Some(kid.clone());
        public.common.public_key_use = Some(PublicKeyUse::Signature);
        Ok(Self {
            pem,
            algorithm,
            kid,
            encoding,
            public,
        })
    }

    /// The JWS algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The key id: its RFC 7638 SHA-256 thumbprint.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The private key, for signing.
    pub fn encoding_key(&self) -> &EncodingKey {
        &self.encoding
    }

    /// The public key as a JWK (RFC 7517), with `kid`, `alg` and `use: sig`.
    pub fn public_jwk(&self) -> &Jwk {
        &self.public
    }

    /// The private key as PKCS#8 PEM, for persisting it (file mode 0600).
    pub(crate) fn private_pem(&self) -> &str {
        &self.pem
    }

    /// The public key, for verifying tokens in tests and tools.
    pub fn decoding_key(&self) -> Result<DecodingKey, KeyError> {
        DecodingKey::from_jwk(&self.public).map_err(|e| KeyError(e.to_string()))
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The JWK Set (RFC 7517 §5) publishing `keys`.
pub fn jwk_set<'a>(keys: impl IntoIterator<Item = &'a SigningKey>) -> JwkSet {
    JwkSet {
        keys: keys.into_iter().map(|key| key.public.clone()).collect(),
    }
}

fn pkcs8_pem(der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    pem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_thumbprint_kids_and_public_jwks() {
        let key = SigningKey::generate_rs256().unwrap();
        assert_eq!(key.kid().len(), 43, "base64url SHA-256");
        let jwk = serde_json::to_value(key.public_jwk()).unwrap();
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["kid"], key.kid());
        assert_eq!(jwk["use"], "sig");
        assert!(jwk.get("d").is_none(), "no private parts in the JWK");
        assert!(!format!("{key:?}").contains("PRIVATE"));
    }
}
