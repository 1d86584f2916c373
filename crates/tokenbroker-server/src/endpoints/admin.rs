//! The admin HTTP API (`/admin/…`): client management for administrators.
//!
//! Entur's authentication pages: only users with the client-administrator role may create clients. Here an
//! administrator authenticates with `Authorization: Bearer tba_…` (made with
//! `tokenbroker admins create`); `client-admin` may change clients, `viewer` may only read.
//! Every change is in the audit log under `admin:<name>`. A web portal can be built on this API.

use std::sync::Arc;
use std::time::Duration;
use tokenbroker_wire::headers::{bearer_token, Presented};

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequest, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::client_address::ClientAddress;
use crate::limiter::{Attempt, Realm};
use crate::registry::{
    Admin, AuditEvent, ClientChanges, ClientRecord, IssuedSecret, NewClient, RegistryError, Role,
};
use crate::state::AppState;

/// An authenticated administrator, extracted from the `Authorization` header.
pub(crate) struct AdminCaller(Admin);

impl AdminCaller {
    fn actor(&self) -> String {
        self.0.actor()
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
        if let Err(retry_after) = state.limits.check(&attempt).await {
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
                state.limits.failed(&attempt).await;
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

/// Every admin API error's body.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    /// What went wrong, in one line.
    error: String,
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: self.1 };
        let mut response = (self.0, Json(body)).into_response();
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
            RegistryError::Database { .. }
            | RegistryError::PepperMismatch { .. }
            | RegistryError::IssuerMismatch { .. } => registry_failure(error),
        }
    }
}

impl From<JsonRejection> for AdminError {
    fn from(rejection: JsonRejection) -> Self {
        AdminError(rejection.status(), rejection.body_text())
    }
}

/// A JSON request body whose rejections (wrong content type, syntax, unknown or missing
/// fields) are answered as JSON like every other admin API error, not axum's plain text.
pub(crate) struct AdminJson<T>(T);

impl<T, S> FromRequest<S> for AdminJson<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = AdminError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(value) = Json::<T>::from_request(request, state).await?;
        Ok(Self(value))
    }
}

impl<T, S> OptionalFromRequest<S> for AdminJson<T>
where
    Json<T>: OptionalFromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = AdminError;

    async fn from_request(request: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        let value = <Json<T> as OptionalFromRequest<S>>::from_request(request, state).await?;
        Ok(value.map(|Json(value)| Self(value)))
    }
}

/// `404` for a path the admin API does not have, as JSON.
pub(crate) async fn unknown_route() -> AdminError {
    AdminError(
        StatusCode::NOT_FOUND,
        "no such admin API route; GET /admin/openapi.json lists them".into(),
    )
}

/// `405` for a method a route does not take, as JSON.
pub(crate) async fn wrong_method() -> AdminError {
    AdminError(
        StatusCode::METHOD_NOT_ALLOWED,
        "this admin API route does not take that method; GET /admin/openapi.json lists them".into(),
    )
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

/// Every client, with its secrets' metadata (never a secret).
#[utoipa::path(get, path = "/clients", tag = "clients",
    responses(
        (status = 200, description = "Every client, by id", body = [ClientRecord]),
        (status = 401, description = "No valid administrator token", body = ErrorBody),
    ))]
pub(crate) async fn list_clients(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
) -> AdminResult {
    caller.require(Role::Viewer)?;
    Ok(Json(state.registry.list_clients().await?).into_response())
}

/// What `POST /admin/clients` takes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateClient {
    /// A human name: 1 to 200 characters, no control characters.
    name: String,
    /// The audiences (APIs) the client may get tokens for: 1 to 64.
    audiences: Vec<String>,
    /// Granted scopes: up to 64.
    #[serde(default)]
    scopes: Vec<String>,
    /// Its own token lifetime (1 s to 30 days); the server's default when absent.
    lifetime_seconds: Option<u64>,
    /// Token responses include a refresh token.
    #[serde(default)]
    refresh_tokens: bool,
    /// A resource server: may introspect tokens issued to other clients.
    #[serde(default)]
    introspect: bool,
    /// An existing secret to import (8 to 1024 bytes, stored with Argon2id) instead of a
    /// generated one; it is not echoed back.
    client_secret: Option<String>,
}

