//! Prometheus metrics of one server instance (per-instance registry, so several servers can run in
//! one process, as in tests).

use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IssuedLabels {
    client_id: String,
    audience: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    reason: String,
}

/// The server's counters and histograms.
pub(crate) struct ServerMetrics {
    registry: Registry,
    issued: Family<IssuedLabels, Counter>,
    failures: Family<FailureLabels, Counter>,
    latency: Histogram,
    revoked: Counter,
}

impl Default for ServerMetrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("tokenbroker");
        let issued = Family::<IssuedLabels, Counter>::default();
        let failures = Family::<FailureLabels, Counter>::default();
        // 250 µs … ~4 s: signing is sub-millisecond, a slow database is seconds.
        let latency = Histogram::new(exponential_buckets(0.000_25, 2.0, 15));
        let revoked = Counter::default();
        registry.register("tokens_issued", "Access tokens issued", issued.clone());
        registry.register(
            "token_failures",
            "Token requests refused, by OAuth error",
            failures.clone(),
        );
        registry.register(
            "token_request_seconds",
            "Token endpoint latency",
            latency.clone(),
        );
        registry.register(
            "tokens_revoked",
            "Access tokens revoked (RFC 7009 or logout)",
            revoked.clone(),
        );
        Self {
            registry,
            issued,
            failures,
            latency,
            revoked,
        }
    }
}

impl ServerMetrics {
    /// A token was issued to `client_id` for `audience`.
    pub(crate) fn issued(&self, client_id: &str, audience: &str) {
        self.issued
            .get_or_create(&IssuedLabels {
                client_id: client_id.to_owned(),
                audience: audience.to_owned(),
            })
            .inc();
    }

    /// A token request was refused with `reason` (an RFC 6749 error code, or `rate_limited`).
    pub(crate) fn failed(&self, reason: &str) {
        self.failures
            .get_or_create(&FailureLabels {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// A token request took `elapsed`.
    pub(crate) fn observe(&self, elapsed: Duration) {
        self.latency.observe(elapsed.as_secs_f64());
    }

    /// A token was revoked.
    pub(crate) fn revoked(&self) {
        self.revoked.inc();
    }

    /// The OpenMetrics text exposition.
    pub(crate) fn render(&self) -> String {
        let mut text = String::new();
        encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}
