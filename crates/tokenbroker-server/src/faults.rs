//! Test doubles (the `testing` feature only): fault knobs that make the server misbehave
//! the ways real ones do, and counters of what reached it.
//!
//! They sit in a layer around the router ([`TestDoubles::wrap`]) that only
//! [`AuthServer`](crate::AuthServer) adds under this feature, so no shipped build contains them.
//! Tests flip the knobs at run time to check that clients survive slow servers, error statuses,
//! broken bodies and the `expires_in` variants real providers send.

use std::sync::atomic::{AtomicU16, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::dialect::{Dialect, STANDARD_TOKEN_PATH};

/// A broken body the token endpoint can send instead of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum BodyFault {
    /// A proper token response.
    None = 0,
    /// A 200 with a body that is not JSON.
    NotJson = 1,
    /// A 200 with an HTML error page (what proxies send).
    Html = 2,
    /// A 200 JSON object without `access_token`.
    MissingAccessToken = 3,
    /// A 200 JSON body larger than any client should read (1 MiB).
    Oversized = 4,
}

/// How `expires_in` appears in token responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExpiresInFormat {
    /// The endpoint's dialect decides (a string for Telenor Sweden, a number elsewhere).
    AsTheDialectSays = 0,
    /// Always a JSON number.
    Number = 1,
    /// Always a numeric string, as Telenor Sweden Open APIs shows (`"3599"`).
    String = 2,
    /// Left out: clients must use the JWT's `exp`.
    Missing = 3,
}

/// The fault knobs of one server; all default to "behave".
#[derive(Debug, Default)]
pub struct Faults {
    delay_ms: AtomicU64,
    status: AtomicU16,
    retry_after_secs: AtomicU64,
    body: AtomicU8,
    expires_in: AtomicU8,
    advertised_expires_in: AtomicU64,
    opaque_tokens: std::sync::atomic::AtomicBool,
}

impl Faults {
    /// Delays every token response by `delay`.
    pub fn set_delay(&self, delay: Duration) {
        self.delay_ms
            .store(delay.as_millis() as u64, Ordering::Relaxed);
    }

    /// Answers every token request with `status` (and an RFC 6749 error body); `None` to stop.
    pub fn fail_with_status(&self, status: Option<u16>) {
        self.status.store(status.unwrap_or(0), Ordering::Relaxed);
    }

    /// Sends `Retry-After` with injected failures; `None` to stop.
    pub fn set_retry_after(&self, after: Option<Duration>) {
        self.retry_after_secs
            .store(after.map_or(0, |d| d.as_secs()), Ordering::Relaxed);
    }

    /// Sends a broken body instead of a token.
    pub fn set_body(&self, fault: BodyFault) {
        self.body.store(fault as u8, Ordering::Relaxed);
    }

    /// Chooses how `expires_in` is sent.
    pub fn set_expires_in(&self, format: ExpiresInFormat) {
        self.expires_in.store(format as u8, Ordering::Relaxed);
    }

    /// Advertises this `expires_in` regardless of the token's real `exp` (to test that clients
    /// take the earlier of the two); `None` to tell the truth.
    pub fn advertise_expires_in(&self, seconds: Option<u64>) {
        self.advertised_expires_in
            .store(seconds.unwrap_or(0), Ordering::Relaxed);
    }

    /// Issues random opaque tokens instead of JWTs (Telenor's tokens look like this, Telenor Norway client credentials grant),
    /// so clients cannot read an `exp` claim.
    pub fn set_opaque_tokens(&self, opaque: bool) {
        self.opaque_tokens.store(opaque, Ordering::Relaxed);
    }

    /// Clears every fault.
    pub fn reset(&self) {
        self.set_delay(Duration::ZERO);
        self.fail_with_status(None);
        self.set_retry_after(None);
        self.set_body(BodyFault::None);
        self.set_expires_in(ExpiresInFormat::AsTheDialectSays);
        self.advertise_expires_in(None);
        self.set_opaque_tokens(false);
    }

    pub(crate) fn delay(&self) -> Option<Duration> {
        let ms = self.delay_ms.load(Ordering::Relaxed);
        (ms > 0).then(|| Duration::from_millis(ms))
    }

    pub(crate) fn status(&self) -> Option<u16> {
        let status = self.status.load(Ordering::Relaxed);
        (status != 0).then_some(status)
    }

    pub(crate) fn retry_after(&self) -> Option<u64> {
        let secs = self.retry_after_secs.load(Ordering::Relaxed);
        (secs != 0).then_some(secs)
    }

    pub(crate) fn body(&self) -> BodyFault {
        match self.body.load(Ordering::Relaxed) {
            1 => BodyFault::NotJson,
            2 => BodyFault::Html,
            3 => BodyFault::MissingAccessToken,
            4 => BodyFault::Oversized,
            _ => BodyFault::None,
        }
    }

    pub(crate) fn expires_in(&self) -> ExpiresInFormat {
        match self.expires_in.load(Ordering::Relaxed) {
            1 => ExpiresInFormat::Number,
            2 => ExpiresInFormat::String,
            3 => ExpiresInFormat::Missing,
            _ => ExpiresInFormat::AsTheDialectSays,
        }
    }