/// A new client, and its generated secret: shown in this response only.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CreatedClient {
    /// The client as stored.
    client: ClientRecord,
    /// Its id.
    client_id: String,
    /// The generated secret (absent when one was imported): store it now.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
}

/// Creates a client (client-admin). A generated secret is in this response only.
#[utoipa::path(post, path = "/clients", tag = "clients", request_body = CreateClient,
    responses(
        (status = 201, description = "Created", body = CreatedClient),
        (status = 400, description = "Refused settings", body = ErrorBody),
        (status = 403, description = "Not a client administrator", body = ErrorBody),
        (status = 422, description = "Malformed body", body = ErrorBody),
    ))]
pub(crate) async fn create_client(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    AdminJson(request): AdminJson<CreateClient>,
) -> AdminResult {
    caller.require(Role::ClientAdmin)?;
    let imported = request.client_secret.is_some();
    let new = NewClient {
        name: request.name,
        audiences: request.audiences,
        scopes: request.scopes,
        lifetime: request.lifetime_seconds.map(Duration::from_secs),
        refresh_tokens: request.refresh_tokens,
        introspect: request.introspect,
        secret: request.client_secret,
        ..NewClient::default()
    };
    let (client, issued) = state.registry.create_client(new, &caller.actor()).await?;
    // An imported secret is the caller's own: it is not echoed back.
    let body = CreatedClient {
        client,
        client_secret: (!imported).then_some(issued.client_secret.clone()),
        client_id: issued.client_id.clone(),
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// What `PATCH /admin/clients/{id}` takes: each field given is changed, the others stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateClient {
    /// A new name.
    name: Option<String>,
    /// New audiences, replacing all of them.
    audiences: Option<Vec<String>>,
    /// New scopes, replacing all of them.
    scopes: Option<Vec<String>>,
    /// A new token lifetime in seconds; `null` returns to the server's default.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u64>, nullable)]
    lifetime_seconds: Option<Option<u64>>,
    /// Whether token responses include a refresh token.
    refresh_tokens: Option<bool>,
    /// Whether the client may introspect other clients' tokens.
    introspect: Option<bool>,
}

/// A field that is present, even as `null` (`Some(None)`), as opposed to absent (`None`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Changes a client's settings (client-admin); its secrets stay. The next token carries the
/// new values.
#[utoipa::path(patch, path = "/clients/{id}", tag = "clients", request_body = UpdateClient,
    params(("id" = String, Path, description = "The client id")),
    responses(
        (status = 200, description = "The client as changed", body = ClientRecord),
        (status = 400, description = "Refused settings, or nothing to change", body = ErrorBody),
        (status = 403, description = "Not a client administrator", body = ErrorBody),
        (status = 404, description = "No such client", body = ErrorBody),
        (status = 422, description = "Malformed body", body = ErrorBody),
    ))]
pub(crate) async fn update_client(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    Path(id): Path<String>,
    AdminJson(request): AdminJson<UpdateClient>,
) -> AdminResult {
    caller.require(Role::ClientAdmin)?;
    let changes = ClientChanges {
        name: request.name,
        audiences: request.audiences,
        scopes: request.scopes,
        lifetime: request
            .lifetime_seconds
            .map(|seconds| seconds.map(Duration::from_secs)),
        refresh_tokens: request.refresh_tokens,
        introspect: request.introspect,
    };
    let client = state
        .registry
        .update_client(&id, &changes, &caller.actor())
        .await?;
    Ok(Json(client).into_response())
}

/// A client and its history.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ClientWithHistory {
    /// The client.
    client: ClientRecord,
    /// Its audit log, oldest first.
    audit_log: Vec<AuditEvent>,
}

/// A client and its audit log.
#[utoipa::path(get, path = "/clients/{id}", tag = "clients",
    params(("id" = String, Path, description = "The client id")),
    responses(
        (status = 200, description = "The client and its history", body = ClientWithHistory),
        (status = 404, description = "No such client", body = ErrorBody),
    ))]
