//! The access-token verifier: the one answer to "is this token valid" for the guard on the API
//! side and for the authorization server's own introspection, logout and revocation.
//!
//! In order, each refusal named:
//! 1. the size limit, before any parsing;
//! 2. the header: `alg` on the allow-list and asymmetric (so `none` and HS* algorithm confusion
//!    are refused by name), no `crit` extension we do not understand
//!    ([RFC 7515 §4.1.11](https://www.rfc-editor.org/rfc/rfc7515#section-4.1.11): we understand
//!    none), the required `typ` ([RFC 9068 §2.1](https://www.rfc-editor.org/rfc/rfc9068#section-2.1)),
//!    a `kid`;
//! 3. the key for that `kid` from a [`KeySource`], whose declared algorithm must match;
//! 4. the signature (with the key parsed once, see `verifying_key.rs`), then the claims: `exp`
//!    and `iss` present, `iss` the expected issuer, and (when the rules name one) `aud` present
//!    and containing it ([RFC 7519 §4.1.3](https://www.rfc-editor.org/rfc/rfc7519#section-4.1.3):
//!    a string or an array of strings);
//! 5. time, against the caller's clock: not on or after `exp`
//!    ([RFC 7519 §4.1.4](https://www.rfc-editor.org/rfc/rfc7519#section-4.1.4)) and not before
//!    `nbf` (§4.1.5), both give or take the leeway.
//!
//! Revocation is the caller's: the guard polls a feed, the server asks its registry.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::{DecodeSliceError, Engine};
use jsonwebtoken::Algorithm;

use crate::claims::Claims;
use crate::jose_header::JoseHeader;
use crate::json_value::JsonValue;
use crate::rejection::Rejection;
use crate::token::VerifiedToken;
use crate::verifying_key::{SignatureCheck, VerifyingKey};

/// Why no key could be found for a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyLookup {
    /// The issuer does not publish this `kid`.
    Unknown,
    /// The keys cannot be had (the issuer is unreachable and the known keys are too old).
    Unavailable,
}

/// Where the verifier finds the key named by a token's `kid`: the guard's JWKS cache, or the
/// authorization server's own key ring.
pub trait KeySource: Send + Sync {
    /// The key for `kid`.
    fn key(&self, kid: &str) -> impl Future<Output = Result<Arc<VerifyingKey>, KeyLookup>> + Send;
}

/// A shared key source is a key source.
impl<K: KeySource> KeySource for Arc<K> {
    async fn key(&self, kid: &str) -> Result<Arc<VerifyingKey>, KeyLookup> {
        K::key(self, kid).await
    }
}

/// What makes a token acceptable, besides its key.
#[derive(Debug, Clone)]
pub struct TokenRules {
    /// The expected `iss`.
    pub issuer: String,
    /// The `aud` a token must contain; `None` accepts any audience (the issuer's own view).
    pub audience: Option<String>,
    /// Accepted signature algorithms; symmetric ones are never accepted.
    pub algorithms: Vec<Algorithm>,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway: Duration,
    /// Tokens longer than this are refused before any parsing.
    pub max_token_bytes: usize,
    /// When set, the header's `typ` must equal it (case-insensitively).
    pub required_typ: Option<String>,
}

/// The algorithms a verifier accepts by default: RS256, ES256 and EdDSA.
pub fn default_algorithms() -> Vec<Algorithm> {
    vec![Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA]
}

/// True for the algorithms a verifier may accept: asymmetric signatures only (HS* would let anyone
/// holding the public key forge tokens).
pub fn is_asymmetric(algorithm: Algorithm) -> bool {
    !matches!(
        algorithm,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
    )
}

/// Verifies access tokens against [`TokenRules`] with keys from a [`KeySource`].
#[derive(Debug)]
pub struct Verifier<K> {
    rules: TokenRules,
    keys: K,
}

impl<K: KeySource> Verifier<K> {
    /// A verifier; refuses rules that allow a symmetric algorithm.
    pub fn new(rules: TokenRules, keys: K) -> Result<Self, Algorithm> {
        if let Some(symmetric) = rules.algorithms.iter().find(|a| !is_asymmetric(**a)) {
            return Err(*symmetric);
        }
        Ok(Self { rules, keys })
    }

    /// The rules.
    pub fn rules(&self) -> &TokenRules {
        &self.rules
    }

    /// The key source.
    pub fn keys(&self) -> &K {
        &self.keys
    }

