//! `/healthz` (the process answers) and `/readyz` (every profile holds a token with enough
//! lifetime left to hand out, and what state each profile's token source is in), for
//! Kubernetes probes, load balancers and the people reading them.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::StatusCode;
use serde_json::json;
use tokenbroker::SourceHealth;

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
    let states: BTreeMap<&str, serde_json::Value> = state
        .profiles
        .iter()
        .map(|(name, profile)| (name.as_str(), describe(&profile.source.health())))
        .collect();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({ "ready": ready, "profiles": profiles, "states": states })),
    )
        .into_response()
}

/// A source's state as `/readyz` shows it: `{"state": "fresh"}`, or while fetches fail
/// `{"state": "failing", "failures": 3, "retry_in_seconds": 4, "serving_cached_token": true}`.
fn describe(health: &SourceHealth) -> serde_json::Value {
    match health {
        SourceHealth::Empty => json!({ "state": "empty" }),
        SourceHealth::Fresh => json!({ "state": "fresh" }),
        SourceHealth::Refreshing => json!({ "state": "refreshing" }),
        SourceHealth::Failing {
            failures,
            retry_in,
            serving,
        } => json!({
            "state": "failing",
            "failures": failures,
            "retry_in_seconds": retry_in.as_secs_f64().ceil(),
            "serving_cached_token": serving,
        }),
        // The enum may grow: a state this agent does not know is shown by name only.
        other => json!({ "state": format!("{other:?}") }),
    }
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
