//! The agent's own error answers: JSON, one line, naming what failed and where.

use axum::response::{IntoResponse, Response};
use axum::Json;
use http::StatusCode;
use serde_json::{json, Map, Value};
use tokenbroker::wire::headers::no_store;

/// `{"error": code, "message": message, ...context}` with `status`.
pub(crate) fn problem(status: StatusCode, code: &str, message: &str, context: Value) -> Response {
    let mut body = Map::new();
    body.insert("error".into(), json!(code));
    body.insert("message".into(), json!(message));
    if let Value::Object(extra) = context {
        body.extend(extra);
    }
    let mut response = (status, Json(Value::Object(body))).into_response();
    no_store(response.headers_mut());
    response
}

/// 503: no valid token for `profile`; the request was not forwarded.
pub(crate) fn no_token(profile: &str, reason: &str) -> Response {
    problem(
        StatusCode::SERVICE_UNAVAILABLE,
        "no_valid_token",
        "no valid access token could be obtained; the request was not forwarded",
        json!({ "profile": profile, "reason": reason }),
    )
}
