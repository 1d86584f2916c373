//! One access-log line per request the agent answers: method, route (the upstream's name, or the
//! agent's own endpoint — never the rest of the path or the query, which could carry anything),
//! the profile whose token was used, status and duration. Never a token.
//!
//! An `info` event with target [`ACCESS_LOG_TARGET`]: `RUST_LOG=info,tokenbroker_agent::access=off`
//! silences it alone. When it is off, a request pays one callsite check.

use std::time::Instant;

use http::{Method, StatusCode};

use crate::proxy::split_upstream;
use crate::settings::RESERVED_NAMES;
use crate::state::AgentState;

/// The `target` of access-log events.
pub const ACCESS_LOG_TARGET: &str = "tokenbroker_agent::access";

/// What the line says of a request, taken before it is handled.
pub(crate) struct Pending<'a> {
    started: Instant,
    method: Method,
    route: &'a str,
    profile: Option<&'a str>,
}

/// The start of a line for a request to `path`, or `None` when access logging is off.
pub(crate) fn start<'a>(state: &'a AgentState, method: &Method, path: &str) -> Option<Pending<'a>> {
    if !tracing::enabled!(target: ACCESS_LOG_TARGET, tracing::Level::INFO) {
        return None;
    }
    let name = split_upstream(path).map_or("", |(name, _)| name);
    let (route, profile) = if let Some(&own) = RESERVED_NAMES.iter().find(|&&n| n == name) {
        (own, None)
    } else if let Some((name, upstream)) = state.upstreams.get_key_value(name) {
        (name.as_str(), Some(upstream.profile.name.as_str()))
    } else {
        ("(unknown upstream)", None)
    };
    Some(Pending {
        started: Instant::now(),
        method: method.clone(),
        route,
        profile,
    })
}

impl Pending<'_> {
    /// Logs the line for a request answered with `status`.
    pub(crate) fn finish(self, status: StatusCode) {
        tracing::info!(
            target: ACCESS_LOG_TARGET,
            method = %self.method,
            route = self.route,
            profile = self.profile.unwrap_or("-"),
            status = status.as_u16(),
            duration_ms = self.started.elapsed().as_secs_f64() * 1000.0,
            "request"
        );
    }
}
