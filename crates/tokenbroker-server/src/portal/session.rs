//! Who is logged in to the portal, and proof that a form came from the portal's own page.
//!
//! The session cookie is `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's
//! page sends it), and under TLS `Secure` with the `__Host-` prefix (set only by this host, over
//! HTTPS, for the whole path) — OWASP Session Management. Every state-changing form carries the
//! session's anti-forgery token, compared in constant time, and a request whose `Origin` or
//! `Sec-Fetch-Site` names another site is refused before it is read (OWASP CSRF Prevention:
//! synchroniser token plus origin verification).

use std::sync::Arc;

use aws_lc_rs::constant_time;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use cookie::{Cookie, SameSite};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::views::{Layout, ProblemPage};
use super::{render, LOGIN_PATH};
use crate::registry::{Role, Session, SessionId};
use crate::state::AppState;

/// The cookie's name under TLS: the `__Host-` prefix binds it to this host and HTTPS.
const SECURE_COOKIE: &str = "__Host-tokenbroker-portal";
/// The cookie's name over plain HTTP (loopback development), where `Secure` cannot be set.
const PLAIN_COOKIE: &str = "tokenbroker-portal";
/// Longer presented session ids are not looked up (ours are 43 characters).
const MAX_SESSION_ID_BYTES: usize = 64;

/// Why a portal request is not served: send the browser to the login page, or show a problem.
#[derive(Debug)]
pub(super) enum PortalError {
    /// No live session: log in first.
    LogIn,
    /// A refusal or failure, shown as a page with this status.
    Problem {
        status: StatusCode,
        message: String,
        /// The frame of the page, when someone is logged in (boxed: errors stay small).
        layout: Option<Box<Layout>>,
    },
}

impl PortalError {
    pub(super) fn problem(status: StatusCode, message: impl Into<String>) -> Self {
        Self::Problem {
            status,
            message: message.into(),
            layout: None,
        }
    }

    /// The registry failed: logged with its cause, shown without it.
    pub(super) fn unavailable(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "portal: registry unavailable");
        Self::problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "The client registry is unavailable; try again shortly.",
        )
    }
}

impl IntoResponse for PortalError {
    fn into_response(self) -> Response {
        match self {
            Self::LogIn => Redirect::to(LOGIN_PATH).into_response(),
            Self::Problem {
                status,
                message,
                layout,
            } => {
                let mut layout = layout.map(|layout| *layout).unwrap_or_default();
                layout.title = status.canonical_reason().unwrap_or("Problem").to_owned();
                (status, render(&ProblemPage { layout, message })).into_response()
            }
        }
    }
}

/// The logged-in administrator of a portal request.
#[derive(Debug)]
pub(super) struct PortalSession(pub(super) Session);

impl PortalSession {
    /// Refuses (403) unless the administrator may change clients; viewers only look.
    pub(super) fn require_client_admin(&self) -> Result<(), PortalError> {
        if self.0.admin.has(Role::ClientAdmin) {
            return Ok(());
        }
        Err(PortalError::Problem {
            status: StatusCode::FORBIDDEN,
            message: format!(
                "Administrator {} has the viewer role, which may look but not change anything.",
                self.0.admin.name
            ),
            layout: Some(Box::new(Layout::for_session("Forbidden", &self.0))),
        })
    }

    /// True when the administrator may change clients.
    pub(super) fn can_change(&self) -> bool {
        self.0.admin.has(Role::ClientAdmin)
    }

    /// The page frame for this administrator.
    pub(super) fn layout(&self, title: impl Into<String>) -> Layout {
        Layout::for_session(title, &self.0)
    }
}

impl FromRequestParts<Arc<AppState>> for PortalSession {
    type Rejection = PortalError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let Some(id) = presented_session(&parts.headers, state.portal_cookies_secure) else {
            return Err(PortalError::LogIn);
        };
        match state.registry.session(&id).await {
            Ok(Some(session)) => Ok(Self(session)),
            Ok(None) => Err(PortalError::LogIn),
            Err(error) => Err(PortalError::unavailable(error)),
        }
    }
}

