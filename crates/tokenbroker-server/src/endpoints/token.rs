//! The token endpoint: the client credentials grant (RFC 6749 §4.4) and, for clients configured to
//! receive refresh tokens, the refresh token grant (§6) with rotation.
//!
//! Authenticates the client in whichever style it used, checks the audience (Entur: server and
//! audience must belong to the same environment, Entur partner authentication) and the scope (requested ⊆ granted,
//! RFC 6749 §3.3), and answers with a signed RFC 9068 JWT.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::claims::AccessTokenClaims;
use crate::client_address::ClientAddress;
use crate::client_auth;
use crate::dialect::Dialect;
use crate::oauth_error::OAuthError;
use crate::registry::ClientRecord;
use crate::state::AppState;
use tokenbroker_wire::client_auth::ClientRequest;
use tokenbroker_wire::headers::no_store;
use tokenbroker_wire::oauth_error::TelenorCode;

/// Handles one token request in `dialect`.
pub(crate) async fn token(
    State(state): State<Arc<AppState>>,
    ClientAddress(peer): ClientAddress,
    dialect: Dialect,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = std::time::Instant::now();
    let outcome = issue(&state, peer, dialect, &headers, &body).await;
    state.metrics.observe(started.elapsed());
    match outcome {
        Ok(response) => response,
        Err(error) => {
            state.metrics.failed(error.error);
            let error = error.for_dialect(dialect.numeric_codes());
            tracing::debug!(error = error.error, description = %error.description, "token request refused");
            error.into_response()
        }
    }
}

/// How long a refresh token stays redeemable.
pub(crate) const REFRESH_TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

/// What the client is about to receive.
struct Grant {
    client: ClientRecord,
    audience: String,
    scope: Option<String>,
}

async fn issue(
    state: &AppState,
    peer: IpAddr,
    dialect: Dialect,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, OAuthError> {
    let request = client_auth::parse(headers, body)?;
    let grant_type = grant_type(&request)?;
    let client = client_auth::authenticate(state, peer, &request).await?;
    let grant = match grant_type {
        GrantType::ClientCredentials => Grant {
            audience: choose_audience(&client, &request)?,
            scope: choose_scope(&client, &request)?,
            client,
        },
        GrantType::RefreshToken => refresh(state, client, &request).await?,
    };
    let lifetime = grant
        .client
        .lifetime()
        .unwrap_or_else(|| state.default_lifetime());
    let token = mint(state, &grant, lifetime).await?;
    let refresh_token = if grant.client.refresh_tokens {
        let stored = crate::registry::RefreshGrant {
            client_id: grant.client.client_id.clone(),
            audience: grant.audience.clone(),
            scope: grant.scope.clone(),
        };
        let issued = state
            .registry
            .issue_refresh_token(&stored, REFRESH_TOKEN_LIFETIME)
            .await;
        Some(issued.map_err(crate::endpoints::revocation::server_error)?)
    } else {
        None
    };
    state
        .metrics
        .issued(&grant.client.client_id, &grant.audience);
    Ok(token_response(
        dialect,
        token,
        lifetime,
        grant.scope,
        refresh_token,
    ))
}

async fn mint(state: &AppState, grant: &Grant, lifetime: Duration) -> Result<String, OAuthError> {
    let now = u64::try_from(state.unix_now()).unwrap_or(0);
    let claims = AccessTokenClaims {
        iss: state.issuer.clone(),
        sub: grant.client.client_id.clone(),
        client_id: grant.client.client_id.clone(),
        aud: grant.audience.clone(),
        scope: grant.scope.clone(),
        iat: now,
        exp: now.saturating_add(lifetime.as_secs()),
        jti: uuid::Uuid::new_v4().to_string(),
    };
    let signed = state
        .signing
        .sign(state.keyring(), now as i64, claims)
        .await;
    signed.map_err(|e| {
        OAuthError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            format!("signing failed: {e}"),
        )
        .with_code(TelenorCode::INTERNAL_ERROR)
    })
}

