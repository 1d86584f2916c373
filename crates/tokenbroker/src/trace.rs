//! Distributed tracing: the `token fetch` span, and the W3C `traceparent`
//! ([Trace Context §3.2](https://www.w3.org/TR/trace-context/#traceparent-header)) that carries
//! the current span to the token endpoint and, through [`crate::AuthMiddleware`], to the API.
//!
//! Spans go under [`TRACE_TARGET`]: they exist for an OpenTelemetry exporter, so a subscriber
//! that only logs can leave the target off. With the `otel` feature, and a
//! `tracing-opentelemetry` layer installed by the application, outgoing requests carry the
//! current span as their parent; without either, nothing is added (a span that is not exported
//! has no id to hand on).

use http::HeaderMap;

/// The `target` of the spans this crate opens (`token fetch`).
pub const TRACE_TARGET: &str = "tokenbroker::trace";

/// Adds a `traceparent` naming the current span to `headers`, unless they already carry one
/// (the caller's own trace wins) or spans are not exported.
#[cfg_attr(not(feature = "otel"), allow(unused_variables))]
pub(crate) fn propagate_current_span(headers: &mut HeaderMap) {
    #[cfg(feature = "otel")]
    {
        use crate::wire::trace_context::{otel, TRACEPARENT};
        if headers.contains_key(TRACEPARENT) {
            return;
        }
        let Some(parent) = otel::traceparent_of(&tracing::Span::current()) else {
            return;
        };
        // Hex digits and dashes: always a valid header value.
        if let Ok(value) = http::HeaderValue::try_from(parent.to_string()) {
            headers.insert(TRACEPARENT, value);
        }
    }
}
