//! Making tokens stop working: RFC 7009 revocation, Telenor's logout (Telenor Norway client credentials grant), and the feed
//! that lets guards learn about revocations within seconds.

use crate::registry::audit::actions;
use std::collections::HashMap;
use std::sync::Arc;
use tokenbroker_wire::headers::{bearer_token, no_store, Presented};
use tokenbroker_wire::oauth_error::{ErrorBody, TelenorCode};

use axum::body::Bytes;
use std::net::IpAddr;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::claims::AccessTokenClaims;
use crate::client_address::ClientAddress;
use crate::client_auth;
use crate::oauth_error::OAuthError;
use crate::registry::RegistryError;
use crate::state::AppState;
use crate::time::unix_now;
use tokenbroker_wire::client_auth::ClientRequest;

/// `POST /oauth2/revoke` (RFC 7009 §2.1): the client revokes one of its own tokens.
///
/// Unknown, invalid and expired tokens answer 200 as §2.2 requires; another client's token is
/// refused with `unauthorized_client`.
pub(crate) async fn revoke(
    State(state): State<Arc<AppState>>,
    ClientAddress(peer): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match revoke_inner(&state, peer, &headers, &body).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(error) => without_codes(error).into_response(),
    }
}

async fn revoke_inner(
    state: &AppState,
    peer: IpAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), OAuthError> {
    let request = client_auth::parse(headers, body)?;
    let client = client_auth::authenticate(state, peer, &request).await?;
    let token = required_token(&request)?;
    // The hint only orders the search (RFC 7009 §2.1: a server that does not find the token
    // under the hinted type MUST look under the others); a JWS is never a refresh token.
    if looks_like_jws(token) {
        if let Ok(claims) = state.keyring().verifier().verify(token, state.now()).await {
            if claims.client_id != client.client_id {
                return Err(OAuthError::new(
                    StatusCode::BAD_REQUEST,
                    "unauthorized_client",
                    "the token was issued to another client",
                ));
            }
            return deny(state, &claims).await;
        }
    }
    // Not one of our access tokens (or hinted as a refresh token): maybe a refresh token.
    // RFC 7009 §2.1: another client's token is refused, not revoked.
    let stored = state
        .registry
        .refresh_token(token)
        .await
        .map_err(server_error)?;
    if stored.is_some_and(|stored| stored.grant.client_id != client.client_id) {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "the token was issued to another client",
        ));
    }
    // Redeeming spends it, which is the point.
    let spent = state
        .registry
        .redeem_refresh_token(token, &client.client_id)
        .await
        .map_err(server_error)?;
    if spent.is_some() {
        state
            .registry
            .record_event(
                &format!("client:{}", client.client_id),
                actions::REFRESH_TOKEN_REVOKE,
                Some(&client.client_id),
                "",
            )
            .await
            .map_err(server_error)?;
    }
    Ok(())
}

/// Our access tokens are JWS compact serialisations (three dot-separated parts); refresh tokens
/// are opaque base64url strings without dots.
fn looks_like_jws(token: &str) -> bool {
    token.split('.').count() == 3
}

/// `GET /oauth/v2/logout` with `Authorization: Bearer …` (Telenor Norway client credentials
/// grant): invalidates that token and answers `OK!`. Errors as the page lists them: 401 code 6 (missing or bad header), 401 code 2
/// (invalid token).
pub(crate) async fn logout(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Presented::Token(token) = bearer_token(&headers) else {
        return telenor_error(
            TelenorCode::BAD_AUTHORIZATION_HEADER,
            "Missing or bad Authorization header",
        );
    };
    let claims = match state.keyring().verifier().verify(token, state.now()).await {
        Ok(claims) => claims,
        Err(problem) => {
            return telenor_error(TelenorCode::INVALID_ACCESS_TOKEN, &problem.to_string())
        }
    };
    match state.registry.is_revoked(&claims.jti).await {
        Ok(true) => {
            return telenor_error(
                TelenorCode::INVALID_ACCESS_TOKEN,
                "the token was already revoked",
            )
        }
        Ok(false) => {}
        Err(error) => {
            tracing::error!(%error, "denylist unavailable");
            return telenor_error(TelenorCode::INTERNAL_ERROR, "Internal Server Error");
        }
    }
    match deny(&state, &claims).await {
        Ok(()) => (StatusCode::OK, "OK!").into_response(),
        Err(_) => telenor_error(TelenorCode::INTERNAL_ERROR, "Internal Server Error"),
    }
}

