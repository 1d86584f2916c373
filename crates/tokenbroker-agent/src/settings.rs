//! The `[agent]` table of `tokenbroker.toml`: what the agent listens on, where each upstream is,
//! and how patient, thrifty and shared it is. Every key but `listen` and the upstreams has a
//! default; unknown keys are errors, so a typo is reported with its line by the CLI.
//!
//! ```toml
//! [agent]
//! listen = "127.0.0.1:7070"
//! [[agent.upstreams]]
//! name = "entur"              # requests to /entur/... go to base_url/...
//! profile = "entur-dev"
//! base_url = "https://api.dev.entur.io"
//! [agent.shared_cache]
//! redis_url = "redis://127.0.0.1:6379"
//! key_env = "TOKENBROKER_CACHE_KEY"
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use tokenbroker::FetchBudget;

/// Paths the agent answers itself; no upstream may take these names.
pub const RESERVED_NAMES: [&str; 4] = ["healthz", "readyz", "metrics", "v1"];

/// The `[agent]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSettings {
    /// Address of the proxy, the token endpoint and the health endpoints: loopback, unless
    /// `listen_beyond_loopback` allows more.
    pub listen: SocketAddr,
    /// Allow a `listen` address beyond loopback (a sidecar reached over a pod or compose
    /// network). Anyone who reaches the address can use the agent's credentials, so this also
    /// needs `allowed_hosts` (the names callers use) and either `token_endpoint_secret_env` or
    /// `token_endpoint = false`. Default false.
    #[serde(default)]
    pub listen_beyond_loopback: bool,
    /// Also serve everything on this Unix socket (created with mode 0600).
    pub unix_socket: Option<PathBuf>,
    /// The upstream APIs, each under `/NAME/`.
    #[serde(default)]
    pub upstreams: Vec<UpstreamSettings>,
    /// More profiles to serve on the token endpoint only (those of the upstreams always are).
    #[serde(default)]
    pub token_profiles: Vec<String>,
    /// Serving threads, each with its own event loop and upstream connections (default: one per
    /// CPU).
    pub worker_threads: Option<usize>,
    /// Serve `GET /v1/token/{profile}` (default true).
    #[serde(default = "yes")]
    pub token_endpoint: bool,
    /// Environment variable holding a shared secret that token-endpoint callers must send in
    /// `X-Tokenbroker-Secret`.
    pub token_endpoint_secret_env: Option<String>,
    /// Request bodies up to this size are buffered so a 401 can be retried (default 1 MiB).
    #[serde(default = "default_replay_body_bytes")]
    pub max_replay_body_bytes: usize,
    /// Seconds to connect to an upstream (default 5).
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: f64,
    /// Seconds to wait for an upstream's response headers (default 30).
    #[serde(default = "default_upstream_timeout")]
    pub upstream_timeout: f64,
    /// Seconds an upstream body may stall between two chunks (default 60).
    #[serde(default = "default_read_timeout")]
    pub read_timeout: f64,
    /// Seconds an unused upstream connection is kept open for reuse (default 90).
    #[serde(default = "default_idle_timeout")]
    pub upstream_idle_timeout: f64,
    /// `Host` names to serve besides loopback ones (`localhost`, `127.0.0.0/8`, `::1`): requests
    /// naming any other host are refused, which defeats DNS rebinding.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Browser origins (`scheme://host[:port]`) whose requests are served; requests from any
    /// other web page (an `Origin` header, or `Sec-Fetch-Site: cross-site`) are refused.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Seconds a caller has to send a request's headers (default 10): a caller trickling them
    /// (slowloris) is disconnected.
    #[serde(default = "default_header_read_timeout")]
    pub header_read_timeout: f64,
    /// Seconds a caller has to send a request body the agent buffers for a retry (up to
    /// `max_replay_body_bytes`; default 30): a body trickled slower is answered 408.
    #[serde(default = "default_body_read_timeout")]
    pub body_read_timeout: f64,
    /// Open caller connections at most, over all serving threads (default 1024); more are
    /// closed on accept.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Seconds to let in-flight requests finish on shutdown (default 30).
    #[serde(default = "default_drain_timeout")]
    pub drain_timeout: f64,
    /// Log the tokens out at the provider on shutdown (Telenor `GET /oauth/v2/logout`).
    #[serde(default)]
    pub logout_on_shutdown: bool,
    /// Seconds between checks of secret files for changes; 0 turns polling off (SIGHUP still
    /// reloads). Default 5.
    #[serde(default = "default_secret_poll")]
    pub secret_poll_interval: f64,
    /// The budget of every profile without its own (default: 120 token requests per hour).
    #[serde(default = "default_budget")]
    pub budget: BudgetSettings,
    /// Budgets by profile name.
    #[serde(default)]
    pub budgets: BTreeMap<String, BudgetSettings>,
    /// A Redis cache shared by every agent (and library user) with the same key.
    pub shared_cache: Option<SharedCacheSettings>,
}

