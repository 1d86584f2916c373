//! The headers partner APIs and OAuth2 put on requests and responses, named once.

use http::header::{AUTHORIZATION, CACHE_CONTROL};
use http::{HeaderMap, HeaderValue};

/// `ET-Client-Name`: who is calling, on every Entur request (Entur API authentication:
/// "All requests to Open APIs must include the ET-Client-Name header").
pub const CLIENT_NAME: &str = "ET-Client-Name";

/// `X-JWT`: the second credential Telenor Sweden's Communication APIs require (Telenor Sweden
/// Open APIs).
pub const X_JWT: &str = "X-JWT";

/// `X-Transaction-Id`: a unique id on every call to Telenor Sweden's APIs (Telenor Sweden Open
/// APIs).
pub const TRANSACTION_ID: &str = "X-Transaction-Id";

/// A fresh random (UUID v4) transaction id, different on every call.
pub fn new_transaction_id() -> HeaderValue {
    let id = uuid::Uuid::new_v4();
    let mut buf = uuid::Uuid::encode_buffer();
    HeaderValue::from_str(id.hyphenated().encode_lower(&mut buf))
        .expect("a UUID is always a valid header value")
}

/// What a request's `Authorization` header holds, read as a bearer token.
#[derive(Debug, PartialEq, Eq)]
pub enum Presented<'a> {
    /// No `Authorization` header at all.
    Nothing,
    /// A header that is not `Bearer <token>` (another scheme, or garbage).
    NotBearer,
    /// A bearer token.
    Token(&'a str),
}

/// Reads the bearer token of a request; the scheme is case-insensitive
/// ([RFC 6750 §2.1](https://www.rfc-editor.org/rfc/rfc6750#section-2.1),
/// [RFC 9110 §11.1](https://www.rfc-editor.org/rfc/rfc9110#section-11.1)).
pub fn bearer_token(headers: &HeaderMap) -> Presented<'_> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Presented::Nothing;
    };
    let Ok(value) = value.to_str() else {
        return Presented::NotBearer;
    };
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Presented::Token(token.trim())
        }
        _ => Presented::NotBearer,
    }
}

/// `Bearer <token>` as a sensitive header value (HTTP/2 never indexes it); `None` when the token
/// holds bytes a header cannot carry.
pub fn bearer_value(token: &str) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(&format!("Bearer {token}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// Marks a response as never to be cached: tokens, secrets and their errors. RFC 6749 §5.1
/// asks for `Cache-Control: no-store` and, for HTTP/1.0 caches, `Pragma: no-cache`
/// ([RFC 6749 §5.1](https://www.rfc-editor.org/rfc/rfc6749#section-5.1)).
pub fn no_store(headers: &mut HeaderMap) {
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(http::header::PRAGMA, HeaderValue::from_static("no-cache"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn reads_bearer_tokens_only() {
        assert_eq!(bearer_token(&HeaderMap::new()), Presented::Nothing);
        assert_eq!(
            bearer_token(&with("Bearer abc.def.ghi")),
            Presented::Token("abc.def.ghi")
        );
        assert_eq!(bearer_token(&with("bearer abc")), Presented::Token("abc"));
        assert_eq!(bearer_token(&with("BEARER abc")), Presented::Token("abc"));
        assert_eq!(bearer_token(&with("Basic YTpi")), Presented::NotBearer);
        assert_eq!(bearer_token(&with("Bearer ")), Presented::NotBearer);
        assert_eq!(bearer_token(&with("Bearer")), Presented::NotBearer);
    }

    #[test]
    fn bearer_values_round_trip_and_are_sensitive() {
        let value = bearer_value("abc.def").unwrap();
        assert!(value.is_sensitive());
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, value);
        assert_eq!(bearer_token(&headers), Presented::Token("abc.def"));
        assert!(bearer_value("line\nbreak").is_none());
    }

    #[test]
    fn transaction_ids_are_unique_uuids() {
        let a = new_transaction_id();
        let b = new_transaction_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
    }
}
