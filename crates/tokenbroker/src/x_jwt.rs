//! Telenor Sweden's X-JWT (Telenor Sweden Open APIs) as a chained credential.
//!
//! Communication APIs need a second token: `POST …/hasPermission/corporate/?service=<API name>`
//! with the current bearer token, a unique `X-Transaction-Id` and `{clientId, userId, password}`
//! returns `{"token": <X-JWT>}`, valid one hour. [`XJwtSource`] obtains it with the bearer token
//! from a [`TokenSource`], caches it until 75 % of its lifetime has passed (expiry from its `exp`
//! claim), and drops it when the bearer token changes, since it was issued for that one.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::{ArcSwap, ArcSwapOption};
use serde_json::{json, Value};
use url::Url;

use crate::error::Error;
use crate::exchange::read_response;
use crate::response::{is_header_safe, parse_error_body};
use crate::source::RefreshPolicy;
use crate::source::TokenSource;
use crate::token::AccessToken;
use crate::wire::headers::{self, new_transaction_id};
use crate::wire::https::{
    parse_secure_url_allowing, redact_url, require_https_allowing, PlainHttpHosts,
};
use crate::wire::jwt::peek_times;
use crate::wire::ClientSecret;
use crate::wire::{Clock, SystemClock};
use secrecy::ExposeSecret;

/// How long one hasPermission call may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// After a refused or failed hasPermission call, callers get the same error for this long instead
/// of each making a new call (a wrong password would otherwise cost one call per API request).
const FAILURE_COOLDOWN: Duration = Duration::from_secs(5);

/// Lifetime assumed when the X-JWT carries no `exp` (Telenor Sweden Open APIs: one hour).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// Where and as whom to ask for X-JWTs.
#[derive(Debug, Clone)]
pub struct XJwtConfig {
    /// The hasPermission URL, including `?service=<API name>`.
    pub url: Url,
    /// The Communication `clientId`.
    pub client_id: String,
    /// The Communication `userId`.
    pub user_id: u64,
    /// The Communication `password`.
    pub password: ClientSecret,
    /// Hosts besides loopback that `url` may name with plain HTTP (none by default).
    pub plain_http_hosts: PlainHttpHosts,
}

impl XJwtConfig {
    /// The hasPermission endpoint below `base_url` for `service`.
    pub fn new(
        base_url: &str,
        service: &str,
        client_id: impl Into<String>,
        user_id: u64,
        password: impl Into<ClientSecret>,
    ) -> Result<Self, Error> {
        Self::new_allowing(
            base_url,
            service,
            client_id,
            user_id,
            password,
            PlainHttpHosts::default(),
        )
    }

    /// [`new`](Self::new), also allowing plain HTTP to `plain_http_hosts`.
    pub fn new_allowing(
        base_url: &str,
        service: &str,
        client_id: impl Into<String>,
        user_id: u64,
        password: impl Into<ClientSecret>,
        plain_http_hosts: PlainHttpHosts,
    ) -> Result<Self, Error> {
        let mut url = parse_secure_url_allowing(
            &format!(
                "{}/b2b/corporate/auth/right/v2/hasPermission/corporate/",
                base_url.trim_end_matches('/')
            ),
            "x_jwt base_url",
            &plain_http_hosts,
        )?;
        url.query_pairs_mut().append_pair("service", service);
        Ok(Self {
            url,
            client_id: client_id.into(),
            user_id,
            password: password.into(),
            plain_http_hosts,
        })
    }
}

struct Cached {
    x_jwt: AccessToken,
    bearer_fingerprint: String,
    refresh_at: SystemTime,
}

/// X-JWTs for the current bearer token of `S`.
pub struct XJwtSource<S> {
    bearer: Arc<S>,
    config: XJwtConfig,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    policy: RefreshPolicy,
    current: ArcSwapOption<Cached>,
    fetching: tokio::sync::Mutex<()>,
    /// Swappable so a reloaded password is used from the next hasPermission call on.
    password: ArcSwap<ClientSecret>,
    /// The last failure and when it happened, for [`FAILURE_COOLDOWN`].
    failure: std::sync::Mutex<Option<(SystemTime, Error)>>,
}

