//! Telenor Sweden's Communication APIs (Telenor Sweden Open APIs): a second credential on top of the bearer token.
//!
//! `POST /b2b/corporate/auth/right/v2/hasPermission/corporate/?service=<API name>` with
//! `Authorization: Bearer`, `X-Transaction-Id` and `{clientId, userId, password}` returns
//! `{"token": <X-JWT>}`, valid one hour. Every call to a Communication API then carries
//! `Authorization: Bearer`, `X-JWT` and a unique `X-Transaction-Id`; once expired, the API answers
//! 401 with a body saying the token expired and a new one must be requested.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokenbroker_guard::{Guard, GuardLayer, Rejection, VerifiedToken};
use tokenbroker_server::Signer;

/// The path of the permission endpoint that issues X-JWTs.
pub const HAS_PERMISSION_PATH: &str = "/b2b/corporate/auth/right/v2/hasPermission/corporate/";
/// A Communication API route that needs the X-JWT.
pub const SERVICE_RULES_PATH: &str = "/b2b/mobile-admin/productCatalogManagement/v1/serviceRules";
/// The `aud` of X-JWTs (they are only good for the Communication APIs).
pub const X_JWT_AUDIENCE: &str = "telenor-communication";

/// The sandbox's Communication user (Telenor Sweden Open APIs's `userId`/`password`).
#[derive(Clone)]
pub struct CommunicationUser {
    /// The user id.
    pub user_id: u64,
    /// The password.
    pub password: String,
}

/// Hides the password.
impl std::fmt::Debug for CommunicationUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommunicationUser")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PermissionRequest {
    client_id: String,
    user_id: u64,
    password: String,
}

#[derive(Deserialize)]
struct ServiceQuery {
    service: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct XJwtClaims {
    iss: String,
    aud: &'static str,
    sub: String,
    client_id: String,
    service: String,
    iat: u64,
    exp: u64,
}

/// The Communication routes: `bearer` guards the access token, `x_jwt` verifies the X-JWT.
pub fn routes(
    bearer: Arc<Guard>,
    x_jwt: Arc<Guard>,
    signer: Signer,
    issuer: String,
    user: CommunicationUser,
    lifetime: Duration,
) -> Router {
    let issue = move |headers: HeaderMap,
                      Query(query): Query<ServiceQuery>,
                      token: VerifiedToken,
                      body: Json<PermissionRequest>| {
        let (signer, issuer, user) = (signer.clone(), issuer.clone(), user.clone());
        async move {
            has_permission(
                &headers, query, &token, body.0, &signer, issuer, &user, lifetime,
            )
        }
    };
    let rules = move |headers: HeaderMap| {
        let x_jwt = Arc::clone(&x_jwt);
        async move { service_rules(&headers, &x_jwt).await }
    };
    Router::new()
        .route(
            HAS_PERMISSION_PATH,
            post(issue).layer(GuardLayer::new(Arc::clone(&bearer))),
        )
        .route(
            SERVICE_RULES_PATH,
            get(rules).layer(GuardLayer::new(bearer)),
        )
}

#[allow(clippy::too_many_arguments)]
fn has_permission(
    headers: &HeaderMap,
    query: ServiceQuery,
    token: &VerifiedToken,
    request: PermissionRequest,
    signer: &Signer,
    issuer: String,
    user: &CommunicationUser,
    lifetime: Duration,
) -> Response {
    if transaction_id(headers).is_none() {
        return problem(
            StatusCode::BAD_REQUEST,
            "X-Transaction-Id is required: send a unique id per request",
        );
    }
    let Some(service) = query.service.filter(|s| !s.trim().is_empty()) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "the service query parameter (the API name) is required",
        );
    };
    if request.client_id.trim().is_empty()
        || request.user_id != user.user_id
        || request.password != user.password
    {
        return problem(
            StatusCode::FORBIDDEN,
            "the user has no permission for this service: check clientId, userId and password",
        );
    }
    let now = u64::try_from(signer.unix_now()).unwrap_or(0);
    let claims = XJwtClaims {
        iss: issuer,
        aud: X_JWT_AUDIENCE,
        sub: request.user_id.to_string(),
        client_id: token.client_id().unwrap_or_default().to_owned(),
        service,
        iat: now,
        exp: now.saturating_add(lifetime.as_secs()),
    };
    match signer.sign("JWT", &claims) {
        Ok(jwt) => Json(json!({ "token": jwt })).into_response(),
        Err(error) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("signing failed: {error}"),
        ),
    }
}

async fn service_rules(headers: &HeaderMap, x_jwt_guard: &Guard) -> Response {
    if transaction_id(headers).is_none() {
        return problem(
            StatusCode::BAD_REQUEST,
            "X-Transaction-Id is required: send a unique id per request",
        );
    }
    let Some(x_jwt) = headers.get("x-jwt").and_then(|v| v.to_str().ok()) else {
        return problem(
            StatusCode::UNAUTHORIZED,
            "X-JWT is required: get one from hasPermission",
        );
    };
    match x_jwt_guard.verify(x_jwt).await {
        Ok(verified) => Json(json!({
            "user": verified.subject(),
            "serviceRules": [
                { "id": "roaming-eu", "allowed": true },
                { "id": "premium-sms", "allowed": false },
            ],
        }))
        .into_response(),
        Err(Rejection::Expired) => problem(
            StatusCode::UNAUTHORIZED,
            "the X-JWT token has expired; a new one must be requested from hasPermission",
        ),
        Err(rejection) => problem(
            StatusCode::UNAUTHORIZED,
            &format!("X-JWT rejected: {rejection}"),
        ),
    }
}

fn transaction_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-transaction-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty())
}

fn problem(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": status.canonical_reason(), "message": message })),
    )
        .into_response()
}
