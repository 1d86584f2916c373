//! A public key from a JWK ([RFC 7517](https://www.rfc-editor.org/rfc/rfc7517)), parsed once
//! into aws-lc-rs keys and held: verifying a signature then costs the signature check alone.
//! (`jsonwebtoken::decode` rebuilds the public key from its components on every call: measured
//! in `cargo bench -p tokenbroker-e2e --bench validation`.)
//!
//! A key that declares its `alg` is held for that algorithm only. A key that does not is held
//! for every JWS algorithm of its type and curve
//! ([RFC 7518 §3.1](https://www.rfc-editor.org/rfc/rfc7518#section-3.1)), so a token can never
//! be checked with a key of another type (an RSA key against an ES256 signature).

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents, VerificationAlgorithm};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};
use jsonwebtoken::Algorithm;

use crate::verifier::is_asymmetric;

/// A verification key: the public key parsed for each algorithm it may verify.
pub struct VerifyingKey {
    parsed: Vec<(Algorithm, ParsedPublicKey)>,
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let algorithms: Vec<Algorithm> = self.parsed.iter().map(|(a, _)| *a).collect();
        f.debug_struct("VerifyingKey")
            .field("algorithms", &algorithms)
            .finish_non_exhaustive()
    }
}

/// Why a JWK cannot verify tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The JWK declares a symmetric or unknown `alg`, or its type has no JWS algorithm here.
    #[error("the key's algorithm is not an asymmetric JWS algorithm")]
    Algorithm,
    /// A member is missing, not base64url, or not a valid key.
    #[error("the key's {0} is not a valid public key")]
    Invalid(&'static str),
}

impl VerifyingKey {
    /// The key a JWK describes.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        let declared = match jwk.common.key_algorithm {
            Some(alg) => {
                let alg: Algorithm = alg.to_string().parse().map_err(|_| KeyError::Algorithm)?;
                if !is_asymmetric(alg) {
                    return Err(KeyError::Algorithm);
                }
                Some(alg)
            }
            None => None,
        };
        let (candidates, bytes): (&[Algorithm], PublicKeyBytes) = match &jwk.algorithm {
            AlgorithmParameters::RSA(rsa) => (
                &[
                    Algorithm::RS256,
                    Algorithm::RS384,
                    Algorithm::RS512,
                    Algorithm::PS256,
                    Algorithm::PS384,
                    Algorithm::PS512,
                ],
                PublicKeyBytes::Rsa {
                    n: decode(&rsa.n, "modulus n")?,
                    e: decode(&rsa.e, "exponent e")?,
                },
            ),
            AlgorithmParameters::EllipticCurve(ec) => {
                let (algorithm, size): (&[Algorithm], usize) = match ec.curve {
                    EllipticCurve::P256 => (&[Algorithm::ES256], 32),
                    EllipticCurve::P384 => (&[Algorithm::ES384], 48),
                    _ => return Err(KeyError::Algorithm),
                };
                let (x, y) = (decode(&ec.x, "x")?, decode(&ec.y, "y")?);
                // RFC 7518 §6.2.1.2: each coordinate is exactly the curve's size.
                if x.len() != size || y.len() != size {
                    return Err(KeyError::Invalid("point"));
                }
                // The uncompressed point (SEC 1 §2.3.3) aws-lc-rs reads.
                let point = [&[0x04][..], &x, &y].concat();
                (algorithm, PublicKeyBytes::Raw(point))
            }
            AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => (
                &[Algorithm::EdDSA],
                PublicKeyBytes::Raw(decode(&okp.x, "x")?),
            ),
            _ => return Err(KeyError::Algorithm),
        };
        let algorithms: Vec<Algorithm> = match declared {
            Some(alg) if candidates.contains(&alg) => vec![alg],
            Some(_) => return Err(KeyError::Algorithm),
            None => candidates.to_vec(),
        };
        let parsed = algorithms
            .into_iter()
            .map(|alg| Ok((alg, bytes.parse(alg)?)))
            .collect::<Result<_, KeyError>>()?;
        Ok(Self { parsed })
    }

    /// The one algorithm the key declared, or `None` when it may verify several.
    pub fn declared_algorithm(&self) -> Option<Algorithm> {
        match self.parsed.as_slice() {
            [(only, _)] => Some(*only),
            _ => None,
        }
    }

    /// True when the key may verify `algorithm`'s signatures.
    pub fn supports(&self, algorithm: Algorithm) -> bool {
        self.parsed.iter().any(|(alg, _)| *alg == algorithm)
    }

    /// Checks `signature` over `message` with `algorithm`.
    pub(crate) fn verify(
        &self,
        algorithm: Algorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureCheck> {
        let (_, key) = self
            .parsed
            .iter()
            .find(|(alg, _)| *alg == algorithm)
            .ok_or(SignatureCheck::WrongAlgorithm)?;
        key.verify_sig(message, signature)
            .map_err(|_| SignatureCheck::Invalid)
    }
}

/// Why a signature was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignatureCheck {
    /// The key is not for the token's algorithm.
    WrongAlgorithm,
    /// The signature does not verify.
    Invalid,
}

