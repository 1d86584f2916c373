//! OTLP span export (feature `otel`): when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, the `token fetch`, server `request` and agent
//! `proxy request` spans go to that collector over OTLP/HTTP, in batches from a thread of their
//! own. The standard `OTEL_*` variables configure it (protocol `http/protobuf` or `http/json`,
//! headers, timeout, `OTEL_SERVICE_NAME`, `OTEL_BSP_*`); `OTEL_SDK_DISABLED=true` or
//! `OTEL_TRACES_EXPORTER=none` turn it off.
//!
//! Bounded: the batch processor queues at most `OTEL_BSP_MAX_QUEUE_SIZE` spans (2,048 by
//! default) and drops the rest while the collector is slow; each export gives up after
//! `OTEL_EXPORTER_OTLP_TIMEOUT` (10 s by default).

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::SpanExporter;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::{Layer, Registry};

use crate::exit::CliError;

/// A layer of the global subscriber, whatever its filter.
pub(crate) type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// Flushes the spans still queued when the command ends.
pub(crate) struct Exporting {
    provider: SdkTracerProvider,
}

impl Drop for Exporting {
    fn drop(&mut self) {
        if let Err(error) = self.provider.shutdown() {
            eprintln!("tokenbroker: the last spans did not reach the OTLP endpoint: {error}");
        }
    }
}

/// The layer that exports spans, with what flushes it at exit, or `None` when no endpoint is
/// configured. `service` names this process when `OTEL_SERVICE_NAME` does not.
pub(crate) fn layer(service: &str) -> Result<Option<(BoxedLayer, Exporting)>, CliError> {
    if !wanted() {
        return Ok(None);
    }
    let protocol_var = [
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    ]
    .into_iter()
    .find_map(|name| non_empty(name).map(|value| (name, value)));
    if let Some((name, value)) = protocol_var.filter(|(_, value)| value == "grpc") {
        return Err(CliError::usage(format!(
            "{name}={value}: tokenbroker exports OTLP over HTTP only; use http/protobuf or \
             http/json (the collector's port 4318)"
        )));
    }
    let exporter = SpanExporter::builder()
        .with_http()
        .build()
        .map_err(|error| CliError::usage(format!("OTLP span export: {error}")))?;
    let mut resource = Resource::builder();
    if non_empty("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name(service.to_owned());
    }
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build();
    let tracer = provider.tracer("tokenbroker");
    let spans = crate::logging::TRACE_TARGETS
        .iter()
        .fold(Targets::new(), |targets, target| {
            targets.with_target(*target, Level::INFO)
        });
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(spans)
        .boxed();
    Ok(Some((layer, Exporting { provider })))
}

/// Whether the environment asks for span export.
fn wanted() -> bool {
    let endpoint = non_empty("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .or_else(|| non_empty("OTEL_EXPORTER_OTLP_ENDPOINT"))
        .is_some();
    let disabled = non_empty("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let no_exporter =
        non_empty("OTEL_TRACES_EXPORTER").is_some_and(|v| v.eq_ignore_ascii_case("none"));
    endpoint && !disabled && !no_exporter
}

fn non_empty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}
