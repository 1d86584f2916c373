//! Reading a JWT access token's time claims without verifying it.
//!
//! Seed 000/002: expiry can be tracked "via the `expires_in` field from the token response or the
//! `exp` claim inside the JWT". The client is not the audience of its own access token and holds no
//! keys for it, so it only *reads* the claims (RFC 7519 §4.1.4 `exp`, §4.1.6 `iat`); the API
//! verifies the signature.

use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;

/// The time claims of a JWT, read without verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JwtTimes {
    /// `exp`: the token must not be accepted on or after this time.
    pub expires_at: Option<SystemTime>,
    /// `iat`: when the token was issued.
    pub issued_at: Option<SystemTime>,
}

/// The JSON header and claims of a compact JWT (RFC 7519 §7.2), not verified.
///
/// Returns `None` when `token` is not a three-part JWT with JSON header and payload; opaque
/// tokens (Telenor's are) are normal and not an error.
pub fn decode_unverified(token: &str) -> Option<(Value, Value)> {
    let mut parts = token.split('.');
    let (header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    Some((decode_segment(header)?, decode_segment(payload)?))
}

/// The `exp` and `iat` claims of `token`, when it is a JWT.
pub fn peek_times(token: &str) -> Option<JwtTimes> {
    let (_, claims) = decode_unverified(token)?;
    Some(JwtTimes {
        expires_at: claims.get("exp").and_then(numeric_date),
        issued_at: claims.get("iat").and_then(numeric_date),
    })
}

fn decode_segment(segment: &str) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(segment.trim_end_matches('=')).ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value.is_object().then_some(value)
}

/// An RFC 7519 §2 NumericDate: seconds since the epoch, possibly fractional.
fn numeric_date(value: &Value) -> Option<SystemTime> {
    let seconds = value.as_f64()?;
    if !(0.0..=1e11).contains(&seconds) {
        return None;
    }
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"at+jwt"}"#);
        format!("{header}.{}.c2ln", URL_SAFE_NO_PAD.encode(claims))
    }

    #[test]
    fn reads_exp_and_iat() {
        let times = peek_times(&jwt(r#"{"exp":2000000000,"iat":1999996400.5}"#)).unwrap();
        assert_eq!(
            times.expires_at,
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000))
        );
        assert!(times.issued_at.is_some());
    }

    #[test]
    fn opaque_and_broken_tokens_are_not_jwts() {
        assert_eq!(peek_times("iLsXI22AbszY1J3cA7lYusO0PAbG"), None);
        assert_eq!(peek_times("a.b.c"), None);
        assert_eq!(peek_times("a.b.c.d"), None);
        let odd = peek_times(&jwt(r#"{"exp":"tomorrow","iat":-5}"#)).unwrap();
        assert_eq!(odd.expires_at, None);
        assert_eq!(odd.issued_at, None);
    }
}
