//! The guard: everything needed to decide whether one access token may call this API.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, decode_header, Algorithm, Validation};
use serde_json::{Map, Value};

use crate::config::{is_asymmetric, GuardConfig};
use crate::jwks::{JwksCache, KeyLookup};
use crate::metrics::GuardMetrics;
use crate::rejection::Rejection;
use crate::revocations::RevocationList;
use crate::token::VerifiedToken;

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
    jwks: Arc<JwksCache>,
    revocations: Option<Arc<RevocationList>>,
    metrics: GuardMetrics,
    background: Vec<tokio::task::JoinHandle<()>>,
}

impl Guard {
    /// Discovers the JWKS (RFC 8414) when no URL is configured, fetches the keys and the
    /// revocations once, and starts keeping both fresh. Needs a Tokio runtime.
    pub async fn start(mut config: GuardConfig) -> Result<Arc<Self>, GuardError> {
        check_algorithms(&config)?;
        if config.jwks_url.is_none() {
            config.jwks_url = Some(discover_jwks(&config).await?);
        }
        let (jwks, revocations) = sources(&config)?;
        // Fetched here, before the background tasks start, so they begin from fresh data instead
        // of racing this first fetch with one of their own.
        if let Err(message) = jwks.refresh().await {
            // Start anyway: the issuer may come up later; until then requests get 503.
            tracing::warn!(issuer = %config.issuer, %message, "no keys yet; will keep trying");
        }
        if let Some(list) = &revocations {
            if let Err(message) = list.poll().await {
                tracing::warn!(%message, "revocation feed unavailable at start");
            }
        }
        Ok(Self::run(config, jwks, revocations))
    }

    /// Starts a guard without waiting for the issuer: `config.jwks_url` must be set; keys and
    /// revocations are fetched in the background and on first use. For APIs served by the same
    /// process as their issuer, which is not answering yet when the guard is built.
    pub fn spawn(config: GuardConfig) -> Result<Arc<Self>, GuardError> {
        check_algorithms(&config)?;
        let (jwks, revocations) = sources(&config)?;
        Ok(Self::run(config, jwks, revocations))
    }

    /// The guard, with tasks keeping its keys and revocations fresh.
    fn run(
        config: GuardConfig,
        jwks: Arc<JwksCache>,
        revocations: Option<Arc<RevocationList>>,
    ) -> Arc<Self> {
        let mut background = vec![tokio::spawn(Arc::clone(&jwks).keep_fresh())];
        if let (Some(list), Some(feed)) = (&revocations, &config.revocations) {
            background.push(tokio::spawn(
                Arc::clone(list).keep_polling(feed.poll_interval),
            ));
        }
        Arc::new(Self {
            config,
            jwks,
            revocations,
            metrics: GuardMetrics::default(),
            background,
        })
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
        &self.jwks
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
            .render(self.jwks.fetch_count(), self.jwks.key_count())
    }

    /// Checks `token` without counting it (the layer counts each request once, scope included).
    pub(crate) async fn check(&self, token: &str) -> Result<VerifiedToken, Rejection> {
        if token.len() > self.config.max_token_bytes {
            return Err(Rejection::TooLarge);
        }
        let algorithm = self.allowed_algorithm(token)?;
        let header = decode_header(token).map_err(|_| Rejection::Malformed)?;
        if let Some(required) = &self.config.required_typ {
            if !header
                .typ
                .as_deref()
                .is_some_and(|typ| typ.eq_ignore_ascii_case(required))
            {
                return Err(Rejection::Type);
            }
        }
        let kid = header.kid.as_deref().ok_or(Rejection::Malformed)?;
        let key = self.jwks.key(kid).await.map_err(|lookup| match lookup {
            KeyLookup::Unknown => Rejection::UnknownKey,
            KeyLookup::Unavailable => Rejection::KeysUnavailable,
        })?;
        if key.algorithm.is_some_and(|declared| declared != algorithm) {
            return Err(Rejection::Algorithm);
        }
        let claims = decode::<Map<String, Value>>(token, &key.key, &self.validation(algorithm))
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => Rejection::Expired,
                ErrorKind::ImmatureSignature => Rejection::NotYetValid,
                ErrorKind::InvalidIssuer => Rejection::Issuer,
                ErrorKind::InvalidAudience => Rejection::Audience,
                ErrorKind::InvalidSignature => Rejection::Signature,
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidKeyFormat => Rejection::Algorithm,
                _ => Rejection::Malformed,
            })?
            .claims;
        let verified = VerifiedToken::new(claims);
        // RFC 7519 §4.1.4: not accepted *on or after* exp (jsonwebtoken still accepts it during
        // that very second). This also keeps a 401 consistent with the layer's 408 deadline.
        if verified.expires_at() + self.config.leeway <= std::time::SystemTime::now() {
            return Err(Rejection::Expired);
        }
        if let (Some(list), Some(jti)) = (&self.revocations, verified.jti()) {
            if list.is_revoked(jti) {
                return Err(Rejection::Revoked);
            }
        }
        Ok(verified)
    }

    /// The header's `alg`, if it is on the allow-list. Read before anything else, so `none` and
    /// HS* (algorithm confusion) are refused by name.
    fn allowed_algorithm(&self, token: &str) -> Result<Algorithm, Rejection> {
        let header_segment = token.split('.').next().ok_or(Rejection::Malformed)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(header_segment)
            .map_err(|_| Rejection::Malformed)?;
        let header: Value = serde_json::from_slice(&bytes).map_err(|_| Rejection::Malformed)?;
        let name = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or(Rejection::Malformed)?;
        let algorithm: Algorithm = name.parse().map_err(|_| Rejection::Algorithm)?;
        if !self.config.algorithms.contains(&algorithm) || !is_asymmetric(algorithm) {
            return Err(Rejection::Algorithm);
        }
        Ok(algorithm)
    }

    fn validation(&self, algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.leeway = self.config.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        for task in &self.background {
            task.abort();
        }
    }
}

fn check_algorithms(config: &GuardConfig) -> Result<(), GuardError> {
    match config.algorithms.iter().find(|a| !is_asymmetric(**a)) {
        Some(algorithm) => Err(error(
            config,
            format!("{algorithm:?} is symmetric; a guard accepts asymmetric algorithms only"),
        )),
        None => Ok(()),
    }
}

/// RFC 8414 §3: `<issuer>/.well-known/oauth-authorization-server` names the `jwks_uri`; issuers
/// that only speak OpenID Connect Discovery publish it at `/.well-known/openid-configuration`.
async fn discover_jwks(config: &GuardConfig) -> Result<String, GuardError> {
    let issuer = config.issuer.trim_end_matches('/');
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

async fn jwks_uri_from(url: &str) -> Result<String, String> {
    let response = reqwest::get(url).await.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    let metadata: Value = response.json().await.map_err(|_| "not JSON".to_owned())?;
    metadata
        .get("jwks_uri")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| "no jwks_uri".to_owned())
}

fn error(config: &GuardConfig, message: String) -> GuardError {
    GuardError {
        issuer: config.issuer.clone(),
        message,
    }
}
