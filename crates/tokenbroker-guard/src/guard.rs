//! The guard: everything needed to decide whether one access token may call this API.

use std::sync::Arc;

use serde_json::Value;

use crate::config::{GuardConfig, MAX_POLL_INTERVAL};
use crate::jwks::JwksCache;
use crate::metrics::GuardMetrics;
use crate::rejection::Rejection;
use crate::revocations::RevocationList;
use crate::token::VerifiedToken;
use crate::verifier::Verifier;

/// The key cache and the revocation list `config` asks for, not yet fetched.
fn sources(
    config: &GuardConfig,
) -> Result<(Arc<JwksCache>, Option<Arc<RevocationList>>), GuardError> {
    let jwks_url = config
        .jwks_url
        .clone()
        .ok_or_else(|| error(config, "Guard::spawn needs jwks_url".into()))?;
    let jwks = Arc::new(JwksCache::new(jwks_url, config.jwks.clone()));
    let revocations = config
        .revocations
        .as_ref()
        .map(|feed| Arc::new(RevocationList::new(feed.url.clone())));
    Ok((jwks, revocations))
}

/// Why a guard could not start.
#[derive(Debug, thiserror::Error)]
#[error("guard for issuer {issuer}: {message}")]
pub struct GuardError {
    /// The issuer.
    pub issuer: String,
    /// What went wrong.
    pub message: String,
}

/// Validates access tokens for one API: signature (issuer's JWKS), `typ`, `iss`, `aud`,
/// `exp`/`nbf`, and the revocation list. Cheap to share (`Arc`).
pub struct Guard {
    config: GuardConfig,
    verifier: Verifier<Arc<JwksCache>>,
    revocations: Option<Arc<RevocationList>>,
    metrics: GuardMetrics,
    background: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("issuer", &self.config.rules.issuer)
            .field("audience", &self.config.rules.audience)
            .field("revocations", &self.revocations.is_some())
            .finish_non_exhaustive()
    }
}

impl Guard {
    /// Discovers the JWKS (RFC 8414) when no URL is configured, fetches the keys and the
    /// revocations once, and starts keeping both fresh. Needs a Tokio runtime.
    pub async fn start(mut config: GuardConfig) -> Result<Arc<Self>, GuardError> {
        if config.jwks_url.is_none() {
            config.jwks_url = Some(discover_jwks(&config).await?);
        }
        let (jwks, revocations) = sources(&config)?;
        // Fetched here, before the background tasks start, so they begin from fresh data instead
        // of racing this first fetch with one of their own.
        if let Err(message) = jwks.refresh().await {
            // Start anyway: the issuer may come up later; until then requests get 503.
            tracing::warn!(issuer = %config.rules.issuer, %message, "no keys yet; will keep trying");
        }
        if let Some(list) = &revocations {
            if let Err(message) = list.poll().await {
                tracing::warn!(%message, "revocation feed unavailable at start");
            }
        }
        Self::run(config, jwks, revocations)
    }

    /// Starts a guard without waiting for the issuer: `config.jwks_url` must be set; keys and
    /// revocations are fetched in the background and on first use. For APIs served by the same
    /// process as their issuer, which is not answering yet when the guard is built.
    pub fn spawn(config: GuardConfig) -> Result<Arc<Self>, GuardError> {
        let (jwks, revocations) = sources(&config)?;
        Self::run(config, jwks, revocations)
    }

    /// The guard, with tasks keeping its keys and revocations fresh.
    fn run(
        config: GuardConfig,
        jwks: Arc<JwksCache>,
        revocations: Option<Arc<RevocationList>>,
    ) -> Result<Arc<Self>, GuardError> {
        if config.rules.audience.is_none() {
            return Err(error(
                &config,
                "no audience: a guard accepts only tokens meant for its API".into(),
            ));
        }
        let verifier =
            Verifier::new(config.rules.clone(), Arc::clone(&jwks)).map_err(|symmetric| {
                error(
                    &config,
                    format!(
                        "{symmetric:?} is symmetric; a guard accepts asymmetric algorithms only"
                    ),
                )
            })?;
        if let Some(feed) = &config.revocations {
            if feed.poll_interval.is_zero() || feed.poll_interval > MAX_POLL_INTERVAL {
                return Err(error(
                    &config,
                    format!(
                        "revocation poll interval {:?}: must be more than zero and at most {} s",
                        feed.poll_interval,
                        MAX_POLL_INTERVAL.as_secs()
                    ),
                ));
            }
        }
        let mut background = vec![tokio::spawn(jwks.keep_fresh())];
        if let (Some(list), Some(feed)) = (&revocations, &config.revocations) {
            background.push(tokio::spawn(
                Arc::clone(list).keep_polling(feed.poll_interval),
            ));
        }
        Ok(Arc::new(Self {
            config,
            verifier,
            revocations,
            metrics: GuardMetrics::default(),
            background,
        }))
    }

