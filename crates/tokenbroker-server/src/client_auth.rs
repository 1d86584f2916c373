//! Authenticating the client of a token, revocation or introspection request against the
//! registry. The request is decoded by the shared codec ([`tokenbroker_wire::client_auth`]), the
//! same one the client library encodes with.

use std::net::IpAddr;

use axum::http::{HeaderMap, StatusCode};
use secrecy::ExposeSecret;
use tokenbroker_wire::client_auth::{self, ClientRequest, DecodeError};
use tokenbroker_wire::oauth_error::TelenorCode;

use crate::access_log;
use crate::limiter::{Attempt, Realm};
use crate::oauth_error::OAuthError;
use crate::registry::{AuthFailure, ClientRecord, Registry};
use crate::state::AppState;

/// Decodes headers and body into a [`ClientRequest`]; a request that does not decode is
/// `invalid_request`, or `invalid_client` (Telenor code 6) for a malformed `Authorization` header.
pub(crate) fn parse(headers: &HeaderMap, body: &[u8]) -> Result<ClientRequest, OAuthError> {
    client_auth::decode(headers, body).map_err(|error| match error {
        DecodeError::MalformedAuthorization => OAuthError::invalid_client(error.to_string())
            .with_code(TelenorCode::BAD_AUTHORIZATION_HEADER),
        other => OAuthError::invalid_request(other.to_string()),
    })
}

/// Authenticates the client of `request` (RFC 6749 §2.3.1): `invalid_client` with Telenor's codes
/// (6 no credentials, 1 unknown id, 22 wrong secret), or `unauthorized_client` (5) when the client
/// is disabled (400 per RFC 6749 §5.2; Telenor's dialect answers its 401/5).
///
/// Failures are counted per source address and per client id; past the limit the caller gets 429
/// with `Retry-After` until the window ends (brute-force protection).
pub(crate) async fn authenticate(
    state: &AppState,
    peer: IpAddr,
    request: &ClientRequest,
) -> Result<ClientRecord, OAuthError> {
    let client_ids: Vec<&str> = request
        .credentials
        .iter()
        .map(|reading| reading.client_id.as_str())
        .collect();
    let attempt = Attempt {
        realm: Realm::OAuth,
        address: peer,
        client_ids: &client_ids,
    };
    if let Err(retry_after) = state.limits.check(&attempt).await {
        return Err(OAuthError::too_many_failures(retry_after));
    }
    let result = check_credentials(&state.registry, request).await;
    match &result {
        Ok(client) => {
            access_log::record_client(&client.client_id);
            state.limits.succeeded(&attempt, &client.client_id).await
        }
        Err(error) if error.status == StatusCode::UNAUTHORIZED => {
            warn_refused(state, peer, &client_ids, error);
            state.limits.failed(&attempt).await
        }
        Err(_) => {}
    }
    result
}

/// A refused login is an operator's concern (a rotated secret not rolled out, or someone
/// guessing), so it is a warning — at most [`access_log::REFUSAL_WARNINGS_PER_MINUTE`] a minute.
/// The presented id is the caller's text: cut short, control characters replaced.
fn warn_refused(state: &AppState, peer: IpAddr, client_ids: &[&str], error: &OAuthError) {
    let Some(unlogged) = state.refusal_warnings.admit(state.now()) else {
        return;
    };
    // Control characters (a newline forging a log line, an escape driving a terminal) are
    // shown as U+FFFD.
    let client_id: String = client_ids
        .first()
        .map(|id| id.chars().take(MAX_LOGGED_ID_CHARS))
        .into_iter()
        .flatten()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect();
    tracing::warn!(
        %peer,
        %client_id,
        reason = %error.description,
        unlogged_refusals_before = unlogged,
        "client authentication refused"
    );
}

/// How much of a refused caller's client id a warning shows.
const MAX_LOGGED_ID_CHARS: usize = 64;

async fn check_credentials(
    registry: &Registry,
    request: &ClientRequest,
) -> Result<ClientRecord, OAuthError> {
    if request.credentials.is_empty() {
        return Err(OAuthError::invalid_client(
            "no client credentials: send Basic authentication or client_id and client_secret",
        )
        .with_code(TelenorCode::BAD_AUTHORIZATION_HEADER));
    }
    // Basic credentials come in two readings (RFC-decoded and raw); the most telling failure wins.
    let mut failure = AuthFailure::UnknownClient;
    for reading in &request.credentials {
        let secret = reading.secret.expose_secret();
        match registry.authenticate(&reading.client_id, secret).await {
            Ok(Ok(client)) => return Ok(client),
            Ok(Err(refusal)) => failure = failure.max_by_relevance(refusal),
            Err(error) => {
                tracing::error!(%error, "client registry unavailable");
                return Err(OAuthError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "the client registry is unavailable",
                )
                .with_code(TelenorCode::INTERNAL_ERROR));
            }
        }
    }
    Err(match failure {
        AuthFailure::UnknownClient => {
            OAuthError::invalid_client("client authentication failed: unknown client_id")
                .with_code(TelenorCode::INVALID_CLIENT_ID)
        }
        AuthFailure::WrongSecret => {
            OAuthError::invalid_client("client authentication failed: wrong client_secret")
                .with_code(TelenorCode::BASIC_AUTH_FAILED)
        }
        AuthFailure::Disabled => OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "this client is disabled and may not obtain tokens",
        )
        .with_code(TelenorCode::NOT_AUTHORIZED),
    })
}