/// The session id the request's cookie presents, if any.
pub(super) fn presented_session(headers: &HeaderMap, secure: bool) -> Option<SessionId> {
    let name = cookie_name(secure);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_owned())
        .filter(|value| !value.is_empty() && value.len() <= MAX_SESSION_ID_BYTES)
        .map(|value| SessionId::new(&value))
}

fn cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_COOKIE
    } else {
        PLAIN_COOKIE
    }
}

/// The `Set-Cookie` value that hands `id` to the browser (a session cookie: gone when the
/// browser closes; the registry ends it sooner when idle or old).
pub(super) fn session_cookie(id: &SessionId, secure: bool) -> HeaderValue {
    let cookie = Cookie::build((cookie_name(secure), id.expose().to_owned()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .build();
    HeaderValue::from_str(&cookie.to_string()).expect("a base64url session id is a valid header")
}

/// The `Set-Cookie` value that removes the session cookie.
pub(super) fn removal_cookie(secure: bool) -> HeaderValue {
    let cookie = Cookie::build((cookie_name(secure), ""))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(cookie::time::Duration::ZERO)
        .build();
    HeaderValue::from_str(&cookie.to_string()).expect("an empty cookie is a valid header")
}

/// Refuses a request another site's page made the browser send: `Sec-Fetch-Site` other than
/// same-origin or none, or an `Origin` whose host is not the one the request is addressed to.
pub(super) fn check_same_origin(headers: &HeaderMap) -> Result<(), PortalError> {
    let forged = || {
        PortalError::problem(
            StatusCode::FORBIDDEN,
            "This form was sent from another site; the portal only accepts its own forms.",
        )
    };
    if let Some(site) = headers.get("sec-fetch-site") {
        if !matches!(site.as_bytes(), b"same-origin" | b"none") {
            return Err(forged());
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let origin_host = origin
            .to_str()
            .ok()
            .and_then(|o| url::Url::parse(o).ok())
            .map(|url| match (url.host_str(), url.port()) {
                (Some(host), Some(port)) => format!("{host}:{port}"),
                (Some(host), None) => host.to_owned(),
                (None, _) => String::new(),
            });
        if host.is_none() || origin_host.as_deref() != host {
            return Err(forged());
        }
    }
    Ok(())
}

/// Only the anti-forgery field of a form.
#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// A form with nothing but its anti-forgery token (disable, enable, log out).
#[derive(Debug, Deserialize)]
pub(super) struct NoFields {}

/// A form posted by a logged-in administrator from the portal's own page: same origin, and
/// carrying the session's anti-forgery token. `T` is the rest of the form.
pub(super) struct Posted<T> {
    pub(super) session: PortalSession,
    pub(super) form: T,
}

impl<T: DeserializeOwned> FromRequest<Arc<AppState>> for Posted<T> {
    type Rejection = PortalError;

    async fn from_request(
        request: Request,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        check_same_origin(&parts.headers)?;
        let session = PortalSession::from_request_parts(&mut parts, state).await?;
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|rejection| PortalError::problem(rejection.status(), rejection.body_text()))?;
        let presented = serde_urlencoded::from_bytes::<CsrfField>(&bytes)
            .map(|field| field.csrf)
            .unwrap_or_default();
        let expected = &session.0.csrf_token;
        if constant_time::verify_slices_are_equal(presented.as_bytes(), expected.as_bytes())
            .is_err()
        {
            return Err(PortalError::Problem {
                status: StatusCode::FORBIDDEN,
                message: "The form's anti-forgery token is missing or stale: reload the page and try again.".into(),
                layout: Some(Box::new(session.layout("Forbidden"))),
            });
        }
        let form = serde_urlencoded::from_bytes::<T>(&bytes).map_err(|error| {
            PortalError::problem(
                StatusCode::BAD_REQUEST,
                format!("The form is malformed: {error}."),
            )
        })?;
        Ok(Self { session, form })
    }
}
