//! Prometheus metrics (`/metrics`, OpenMetrics text).
//!
//! Request-path events (upstream responses, proxy errors, 401 re-authentications) are counted as
//! they happen. Token-source figures (fetches by outcome, cache hits, seconds to expiry, budget
//! left) live in the library's sources and are copied in at scrape time, so the hot path of a
//! cached token pays nothing for them.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokenbroker::SourceHealth;

use crate::profile::Profile;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProfileLabel {
    profile: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FetchLabels {
    profile: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResponseLabels {
    upstream: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    upstream: String,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BudgetLabels {
    profile: String,
    window: &'static str,
}

/// The agent's metrics.
pub(crate) struct AgentMetrics {
    registry: Registry,
    fetches: Family<FetchLabels, Counter>,
    cache_hits: Family<ProfileLabel, Counter>,
    expiry: Family<ProfileLabel, Gauge<f64, AtomicU64>>,
    budget: Family<BudgetLabels, Gauge>,
    responses: Family<ResponseLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    reauthentications: Family<ProfileLabel, Counter>,
    failing: Family<ProfileLabel, Gauge>,
    retry_in: Family<ProfileLabel, Gauge<f64, AtomicU64>>,
    /// Copying source figures in must not interleave between two scrapes.
    sync: Mutex<()>,
}

impl Default for AgentMetrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("tokenbroker_agent");
        let metrics = Self {
            fetches: Family::default(),
            cache_hits: Family::default(),
            expiry: Family::default(),
            budget: Family::default(),
            responses: Family::default(),
            errors: Family::default(),
            reauthentications: Family::default(),
            failing: Family::default(),
            retry_in: Family::default(),
            sync: Mutex::new(()),
            registry: Registry::default(),
        };
        registry.register(
            "token_fetches",
            "Token requests by profile and outcome (success, failure, budget_refused) and tokens taken from the shared cache (shared_cache)",
            metrics.fetches.clone(),
        );
        registry.register(
            "token_cache_hits",
            "Token lookups answered from the local cache without waiting",
            metrics.cache_hits.clone(),
        );
        registry.register(
            "token_expiry_seconds",
            "Seconds until the cached token of each profile expires",
            metrics.expiry.clone(),
        );
        registry.register(
            "token_budget_remaining",
            "Token requests left in the budget's sliding window",
            metrics.budget.clone(),
        );
        registry.register(
            "upstream_responses",
            "Responses from upstreams by status",
            metrics.responses.clone(),
        );
        registry.register(
            "proxy_errors",
            "Requests the agent answered itself (no_valid_token, upstream_timeout, upstream_unreachable)",
            metrics.errors.clone(),
        );
        registry.register(
            "reauthentications",
            "Upstream 401s answered by fetching a new token and retrying once",
            metrics.reauthentications.clone(),
        );
        registry.register(
            "token_fetch_failures_in_a_row",
            "Token fetches that failed since the last token (0: the token endpoint answers)",
            metrics.failing.clone(),
        );
        registry.register(
            "token_fetch_retry_in_seconds",
            "Seconds until the next token fetch may start after failures (0 when none failed)",
            metrics.retry_in.clone(),
        );
        Self {
            registry,
            ..metrics
        }
    }
}

impl AgentMetrics {
    pub(crate) fn upstream_response(&self, upstream: &str, status: u16) {
        self.responses
            .get_or_create(&ResponseLabels {
                upstream: upstream.to_owned(),
                status,
            })
            .inc();
    }

    pub(crate) fn proxy_error(&self, upstream: &str, reason: &'static str) {
        self.errors
            .get_or_create(&ErrorLabels {
                upstream: upstream.to_owned(),
                reason,
            })
            .inc();
    }

    pub(crate) fn reauthenticated(&self, profile: &str) {
        self.reauthentications
            .get_or_create(&ProfileLabel {
                profile: profile.to_owned(),
            })
            .inc();
    }

    /// The text exposition, with the sources' figures copied in first.
    pub(crate) fn render<'a>(&self, profiles: impl Iterator<Item = &'a Arc<Profile>>) -> String {
        {
            let _one_at_a_time = self.sync.lock().unwrap_or_else(|e| e.into_inner());
            for profile in profiles {
                self.copy_in(profile);
            }
        }
        let mut text = String::new();
        encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }

    fn copy_in(&self, profile: &Profile) {
        let stats = profile.source.stats();
        let name = &profile.name;
        let fetch = |outcome: &'static str, total: u64| {
            let counter = self.fetches.get_or_create(&FetchLabels {
                profile: name.clone(),
                outcome,
            });
            raise_to(&counter, total);
        };
        fetch(
            "success",
            stats.fetches.saturating_sub(stats.fetch_failures),
        );
        fetch("failure", stats.fetch_failures);
        fetch("budget_refused", stats.budget_refusals);
        fetch("shared_cache", stats.shared_hits);
        let label = ProfileLabel {
            profile: name.clone(),
        };
        raise_to(
            &self.cache_hits.get_or_create(&label),
            profile.lookups().saturating_sub(stats.waits),
        );
        self.expiry
            .get_or_create(&label)
            .set(profile.seconds_to_expiry().unwrap_or(0.0));
        let (failures, retry_in) = match profile.source.health() {
            SourceHealth::Failing {
                failures, retry_in, ..
            } => (failures, retry_in.as_secs_f64()),
            _ => (0, 0.0),
        };
        self.failing.get_or_create(&label).set(i64::from(failures));
        self.retry_in.get_or_create(&label).set(retry_in);
        let left = profile.source.budget_left();
        for (window, left) in [("hour", left.hour), ("day", left.day)] {
            if let Some(left) = left {
                self.budget
                    .get_or_create(&BudgetLabels {
                        profile: name.clone(),
                        window,
                    })
                    .set(i64::from(left));
            }
        }
    }
}

/// Counters only go up: add the difference to a monotonic total.
fn raise_to(counter: &Counter, total: u64) {
    let current = counter.get();
    if total > current {
        counter.inc_by(total - current);
    }
}
