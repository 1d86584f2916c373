//! JWTs as both sides read them: peeking at a token's claims without verifying it (the client is
//! not the audience of its own access token and holds no keys for it), and the
//! [RFC 9068](https://www.rfc-editor.org/rfc/rfc9068) claim set the server issues and the guard
//! checks. Verification itself lives in the guard.
//!
//! Entur partner API authentication: expiry can be tracked "via the `expires_in` field from the
//! token response or the `exp` claim inside the JWT".

use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `typ` header of an RFC 9068 access token
/// ([§2.1](https://www.rfc-editor.org/rfc/rfc9068#section-2.1)).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// The claims of an RFC 9068 access token ([§2.2](https://www.rfc-editor.org/rfc/rfc9068#section-2.2)).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessTokenClaims {
    /// Issuer: the authorization server's identifier.
    pub iss: String,
    /// Subject: for client credentials, the client itself (RFC 9068 §2.2).
    pub sub: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// The API the token is for.
    pub aud: String,
    /// Granted scopes, space-separated (omitted when none).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scope: Option<String>,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Expires at (seconds since the epoch).
    pub exp: u64,
    /// Unique token id, for revocation.
    pub jti: String,
}

/// The time claims of a JWT, read without verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JwtTimes {
    /// `exp`: the token must not be accepted on or after this time.
    pub expires_at: Option<SystemTime>,
    /// `iat`: when the token was issued.
    pub issued_at: Option<SystemTime>,
}

/// The JSON header and claims of a compact JWT
/// ([RFC 7519 §7.2](https://www.rfc-editor.org/rfc/rfc7519#section-7.2)), not verified.
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

/// The `exp` and `iat` claims of `token`, when it is a JWT
/// ([RFC 7519 §4.1.4](https://www.rfc-editor.org/rfc/rfc7519#section-4.1.4), §4.1.6).
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

/// The latest NumericDate either side believes: 10^11 seconds after the epoch (year 5138). Later
/// times are server bugs or attacks, and would overflow the arithmetic done with them.
pub const MAX_NUMERIC_DATE: u64 = 100_000_000_000;

/// An [RFC 7519 §2](https://www.rfc-editor.org/rfc/rfc7519#section-2) NumericDate: seconds since
/// the epoch, possibly fractional; `None` outside 0..=[`MAX_NUMERIC_DATE`].
pub fn numeric_date(value: &Value) -> Option<SystemTime> {
    let seconds = value.as_f64()?;
    if !(0.0..=MAX_NUMERIC_DATE as f64).contains(&seconds) {
        return None;
    }
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs_f64(seconds))
}

/// A NumericDate in whole seconds, as a verifier reads `exp` and `nbf`; `None` for fractions,
/// negatives and anything after [`MAX_NUMERIC_DATE`].
pub fn whole_numeric_date(value: &Value) -> Option<SystemTime> {
    whole_seconds_date(value.as_u64()?)
}

/// `seconds` since the epoch as a time, when they are at most [`MAX_NUMERIC_DATE`]: the one home
/// of that bound for readers that have the number already.
pub fn whole_seconds_date(seconds: u64) -> Option<SystemTime> {
    (seconds <= MAX_NUMERIC_DATE).then(|| SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

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

    #[test]
    fn dates_are_believed_up_to_the_bound_and_not_past_it() {
        let at = |seconds: Value| {
            (
                numeric_date(&seconds).is_some(),
                whole_numeric_date(&seconds).is_some(),
            )
        };
        assert_eq!(at(json!(MAX_NUMERIC_DATE)), (true, true));
        assert_eq!(at(json!(MAX_NUMERIC_DATE + 1)), (false, false));
        assert_eq!(at(json!(0)), (true, true));
        assert_eq!(at(json!(-1)), (false, false));
        assert_eq!(at(json!(1.5)), (true, false));
        assert_eq!(at(json!(u64::MAX)), (false, false));
    }

    proptest! {
        #[test]
        fn any_exp_is_read_or_ignored_never_a_panic(exp in any::<i128>(), fraction in any::<f64>()) {
            let _ = peek_times(&jwt(&format!(r#"{{"exp":{exp},"iat":{fraction}}}"#)));
        }

        #[test]
        fn any_text_is_peeked_without_panic(token in ".{0,120}") {
            let _ = decode_unverified(&token);
        }
    }
}
