//! Error responses of the token endpoint: RFC 6749 §5.2, plus Telenor's numeric codes.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An RFC 6749 §5.2 error, optionally with a Telenor error code (seed 003).
#[derive(Debug, Clone)]
pub struct OAuthError {
    /// HTTP status.
    pub status: StatusCode,
    /// The `error` code, e.g. `invalid_client`.
    pub error: &'static str,
    /// Human-readable `error_description`.
    pub description: String,
    /// Telenor-style numeric code, sent only by Telenor-dialect endpoints.
    pub code: Option<u32>,
    /// The status Telenor-dialect endpoints use when it differs from RFC 6749's (e.g. 403 for an
    /// illegal scope, seed 003).
    pub status_with_codes: Option<StatusCode>,
    /// Add `WWW-Authenticate: Basic` (RFC 6749 §5.2: invalid_client with Basic authentication).
    pub basic_challenge: bool,
    /// Seconds for a `Retry-After` header.
    pub retry_after: Option<u64>,
}

impl OAuthError {
    /// An error with this status, code and description.
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            code: None,
            status_with_codes: None,
            basic_challenge: false,
            retry_after: None,
        }
    }

    /// 429: too many failed authentications; try again in `retry_after`.
    pub fn too_many_failures(retry_after: std::time::Duration) -> Self {
        let seconds = retry_after.as_secs().max(1);
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "slow_down",
            format!("too many failed client authentications; retry in {seconds} s"),
        );
        error.retry_after = Some(seconds);
        error
    }

    /// `invalid_request` (400).
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// `invalid_client` (401).
    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
    }

    /// Attaches a Telenor error code.
    pub fn with_code(mut self, code: u32) -> Self {
        self.code = Some(code);
        self
    }

    /// Uses `status` instead of the RFC one where numeric codes are spoken.
    pub fn with_status_for_codes(mut self, status: StatusCode) -> Self {
        self.status_with_codes = Some(status);
        self
    }

    /// Adapts the error to a dialect: Telenor keeps its codes and statuses, RFC 6749 drops both.
    pub fn for_dialect(mut self, numeric_codes: bool) -> Self {
        if numeric_codes {
            if let Some(status) = self.status_with_codes {
                self.status = status;
            }
        } else {
            self.code = None;
        }
        self
    }

    /// Asks for Basic credentials in `WWW-Authenticate`.
    pub fn with_basic_challenge(mut self) -> Self {
        self.basic_challenge = true;
        self
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.error, "error_description": self.description });
        if let Some(code) = self.code {
            body["code"] = json!(code);
        }
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.basic_challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"tokenbroker\", charset=\"UTF-8\""),
            );
        }
        response
    }
}