/// Shows the configuration (whose `Debug` hides the password), never a token.
impl<S> std::fmt::Debug for XJwtSource<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XJwtSource")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S: TokenSource> XJwtSource<S> {
    /// X-JWTs obtained with bearer tokens from `bearer`.
    pub fn new(bearer: Arc<S>, config: XJwtConfig) -> Self {
        Self {
            bearer,
            http: reqwest::Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .dns_resolver(Arc::new(crate::resolver::SystemResolver))
                .build()
                .expect("a plain HTTP client builds"),
            clock: Arc::new(SystemClock),
            policy: RefreshPolicy::default(),
            current: ArcSwapOption::empty(),
            fetching: tokio::sync::Mutex::new(()),
            password: ArcSwap::from_pointee(config.password.clone()),
            failure: std::sync::Mutex::new(None),
            config,
        }
    }

    /// Reads time from `clock` (the system clock by default), for the X-JWT's expiry and when to
    /// renew it.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Renews X-JWTs on `policy`'s schedule (by default at three quarters of their lifetime, as
    /// bearer tokens are).
    pub fn with_policy(mut self, policy: RefreshPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The bearer token source.
    pub fn bearer(&self) -> &Arc<S> {
        &self.bearer
    }

    /// The current bearer token and an X-JWT issued for it.
    pub async fn credentials(&self) -> Result<(AccessToken, AccessToken), Error> {
        let bearer = self.bearer.token().await?;
        if let Some(x_jwt) = self.fresh_for(&bearer) {
            return Ok((bearer, x_jwt));
        }
        let _only_one = self.fetching.lock().await;
        if let Some(x_jwt) = self.fresh_for(&bearer) {
            return Ok((bearer, x_jwt)); // fetched while we waited
        }
        if let Some(error) = self.recent_failure() {
            return Err(error);
        }
        match self.fetch(&bearer).await {
            Ok(x_jwt) => {
                *self.failures() = None;
                Ok((bearer, x_jwt))
            }
            Err(error) => {
                *self.failures() = Some((self.clock.now(), error.clone()));
                Err(error)
            }
        }
    }

    fn recent_failure(&self) -> Option<Error> {
        let failure = self.failures();
        let (at, error) = failure.as_ref()?;
        let age = self.clock.now().duration_since(*at).unwrap_or_default();
        (age < FAILURE_COOLDOWN).then(|| error.clone())
    }

    fn failures(&self) -> std::sync::MutexGuard<'_, Option<(SystemTime, Error)>> {
        self.failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Uses `password` from the next hasPermission call on; false when it is the one in use.
    /// X-JWTs already issued stay in use.
    pub fn replace_password(&self, password: ClientSecret) -> bool {
        if self.password.load().same_as(&password) {
            return false;
        }
        self.password.store(std::sync::Arc::new(password));
        // The refusal may have been the old password's: let the next call try the new one.
        *self.failures() = None;
        true
    }

    /// The API rejected `x_jwt`: drop it if it is the current one.
    pub fn invalidate(&self, x_jwt: &AccessToken) {
        let current = self.current.load();
        if current.as_deref().is_some_and(|c| c.x_jwt.same_as(x_jwt)) {
            self.current.compare_and_swap(&*current, None);
        }
    }

    fn fresh_for(&self, bearer: &AccessToken) -> Option<AccessToken> {
        let current = self.current.load();
        let cached = current.as_deref()?;
        let fresh = cached.bearer_fingerprint == bearer.fingerprint()
            && self.clock.now() < cached.refresh_at;
        fresh.then(|| cached.x_jwt.clone())
    }

    async fn fetch(&self, bearer: &AccessToken) -> Result<AccessToken, Error> {
        require_https_allowing(&self.config.url, &self.config.plain_http_hosts)?;
        let label = redact_url(&self.config.url);
        let password = self.password.load_full();
        let body = json!({
            "clientId": self.config.client_id,
            "userId": self.config.user_id,
            "password": password.expose_secret(),
        });
        let response = self
            .http
            .post(self.config.url.clone())
            .header(
                http::header::AUTHORIZATION,
                bearer.authorization_header().clone(),
            )
            .header(headers::TRANSACTION_ID, new_transaction_id())
            .json(&body)
            .send()
            .await
            .map_err(|e| Error::network(&label, e, REQUEST_TIMEOUT))?;
        let status = response.status().as_u16();
        let body = read_response(response, &label, REQUEST_TIMEOUT).await?;
        let token = read_answer(status, &body, password.expose_secret(), &label)?;
        let invalid = |problem: String| Error::InvalidResponse {
            url: label.clone(),
            status,
            problem,
        };
        let now = self.clock.now();
        let expires_at = peek_times(&token)
            .and_then(|times| times.expires_at)
            .unwrap_or(now + DEFAULT_LIFETIME);
        if expires_at <= now {
            return Err(invalid("the X-JWT is already expired on arrival".into()));
        }
        let x_jwt = AccessToken::new(token, now, expires_at, None, None);
        let refresh_at = self.policy.refresh_at(&x_jwt);
        tracing::debug!(
            x_jwt = x_jwt.fingerprint(),
            lifetime_seconds = x_jwt.lifetime().as_secs(),
            "received an X-JWT"
        );
        self.current.store(Some(Arc::new(Cached {
            x_jwt: x_jwt.clone(),
            bearer_fingerprint: bearer.fingerprint().to_owned(),
            refresh_at,
        })));
        Ok(x_jwt)
    }
}

/// The X-JWT in a hasPermission answer from `label`, or why there is none. The description of a
/// refusal is the server's `message`, scrubbed of `password` and control characters.
pub(crate) fn read_answer(
    status: u16,
    body: &[u8],
    password: &str,
    label: &str,
) -> Result<String, Error> {
    if !(200..300).contains(&status) {
        return Err(Error::Rejected(crate::error::Rejection {
            url: label.to_owned(),
            status,
            error: Some("x_jwt_refused".into()),
            description: parse_error_body(body, password).description,
            provider_code: None,
        }));
    }
    let token = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("token").and_then(Value::as_str).map(str::to_owned));
    match token {
        Some(token) if is_header_safe(&token) => Ok(token),
        Some(_) => Err(Error::InvalidResponse {
            url: label.to_owned(),
            status,
            problem: "the X-JWT is empty or contains whitespace or control characters".into(),
        }),
        None => Err(Error::InvalidResponse {
            url: label.to_owned(),
            status,
            problem: "the hasPermission response has no token".into(),
        }),
    }
}