    /// The verified claims of `token` at time `now`, or why it is refused.
    pub async fn verify(&self, token: &str, now: SystemTime) -> Result<VerifiedToken, Rejection> {
        if token.len() > self.rules.max_token_bytes {
            return Err(Rejection::TooLarge);
        }
        let header_segment = token.split_once('.').map_or(token, |(header, _)| header);
        let header_json = URL_SAFE_NO_PAD
            .decode(header_segment)
            .map_err(|_| Rejection::Malformed)?;
        let header = JoseHeader::parse(&header_json).ok_or(Rejection::Malformed)?;
        let algorithm = self.allowed(&header)?;
        let kid = header.kid().ok_or(Rejection::Malformed)?;
        let key = self.keys.key(kid).await.map_err(|lookup| match lookup {
            KeyLookup::Unknown => Rejection::UnknownKey,
            KeyLookup::Unavailable => Rejection::KeysUnavailable,
        })?;
        if !key.supports(algorithm) {
            return Err(Rejection::Algorithm);
        }
        let (signing_input, payload) = signed_parts(token)?;
        let mut signature = [0; SIGNATURE_BUFFER_BYTES];
        let signature = decode_signature(payload.signature, &mut signature)?;
        key.verify(algorithm, signing_input.as_bytes(), signature)
            .map_err(|check| match check {
                SignatureCheck::WrongAlgorithm => Rejection::Algorithm,
                SignatureCheck::Invalid => Rejection::Signature,
            })?;
        let json = URL_SAFE_NO_PAD
            .decode(payload.claims)
            .map_err(|_| Rejection::Malformed)?;
        let claims = Claims::parse(&json).ok_or(Rejection::Malformed)?;
        self.check_claims(&claims)?;
        let verified = VerifiedToken::new(&json, &claims).ok_or(Rejection::Malformed)?;
        check_time(&verified, now, self.rules.leeway)?;
        Ok(verified)
    }

    /// The header's algorithm, if the rules accept it and the header.
    fn allowed(&self, header: &JoseHeader) -> Result<Algorithm, Rejection> {
        let alg = header.alg().ok_or(Rejection::Malformed)?;
        let algorithm: Algorithm = alg.parse().map_err(|_| Rejection::Algorithm)?;
        if !self.rules.algorithms.contains(&algorithm) || !is_asymmetric(algorithm) {
            return Err(Rejection::Algorithm);
        }
        if header.has_crit() {
            return Err(Rejection::Malformed);
        }
        if let Some(required) = &self.rules.required_typ {
            if !header
                .typ()
                .is_some_and(|typ| typ.eq_ignore_ascii_case(required))
            {
                return Err(Rejection::Type);
            }
        }
        Ok(algorithm)
    }

    /// `exp` and `iss` present, `iss` ours; when the rules name an audience, `aud` present and
    /// holding it. A required claim missing is `Malformed`; present but wrong, `Issuer` or
    /// `Audience`.
    fn check_claims(&self, claims: &Claims) -> Result<(), Rejection> {
        if !claims.exp.is_present() {
            return Err(Rejection::Malformed);
        }
        match &claims.iss {
            JsonValue::Text(iss) if *iss == self.rules.issuer => {}
            JsonValue::Text(_) => return Err(Rejection::Issuer),
            _ => return Err(Rejection::Malformed),
        }
        let Some(expected) = &self.rules.audience else {
            return Ok(());
        };
        let holds = match &claims.aud {
            JsonValue::Text(aud) => aud == expected,
            JsonValue::Array(auds) => auds.iter().any(|aud| aud == expected),
            _ => return Err(Rejection::Malformed),
        };
        if holds {
            Ok(())
        } else {
            Err(Rejection::Audience)
        }
    }
}

/// The parts of a compact JWS after its header
/// ([RFC 7515 §7.1](https://www.rfc-editor.org/rfc/rfc7515#section-7.1)), still base64url.
struct SignedPayload<'a> {
    claims: &'a str,
    signature: &'a str,
}

/// The signing input (`header.claims`) and the rest of a compact JWS: exactly three parts.
fn signed_parts(token: &str) -> Result<(&str, SignedPayload<'_>), Rejection> {
    let (signing_input, signature) = token.rsplit_once('.').ok_or(Rejection::Malformed)?;
    let (_, claims) = signing_input.split_once('.').ok_or(Rejection::Malformed)?;
    if claims.contains('.') {
        return Err(Rejection::Malformed);
    }
    Ok((signing_input, SignedPayload { claims, signature }))
}

