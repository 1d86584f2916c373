//! Client-authenticated requests (token, revocation, introspection): their parameters and the
//! client's credentials, in all three wire styles, and checking those against the registry.
//!
//! RFC 6749 §2.3.1 allows `client_secret_basic` and `client_secret_post`; Entur/Auth0 also take the
//! credentials in a JSON body (seed 002). A request must use exactly one method (RFC 6749 §2.3).
//! Basic credentials are form-urlencoded by RFC-following clients and raw by others, so both
//! readings are tried.

use std::net::IpAddr;

use axum::http::{header, HeaderMap, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;

use crate::limiter::LimitKey;
use crate::oauth_error::OAuthError;
use crate::registry::{AuthFailure, ClientRecord, Registry};
use crate::state::AppState;

/// How the client authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// `Authorization: Basic` (RFC 6749 §2.3.1).
    Basic,
    /// Credentials in a form body (`client_secret_post`).
    Form,
    /// Credentials in a JSON body (Entur/Auth0).
    Json,
}

/// A parsed client-authenticated request. `Debug` hides the credentials.
pub struct ClientRequest {
    /// The authentication method used.
    pub method: AuthMethod,
    /// Candidate (client id, secret) readings, best first.
    pub credentials: Vec<(String, String)>,
    /// Every parameter of the body, in order (credentials included).
    params: Vec<(String, String)>,
}

impl std::fmt::Debug for ClientRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRequest")
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

impl ClientRequest {
    /// The first value of parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of parameter `name` (RFC 8707 `resource` may repeat).
    pub fn params(&self, name: &str) -> Vec<&str> {
        self.params
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Parses headers and body into a [`ClientRequest`].
pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<ClientRequest, OAuthError> {
    let params = body_params(headers, body)?;
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let basic = basic_credentials(headers)?;
    let body_id = get("client_id");
    let body_secret = get("client_secret");
    let json = is_json(headers);
    let (method, credentials) = match (basic, body_secret) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "the request uses more than one client authentication method (RFC 6749 §2.3)",
            ))
        }
        (Some(candidates), None) => {
            if let Some(id) = &body_id {
                if !candidates.iter().any(|(basic_id, _)| basic_id == id) {
                    return Err(OAuthError::invalid_request(
                        "client_id in the body differs from the Basic credentials",
                    ));
                }
            }
            (AuthMethod::Basic, candidates)
        }
        (None, Some(secret)) => {
            let id = body_id
                .ok_or_else(|| OAuthError::invalid_request("client_secret without client_id"))?;
            let method = if json {
                AuthMethod::Json
            } else {
                AuthMethod::Form
            };
            (method, vec![(id, secret)])
        }
        (None, None) => (
            if json {
                AuthMethod::Json
            } else {
                AuthMethod::Form
            },
            Vec::new(),
        ),
    };
    Ok(ClientRequest {
        method,
        credentials,
        params,
    })
}

/// Authenticates the client of `request` (RFC 6749 §2.3.1): `invalid_client` with the seeds' Telenor
/// codes (6 no credentials, 1 unknown id, 22 wrong secret), or `unauthorized_client` (5) when the
/// client is disabled. A Basic request's refusal carries a `WWW-Authenticate` challenge.
///
/// Failures are counted per source address and per client id; past the limit the caller gets 429
/// with `Retry-After` until the window ends (brute-force protection).
pub async fn authenticate(
    state: &AppState,
    peer: IpAddr,
    request: &ClientRequest,
) -> Result<ClientRecord, OAuthError> {
    let keys: Vec<LimitKey> = std::iter::once(LimitKey::Ip(peer))
        .chain(
            request
                .credentials
                .iter()
                .map(|(id, _)| LimitKey::Client(id.clone())),
        )
        .collect();
    if let Some(retry_after) = state.limiter.blocked(&keys) {
        return Err(OAuthError::too_many_failures(retry_after));
    }
    let result = check_credentials(&state.registry, request).await;
    if matches!(&result, Err(e) if e.status == StatusCode::UNAUTHORIZED) {
        state.limiter.record_failure(&keys);
    }
    result
}

