//! The admin HTTP API (`/admin/…`): client management for administrators.
//!
//! Entur's authentication pages: only users with the client-administrator role may create clients. Here an
//! administrator authenticates with `Authorization: Bearer tba_…` (made with
//! `tokenbroker admins create`); `client-admin` may change clients, `viewer` may only read.
//! Every change is in the audit log under `admin:<name>`. A web portal can be built on this API.

use std::sync::Arc;
use std::time::{Duration, Instant};
use tokenbroker_wire::headers::{bearer_token, Presented};

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::client_address::ClientAddress;
use crate::limiter::{Attempt, Realm};
use crate::registry::{Admin, NewClient, RegistryError, Role};
use crate::state::AppState;

/// An authenticated administrator, extracted from the `Authorization` header.
pub(crate) struct AdminCaller(Admin);

impl AdminCaller {
    fn actor(&self) -> String {
        format!("admin:{}", self.0.name)
    }

    fn require(&self, role: Role) -> Result<(), AdminError> {
        if self.0.has(role) || (role == Role::Viewer && self.0.has(Role::ClientAdmin)) {
            return Ok(());
        }
        Err(AdminError(
            StatusCode::FORBIDDEN,
            format!(
                "administrator {} lacks the {role} role this requires",
                self.0.name
            ),
        ))
    }
}

impl FromRequestParts<Arc<AppState>> for AdminCaller {
    type Rejection = AdminError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let Ok(ClientAddress(address)) = ClientAddress::from_request_parts(parts, state).await;
        let attempt = Attempt {
            realm: Realm::Admin,
            address,
            client_ids: &[],
        };
        let now = Instant::now();
        if let Err(retry_after) = state.limiter.check(&attempt, now) {
            return Err(AdminError(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "too many failed authentications; retry in {} s",
                    retry_after.as_secs().max(1)
                ),
            ));
        }
        let Presented::Token(token) = bearer_token(&parts.headers) else {
            return Err(unauthorized(
                "send Authorization: Bearer <administrator token>",
            ));
        };
        match state.registry.authenticate_admin(token).await {
            Ok(Some(admin)) => Ok(Self(admin)),
            Ok(None) => {
                state.limiter.failed(&attempt, now);
                // Audited only while the limiter lets attempts through: at most its per-address
                // rate, so refused logins cannot flood the log.
                if let Err(error) = state
                    .registry
                    .record_refused_admin_login(&attempt.address.to_string())
                    .await
                {
                    tracing::warn!(%error, "could not audit a refused admin login");
                }
                Err(unauthorized(
                    "the administrator token is not valid, expired or revoked",
                ))
            }
            Err(error) => Err(registry_failure(error)),
        }
    }
}

/// An admin API error: a status and a one-line reason, as JSON.
#[derive(Debug)]
pub(crate) struct AdminError(StatusCode, String);

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let mut response = (self.0, Json(json!({ "error": self.1 }))).into_response();
        if self.0 == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"tokenbroker-admin\""),
            );
        }
        response
    }
}

impl From<RegistryError> for AdminError {
    fn from(error: RegistryError) -> Self {
        match error {
            RegistryError::UnknownClient(_) => AdminError(StatusCode::NOT_FOUND, error.to_string()),
            RegistryError::Invalid(_) => AdminError(StatusCode::BAD_REQUEST, error.to_string()),
            RegistryError::Database { .. } => registry_failure(error),
        }
    }
}

fn unauthorized(reason: &str) -> AdminError {
    AdminError(StatusCode::UNAUTHORIZED, reason.to_owned())
}

fn registry_failure(error: RegistryError) -> AdminError {
    tracing::error!(%error, "admin API: registry unavailable");
    AdminError(
        StatusCode::SERVICE_UNAVAILABLE,
        "the client registry is unavailable".into(),
    )
}

type AdminResult = Result<Response, AdminError>;

/// `GET /admin/clients`.
pub(crate) async fn list_clients(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
) -> AdminResult {
    caller.require(Role::Viewer)?;
    Ok(Json(state.registry.list_clients().await?).into_response())
}

/// What `POST /admin/clients` takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateClient {
    name: String,
    audiences: Vec<String>,
    #[serde(default)]
    scopes: Vec<String>,
    lifetime_seconds: Option<u64>,
    #[serde(default)]
    refresh_tokens: bool,
    #[serde(default)]
    introspect: bool,
}

/// `POST /admin/clients` (client-admin): the secret is in this response only.
pub(crate) async fn create_client(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    Json(request): Json<CreateClient>,
) -> AdminResult {
    caller.require(Role::ClientAdmin)?;
    let new = NewClient {
        name: request.name,
        audiences: request.audiences,
        scopes: request.scopes,
        lifetime: request.lifetime_seconds.map(Duration::from_secs),
        refresh_tokens: request.refresh_tokens,
        introspect: request.introspect,
        ..NewClient::default()
    };
    let (client, issued) = state.registry.create_client(new, &caller.actor()).await?;
    let body = json!({ "client": client, "client_id": issued.client_id, "client_secret": issued.client_secret });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `GET /admin/clients/{id}`: the client and its audit log.
pub(crate) async fn show_client(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    Path(id): Path<String>,
) -> AdminResult {
    caller.require(Role::Viewer)?;
    let client = state.registry.client(&id).await?;
    let audit = state.registry.audit_log(Some(&id)).await?;
    Ok(Json(json!({ "client": client, "audit_log": audit })).into_response())
}

/// What `POST /admin/clients/{id}/rotate-secret` takes.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RotateSecret {
    overlap_seconds: Option<u64>,
}

/// `POST /admin/clients/{id}/rotate-secret` (client-admin).
pub(crate) async fn rotate_secret(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    Path(id): Path<String>,
    body: Option<Json<RotateSecret>>,
) -> AdminResult {
    caller.require(Role::ClientAdmin)?;
    let overlap = body.and_then(|Json(b)| b.overlap_seconds).unwrap_or(86_400);
    let issued = state
        .registry
        .rotate_secret(&id, Duration::from_secs(overlap), &caller.actor())
        .await?;
    Ok(Json(issued).into_response())
}

/// `POST /admin/clients/{id}/disable` (client-admin).
pub(crate) async fn disable_client(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    Path(id): Path<String>,
) -> AdminResult {
    set_enabled(&state, &caller, &id, false).await
}

/// `POST /admin/clients/{id}/enable` (client-admin).
pub(crate) async fn enable_client(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    Path(id): Path<String>,
) -> AdminResult {
    set_enabled(&state, &caller, &id, true).await
}

async fn set_enabled(
    state: &AppState,
    caller: &AdminCaller,
    id: &str,
    enabled: bool,
) -> AdminResult {
    caller.require(Role::ClientAdmin)?;
    state
        .registry
        .set_enabled(id, enabled, &caller.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /admin/clients/{id}` (client-admin).
pub(crate) async fn delete_client(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    Path(id): Path<String>,
) -> AdminResult {
    caller.require(Role::ClientAdmin)?;
    state.registry.delete_client(&id, &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /admin/audit`: the whole audit log.
pub(crate) async fn audit_log(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
) -> AdminResult {
    caller.require(Role::Viewer)?;
    Ok(Json(state.registry.audit_log(None).await?).into_response())
}
