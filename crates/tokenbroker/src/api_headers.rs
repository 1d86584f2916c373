//! What an API request carries: the bearer token
//! ([RFC 6750 §2.1](https://www.rfc-editor.org/rfc/rfc6750#section-2.1)) and the provider's
//! headers — `ET-Client-Name` (Entur API authentication), `X-JWT` and `X-Transaction-Id`
//! (Telenor Sweden Open APIs). One function, used by the middleware, the agent and the CLI, so
//! the rules cannot drift between them.

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue};

use crate::token::AccessToken;
use crate::wire::headers::{new_transaction_id, CLIENT_NAME, TRANSACTION_ID, X_JWT};
use crate::wire::ClientName;

/// Puts the credentials and provider headers on `headers`:
/// - `Authorization: Bearer` from `bearer`, replacing any other;
/// - `X-JWT` from `x_jwt`, and never a stale one left from elsewhere;
/// - `ET-Client-Name` when the profile has one;
/// - `X-Transaction-Id` when `transaction_ids` is set or an X-JWT is sent: a caller's own id is
///   kept (it ties their logs to the provider's), otherwise a fresh one per request.
pub fn apply_api_headers(
    headers: &mut HeaderMap,
    bearer: &AccessToken,
    x_jwt: Option<&AccessToken>,
    client_name: Option<&ClientName>,
    transaction_ids: bool,
) {
    headers.insert(AUTHORIZATION, bearer.authorization_header().clone());
    headers.remove(X_JWT);
    if let Some(mut value) = x_jwt.and_then(|x| HeaderValue::from_str(x.secret()).ok()) {
        value.set_sensitive(true);
        headers.insert(X_JWT, value);
    }
    if let Some(name) = client_name {
        headers.insert(CLIENT_NAME, name.header_value().clone());
    }
    if (transaction_ids || x_jwt.is_some()) && !headers.contains_key(TRANSACTION_ID) {
        headers.insert(TRANSACTION_ID, new_transaction_id());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    fn token(value: &str) -> AccessToken {
        let now = SystemTime::now();
        AccessToken::new(value, now, now + Duration::from_secs(60), None, None)
    }

    #[test]
    fn a_callers_transaction_id_is_kept_and_stale_x_jwts_dropped() {
        let mut headers = HeaderMap::new();
        headers.insert(TRANSACTION_ID, HeaderValue::from_static("caller-1"));
        headers.insert(X_JWT, HeaderValue::from_static("stale"));
        apply_api_headers(&mut headers, &token("abc"), None, None, true);
        assert_eq!(headers[TRANSACTION_ID], "caller-1");
        assert!(!headers.contains_key(X_JWT));
        assert_eq!(headers[AUTHORIZATION], "Bearer abc");
        assert!(headers[AUTHORIZATION].is_sensitive());

        let mut fresh = HeaderMap::new();
        let name = ClientName::new("acme-app").unwrap();
        apply_api_headers(
            &mut fresh,
            &token("abc"),
            Some(&token("x.y.z")),
            Some(&name),
            false,
        );
        assert_eq!(fresh[X_JWT], "x.y.z");
        assert_eq!(fresh[CLIENT_NAME], "acme-app");
        assert_eq!(
            fresh[TRANSACTION_ID].len(),
            36,
            "an X-JWT call gets a transaction id"
        );
    }
}
