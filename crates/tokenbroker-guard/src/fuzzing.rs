//! Entry points for the fuzz targets in `fuzz/` (run by `bench/fuzz.sh`): each feeds outside
//! input to one parser and checks what must hold for every input, not only that nothing panics.
//!
//! Only the `fuzzing` feature compiles this module; no shipped build enables it.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use futures::FutureExt;
use http::{HeaderMap, HeaderValue};
use serde_json::{Map, Value};

use crate::claims::Claims;
use crate::jwks::{max_age, parse_key_set, MAX_JWKS_KEYS};
use crate::revocations::Feed;
use crate::token::VerifiedToken;
use crate::verifier::{check_time, KeyLookup, KeySource, TokenRules, Verifier};
use crate::verifying_key::VerifyingKey;

/// The one key the token target's verifier knows: a P-256 public key under `kid` "fuzz".
struct OneKey(Arc<VerifyingKey>);

impl KeySource for OneKey {
    async fn key(&self, kid: &str) -> Result<Arc<VerifyingKey>, KeyLookup> {
        if kid == "fuzz" {
            Ok(self.0.clone())
        } else {
            Err(KeyLookup::Unknown)
        }
    }
}

fn verifier() -> &'static Verifier<OneKey> {
    static VERIFIER: OnceLock<Verifier<OneKey>> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let jwk = serde_json::from_value(serde_json::json!({
            "kty": "EC", "crv": "P-256", "alg": "ES256",
            "x": "EDNe5bpK-16QP31N4OtVYfSyyLAVbYazIirDLx-D4lw",
            "y": "omSq3YxcQFAZXjKtH72KIOXy5dyPJPY4X5nHmRPbfu4",
        }))
        .expect("a JWK");
        let key = VerifyingKey::from_jwk(&jwk).expect("a valid P-256 point");
        let rules = TokenRules {
            issuer: "https://as.test".into(),
            audience: Some("https://api.test".into()),
            algorithms: crate::verifier::default_algorithms(),
            leeway: Duration::from_secs(60),
            max_token_bytes: 8 * 1024,
            required_typ: None,
        };
        Verifier::new(rules, OneKey(Arc::new(key))).expect("asymmetric algorithms only")
    })
}

/// Token text from a request: refused (nobody holds the key's private half), never a panic.
pub fn token(text: &str) {
    let verdict = verifier()
        .verify(text, SystemTime::now())
        .now_or_never()
        .expect("the key source never waits");
    assert!(verdict.is_err(), "a token verified without its private key");
}

/// Claims that passed the signature check: read, and checked against the clock at the edges of
/// time, never a panic; a token is never both accepted and past its `exp`; a payload that reads
/// as claims reads as the same `serde_json` map that `VerifiedToken::claims` shows.
pub fn claims(json: &[u8]) {
    let Some(claims) = Claims::parse(json) else {
        return;
    };
    let Some(token) = VerifiedToken::new(json, &claims) else {
        return;
    };
    let map = serde_json::from_slice::<Map<String, Value>>(json);
    assert_eq!(map.as_ref().ok(), Some(token.claims()));
    let _ = (token.client_id(), token.subject(), token.scopes());
    let far = SystemTime::UNIX_EPOCH + Duration::from_secs(i64::MAX as u64 / 2);
    for now in [SystemTime::UNIX_EPOCH, SystemTime::now(), far] {
        for leeway in [Duration::ZERO, Duration::from_secs(60)] {
            if check_time(&token, now, leeway).is_ok() {
                let last = token.expires_at().checked_add(leeway);
                assert!(last.is_none_or(|last| last > now));
            }
        }
    }
}

/// A JWK Set body: at most [`MAX_JWKS_KEYS`] usable keys, or an error.
pub fn jwks(body: &[u8]) {
    if let Ok(keys) = parse_key_set(body) {
        assert!(keys.len() <= MAX_JWKS_KEYS);
    }
}

/// A `Cache-Control` value on a JWKS response: a `max-age` or none, never a panic.
pub fn cache_control(value: &[u8]) {
    let Ok(value) = HeaderValue::from_bytes(value) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(http::header::CACHE_CONTROL, value);
    let _ = max_age(&headers);
}

/// A revocation-feed page: parsed or refused.
pub fn revocation_feed(body: &[u8]) {
    let _ = Feed::parse(body);
}
