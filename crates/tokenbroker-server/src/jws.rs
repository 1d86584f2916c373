//! Compact JWS signing ([RFC 7515 §7.1](https://www.rfc-editor.org/rfc/rfc7515#section-7.1))
//! with a private key parsed once, when the key is loaded.
//!
//! Why not `jsonwebtoken::encode`: its aws-lc signer parses the key from DER on every call
//! (`RsaKeyPair::from_der` inside each RS256 signature). Measured on this 2-core machine with
//! `cargo bench -p tokenbroker-server --bench signing`, held key vs `encode`: the figures are in
//! that bench's header. The output is the same JWS: RS256 and EdDSA signatures are
//! deterministic, and a test checks both byte for byte against `jsonwebtoken::encode`; ES256
//! tokens verify with `jsonwebtoken::decode`.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::errors::{new_error, Error, ErrorKind};
use jsonwebtoken::Header;
use serde::Serialize;

use crate::keys::KeyAlgorithm;

/// A private key ready to sign: parsed and checked once.
pub(crate) enum HeldKey {
    /// RS256 (RFC 7518 §3.3).
    Rsa(RsaKeyPair),
    /// ES256 (RFC 7518 §3.4): P-256, the fixed-length `r || s` signature JWS uses.
    Ecdsa(EcdsaKeyPair),
    /// EdDSA with Ed25519 (RFC 8037 §3.1).
    Ed25519(Ed25519KeyPair),
}

impl HeldKey {
    /// Parses `der` — what `jsonwebtoken::EncodingKey` holds for `algorithm`: PKCS#1 or PKCS#8
    /// for RSA, PKCS#8 for the others.
    pub(crate) fn parse(algorithm: KeyAlgorithm, der: &[u8]) -> Option<Self> {
        match algorithm {
            KeyAlgorithm::Rs256 => RsaKeyPair::from_der(der)
                .or_else(|_| RsaKeyPair::from_pkcs8(der))
                .ok()
                .map(Self::Rsa),
            KeyAlgorithm::Es256 => EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                .ok()
                .map(Self::Ecdsa),
            KeyAlgorithm::EdDsa => Ed25519KeyPair::from_pkcs8(der).ok().map(Self::Ed25519),
        }
    }

    fn signature(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let failed = |_| new_error(ErrorKind::Signing("the key refused to sign".into()));
        match self {
            Self::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut signature,
                )
                .map_err(failed)?;
                Ok(signature)
            }
            Self::Ecdsa(pair) => Ok(pair
                .sign(&SystemRandom::new(), message)
                .map_err(failed)?
                .as_ref()
                .to_vec()),
            Self::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}

/// `BASE64URL(header) . BASE64URL(claims) . BASE64URL(signature)`, signed by `key`.
pub(crate) fn sign_compact<T: Serialize>(
    key: &HeldKey,
    header: &Header,
    claims: &T,
) -> Result<String, Error> {
    let header = serde_json::to_vec(header)?;
    let claims = serde_json::to_vec(claims)?;
    let mut jws = String::with_capacity((header.len() + claims.len()) * 4 / 3 + 400);
    URL_SAFE_NO_PAD.encode_string(&header, &mut jws);
    jws.push('.');
    URL_SAFE_NO_PAD.encode_string(&claims, &mut jws);
    let signature = key.signature(jws.as_bytes())?;
    jws.push('.');
    URL_SAFE_NO_PAD.encode_string(&signature, &mut jws);
    Ok(jws)
}
