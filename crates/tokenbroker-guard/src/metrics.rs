//! The guard's Prometheus metrics: validations by outcome, JWKS refreshes, keys known.

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: String,
}

/// Counters of one guard.
pub struct GuardMetrics {
    registry: Registry,
    validations: Family<Outcome, Counter>,
    /// The `ok` series of `validations`, held: counting the common outcome then takes no label
    /// allocation and no lock on the family's map.
    validated_ok: Counter,
    jwks_fetches: Gauge,
    keys: Gauge,
}

impl std::fmt::Debug for GuardMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardMetrics").finish_non_exhaustive()
    }
}

impl Default for GuardMetrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("tokenbroker_guard");
        let validations = Family::<Outcome, Counter>::default();
        let jwks_fetches = Gauge::default();
        let keys = Gauge::default();
        registry.register(
            "validations",
            "Token validations by outcome",
            validations.clone(),
        );
        registry.register(
            "jwks_fetches",
            "JWKS requests made to the issuer",
            jwks_fetches.clone(),
        );
        registry.register("keys", "Verification keys known", keys.clone());
        let validated_ok = validations
            .get_or_create(&Outcome {
                outcome: "ok".to_owned(),
            })
            .clone();
        Self {
            registry,
            validations,
            validated_ok,
            jwks_fetches,
            keys,
        }
    }
}

impl GuardMetrics {
    /// Counts one validation with `outcome` (`ok` or a rejection label).
    pub fn validated(&self, outcome: &str) {
        if outcome == "ok" {
            self.validated_ok.inc();
            return;
        }
        self.validations
            .get_or_create(&Outcome {
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// The OpenMetrics text, with the JWKS figures as of now.
    pub fn render(&self, jwks_fetches: u64, keys: usize) -> String {
        self.jwks_fetches.set(jwks_fetches as i64);
        self.keys.set(keys as i64);
        let mut text = String::new();
        encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}