/// The revocations one feed page holds by default, and at most.
pub const FEED_PAGE: usize = 1_000;
/// The most revocations one feed page may be asked for.
pub const MAX_FEED_PAGE: usize = 10_000;

/// `GET /revocations?since=UNIX_SECONDS[&after=JTI][&limit=N]`: tokens revoked since then and
/// not yet expired, for guards to poll, a page at a time (`limit`, default 1000, at most 10,000).
/// A full page carries `next` — the `since` and `after` of the page that follows. Public like
/// the JWKS: a revoked `jti` grants nothing.
pub(crate) async fn feed(
    State(state): State<Arc<AppState>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let since = match query.get("since").map(|s| s.parse::<i64>()) {
        None => 0,
        Some(Ok(since)) => since,
        Some(Err(_)) => {
            return OAuthError::invalid_request(
                "since must be a number of seconds since the Unix epoch",
            )
            .into_response()
        }
    };
    let limit = match query.get("limit").map(|s| s.parse::<usize>()) {
        None => FEED_PAGE,
        Some(Ok(limit)) if (1..=MAX_FEED_PAGE).contains(&limit) => limit,
        Some(_) => {
            return OAuthError::invalid_request(format!(
                "limit must be a number from 1 to {MAX_FEED_PAGE}"
            ))
            .into_response()
        }
    };
    let after = query.get("after").map(String::as_str);
    let server_time = unix_now();
    match state.registry.revocations_page(since, after, limit).await {
        Ok(revocations) => {
            let next = (revocations.len() == limit)
                .then(|| revocations.last())
                .flatten()
                .map(|last| json!({ "since": last.revoked_at, "after": last.jti }));
            let mut response = Json(json!({
                "revocations": revocations,
                "server_time": server_time,
                "next": next,
            }))
            .into_response();
            no_store(response.headers_mut());
            response
        }
        Err(error) => server_error(error).into_response(),
    }
}

async fn deny(state: &AppState, claims: &AccessTokenClaims) -> Result<(), OAuthError> {
    state
        .registry
        .revoke_token(&claims.jti, &claims.client_id, claims.exp as i64)
        .await
        .map_err(|error| match error {
            RegistryError::Invalid(message) => OAuthError::invalid_request(message),
            other => server_error(other),
        })?;
    state.metrics.revoked();
    tracing::info!(client_id = %claims.client_id, jti = %claims.jti, "access token revoked");
    Ok(())
}

pub(crate) fn required_token(request: &ClientRequest) -> Result<&str, OAuthError> {
    request
        .param("token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("the token parameter is missing"))
}

pub(crate) fn server_error(error: impl std::fmt::Display) -> OAuthError {
    tracing::error!(%error, "registry unavailable");
    OAuthError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "the registry is unavailable",
    )
    .with_code(TelenorCode::INTERNAL_ERROR)
}

/// RFC 7009/7662 endpoints speak plain RFC 6749 errors.
pub(crate) fn without_codes(error: OAuthError) -> OAuthError {
    error.for_dialect(false)
}

/// Telenor's logout errors: an RFC 6750 `invalid_token` (or `invalid_request` for a missing
/// header) with the numeric code, and a Bearer challenge on 401.
fn telenor_error(code: TelenorCode, description: &str) -> Response {
    let error = if code == TelenorCode::BAD_AUTHORIZATION_HEADER {
        "invalid_request"
    } else {
        "invalid_token"
    };
    let status = StatusCode::from_u16(code.status).unwrap_or(StatusCode::UNAUTHORIZED);
    let body = ErrorBody {
        error: error.to_owned(),
        error_description: Some(description.to_owned()),
        code: Some(code.code),
    };
    let mut response = (status, Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        let challenge = format!("Bearer error=\"{error}\"");
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
    }
    response
}