async fn check_credentials(
    registry: &Registry,
    request: &ClientRequest,
) -> Result<ClientRecord, OAuthError> {
    // RFC 6749 §5.2: invalid_client after Basic authentication answers with a Basic challenge;
    // other refusals (a disabled client) would not be helped by sending credentials again.
    let challenge = |error: OAuthError| {
        if request.method == AuthMethod::Basic && error.error == "invalid_client" {
            error.with_basic_challenge()
        } else {
            error
        }
    };
    if request.credentials.is_empty() {
        return Err(challenge(
            OAuthError::invalid_client(
                "no client credentials: send Basic authentication or client_id and client_secret",
            )
            .with_code(6),
        ));
    }
    // Basic credentials come in two readings (RFC-decoded and raw); the most telling failure wins.
    let mut failure = AuthFailure::UnknownClient;
    for (id, secret) in &request.credentials {
        match registry.authenticate(id, secret).await {
            Ok(Ok(client)) => return Ok(client),
            Ok(Err(refusal)) => failure = failure.max_by_relevance(refusal),
            Err(error) => {
                tracing::error!(%error, "client registry unavailable");
                return Err(OAuthError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "the client registry is unavailable",
                )
                .with_code(2));
            }
        }
    }
    Err(challenge(match failure {
        AuthFailure::UnknownClient => {
            OAuthError::invalid_client("client authentication failed: unknown client_id")
                .with_code(1)
        }
        AuthFailure::WrongSecret => {
            OAuthError::invalid_client("client authentication failed: wrong client_secret")
                .with_code(22)
        }
        AuthFailure::Disabled => OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized_client",
            "this client is disabled and may not obtain tokens",
        )
        .with_code(5),
    }))
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        })
}

fn body_params(headers: &HeaderMap, body: &[u8]) -> Result<Vec<(String, String)>, OAuthError> {
    if !is_json(headers) {
        return Ok(form_urlencoded::parse(body).into_owned().collect());
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| OAuthError::invalid_request(format!("the JSON body does not parse: {e}")))?;
    let Value::Object(fields) = value else {
        return Err(OAuthError::invalid_request(
            "the JSON body is not an object",
        ));
    };
    let mut params = Vec::new();
    for (name, value) in fields {
        match value {
            Value::String(s) => params.push((name, s)),
            Value::Array(items) => params.extend(
                items
                    .into_iter()
                    .filter_map(|v| v.as_str().map(|s| (name.clone(), s.to_owned()))),
            ),
            Value::Null => {}
            other => params.push((name, other.to_string())),
        }
    }
    Ok(params)
}

/// The Basic credentials, as (decoded, raw) readings; `None` without a Basic header.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<Vec<(String, String)>>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || {
        OAuthError::invalid_client(
            "malformed Authorization header: expected Basic base64(client_id:client_secret)",
        )
        .with_code(6)
    };
    let value = value.to_str().map_err(|_| bad())?;
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Err(bad());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    let mut readings = vec![(form_decode(id), form_decode(secret))];
    let raw = (id.to_owned(), secret.to_owned());
    if !readings.contains(&raw) {
        readings.push(raw);
    }
    Ok(Some(readings))
}

fn form_decode(value: &str) -> String {
    form_urlencoded::parse(format!("v={value}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn basic_credentials_are_read_both_ways() {
        let encoded = STANDARD.encode("my+id:p%40ss");
        let request = parse(
            &headers(&[("authorization", &format!("Basic {encoded}"))]),
            b"grant_type=client_credentials",
        )
        .unwrap();
        assert_eq!(request.method, AuthMethod::Basic);
        assert_eq!(request.credentials[0], ("my id".into(), "p@ss".into()));
        assert_eq!(request.credentials[1], ("my+id".into(), "p%40ss".into()));
    }

    #[test]
    fn json_and_form_bodies_carry_credentials() {
        let json = parse(
            &headers(&[("content-type", "application/json")]),
            br#"{"client_id":"a","client_secret":"b","audience":"x","grant_type":"client_credentials"}"#,
        )
        .unwrap();
        assert_eq!(
            (json.method, json.param("audience")),
            (AuthMethod::Json, Some("x"))
        );
        let form = parse(
            &HeaderMap::new(),
            b"client_id=a&client_secret=b&resource=r1&resource=r2",
        )
        .unwrap();
        assert_eq!(form.method, AuthMethod::Form);
        assert_eq!(form.params("resource"), vec!["r1", "r2"]);
    }

    #[test]
    fn two_methods_at_once_are_refused() {
        let encoded = STANDARD.encode("a:b");
        let err = parse(
            &headers(&[("authorization", &format!("Basic {encoded}"))]),
            b"client_id=a&client_secret=b",
        )
        .unwrap_err();
        assert_eq!(err.error, "invalid_request");
    }
}
