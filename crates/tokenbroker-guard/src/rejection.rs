//! Why a request was refused, and the HTTP answer for it.
//!
//! Entur's authentication pages: 401 for a missing, invalid or expired token; 403 for a valid token without the
//! permission (scope); 408 when the token expired during processing. RFC 6750 §3 shapes the
//! `WWW-Authenticate` challenge: no error code when no token was sent, `invalid_token` for a bad
//! one, `insufficient_scope` with the needed scope for 403. The JSON body says the same in words;
//! an expired token says so explicitly, as Telenor's APIs do (Telenor Sweden Open APIs).

use axum::response::{IntoResponse, Response};
use axum::Json;
use http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};
use serde_json::json;

/// A refused request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// No `Authorization` header.
    #[error("no access token: send Authorization: Bearer <token>")]
    Missing,
    /// An `Authorization` header that is not a bearer token.
    #[error("the Authorization header is not a Bearer token")]
    NotBearer,
    /// Longer than the configured limit.
    #[error("the access token is too large")]
    TooLarge,
    /// Not a JWT, or its header or claims do not parse.
    #[error("the access token is malformed")]
    Malformed,
    /// The header's `alg` is not allowed (including `none` and HS*).
    #[error("the access token's signing algorithm is not accepted")]
    Algorithm,
    /// The header's `typ` is not the required one.
    #[error("the access token's type is not accepted")]
    Type,
    /// Signed by a key the issuer does not publish.
    #[error("the access token is signed by an unknown key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the access token's signature is invalid")]
    Signature,
    /// Past `exp` (plus leeway).
    #[error("the access token has expired; obtain a new one")]
    Expired,
    /// Before `nbf` (minus leeway).
    #[error("the access token is not valid yet")]
    NotYetValid,
    /// Another issuer's token.
    #[error("the access token was issued by another authorization server")]
    Issuer,
    /// Not meant for this API.
    #[error("the access token is not meant for this API (audience)")]
    Audience,
    /// Revoked at the authorization server.
    #[error("the access token has been revoked")]
    Revoked,
    /// Valid, but without a scope this route needs.
    #[error("the access token lacks the scope {0}")]
    InsufficientScope(String),
    /// The token expired while the request was being processed.
    #[error("the access token expired during processing; obtain a new token and retry")]
    ExpiredDuringProcessing,
    /// The issuer's keys cannot be had; nothing can be verified.
    #[error("the issuer's keys are unavailable; try again later")]
    KeysUnavailable,
}

impl Rejection {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InsufficientScope(_) => StatusCode::FORBIDDEN,
            Self::ExpiredDuringProcessing => StatusCode::REQUEST_TIMEOUT,
            Self::KeysUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// The RFC 6750 §3.1 error code, if one applies.
    pub fn error_code(&self) -> Option<&'static str> {
        match self {
            Self::Missing => None,
            Self::NotBearer => Some("invalid_request"),
            Self::InsufficientScope(_) => Some("insufficient_scope"),
            Self::KeysUnavailable => None,
            _ => Some("invalid_token"),
        }
    }

    /// A short label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::NotBearer => "not_bearer",
            Self::TooLarge => "too_large",
            Self::Malformed => "malformed",
            Self::Algorithm => "algorithm",
            Self::Type => "type",
            Self::UnknownKey => "unknown_key",
            Self::Signature => "signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::Issuer => "issuer",
            Self::Audience => "audience",
            Self::Revoked => "revoked",
            Self::InsufficientScope(_) => "insufficient_scope",
            Self::ExpiredDuringProcessing => "expired_during_processing",
            Self::KeysUnavailable => "keys_unavailable",
        }
    }

    fn challenge(&self) -> Option<String> {
        if self.status() == StatusCode::SERVICE_UNAVAILABLE
            || self.status() == StatusCode::REQUEST_TIMEOUT
        {
            return None;
        }
        let description = self.to_string().replace('"', "'");
        Some(match (self.error_code(), self) {
            (None, _) => "Bearer".to_owned(),
            (Some(code), Self::InsufficientScope(scope)) => {
                format!("Bearer error=\"{code}\", error_description=\"{description}\", scope=\"{scope}\"")
            }
            (Some(code), _) => {
                format!("Bearer error=\"{code}\", error_description=\"{description}\"")
            }
        })
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let body = json!({
            "error": self.error_code().unwrap_or(self.label()),
            "error_description": self.to_string(),
        });
        let mut response = (self.status(), Json(body)).into_response();
        if let Some(challenge) = self
            .challenge()
            .and_then(|c| HeaderValue::from_str(&c).ok())
        {
            response.headers_mut().insert(WWW_AUTHENTICATE, challenge);
        }
        if self.status() == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("10"));
        }
        response
    }
}
