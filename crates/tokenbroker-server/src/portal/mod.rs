//! The partner portal (`/portal`): server-rendered pages where client administrators log in
//! with a name and password and create, change, rotate, disable and delete clients, and where
//! viewers look. The pages the provider pages describe ("Log in to the Entur Partner Portal. Go
//! to Clients and create a new client. Store the generated Client ID and Client Secret
//! securely", Entur partner authentication).
//!
//! The pages work without JavaScript (one small script adds the copy buttons) and carry a strict
//! `Content-Security-Policy`: scripts and styles only from the portal itself, no frames, forms
//! only to the portal. Sessions ([`session`]) live in the registry, so every node of a fleet
//! honours them.

mod pages;
mod session;
mod views;

use std::sync::Arc;

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;

/// Where the portal lives.
pub const PORTAL_PATH: &str = "/portal";
/// The login page.
pub(crate) const LOGIN_PATH: &str = "/portal/login";
/// The clients page.
pub(crate) const CLIENTS_PATH: &str = "/portal/clients";

/// Every portal response's policy: nothing from elsewhere, no inline script or style, no
/// framing, forms only to the portal's own origin.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'none'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

/// The portal's routes.
pub(crate) fn router() -> Router<Arc<AppState>> {
    let pages = Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login_page).post(pages::log_in))
        .route("/logout", post(pages::log_out))
        .route("/clients", get(pages::clients))
        .route(
            "/clients/new",
            get(pages::new_client_page).post(pages::create_client),
        )
        .route("/clients/{id}", get(pages::client_page))
        .route("/clients/{id}/edit", post(pages::update_client))
        .route("/clients/{id}/rotate", post(pages::rotate_secret))
        .route("/clients/{id}/disable", post(pages::disable_client))
        .route("/clients/{id}/enable", post(pages::enable_client))
        .route("/clients/{id}/delete", post(pages::delete_client))
        .route("/audit", get(pages::audit))
        .route("/assets/portal.css", get(stylesheet))
        .route("/assets/portal.js", get(script))
        .fallback(not_found)
        .layer(axum::middleware::map_response(protect))
        // gzip when the browser takes it: the clients page with 1,000 clients is ~200 KB of
        // HTML and ~20 KB compressed. Compression cannot leak the pages' secrets (BREACH): that
        // needs a cross-site request carrying the session, which SameSite=Strict rules out.
        .layer(tower_http::compression::CompressionLayer::new());
    Router::new().nest(PORTAL_PATH, pages)
}

/// Renders a page; a template that fails to render (it cannot, short of a bug) is a 500 that
/// names no secret.
pub(crate) fn render(page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(%error, "portal: a page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page failed to render",
            )
                .into_response()
        }
    }
}

/// The headers every portal response carries: the policy above, no caching (pages may show a
/// secret once), no sniffing, no referrer to other sites, no framing. (`no-referrer` would also
/// make browsers send `Origin: null` with the portal's own forms, which the origin check refuses.)
async fn protect(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        // The stylesheet and script set their own caching.
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

/// The assets change only with the binary: an hour in the browser's cache.
const ASSET_CACHING: &str = "public, max-age=3600";

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, ASSET_CACHING),
        ],
        include_str!("../../assets/portal.css"),
    )
}

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, ASSET_CACHING),
        ],
        include_str!("../../assets/portal.js"),
    )
}

async fn not_found() -> session::PortalError {
    session::PortalError::problem(StatusCode::NOT_FOUND, "There is no such portal page.")
}
