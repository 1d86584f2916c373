//! Where logs go and what they look like: stderr (stdout carries only results), text for a person
//! or JSON lines for a log pipeline, colour only at a terminal.

use clap::ValueEnum;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::exit::CliError;

/// The environment variable that picks the log format when `--log-format` is not given.
pub(crate) const LOG_FORMAT_ENV: &str = "TOKENBROKER_LOG_FORMAT";

/// The targets of the spans our crates open for tracing (not log lines): off in the log layer,
/// the only spans the OTLP exporter sends.
pub(crate) const TRACE_TARGETS: [&str; 3] = [
    tokenbroker::trace::TRACE_TARGET,
    tokenbroker_server::TRACE_TARGET,
    tokenbroker_agent::TRACE_TARGET,
];

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub(crate) enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, the event's fields (`message`
    /// among them) and the enclosing spans' fields, for Loki, Elasticsearch, CloudWatch and the
    /// like.
    Json,
}

/// How much a command logs when neither `-v` nor `RUST_LOG` says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DefaultLevel {
    /// Short commands (`token`, `clients list`…): only warnings, so their output stays the
    /// result.
    Quiet,
    /// Long-running services (`serve`, `agent`): start-up, access lines, reloads and recoveries.
    Service,
}

/// What must outlive the command for its spans to reach the collector (nothing without the
/// `otel` feature or an OTLP endpoint).
pub(crate) struct Telemetry {
    #[cfg(feature = "otel")]
    _exporting: Option<crate::telemetry::Exporting>,
}

/// Installs the global subscriber: log lines on stderr and, with the `otel` feature and an
/// `OTEL_EXPORTER_OTLP_ENDPOINT`, span export for `service`. `RUST_LOG` wins over `-v`, which
/// wins over the command's default.
#[cfg_attr(not(feature = "otel"), allow(unused_variables))]
pub(crate) fn init(
    format: LogFormat,
    verbose: u8,
    default: DefaultLevel,
    service: &str,
) -> Result<Telemetry, CliError> {
    let filter = EnvFilter::new(filter_spec(
        std::env::var("RUST_LOG").ok().as_deref(),
        verbose,
        default,
    ));
    let lines = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let lines: Box<dyn Layer<Registry> + Send + Sync> = match format {
        LogFormat::Text => lines
            .with_ansi(colour_on_stderr())
            .with_target(false)
            .boxed(),
        // Flattened, so `message`, `status` or `client_id` are top-level keys a query can name.
        LogFormat::Json => lines.json().flatten_event(true).boxed(),
    };
    #[cfg(feature = "otel")]
    let (spans, exporting) = crate::telemetry::layer(service)?.unzip();
    #[cfg(not(feature = "otel"))]
    let spans: Option<Box<dyn Layer<Registry> + Send + Sync>> = None;
    let layers: Vec<_> = std::iter::once(lines.with_filter(filter).boxed())
        .chain(spans)
        .collect();
    tracing_subscriber::registry().with(layers).init();
    Ok(Telemetry {
        #[cfg(feature = "otel")]
        _exporting: exporting,
    })
}

/// The `EnvFilter` directives for these settings.
fn filter_spec(rust_log: Option<&str>, verbose: u8, default: DefaultLevel) -> String {
    const OURS: [&str; 4] = [
        "tokenbroker",
        "tokenbroker_server",
        "tokenbroker_agent",
        "tokenbroker_guard",
    ];
    let ours_at = |level: &str| {
        let mut spec: Vec<String> = OURS.iter().map(|c| format!("{c}={level}")).collect();
        // Other crates (hyper, sqlx, rustls) only when something is wrong.
        spec.push("warn".to_owned());
        spec.join(",")
    };
    let spec = match (rust_log.filter(|spec| !spec.is_empty()), verbose, default) {
        (Some(spec), _, _) => spec.to_owned(),
        (None, 0, DefaultLevel::Quiet) => "warn".to_owned(),
        (None, 0, DefaultLevel::Service) => ours_at("info"),
        (None, 1, _) => ours_at("debug"),
        (None, _, _) => "trace".to_owned(),
    };
    // Spans opened for tracing are not log lines: off here, so without an exporter nobody
    // wants them and they cost a request nothing.
    let spans_off = TRACE_TARGETS
        .map(|target| format!(",{target}=off"))
        .concat();
    spec + &spans_off
}

/// Colour only for a person at a terminal, and not when they asked for none
/// (<https://no-color.org>): escape codes in a log file or a CI log are noise.
fn colour_on_stderr() -> bool {
    use std::io::IsTerminal;
    let refused = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    std::io::stderr().is_terminal() && !refused
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_log_our_info_and_everyone_elses_warnings() {
        let spec = filter_spec(None, 0, DefaultLevel::Service);
        assert!(spec.contains("tokenbroker_server=info"), "{spec}");
        assert!(spec.contains(",warn,"), "{spec}");
        assert!(filter_spec(None, 0, DefaultLevel::Quiet).starts_with("warn,"));
        assert!(spec.contains(",tokenbroker_agent::trace=off"), "{spec}");
    }

    #[test]
    fn rust_log_wins_then_verbosity() {
        assert!(filter_spec(Some("debug"), 2, DefaultLevel::Service).starts_with("debug,"));
        assert!(filter_spec(Some(""), 1, DefaultLevel::Quiet).contains("tokenbroker=debug"));
        assert!(filter_spec(None, 2, DefaultLevel::Quiet).starts_with("trace,"));
    }
}
