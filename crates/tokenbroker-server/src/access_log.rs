//! One access-log line per request, and rate-limited warnings for refused client logins.
//!
//! The line names the method, the route (the pattern that matched, never the raw path or query,
//! which a caller controls and which could carry a token), the status, the duration and — when
//! the request authenticated a client — its id. It is an `info` event with target
//! [`ACCESS_LOG_TARGET`], so `RUST_LOG=info,tokenbroker_server::access=off` silences it alone.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The `target` of access-log events.
pub const ACCESS_LOG_TARGET: &str = "tokenbroker_server::access";

/// The route label of a request no route matched (its path is not logged: a caller chose it).
const NO_ROUTE: &str = "(no route)";

/// The `target` of the server's spans (one per request, named `METHOD ROUTE`, so the token
/// endpoint's is `POST /oauth2/token`): they exist for an OpenTelemetry exporter, so a subscriber
/// that only logs can leave the target off.
pub const TRACE_TARGET: &str = "tokenbroker_server::trace";

/// Middleware: runs the request inside a `request` span (whose `client_id` the client
/// authentication fills in) and logs the access line when the response is ready. Around it, a
/// span for tracing continues the caller's W3C trace when spans are exported (feature `otel`).
pub(crate) async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(NO_ROUTE.to_owned(), |path| path.as_str().to_owned());
    let traced = tracing::info_span!(
        target: TRACE_TARGET,
        "request",
        otel.name = format!("{method} {route}"),
        otel.kind = "server",
        http.request.method = %method,
        http.route = route,
        http.response.status_code = tracing::field::Empty,
    );
    continue_callers_trace(&traced, request.headers());
    let span = traced.in_scope(|| {
        tracing::info_span!(
            target: ACCESS_LOG_TARGET,
            "request",
            client_id = tracing::field::Empty
        )
    });
    let response = next
        .run(request)
        .instrument(span.clone())
        .instrument(traced.clone())
        .await;
    traced.record("http.response.status_code", response.status().as_u16());
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| {
        tracing::info!(
            target: ACCESS_LOG_TARGET,
            method = %method,
            route,
            status = response.status().as_u16(),
            duration_ms,
            "request"
        );
    });
    response
}

/// Makes `span` the child of the caller's span when the request carries exactly one valid
/// `traceparent` and spans are exported.
#[cfg_attr(not(feature = "otel"), allow(unused_variables))]
fn continue_callers_trace(span: &tracing::Span, headers: &axum::http::HeaderMap) {
    #[cfg(feature = "otel")]
    {
        use tokenbroker_wire::trace_context::{otel, TraceParent};
        if let Some(parent) = TraceParent::from_headers(headers) {
            otel::continue_remote(span, &parent);
        }
    }
}

/// Names the authenticated client on the current request's access line.
pub(crate) fn record_client(client_id: &str) {
    tracing::Span::current().record("client_id", client_id);
}

/// Most refused-login warnings logged a minute; the rest are counted into the next one, so an
/// attacker guessing secrets cannot flood the log (or hide in it).
pub(crate) const REFUSAL_WARNINGS_PER_MINUTE: u32 = 10;

/// The rate limit on refused-login warnings.
#[derive(Debug, Default)]
pub(crate) struct RefusalWarnings {
    window: Mutex<Window>,
}

#[derive(Debug, Default)]
struct Window {
    started: Option<SystemTime>,
    logged: u32,
    suppressed: u64,
}

impl RefusalWarnings {
    /// Whether a warning may be logged at `now`; `Some(n)` with the number of refusals left
    /// unlogged since the previous warning.
    pub(crate) fn admit(&self, now: SystemTime) -> Option<u64> {
        let mut window = self.window.lock().unwrap_or_else(|p| p.into_inner());
        let expired = window.started.is_none_or(|started| {
            now.duration_since(started).unwrap_or(Duration::ZERO) >= Duration::from_secs(60)
        });
        if expired {
            window.started = Some(now);
            window.logged = 0;
        }
        if window.logged >= REFUSAL_WARNINGS_PER_MINUTE {
            window.suppressed = window.suppressed.saturating_add(1);
            return None;
        }
        window.logged += 1;
        Some(std::mem::take(&mut window.suppressed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_warnings_a_minute_then_the_count_of_the_rest() {
        let limit = RefusalWarnings::default();
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        for _ in 0..REFUSAL_WARNINGS_PER_MINUTE {
            assert_eq!(limit.admit(start), Some(0));
        }
        assert_eq!(limit.admit(start + Duration::from_secs(30)), None);
        assert_eq!(limit.admit(start + Duration::from_secs(59)), None);
        assert_eq!(limit.admit(start + Duration::from_secs(60)), Some(2));
        assert_eq!(limit.admit(start + Duration::from_secs(61)), Some(0));
    }
}