pub(crate) async fn show_client(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    Path(id): Path<String>,
) -> AdminResult {
    caller.require(Role::Viewer)?;
    let client = state.registry.client(&id).await?;
    let audit = state.registry.audit_log(Some(&id)).await?;
    Ok(Json(ClientWithHistory {
        client,
        audit_log: audit,
    })
    .into_response())
}

/// What `POST /admin/clients/{id}/rotate-secret` takes (the body is optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RotateSecret {
    /// How long the current secrets keep working (default a day, at most 90 days).
    overlap_seconds: Option<u64>,
}

/// Issues a new secret (client-admin), shown in this response only; the current ones keep
/// working for the overlap.
#[utoipa::path(post, path = "/clients/{id}/rotate-secret", tag = "clients",
    request_body(content = Option<RotateSecret>),
    params(("id" = String, Path, description = "The client id")),
    responses(
        (status = 200, description = "The new secret", body = IssuedSecret),
        (status = 400, description = "Overlap too long", body = ErrorBody),
        (status = 404, description = "No such client", body = ErrorBody),
    ))]
pub(crate) async fn rotate_secret(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    Path(id): Path<String>,
    body: Option<AdminJson<RotateSecret>>,
) -> AdminResult {
    caller.require(Role::ClientAdmin)?;
    let overlap = body
        .and_then(|AdminJson(b)| b.overlap_seconds)
        .unwrap_or(86_400);
    let issued = state
        .registry
        .rotate_secret(&id, Duration::from_secs(overlap), &caller.actor())
        .await?;
    Ok(Json(issued).into_response())
}

/// Stops a client from getting tokens (client-admin).
#[utoipa::path(post, path = "/clients/{id}/disable", tag = "clients",
    params(("id" = String, Path, description = "The client id")),
    responses(
        (status = 204, description = "Disabled"),
        (status = 404, description = "No such client", body = ErrorBody),
    ))]
pub(crate) async fn disable_client(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    Path(id): Path<String>,
) -> AdminResult {
    set_enabled(&state, &caller, &id, false).await
}

/// Lets a disabled client get tokens again (client-admin).
#[utoipa::path(post, path = "/clients/{id}/enable", tag = "clients",
    params(("id" = String, Path, description = "The client id")),
    responses(
        (status = 204, description = "Enabled"),
        (status = 404, description = "No such client", body = ErrorBody),
    ))]
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

/// Deletes a client and its secrets (client-admin); the audit log keeps its history.
#[utoipa::path(delete, path = "/clients/{id}", tag = "clients",
    params(("id" = String, Path, description = "The client id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such client", body = ErrorBody),
    ))]
pub(crate) async fn delete_client(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    Path(id): Path<String>,
) -> AdminResult {
    caller.require(Role::ClientAdmin)?;
    state.registry.delete_client(&id, &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The whole audit log, oldest first.
#[utoipa::path(get, path = "/audit", tag = "audit",
    responses((status = 200, description = "Every event", body = [AuditEvent])))]
pub(crate) async fn audit_log(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
) -> AdminResult {
    caller.require(Role::Viewer)?;
    Ok(Json(state.registry.audit_log(None).await?).into_response())
}

/// The admin API's OpenAPI 3.1 description: its title, the administrator bearer token every
/// route requires, and its tags; the routes themselves are collected from the handlers'
/// `#[utoipa::path]` attributes as they are routed, so the document cannot drift from the code.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "tokenbroker admin API",
        description = "Client management for administrators. Send `Authorization: Bearer tba_…` \
                       (from `tokenbroker admins create`); the client-admin role may change \
                       clients, the viewer role may read. Every error is `{\"error\": \"…\"}`."
    ),
    modifiers(&AdministratorToken),
    security(("administrator" = [])),
    components(schemas(ErrorBody)),
    tags(
        (name = "clients", description = "Clients and their secrets"),
        (name = "audit", description = "Who changed what"),
    )
)]
pub(crate) struct AdminApiDoc;

/// Declares the `administrator` bearer scheme.
struct AdministratorToken;

impl utoipa::Modify for AdministratorToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "administrator",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An administrator token, `tba_<id>.<secret>`, from `tokenbroker admins create`",
                    ))
                    .build(),
            ),
        );
    }
}
