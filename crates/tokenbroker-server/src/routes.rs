//! The HTTP surface shared by every way of running the server.

use std::sync::Arc;

use axum::http::header;
use axum::routing::{get, post};
use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access_log;
use crate::dialect::{Dialect, STANDARD_TOKEN_PATH};
use crate::endpoints::{admin, health, introspection, jwks, metadata, revocation, token};
use crate::portal;
use crate::state::AppState;

/// The JWKS (RFC 8414 §2 `jwks_uri`).
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// RFC 7009 revocation endpoint.
pub const REVOCATION_PATH: &str = "/oauth2/revoke";
/// RFC 7662 introspection endpoint.
pub const INTROSPECTION_PATH: &str = "/oauth2/introspect";
/// Telenor's logout endpoint (Telenor Norway client credentials grant).
pub const LOGOUT_PATH: &str = tokenbroker_wire::provider::TELENOR_NORWAY_LOGOUT_PATH;
/// The revocation feed guards poll.
pub const REVOCATION_FEED_PATH: &str = "/revocations";

/// Where the admin API lives.
pub const ADMIN_PATH: &str = "/admin";
/// The admin API's OpenAPI 3.1 document, below [`ADMIN_PATH`].
pub const OPENAPI_PATH: &str = "/openapi.json";

/// Longest a request may take before it is answered 408.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Largest request body accepted (token requests are a few hundred bytes).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Which endpoints one listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Surface {
    /// Everything on one listener (no separate admin listener), the portal included.
    All,
    /// The public port of a server with an admin listener: OAuth endpoints, keys, metadata,
    /// the revocation feed and health.
    Public,
    /// The admin listener: the admin API, the portal, metrics and health.
    Admin,
}

/// The endpoints of `surface`.
pub(crate) fn router(state: Arc<AppState>, surface: Surface) -> Router {
    let health = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz));
    let router = match surface {
        Surface::All => health
            .merge(oauth(&state))
            .merge(admin())
            .merge(portal::router()),
        Surface::Public => health.merge(oauth(&state)),
        Surface::Admin => health.merge(admin()).merge(portal::router()),
    };
    router
        .layer(axum::middleware::from_fn(access_log::log_request))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .with_state(state)
}

/// The providers' token paths, the standard one, revocation, introspection, logout, keys,
/// metadata and the revocation feed.
fn oauth(state: &AppState) -> Router<Arc<AppState>> {
    let token_route = |dialect: Dialect| post(move |s, c, h, b| token::token(s, c, dialect, h, b));
    let mut router = Router::new()
        .route(JWKS_PATH, get(jwks::jwks))
        .route(
            "/.well-known/oauth-authorization-server",
            get(metadata::metadata),
        )
        .route("/.well-known/openid-configuration", get(metadata::metadata))
        .route(STANDARD_TOKEN_PATH, token_route(state.profile.dialect()))
        .route(REVOCATION_PATH, post(revocation::revoke))
        .route(INTROSPECTION_PATH, post(introspection::introspect))
        .route(LOGOUT_PATH, get(revocation::logout))
        .route(REVOCATION_FEED_PATH, get(revocation::feed));
    for dialect in [
        Dialect::Entur,
        Dialect::TelenorNorway,
        Dialect::TelenorSweden,
    ] {
        router = router.route(dialect.token_path(), token_route(dialect));
    }
    router
}

/// The admin API (under [`ADMIN_PATH`], with its OpenAPI document) and the metrics.
fn admin() -> Router<Arc<AppState>> {
    let (api, paths) = OpenApiRouter::new()
        .routes(routes!(admin::list_clients, admin::create_client))
        .routes(routes!(
            admin::show_client,
            admin::update_client,
            admin::delete_client
        ))
        .routes(routes!(admin::rotate_secret))
        .routes(routes!(admin::disable_client))
        .routes(routes!(admin::enable_client))
        .routes(routes!(admin::audit_log))
        .split_for_parts();
    let document = admin::AdminApiDoc::openapi().nest(ADMIN_PATH, paths);
    let document: Arc<str> = match document.to_pretty_json() {
        Ok(json) => json.into(),
        // Cannot happen (the document is plain data); the route then says so instead of panicking.
        Err(error) => {
            format!("{{\"error\": \"the OpenAPI document failed to serialise: {error}\"}}").into()
        }
    };
    let api = api
        .route(
            OPENAPI_PATH,
            get(move || {
                let document = Arc::clone(&document);
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        document.to_string(),
                    )
                }
            }),
        )
        .fallback(admin::unknown_route)
        .method_not_allowed_fallback(admin::wrong_method);
    Router::new()
        .route("/metrics", get(health::metrics))
        .nest(ADMIN_PATH, api)
}