    /// Checks `token` and returns its verified claims (counted in the metrics).
    pub async fn verify(&self, token: &str) -> Result<VerifiedToken, Rejection> {
        let outcome = self.check(token).await;
        self.count(outcome.as_ref().err());
        outcome
    }

    /// Counts one request's outcome: `ok` when `rejection` is `None`.
    pub(crate) fn count(&self, rejection: Option<&Rejection>) {
        self.metrics
            .validated(rejection.map_or("ok", Rejection::label));
    }

    /// The configuration.
    pub fn config(&self) -> &GuardConfig {
        &self.config
    }

    /// The key cache (for its counters).
    pub fn jwks(&self) -> &JwksCache {
        self.verifier.keys()
    }

    /// Fetches the revocation feed now (tests, and operators who cannot wait for the interval).
    pub async fn poll_revocations(&self) -> Result<usize, String> {
        match &self.revocations {
            Some(list) => list.poll().await,
            None => Ok(0),
        }
    }

    /// The metrics in OpenMetrics text.
    pub fn metrics_text(&self) -> String {
        self.metrics
            .render(self.jwks().fetch_count(), self.jwks().key_count())
    }

    /// Checks `token` without counting it (the layer counts each request once, scope included):
    /// the shared [`Verifier`], then the revocation list.
    pub(crate) async fn check(&self, token: &str) -> Result<VerifiedToken, Rejection> {
        let verified = self.verifier.verify(token, self.config.clock.now()).await?;
        if let (Some(list), Some(jti)) = (&self.revocations, verified.jti()) {
            if list.is_revoked(jti) {
                return Err(Rejection::Revoked);
            }
        }
        Ok(verified)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        for task in &self.background {
            task.abort();
        }
    }
}

/// RFC 8414 §3: `<issuer>/.well-known/oauth-authorization-server` names the `jwks_uri`; issuers
/// that only speak OpenID Connect Discovery publish it at `/.well-known/openid-configuration`.
async fn discover_jwks(config: &GuardConfig) -> Result<String, GuardError> {
    let issuer = config.rules.issuer.trim_end_matches('/');
    let mut problems = Vec::new();
    for document in ["oauth-authorization-server", "openid-configuration"] {
        let url = format!("{issuer}/.well-known/{document}");
        match jwks_uri_from(&url).await {
            Ok(jwks_uri) => return Ok(jwks_uri),
            Err(problem) => problems.push(format!("{url}: {problem}")),
        }
    }
    Err(error(
        config,
        format!("discovery found no jwks_uri ({})", problems.join("; ")),
    ))
}

/// The largest metadata document read (RFC 8414 documents are a few KiB).
const MAX_METADATA_BYTES: usize = 64 * 1024;

/// How long discovery waits for each metadata document.
const DISCOVERY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

async fn jwks_uri_from(url: &str) -> Result<String, String> {
    let http = reqwest::Client::builder()
        .timeout(DISCOVERY_TIMEOUT)
        .build()
        .map_err(|e| e.to_string())?;
    let response = http.get(url).send().await.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    let body = crate::jwks::read_bounded(response, MAX_METADATA_BYTES).await?;
    let metadata: Value = serde_json::from_slice(&body).map_err(|_| "not JSON".to_owned())?;
    metadata
        .get("jwks_uri")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| "no jwks_uri".to_owned())
}

fn error(config: &GuardConfig, message: String) -> GuardError {
    GuardError {
        issuer: config.rules.issuer.clone(),
        message,
    }
}
