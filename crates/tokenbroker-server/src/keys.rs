//! Signing keys and the JWKS that publishes them.
//!
//! RS256 (RFC 7518 §3.3) is what Entur/Auth0 issue and every JWT library verifies, so it is the
//! default; ES256 (§3.4) and EdDSA (RFC 8037) are smaller and much faster to sign. The key id is
//! the key's RFC 7638 thumbprint, so it is stable and derived rather than invented.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::Serialize;

use crate::jws::{sign_compact, HeldKey};

/// A private key that signs access tokens, with its public JWK.
pub struct SigningKey {
    pem: String,
    kind: KeyAlgorithm,
    algorithm: Algorithm,
    kid: String,
    encoding: EncodingKey,
    /// The same key parsed once, for [`SigningKey::sign`].
    held: HeldKey,
    public: Jwk,
}

/// Why a key could not be made.
#[derive(Debug, thiserror::Error)]
#[error("signing key: {0}")]
pub struct KeyError(String);

/// The signing algorithms an issuer can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KeyAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit keys (the default; Entur/Auth0 use it).
    #[default]
    Rs256,
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// Ed25519 (RFC 8037).
    EdDsa,
}

impl KeyAlgorithm {
    /// The JWS algorithm.
    pub fn jws(self) -> Algorithm {
        match self {
            Self::Rs256 => Algorithm::RS256,
            Self::Es256 => Algorithm::ES256,
            Self::EdDsa => Algorithm::EdDSA,
        }
    }

    /// The lowercase name used in file names and flags.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rs256 => "rs256",
            Self::Es256 => "es256",
            Self::EdDsa => "eddsa",
        }
    }
}