    pub(crate) fn opaque_tokens(&self) -> bool {
        self.opaque_tokens.load(Ordering::Relaxed)
    }

    pub(crate) fn advertised_expires_in(&self) -> Option<u64> {
        let secs = self.advertised_expires_in.load(Ordering::Relaxed);
        (secs != 0).then_some(secs)
    }
}

/// What reached the server, counted by the test layer.
#[derive(Debug, Default)]
struct Counters {
    token_requests: AtomicU64,
    tokens_issued: AtomicU64,
    jwks_requests: AtomicU64,
}

/// The test doubles of one server: its fault knobs and its counters.
#[derive(Debug, Default)]
pub struct TestDoubles {
    faults: Faults,
    counters: Counters,
}

/// The JWKS path, whose requests are counted.
use crate::routes::JWKS_PATH;

/// Token responses are tiny; anything bigger is passed on untouched.
const MAX_REWRITTEN_BODY: usize = 64 * 1024;

impl TestDoubles {
    /// The fault knobs.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Requests that reached a token endpoint, failed ones included.
    pub fn token_requests(&self) -> u64 {
        self.counters.token_requests.load(Ordering::Relaxed)
    }

    /// Tokens issued (token responses with status 200).
    pub fn tokens_issued(&self) -> u64 {
        self.counters.tokens_issued.load(Ordering::Relaxed)
    }

    /// Requests for the JWKS.
    pub fn jwks_requests(&self) -> u64 {
        self.counters.jwks_requests.load(Ordering::Relaxed)
    }

    /// `router` with these doubles around every route.
    pub fn wrap(self: &Arc<Self>, router: Router) -> Router {
        router.layer(axum::middleware::from_fn_with_state(
            Arc::clone(self),
            inject,
        ))
    }
}

fn is_token_path(path: &str) -> bool {
    path == STANDARD_TOKEN_PATH || Dialect::ALL.iter().any(|d| d.token_path() == path)
}

/// Counts, then delays, fails or rewrites token responses as the knobs say.
async fn inject(State(doubles): State<Arc<TestDoubles>>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path == JWKS_PATH {
        doubles
            .counters
            .jwks_requests
            .fetch_add(1, Ordering::Relaxed);
    }
    if !is_token_path(path) {
        return next.run(request).await;
    }
    doubles
        .counters
        .token_requests
        .fetch_add(1, Ordering::Relaxed);
    let faults = &doubles.faults;
    if let Some(delay) = faults.delay() {
        tokio::time::sleep(delay).await;
    }
    if let Some(status) = faults.status() {
        return injected_failure(status, faults.retry_after());
    }
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    doubles
        .counters
        .tokens_issued
        .fetch_add(1, Ordering::Relaxed);
    match broken_body(faults.body()) {
        Some(broken) => broken,
        None => rewrite_token_response(response, faults).await,
    }
}

/// Applies the `expires_in` and opaque-token knobs to a token response.
async fn rewrite_token_response(response: Response, faults: &Faults) -> Response {
    let untouched = faults.expires_in() == ExpiresInFormat::AsTheDialectSays
        && faults.advertised_expires_in().is_none()
        && !faults.opaque_tokens();
    if untouched {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_REWRITTEN_BODY).await else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "test layer: unreadable body",
        )
            .into_response();
    };
    let Ok(mut token) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    if faults.opaque_tokens() {
        token["access_token"] = json!(opaque_token());
    }
    let issued = match &token["expires_in"] {
        Value::String(text) => text.parse().ok(),
        other => other.as_u64(),
    };
    if let Some(seconds) = faults.advertised_expires_in().or(issued) {
        let as_string = token["expires_in"].is_string();
        match faults.expires_in() {
            ExpiresInFormat::Number => token["expires_in"] = json!(seconds),
            ExpiresInFormat::String => token["expires_in"] = json!(seconds.to_string()),
            ExpiresInFormat::Missing => {
                token
                    .as_object_mut()
                    .map(|fields| fields.remove("expires_in"));
            }
            ExpiresInFormat::AsTheDialectSays if as_string => {
                token["expires_in"] = json!(seconds.to_string())
            }
            ExpiresInFormat::AsTheDialectSays => token["expires_in"] = json!(seconds),
        }
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(token.to_string()))
}

/// The misbehaving body a [`BodyFault`] asks for, if any.
fn broken_body(fault: BodyFault) -> Option<Response> {
    Some(match fault {
        BodyFault::None => return None,
        BodyFault::NotJson => (StatusCode::OK, "this is not json").into_response(),
        BodyFault::Html => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        )
            .into_response(),
        BodyFault::MissingAccessToken => {
            Json(json!({ "token_type": "Bearer", "expires_in": 3600 })).into_response()
        }
        BodyFault::Oversized => {
            Json(json!({ "access_token": "x".repeat(1 << 20), "token_type": "Bearer" }))
                .into_response()
        }
    })
}

fn injected_failure(status: u16, retry_after: Option<u64>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (
        status,
        Json(json!({ "error": "temporarily_unavailable", "error_description": "fault injected by the test server" })),
    )
        .into_response();
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// A random token that is not a JWT: 256 bits, base64url.
fn opaque_token() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system RNG works");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
