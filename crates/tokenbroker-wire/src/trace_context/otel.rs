//! `tracing` spans as OpenTelemetry spans (feature `otel`): a span that continues a trace begun
//! on another host, and the `traceparent` a span hands to the next hop
//! ([W3C Trace Context §3.2](https://www.w3.org/TR/trace-context/#traceparent-header)).
//!
//! Both only take effect when the process installed a `tracing-opentelemetry` layer that sees
//! the span (the `tokenbroker` command does when `OTEL_EXPORTER_OTLP_ENDPOINT` is set); otherwise
//! they answer `false` and `None`, and a caller falls back to [`TraceParent::child`] and
//! [`TraceParent::new_root`], so trace ids still cross the hop.

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::TraceParent;

/// Makes `span` a child of `parent`, a span on another host. `false` when spans are not
/// exported (no OpenTelemetry layer, or `span` is disabled) or `span` has already started.
pub fn continue_remote(span: &tracing::Span, parent: &TraceParent) -> bool {
    let remote = SpanContext::new(
        TraceId::from_bytes(parent.trace_id),
        SpanId::from_bytes(parent.parent_id),
        TraceFlags::new(parent.flags),
        true,
        TraceState::NONE,
    );
    let context = opentelemetry::Context::new().with_remote_span_context(remote);
    span.set_parent(context).is_ok()
}

/// The `traceparent` that makes the next hop a child of `span`: its trace, its own span id and
/// its sampling decision. `None` when spans are not exported.
pub fn traceparent_of(span: &tracing::Span) -> Option<TraceParent> {
    let context = span.context();
    let exported = context.span();
    let ids = exported.span_context();
    ids.is_valid().then(|| TraceParent {
        trace_id: ids.trace_id().to_bytes(),
        parent_id: ids.span_id().to_bytes(),
        flags: ids.trace_flags().to_u8(),
    })
}