/// The longest signature any accepted key makes: RSA with a 8,192-bit modulus (the largest
/// aws-lc-rs verifies), against 64 bytes for ES256 and EdDSA.
const MAX_SIGNATURE_BYTES: usize = 8192 / 8;

/// Room for [`MAX_SIGNATURE_BYTES`] as the base64 decoder counts it: it asks for up to 2 bytes
/// more than it writes.
const SIGNATURE_BUFFER_BYTES: usize = MAX_SIGNATURE_BYTES + 2;

/// The signature decoded into `buffer` (on the stack: no allocation per token). Not base64url is
/// `Malformed`; longer than any accepted key's signature is `Signature`, as a wrong one is.
fn decode_signature<'b>(
    text: &str,
    buffer: &'b mut [u8; SIGNATURE_BUFFER_BYTES],
) -> Result<&'b [u8], Rejection> {
    match URL_SAFE_NO_PAD.decode_slice(text, buffer) {
        Ok(length) if length <= MAX_SIGNATURE_BYTES => Ok(&buffer[..length]),
        Ok(_) | Err(DecodeSliceError::OutputSliceTooSmall) => Err(Rejection::Signature),
        Err(DecodeSliceError::DecodeError(_)) => Err(Rejection::Malformed),
    }
}

/// Refuses a token past its `exp` or before its `nbf` at `now`, give or take `leeway`.
pub(crate) fn check_time(
    token: &VerifiedToken,
    now: SystemTime,
    leeway: Duration,
) -> Result<(), Rejection> {
    // Not accepted *on or after* exp; a time beyond what the clock can represent never comes.
    if token
        .expires_at()
        .checked_add(leeway)
        .is_some_and(|last| last <= now)
    {
        return Err(Rejection::Expired);
    }
    if let Some(not_before) = token.not_before() {
        if now.checked_add(leeway).is_none_or(|late| late < not_before) {
            return Err(Rejection::NotYetValid);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source without keys: these tests stop before any lookup succeeds.
    #[derive(Debug)]
    struct NoKeys;

    impl KeySource for NoKeys {
        async fn key(&self, _kid: &str) -> Result<Arc<VerifyingKey>, KeyLookup> {
            Err(KeyLookup::Unknown)
        }
    }

    fn verifier() -> Verifier<NoKeys> {
        let rules = TokenRules {
            issuer: "https://as.example".into(),
            audience: None,
            algorithms: default_algorithms(),
            leeway: Duration::ZERO,
            max_token_bytes: 64,
            required_typ: None,
        };
        Verifier::new(rules, NoKeys).unwrap()
    }

    #[tokio::test]
    async fn the_size_limit_is_checked_first_and_exactly() {
        let verifier = verifier();
        let now = SystemTime::now();
        let at_limit = "a".repeat(64);
        assert_eq!(
            verifier.verify(&at_limit, now).await.unwrap_err(),
            Rejection::Malformed
        );
        let over = "a".repeat(65);
        assert_eq!(
            verifier.verify(&over, now).await.unwrap_err(),
            Rejection::TooLarge
        );
    }

    #[test]
    fn signatures_decode_up_to_the_longest_key_and_no_further() {
        use base64::Engine as _;
        let mut buffer = [0; SIGNATURE_BUFFER_BYTES];
        for length in [0, 1, 64, 256, MAX_SIGNATURE_BYTES - 1, MAX_SIGNATURE_BYTES] {
            let text = URL_SAFE_NO_PAD.encode(vec![7; length]);
            assert_eq!(
                decode_signature(&text, &mut buffer).unwrap(),
                vec![7; length]
            );
        }
        for length in [MAX_SIGNATURE_BYTES + 1, MAX_SIGNATURE_BYTES + 2, 4096] {
            let text = URL_SAFE_NO_PAD.encode(vec![7; length]);
            assert_eq!(
                decode_signature(&text, &mut buffer),
                Err(Rejection::Signature)
            );
        }
        assert_eq!(
            decode_signature("not base64!", &mut buffer),
            Err(Rejection::Malformed)
        );
    }

    #[test]
    fn symmetric_algorithms_are_refused_at_construction() {
        let mut rules = verifier().rules().clone();
        rules.algorithms.push(Algorithm::HS256);
        assert_eq!(Verifier::new(rules, NoKeys).unwrap_err(), Algorithm::HS256);
    }
}
