//! # tokenbroker-agent
//!
//! A sidecar that gives services in any language authenticated access to partner APIs without
//! code: an authenticating reverse proxy per upstream (`/NAME/...` → `base_url/...` with
//! `Authorization: Bearer`, `ET-Client-Name`, `X-Transaction-Id` and `X-JWT` as the profile says;
//! the Entur and Telenor pages), a token endpoint (`GET /v1/token/{profile}`), `/healthz`, `/readyz` and
//! `/metrics`. With `[agent.shared_cache]`, a fleet of agents shares one token through Redis.
//!
//! The CLI's `tokenbroker agent --config FILE` reads `tokenbroker.toml` and calls
//! [`Agent::start`]; this crate does not read files or parse arguments itself.
//!
//! Module map: [`settings`] (the `[agent]` table) → `state` (profiles, upstreams) → `workers`
//! (thread-per-core serving) → `connections` (one listener's connections) → `proxy`
//! (forwarding, with `headers`, `replay` and `upstream_client`) / `token_endpoint` / `health` →
//! `metrics`;
//! `reload` (secrets) and `logout` (shutdown) around them; `access_log` writes a line per request.
//!
//! Every request runs in a `proxy request` span under [`TRACE_TARGET`]; with the `otel` feature
//! and a `tracing-opentelemetry` layer in the process, that span is exported as the caller's
//! span's child and the upstream's parent.

mod access_log;
mod agent;
mod caller_check;
mod connections;
mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod headers;
mod health;
mod idle_timeout;
mod logout;
mod metrics;
#[cfg(any(test, feature = "fuzzing"))]
mod path_model;
mod problem;
mod profile;
mod proxy;
mod reload;
mod replay;
pub mod settings;
mod state;
mod token_endpoint;
mod upstream_client;
mod workers;

pub use access_log::ACCESS_LOG_TARGET;
pub use agent::{Agent, AgentConfig};
pub use error::AgentError;
pub use profile::{NoToken, ProfileSpec};
pub use settings::{AgentSettings, BudgetSettings, SharedCacheSettings, UpstreamSettings};
pub use token_endpoint::SECRET_HEADER;

/// The `target` of the agent's spans (`proxy request`): they exist for an OpenTelemetry
/// exporter, so a subscriber that only logs can leave the target off.
pub const TRACE_TARGET: &str = "tokenbroker_agent::trace";
