//! One access-log line per request the agent answers: method, route (the upstream's name, or the
//! agent's own endpoint — never the rest of the path or the query, which could carry anything),
//! the profile whose token was used, status, duration and the W3C trace id the request carried on
//! (so the line can be found from the upstream's logs). Never a token.
//!
//! An `info` event with target [`ACCESS_LOG_TARGET`]: `RUST_LOG=info,tokenbroker_agent::access=off`
//! silences it alone. When it is off, a request pays one callsite check.

use std::time::Instant;

use http::{Method, Request, StatusCode};
use tokenbroker::wire::trace_context::TraceParent;

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
    trace_id: String,
}

/// The start of a line for `request`, which carries `trace` on, or `None` when access logging
/// is off.
pub(crate) fn start<'a, B>(
    state: &'a AgentState,
    request: &Request<B>,
    trace: &TraceParent,
) -> Option<Pending<'a>> {
    if !tracing::enabled!(target: ACCESS_LOG_TARGET, tracing::Level::INFO) {
        return None;
    }
    let (route, profile) = route_of(state, request.uri().path());
    Some(Pending {
        started: Instant::now(),
        method: request.method().clone(),
        route,
        profile,
        trace_id: trace.trace_id_hex(),
    })
}

/// The route a request for `path` takes — the upstream's name, the agent's own endpoint, or
/// `(unknown upstream)`, never more of the path — and the profile whose token it uses.
pub(crate) fn route_of<'a>(state: &'a AgentState, path: &str) -> (&'a str, Option<&'a str>) {
    let name = split_upstream(path).map_or("", |(name, _)| name);
    if let Some(&own) = RESERVED_NAMES.iter().find(|&&n| n == name) {
        (own, None)
    } else if let Some((name, upstream)) = state.upstreams.get_key_value(name) {
        (name.as_str(), Some(upstream.profile.name.as_str()))
    } else {
        ("(unknown upstream)", None)
    }
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
            trace_id = %self.trace_id,
            "request"
        );
    }
}
