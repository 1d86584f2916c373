//! Which headers cross the proxy, and which the agent adds.
//!
//! Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are dropped both ways, as are
//! the ones a `Connection` header names. Incoming `Authorization` is always dropped: callers never
//! choose the credentials. The profile then adds `Authorization: Bearer`, `X-JWT`,
//! `ET-Client-Name` and `X-Transaction-Id` (seeds 000, 002, 004).

use http::header::{AUTHORIZATION, CONNECTION, CONTENT_LENGTH, HOST};
use http::{HeaderMap, HeaderName, HeaderValue};
use tokenbroker::client_name::CLIENT_NAME_HEADER;
use tokenbroker::middleware::X_JWT_HEADER;
use tokenbroker::transaction_id::{new_transaction_id, TRANSACTION_ID_HEADER};

use crate::profile::{Credentials, Profile};

/// Hop-by-hop headers, plus the agent's own token-endpoint secret.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The caller's headers minus hop-by-hop ones, `Host` (set from the upstream URL) and
/// `Authorization`; `Content-Length` only when the body is streamed through unchanged.
pub(crate) fn forwardable(incoming: &HeaderMap, keep_content_length: bool) -> HeaderMap {
    let mut headers = without_hop_by_hop(incoming);
    headers.remove(HOST);
    headers.remove(AUTHORIZATION);
    headers.remove(crate::token_endpoint::SECRET_HEADER);
    if !keep_content_length {
        headers.remove(CONTENT_LENGTH);
    }
    headers
}

/// The upstream's response headers minus hop-by-hop ones.
pub(crate) fn returnable(upstream: &HeaderMap) -> HeaderMap {
    without_hop_by_hop(upstream)
}

/// Adds the profile's credentials and provider headers. A caller's own `X-Transaction-Id` is
/// kept (it correlates their logs with the provider's); otherwise a fresh one is made per request.
pub(crate) fn authenticate(headers: &mut HeaderMap, profile: &Profile, credentials: &Credentials) {
    headers.insert(
        AUTHORIZATION,
        credentials.bearer.authorization_header().clone(),
    );
    headers.remove(X_JWT_HEADER);
    if let Some(x_jwt) = &credentials.x_jwt {
        if let Ok(mut value) = HeaderValue::from_str(x_jwt.secret()) {
            value.set_sensitive(true);
            headers.insert(X_JWT_HEADER, value);
        }
    }
    if let Some(name) = &profile.client_name {
        headers.insert(CLIENT_NAME_HEADER, name.header_value().clone());
    }
    let wants_transaction_id = profile.transaction_ids || credentials.x_jwt.is_some();
    if wants_transaction_id && !headers.contains_key(TRANSACTION_ID_HEADER) {
        headers.insert(TRANSACTION_ID_HEADER, new_transaction_id());
    }
}

fn without_hop_by_hop(headers: &HeaderMap) -> HeaderMap {
    let named_by_connection: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|list| list.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    let mut kept = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let hop = HOP_BY_HOP.contains(&name.as_str()) || named_by_connection.contains(name);
        if !hop {
            kept.append(name.clone(), value.clone());
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_and_caller_credentials_do_not_cross() {
        let mut incoming = HeaderMap::new();
        incoming.insert(
            AUTHORIZATION,
            HeaderValue::from_static("Bearer callers-own"),
        );
        incoming.insert(
            CONNECTION,
            HeaderValue::from_static("keep-alive, x-private"),
        );
        incoming.insert("x-private", HeaderValue::from_static("1"));
        incoming.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        incoming.insert(HOST, HeaderValue::from_static("127.0.0.1:7070"));
        incoming.insert("accept", HeaderValue::from_static("application/json"));
        incoming.insert(CONTENT_LENGTH, HeaderValue::from_static("3"));
        let kept = forwardable(&incoming, false);
        let names: Vec<&str> = kept.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["accept"]);
        assert!(forwardable(&incoming, true).contains_key(CONTENT_LENGTH));
    }
}
