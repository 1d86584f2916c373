//! `/healthz` (the process answers) and `/readyz` (every profile holds a token with enough
//! lifetime left to hand out), for Kubernetes probes and load balancers.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::StatusCode;
use serde_json::json;

use crate::state::AgentState;

pub(crate) async fn healthz() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

pub(crate) async fn readyz(State(state): State<Arc<AgentState>>) -> Response {
    let profiles: BTreeMap<&str, bool> = state
        .profiles
        .iter()
        .map(|(name, profile)| (name.as_str(), profile.ready()))
        .collect();
    let ready = profiles.values().all(|ready| *ready);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({ "ready": ready, "profiles": profiles })),
    )
        .into_response()
}

pub(crate) async fn metrics(State(state): State<Arc<AgentState>>) -> Response {
    let text = state.metrics.render(state.profiles.values());
    (
        [(
            http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