/// One `[[agent.upstreams]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamSettings {
    /// Path prefix: `/NAME/rest` is forwarded to `base_url/rest`.
    pub name: String,
    /// The `[profiles.NAME]` whose token and headers are added.
    pub profile: String,
    /// Where the API is (HTTPS, or HTTP on loopback).
    pub base_url: String,
    /// Speak HTTP/2 to this upstream without negotiation (h2c, or h2 over TLS without ALPN).
    /// Over TLS, HTTP/2 is negotiated anyway when the upstream offers it.
    #[serde(default)]
    pub http2_prior_knowledge: bool,
    /// PEM file of extra CA certificates to trust for this upstream, besides the system's (a
    /// private CA, or a test certificate).
    pub ca_file: Option<PathBuf>,
}

/// A token budget: a cap on token requests per sliding hour and day.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetSettings {
    /// Token requests allowed in any hour.
    pub per_hour: Option<u32>,
    /// Token requests allowed in any day.
    pub per_day: Option<u32>,
}

/// The `[agent.shared_cache]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedCacheSettings {
    /// `redis://host:port[/db]`; a password belongs in the URL's user info.
    pub redis_url: String,
    /// Environment variable holding the 32-byte base64 key that seals tokens in Redis.
    pub key_env: String,
    /// Prefix of the Redis keys (default `tokenbroker`).
    #[serde(default = "default_key_prefix")]
    pub key_prefix: String,
    /// Milliseconds each Redis operation may take before Redis is skipped (default 250).
    #[serde(default = "default_redis_timeout")]
    pub timeout_ms: u64,
    /// Milliseconds to wait for another agent's token before fetching here (default 5000).
    #[serde(default = "default_max_wait")]
    pub max_wait_ms: u64,
}

impl BudgetSettings {
    /// As the library's type.
    pub fn to_budget(self) -> FetchBudget {
        FetchBudget {
            per_hour: self.per_hour,
            per_day: self.per_day,
        }
    }
}

impl AgentSettings {
    /// The budget for `profile`.
    pub fn budget_for(&self, profile: &str) -> FetchBudget {
        self.budgets
            .get(profile)
            .copied()
            .unwrap_or(self.budget)
            .to_budget()
    }

    /// How many serving threads to run.
    pub fn serving_threads(&self) -> usize {
        self.worker_threads
            .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
            .unwrap_or(1)
            .clamp(1, 256)
    }