impl FromStr for KeyAlgorithm {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "rs256" => Ok(Self::Rs256),
            "es256" => Ok(Self::Es256),
            "eddsa" | "ed25519" => Ok(Self::EdDsa),
            _ => Err(KeyError(format!(
                "algorithm {s:?} is not supported; use rs256, es256 or eddsa"
            ))),
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl SigningKey {
    /// Generates a fresh key for `algorithm`.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Self, KeyError> {
        let failed = |what: &str| KeyError(format!("{algorithm} key generation failed ({what})"));
        let der: Vec<u8> = match algorithm {
            KeyAlgorithm::Rs256 => {
                let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| failed("generate"))?;
                AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair)
                    .map_err(|_| failed("serialise"))?
                    .as_ref()
                    .to_vec()
            }
            KeyAlgorithm::Es256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .and_then(|pair| pair.to_pkcs8v1())
                .map_err(|_| failed("generate"))?
                .as_ref()
                .to_vec(),
            KeyAlgorithm::EdDsa => Ed25519KeyPair::generate()
                .and_then(|pair| pair.to_pkcs8v1())
                .map_err(|_| failed("generate"))?
                .as_ref()
                .to_vec(),
        };
        Self::from_pem(&pkcs8_pem(&der), algorithm)
    }

    /// Generates a fresh 2048-bit RSA key for RS256.
    pub fn generate_rs256() -> Result<Self, KeyError> {
        Self::generate(KeyAlgorithm::Rs256)
    }

    /// Loads a PKCS#8 PEM private key for `algorithm`.
    pub fn from_pem(pem: &str, algorithm: KeyAlgorithm) -> Result<Self, KeyError> {
        let encoding = match algorithm {
            KeyAlgorithm::Rs256 => EncodingKey::from_rsa_pem(pem.as_bytes()),
            KeyAlgorithm::Es256 => EncodingKey::from_ec_pem(pem.as_bytes()),
            KeyAlgorithm::EdDsa => EncodingKey::from_ed_pem(pem.as_bytes()),
        }
        .map_err(|e| KeyError(format!("not a {algorithm} private key: {e}")))?;
        Self::with_encoding_key(pem.to_owned(), algorithm, encoding)
    }

    /// Loads an RS256 key from PKCS#8 or PKCS#1 PEM.
    pub fn from_rsa_pem(pem: &str) -> Result<Self, KeyError> {
        Self::from_pem(pem, KeyAlgorithm::Rs256)
    }

    fn with_encoding_key(
        pem: String,
        kind: KeyAlgorithm,
        encoding: EncodingKey,
    ) -> Result<Self, KeyError> {
        let algorithm = kind.jws();
        let mut public =
            Jwk::from_encoding_key(&encoding, algorithm).map_err(|e| KeyError(e.to_string()))?;
        let kid = public
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|e| KeyError(e.to_string()))?;
        public.common.key_id = Some(kid.clone());
        public.common.public_key_use = Some(PublicKeyUse::Signature);
        let held = HeldKey::parse(kind, encoding.as_bytes())
            .ok_or_else(|| KeyError(format!("not a {kind} private key aws-lc can sign with")))?;
        Ok(Self {
            pem,
            kind,
            algorithm,
            kid,
            encoding,
            held,
            public,
        })
    }

    /// Signs `claims` as a compact JWS with this key: header `alg`, `kid` and `typ` as given
    /// (RFC 7515 §4.1). The key was parsed when it was loaded, so a signature costs only the
    /// signature (see `jws`).
    pub fn sign<T: Serialize>(
        &self,
        typ: &str,
        claims: &T,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(self.algorithm);
        header.typ = Some(typ.to_owned());
        header.kid = Some(self.kid.clone());
        sign_compact(&self.held, &header, claims)
    }

    /// Which kind of key this is.
    pub fn key_algorithm(&self) -> KeyAlgorithm {
        self.kind
    }

    /// The JWS algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The key id: its RFC 7638 SHA-256 thumbprint.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The private key in jsonwebtoken's form, for comparing with [`SigningKey::sign`] (which
    /// is what the server signs with).
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
    fn every_algorithm_signs_tokens_that_verify_with_its_jwk() {
        // Signed with the held key, verified with the published JWK: the two are one key.
        for algorithm in [
            KeyAlgorithm::Rs256,
            KeyAlgorithm::Es256,
            KeyAlgorithm::EdDsa,
        ] {
            let key = SigningKey::generate(algorithm).unwrap();
            let reloaded = SigningKey::from_pem(key.private_pem(), algorithm).unwrap();
            assert_eq!(
                reloaded.kid(),
                key.kid(),
                "{algorithm}: the kid survives a reload"
            );
            let claims = serde_json::json!({ "sub": "x", "exp": 4_000_000_000u64 });
            let token = reloaded.sign("at+jwt", &claims).unwrap();
            let mut validation = jsonwebtoken::Validation::new(algorithm.jws());
            validation.validate_aud = false;
            let decoded = jsonwebtoken::decode::<serde_json::Value>(
                &token,
                &key.decoding_key().unwrap(),
                &validation,
            );
            assert!(decoded.is_ok(), "{algorithm}: {decoded:?}");
        }
    }

    #[test]
    fn held_key_signatures_are_jsonwebtokens_byte_for_byte() {
        // RS256 (PKCS#1 v1.5) and Ed25519 signatures are deterministic: the same key, header and
        // claims give the same JWS, so the held-key path can be checked against the library's.
        for algorithm in [KeyAlgorithm::Rs256, KeyAlgorithm::EdDsa] {
            let key = SigningKey::generate(algorithm).unwrap();
            let claims =
                serde_json::json!({ "iss": "https://as", "sub": "c", "exp": 4_000_000_000u64 });
            let mut header = jsonwebtoken::Header::new(algorithm.jws());
            header.typ = Some("at+jwt".into());
            header.kid = Some(key.kid().to_owned());
            let theirs = jsonwebtoken::encode(&header, &claims, key.encoding_key()).unwrap();
            assert_eq!(key.sign("at+jwt", &claims).unwrap(), theirs, "{algorithm}");
        }
    }

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
