//! `GET /v1/token/{profile}`: the current token for processes that make their own calls.
//!
//! Answers `{"access_token", "token_type": "Bearer", "expires_in"}` (the RFC 6749 §5.1 shape, so
//! existing OAuth code can read it), plus `x_jwt` and `x_jwt_expires_in` for Telenor
//! Communication profiles. Only reachable over loopback or the agent's Unix socket; with
//! `token_endpoint_secret_env` set, callers must also send the secret in `X-Tokenbroker-Secret`.

use std::sync::Arc;
use std::time::SystemTime;
use tokenbroker::wire::headers::no_store;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{HeaderMap, StatusCode};
use serde_json::json;
use tokenbroker::ClientSecret;

use crate::problem::{no_token, problem};
use crate::state::AgentState;

/// The header carrying the token endpoint's shared secret.
pub const SECRET_HEADER: &str = "x-tokenbroker-secret";

pub(crate) async fn token(
    State(state): State<Arc<AgentState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !state.token_endpoint {
        return problem(
            StatusCode::NOT_FOUND,
            "token_endpoint_disabled",
            "the token endpoint is turned off ([agent] token_endpoint = false)",
            json!({}),
        );
    }
    if let Some(expected) = &state.token_endpoint_secret {
        let given = headers
            .get(SECRET_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(ClientSecret::new);
        if !given.is_some_and(|given| given.same_as(expected)) {
            return problem(
                StatusCode::UNAUTHORIZED,
                "invalid_agent_secret",
                "missing or wrong X-Tokenbroker-Secret header",
                json!({}),
            );
        }
    }
    let Some(profile) = state.profiles.get(&name) else {
        let known: Vec<&String> = state.profiles.keys().collect();
        return problem(
            StatusCode::NOT_FOUND,
            "unknown_profile",
            "no profile of this agent has this name",
            json!({ "profile": name, "profiles": known }),
        );
    };
    let credentials = match profile.credentials().await {
        Ok(credentials) => credentials,
        Err(reason) => return no_token(&name, &reason.0),
    };
    let now = SystemTime::now();
    let mut body = json!({
        "access_token": credentials.bearer.secret(),
        "token_type": "Bearer",
        "expires_in": credentials.bearer.remaining(now).as_secs(),
    });
    if let Some(x_jwt) = &credentials.x_jwt {
        body["x_jwt"] = json!(x_jwt.secret());
        body["x_jwt_expires_in"] = json!(x_jwt.remaining(now).as_secs());
    }
    let mut response = Json(body).into_response();
    no_store(response.headers_mut());
    response
}
