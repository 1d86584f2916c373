//! Error responses of the token endpoint: [RFC 6749 §5.2](https://www.rfc-editor.org/rfc/rfc6749#section-5.2)
//! bodies ([`ErrorBody`]), plus Telenor's numeric codes ([`TelenorCode`]) where the endpoint
//! speaks Telenor's dialect.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tokenbroker_wire::headers::no_store;
use tokenbroker_wire::oauth_error::{ErrorBody, TelenorCode};

/// An RFC 6749 §5.2 error, optionally with a Telenor error code.
#[derive(Debug, Clone)]
pub(crate) struct OAuthError {
    /// HTTP status.
    pub status: StatusCode,
    /// The `error` code, e.g. `invalid_client`.
    pub error: &'static str,
    /// Human-readable `error_description`.
    pub description: String,
    /// Telenor's code, sent (with its own status, e.g. 403 for an illegal scope) only by
    /// Telenor-dialect endpoints.
    pub code: Option<TelenorCode>,
    /// Seconds for a `Retry-After` header.
    pub retry_after: Option<u64>,
}

impl OAuthError {
    /// An error with this status, code and description.
    pub(crate) fn new(
        status: StatusCode,
        error: &'static str,
        description: impl Into<String>,
    ) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            code: None,
            retry_after: None,
        }
    }

    /// 429: too many failed authentications; try again in `retry_after`.
    pub(crate) fn too_many_failures(retry_after: std::time::Duration) -> Self {
        let seconds = retry_after.as_secs().max(1);
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            // RFC 6749 has no code for this and `slow_down` belongs to the device flow (RFC 8628
            // §3.5); Auth0, whose token endpoint Entur's is, answers `too_many_requests`.
            "too_many_requests",
            format!("too many failed client authentications; retry in {seconds} s"),
        );
        error.retry_after = Some(seconds);
        error
    }

    /// `invalid_request` (400).
    pub(crate) fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// `invalid_client` (401).
    pub(crate) fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
    }

    /// Attaches Telenor's code for this error.
    pub(crate) fn with_code(mut self, code: TelenorCode) -> Self {
        self.code = Some(code);
        self
    }

    /// Adapts the error to a dialect: Telenor's answers carry the code and its status, RFC 6749's
    /// neither.
    pub(crate) fn for_dialect(mut self, numeric_codes: bool) -> Self {
        match self.code {
            Some(code) if numeric_codes => {
                self.status = StatusCode::from_u16(code.status).unwrap_or(self.status);
            }
            _ => self.code = None,
        }
        self
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.error.to_owned(),
            error_description: Some(self.description),
            code: self.code.map(|code| code.code),
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        no_store(headers);
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        // Every 401 names how to authenticate (RFC 9110 §11.6.1; RFC 6749 §5.2 for Basic): these
        // endpoints take client credentials, and Basic is the scheme the header carries.
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"tokenbroker\", charset=\"UTF-8\""),
            );
        }
        response
    }
}