/// The refresh token grant (RFC 6749 §6): the token is spent and the same audience and scope are
/// granted again. Telenor codes: 21 (grant type not permitted), 7 (invalid refresh_token).
async fn refresh(
    state: &AppState,
    client: ClientRecord,
    request: &ClientRequest,
) -> Result<Grant, OAuthError> {
    if !client.refresh_tokens {
        return Err(OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized_client",
            "this client is not configured for refresh tokens",
        )
        .with_code(TelenorCode::GRANT_TYPE_NOT_PERMITTED));
    }
    let presented = request
        .param("refresh_token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("the refresh_token parameter is missing"))?;
    let redeemed = state
        .registry
        .redeem_refresh_token(presented, &client.client_id)
        .await
        .map_err(crate::endpoints::revocation::server_error)?;
    let Some(stored) = redeemed else {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the refresh token is invalid, expired, already used or another client's",
        )
        .with_code(TelenorCode::INVALID_REFRESH_TOKEN));
    };
    // The client may have lost the audience since: never grant more than it holds now.
    if !client.audiences.contains(&stored.audience) {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the client no longer holds this audience",
        ));
    }
    let scope = stored
        .scope
        .map(|scope| {
            scope
                .split_whitespace()
                .filter(|s| client.scopes.iter().any(|g| g == s))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|scope| !scope.is_empty());
    Ok(Grant {
        client,
        audience: stored.audience,
        scope,
    })
}

/// The grants this endpoint serves.
enum GrantType {
    ClientCredentials,
    RefreshToken,
}

fn grant_type(request: &ClientRequest) -> Result<GrantType, OAuthError> {
    match request.param("grant_type") {
        Some("client_credentials") => Ok(GrantType::ClientCredentials),
        Some("refresh_token") => Ok(GrantType::RefreshToken),
        None => Err(OAuthError::invalid_request(
            "grant_type is missing; send grant_type=client_credentials",
        )
        .with_code(TelenorCode::INVALID_GRANT_TYPE)),
        Some(other) => Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("grant_type {other:?} is not supported here; use client_credentials"),
        )
        .with_code(TelenorCode::INVALID_GRANT_TYPE)),
    }
}

fn choose_audience(client: &ClientRecord, request: &ClientRequest) -> Result<String, OAuthError> {
    let requested: Vec<&str> = request
        .param("audience")
        .into_iter()
        .chain(request.params("resource"))
        .collect();
    match requested.as_slice() {
        [] => match client.audiences.as_slice() {
            [only] => Ok(only.clone()),
            _ => Err(OAuthError::invalid_request(
                "audience is required: this client is granted several audiences",
            )),
        },
        [first, rest @ ..] if rest.iter().all(|other| other == first) => {
            if client.audiences.iter().any(|granted| granted == *first) {
                Ok((*first).to_owned())
            } else {
                Err(OAuthError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_target",
                    format!("audience {first} is not granted to this client on this server; server and audience must belong to the same environment"),
                ))
            }
        }
        _ => Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_target",
            "ask for one audience per token",
        )),
    }
}

fn choose_scope(
    client: &ClientRecord,
    request: &ClientRequest,
) -> Result<Option<String>, OAuthError> {
    let Some(requested) = request.param("scope").filter(|s| !s.trim().is_empty()) else {
        return Ok((!client.scopes.is_empty()).then(|| client.scopes.join(" ")));
    };
    let mut granted = Vec::new();
    for scope in requested.split_whitespace() {
        if !client.scopes.iter().any(|s| s == scope) {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                format!("scope {scope:?} is not granted to this client"),
            )
            .with_code(TelenorCode::ILLEGAL_SCOPE));
        }
        if !granted.contains(&scope) {
            granted.push(scope);
        }
    }
    Ok(Some(granted.join(" ")))
}

fn token_response(
    dialect: Dialect,
    token: String,
    lifetime: Duration,
    scope: Option<String>,
    refresh_token: Option<String>,
) -> Response {
    let seconds = lifetime.as_secs();
    let expires_in = if dialect.expires_in_as_string() {
        json!(seconds.to_string())
    } else {
        json!(seconds)
    };
    let mut body =
        json!({ "access_token": token, "token_type": "Bearer", "expires_in": expires_in });
    if let Some(scope) = scope {
        body["scope"] = Value::String(scope);
    }
    if let Some(refresh_token) = refresh_token {
        body["refresh_token"] = Value::String(refresh_token);
    }
    let mut response = Json(body).into_response();
    // RFC 6749 §5.1: token responses must not be cached.
    no_store(response.headers_mut());
    response
}