    /// The names of every profile the agent needs: the upstreams' and `token_profiles`, once each.
    pub fn profile_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .upstreams
            .iter()
            .map(|u| u.profile.clone())
            .chain(self.token_profiles.iter().cloned())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Checks what serde cannot: loopback unless allowed, unique and unreserved names, sane
    /// durations.
    pub fn validate(&self) -> Result<(), String> {
        self.validate_listen()?;
        if self.upstreams.is_empty() && (!self.token_endpoint || self.token_profiles.is_empty()) {
            return Err(
                "[agent] has no [[agent.upstreams]] and no token_profiles for the token endpoint: nothing to serve"
                    .into(),
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        for upstream in &self.upstreams {
            let name = &upstream.name;
            let valid = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
            if !valid {
                return Err(format!(
                    "[[agent.upstreams]] name {name:?} must be a non-empty path segment (letters, digits, - _ .)"
                ));
            }
            if RESERVED_NAMES.contains(&name.as_str()) {
                return Err(format!(
                    "[[agent.upstreams]] name {name:?} is reserved for the agent's own endpoints ({})",
                    RESERVED_NAMES.join(", ")
                ));
            }
            if !seen.insert(name) {
                return Err(format!("[[agent.upstreams]] name {name:?} appears twice"));
            }
        }
        for (key, value) in [
            ("connect_timeout", self.connect_timeout),
            ("upstream_timeout", self.upstream_timeout),
            ("read_timeout", self.read_timeout),
            ("upstream_idle_timeout", self.upstream_idle_timeout),
            ("drain_timeout", self.drain_timeout),
            ("header_read_timeout", self.header_read_timeout),
            ("body_read_timeout", self.body_read_timeout),
        ] {
            if !(value.is_finite() && value > 0.0 && value <= MAX_SETTING_SECONDS) {
                return Err(format!(
                    "[agent] {key} = {value} must be a number of seconds above 0 and at most {MAX_SETTING_SECONDS}"
                ));
            }
        }
        if !(1..=MAX_CONNECTIONS).contains(&self.max_connections) {
            return Err(format!(
                "[agent] max_connections = {} must be 1 to {MAX_CONNECTIONS}",
                self.max_connections
            ));
        }
        let poll = self.secret_poll_interval;
        if !(poll.is_finite() && (0.0..=MAX_SETTING_SECONDS).contains(&poll)) {
            return Err(format!(
                "[agent] secret_poll_interval = {poll} must be 0 (off) to {MAX_SETTING_SECONDS} seconds"
            ));
        }
        Ok(())
    }

    /// A listener beyond loopback only when asked for, with the Host allow-list and a locked or
    /// absent token endpoint that make it safe to reach from other machines.
    fn validate_listen(&self) -> Result<(), String> {
        if self.listen.ip().is_loopback() {
            return Ok(());
        }
        let listen = self.listen;
        if !self.listen_beyond_loopback {
            return Err(format!(
                "[agent] listen = \"{listen}\" is not a loopback address: the agent hands out \
                 authenticated access, so it listens on 127.0.0.1 or ::1 unless \
                 listen_beyond_loopback = true"
            ));
        }
        if self.allowed_hosts.is_empty() {
            return Err(format!(
                "[agent] listen = \"{listen}\" beyond loopback needs allowed_hosts: the names \
                 callers reach the agent by (others are refused, which defeats DNS rebinding)"
            ));
        }
        if self.token_endpoint && self.token_endpoint_secret_env.is_none() {
            return Err(format!(
                "[agent] listen = \"{listen}\" beyond loopback needs token_endpoint_secret_env \
                 (callers send the secret in X-Tokenbroker-Secret) or token_endpoint = false: \
                 otherwise anyone on the network can take the agent's tokens"
            ));
        }
        Ok(())
    }

    /// `seconds` as a duration: validated above, and clamped here so that no value, validated or
    /// not, can panic.
    pub(crate) fn duration(seconds: f64) -> Duration {
        Duration::try_from_secs_f64(seconds.clamp(0.0, MAX_SETTING_SECONDS)).unwrap_or_default()
    }
}

/// The longest duration any `[agent]` setting takes: a day.
pub const MAX_SETTING_SECONDS: f64 = 86_400.0;

/// The most caller connections `max_connections` may allow.
pub const MAX_CONNECTIONS: usize = 1 << 20;

fn yes() -> bool {
    true
}
fn default_replay_body_bytes() -> usize {
    1024 * 1024
}
fn default_connect_timeout() -> f64 {
    5.0
}
fn default_upstream_timeout() -> f64 {
    30.0
}
fn default_read_timeout() -> f64 {
    60.0
}
fn default_idle_timeout() -> f64 {
    90.0
}
fn default_header_read_timeout() -> f64 {
    10.0
}
fn default_body_read_timeout() -> f64 {
    30.0
}
fn default_max_connections() -> usize {
    1024
}
fn default_drain_timeout() -> f64 {
    30.0
}
fn default_secret_poll() -> f64 {
    5.0
}
fn default_budget() -> BudgetSettings {
    BudgetSettings {
        per_hour: Some(120),
        per_day: None,
    }
}
fn default_key_prefix() -> String {
    "tokenbroker".into()
}
fn default_redis_timeout() -> u64 {
    250
}
fn default_max_wait() -> u64 {
    5000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(extra: &str) -> AgentSettings {
        toml::from_str(&format!(
            "listen = \"0.0.0.0:7070\"\ntoken_profiles = [\"p\"]\n{extra}"
        ))
        .unwrap()
    }

    /// Beyond loopback only when asked for, and then only with a Host allow-list and a token
    /// endpoint that is locked or off. (Checked without binding: tests stay on loopback.)
    #[test]
    fn listening_beyond_loopback_needs_the_setting_a_host_list_and_a_locked_token_endpoint() {
        let refused = [
            ("", "listen_beyond_loopback = true"),
            ("listen_beyond_loopback = true", "needs allowed_hosts"),
            (
                "listen_beyond_loopback = true\nallowed_hosts = [\"agent\"]",
                "needs token_endpoint_secret_env",
            ),
        ];
        for (extra, expected) in refused {
            let error = settings(extra).validate().unwrap_err();
            assert!(error.contains(expected), "{extra}: {error}");
        }
        let allowed = [
            "listen_beyond_loopback = true\nallowed_hosts = [\"agent\"]\ntoken_endpoint_secret_env = \"S\"",
            "listen_beyond_loopback = true\nallowed_hosts = [\"agent\"]\ntoken_endpoint = false\n[[upstreams]]\nname = \"api\"\nprofile = \"p\"\nbase_url = \"https://api.example\"",
        ];
        for extra in allowed {
            assert_eq!(settings(extra).validate(), Ok(()), "{extra}");
        }
    }
}
