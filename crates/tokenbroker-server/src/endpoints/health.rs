//! Operations: `/healthz` (the process answers), `/readyz` (the keys are current and the registry
//! can be written) and
//! `/metrics` (Prometheus/OpenMetrics text).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// Liveness: the server is running.
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the node has the registry's current key schedule, and the registry can be
/// written, so tokens, refresh tokens and revocations can be issued and recorded (a registry
/// that only reads, on a full disk, is not ready).
pub(crate) async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    if !state
        .keys_current
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the key schedule changed but could not be loaded",
        )
            .into_response();
    }
    match state.registry.probe_write().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(error) => {
            tracing::warn!(%error, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the client registry is unavailable",
            )
                .into_response()
        }
    }
}

/// The metrics in the OpenMetrics text format.
pub(crate) async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}
