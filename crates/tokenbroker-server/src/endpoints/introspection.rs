//! `POST /oauth2/introspect` (RFC 7662): is this token active, and what does it grant?
//!
//! The caller must authenticate as a registered client (§2.1). Access tokens are answered to the
//! client they were issued to and to resource servers (`clients create --introspect`); refresh
//! tokens only to the client holding them, since no resource server ever sees one. Revoked,
//! expired, foreign and malformed tokens are all simply `{"active": false}` (§2.2).

use std::sync::Arc;
use tokenbroker_wire::headers::no_store;

use axum::body::Bytes;
use std::net::IpAddr;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::client_address::ClientAddress;
use crate::client_auth;
use crate::endpoints::revocation::{required_token, server_error, without_codes};
use crate::oauth_error::OAuthError;
use crate::state::AppState;

/// Answers whether the presented token is active.
pub(crate) async fn introspect(
    State(state): State<Arc<AppState>>,
    ClientAddress(peer): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match introspect_inner(&state, peer, &headers, &body).await {
        Ok(answer) => {
            let mut response = Json(answer).into_response();
            no_store(response.headers_mut());
            response
        }
        Err(error) => without_codes(error).into_response(),
    }
}

async fn introspect_inner(
    state: &AppState,
    peer: IpAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, OAuthError> {
    let request = client_auth::parse(headers, body)?;
    let caller = client_auth::authenticate(state, peer, &request).await?;
    let token = required_token(&request)?;
    let Ok(claims) = state.keyring().verifier().verify(token, state.now()).await else {
        return refresh_token_answer(state, token, &caller.client_id).await;
    };
    // RFC 7662 §4: a client learns about its own tokens; only resource servers about others'.
    if claims.client_id != caller.client_id && !caller.introspect {
        return Ok(json!({ "active": false }));
    }
    if state
        .registry
        .is_revoked(&claims.jti)
        .await
        .map_err(server_error)?
    {
        return Ok(json!({ "active": false }));
    }
    Ok(json!({
        "active": true,
        "token_type": "Bearer",
        "scope": claims.scope,
        "client_id": claims.client_id,
        "sub": claims.sub,
        "aud": claims.aud,
        "iss": claims.iss,
        "iat": claims.iat,
        "exp": claims.exp,
        "jti": claims.jti,
    }))
}

/// The answer for a token that is not one of our access tokens: a refresh token is active to the
/// client holding it until it expires or is used.
async fn refresh_token_answer(
    state: &AppState,
    token: &str,
    caller: &str,
) -> Result<Value, OAuthError> {
    let stored = state
        .registry
        .refresh_token(token)
        .await
        .map_err(server_error)?;
    let now = state.unix_now();
    match stored {
        Some(stored) if stored.grant.client_id == caller && stored.is_active(now) => Ok(json!({
            "active": true,
            "scope": stored.grant.scope,
            "client_id": stored.grant.client_id,
            "aud": stored.grant.audience,
            "iss": state.issuer,
            "iat": stored.issued_at,
            "exp": stored.expires_at,
        })),
        _ => Ok(json!({ "active": false })),
    }
}
