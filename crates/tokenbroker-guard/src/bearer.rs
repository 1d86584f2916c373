//! Finding the access token in a request: `Authorization: Bearer <token>` (RFC 6750 §2.1).

use http::header::AUTHORIZATION;
use http::HeaderMap;

/// What the `Authorization` header holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Presented<'a> {
    /// No `Authorization` header at all.
    Nothing,
    /// A header that is not `Bearer <token>` (another scheme, or garbage).
    NotBearer,
    /// A bearer token.
    Token(&'a str),
}

/// Reads the bearer token; the scheme is case-insensitive (RFC 6750 §2.1, RFC 9110 §11.1).
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

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

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
        assert_eq!(bearer_token(&with("Basic YTpi")), Presented::NotBearer);
        assert_eq!(bearer_token(&with("Bearer ")), Presented::NotBearer);
        assert_eq!(bearer_token(&with("Bearer")), Presented::NotBearer);
    }
}
