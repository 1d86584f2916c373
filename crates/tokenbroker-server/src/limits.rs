//! Every failed-authentication limit a request meets: this node's own (`limiter.rs`) always,
//! and the fleet's (`shared_limits.rs`) when the registry is shared, so a client locked on one
//! node is locked on all of them and N nodes allow what one allows.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::limiter::{Attempt, FailureLimiter, LimiterRules};
use crate::registry::Registry;
use crate::shared_limits::SharedLimits;

/// The limits of one node.
#[derive(Debug, Default)]
pub(crate) struct Limits {
    local: FailureLimiter,
    shared: Option<Arc<SharedLimits>>,
}

impl Limits {
    /// This node's limits, and the fleet's when `registry` is shared; the task that keeps the
    /// fleet's blocks current, to be spawned by the caller.
    pub(crate) fn for_registry(registry: &Registry) -> (Self, Option<Arc<SharedLimits>>) {
        let rules = LimiterRules::default();
        let shared = registry
            .is_shared()
            .then(|| Arc::new(SharedLimits::new(registry.clone(), rules.clone())));
        let limits = Self {
            local: FailureLimiter::new(rules),
            shared: shared.clone(),
        };
        (limits, shared)
    }

    /// `Err(wait)` when `attempt` must not be tried now: how long until it may be.
    pub(crate) async fn check(&self, attempt: &Attempt<'_>) -> Result<(), Duration> {
        let local = self.local.check(attempt, Instant::now());
        let shared = match &self.shared {
            Some(shared) => shared.check(attempt).await,
            None => Ok(()),
        };
        match (local, shared) {
            (Err(a), Err(b)) => Err(a.max(b)),
            (Err(wait), _) | (_, Err(wait)) => Err(wait),
            _ => Ok(()),
        }
    }

    /// Counts one failed authentication of `attempt`.
    pub(crate) async fn failed(&self, attempt: &Attempt<'_>) {
        self.local.failed(attempt, Instant::now());
        if let Some(shared) = &self.shared {
            shared.failed(attempt).await;
        }
    }

    /// Records that `client` authenticated from `attempt`'s address.
    pub(crate) async fn succeeded(&self, attempt: &Attempt<'_>, client: &str) {
        self.local.succeeded(attempt, client, Instant::now());
        if let Some(shared) = &self.shared {
            shared.succeeded(attempt, client).await;
        }
    }
}