/// A JWK's public key material, before parsing for an algorithm.
enum PublicKeyBytes {
    /// RSA modulus and exponent, big-endian (RFC 7518 §6.3.1).
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// An EC point or an Ed25519 key, as aws-lc-rs reads them.
    Raw(Vec<u8>),
}

impl PublicKeyBytes {
    fn parse(&self, algorithm: Algorithm) -> Result<ParsedPublicKey, KeyError> {
        match self {
            PublicKeyBytes::Rsa { n, e } => RsaPublicKeyComponents { n, e }
                .to_parsed_public_key(rsa_parameters(algorithm))
                .map_err(|_| KeyError::Invalid("RSA modulus or exponent")),
            PublicKeyBytes::Raw(bytes) => ParsedPublicKey::new(raw_parameters(algorithm), bytes)
                .map_err(|_| KeyError::Invalid("public key")),
        }
    }
}

/// aws-lc-rs's RSA verification for a JWS RSA algorithm (RFC 7518 §3.3, §3.5): 2048 to 8192
/// bit moduli.
fn rsa_parameters(algorithm: Algorithm) -> &'static signature::RsaParameters {
    match algorithm {
        Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
        _ => &signature::RSA_PKCS1_2048_8192_SHA256,
    }
}

/// aws-lc-rs's verification for a JWS EC or EdDSA algorithm; JWS ECDSA signatures are the fixed
/// `R || S` form (RFC 7518 §3.4).
fn raw_parameters(algorithm: Algorithm) -> &'static dyn VerificationAlgorithm {
    match algorithm {
        Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED,
        Algorithm::EdDSA => &signature::ED25519,
        _ => &signature::ECDSA_P256_SHA256_FIXED,
    }
}

fn decode(text: &str, member: &'static str) -> Result<Vec<u8>, KeyError> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| KeyError::Invalid(member))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::rsa::KeySize;
    use aws_lc_rs::signature::{
        EcdsaKeyPair, KeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING,
    };
    use serde_json::json;

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn jwk(value: serde_json::Value) -> Jwk {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn an_ec_key_verifies_its_own_signatures_for_its_algorithm_only() {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let point = pair.public_key().as_ref();
        let (x, y) = point[1..].split_at(32);
        let key = VerifyingKey::from_jwk(&jwk(
            json!({ "kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y) }),
        ))
        .unwrap();
        assert_eq!(key.declared_algorithm(), Some(Algorithm::ES256));
        let signature = pair.sign(&SystemRandom::new(), b"header.claims").unwrap();
        let signature = signature.as_ref();
        assert_eq!(
            key.verify(Algorithm::ES256, b"header.claims", signature),
            Ok(())
        );
        assert_eq!(
            key.verify(Algorithm::ES256, b"header.claaims", signature),
            Err(SignatureCheck::Invalid)
        );
        assert_eq!(
            key.verify(Algorithm::RS256, b"header.claims", signature),
            Err(SignatureCheck::WrongAlgorithm)
        );
        let short = json!({ "kty": "EC", "crv": "P-256", "x": b64(&x[1..]), "y": b64(y) });
        assert_eq!(
            VerifyingKey::from_jwk(&jwk(short)).unwrap_err(),
            KeyError::Invalid("point")
        );
    }

    #[test]
    fn an_rsa_key_is_held_for_its_declared_algorithm_or_every_rsa_one() {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let components: aws_lc_rs::rsa::PublicKeyComponents<Vec<u8>> = pair.public_key().into();
        let (n, e) = (b64(&components.n), b64(&components.e));
        let undeclared =
            VerifyingKey::from_jwk(&jwk(json!({ "kty": "RSA", "n": n, "e": e }))).unwrap();
        for alg in [Algorithm::RS256, Algorithm::RS512, Algorithm::PS256] {
            assert!(undeclared.supports(alg), "{alg:?}");
        }
        assert!(!undeclared.supports(Algorithm::ES256));
        assert_eq!(undeclared.declared_algorithm(), None);
        let declared = jwk(json!({ "kty": "RSA", "alg": "RS256", "n": n, "e": e }));
        let declared = VerifyingKey::from_jwk(&declared).unwrap();
        assert_eq!(declared.declared_algorithm(), Some(Algorithm::RS256));
        let mut signature = vec![0; pair.public_modulus_len()];
        pair.sign(
            &signature::RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            b"header.claims",
            &mut signature,
        )
        .unwrap();
        assert_eq!(
            declared.verify(Algorithm::RS256, b"header.claims", &signature),
            Ok(())
        );
        assert_eq!(
            declared.verify(Algorithm::PS256, b"header.claims", &signature),
            Err(SignatureCheck::WrongAlgorithm)
        );
        for alg in ["ES256", "HS256"] {
            let wrong = jwk(json!({ "kty": "RSA", "alg": alg, "n": n, "e": e }));
            assert_eq!(
                VerifyingKey::from_jwk(&wrong).unwrap_err(),
                KeyError::Algorithm,
                "{alg}"
            );
        }
    }
}
