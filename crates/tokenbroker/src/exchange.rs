//! One client-credentials exchange: send the request, read the answer, compute the expiry.
//!
//! RFC 6749 §4.4.2–4.4.3. No caching and no retries here; [`crate::CachedTokenSource`] adds both.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::StatusCode;

use crate::config::ClientConfig;
use crate::error::{ConfigError, Error};
use crate::expiry::effective_expiry;
use crate::request;
use crate::response::{parse_error_body, parse_success};
use crate::token::AccessToken;
use crate::trace::{propagate_current_span, TRACE_TARGET};
use crate::wire::https::redact_url;
use crate::wire::jwt::peek_times;
use crate::wire::ClientSecret;
use crate::wire::{read_limited, LimitedBodyError};
use crate::wire::{Clock, SystemClock};
use secrecy::ExposeSecret;
use tracing::Instrument;

/// The largest token response body we read; real ones are a few KiB.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Fetches tokens from one token endpoint, one request per call.
#[derive(Clone)]
pub struct TokenClient {
    http: reqwest::Client,
    /// Swappable so a reloaded secret reaches every clone (the agent reloads on SIGHUP).
    config: Arc<ArcSwap<ClientConfig>>,
    clock: Arc<dyn Clock>,
    url_label: String,
}

impl std::fmt::Debug for TokenClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl TokenClient {
    /// A client with its own HTTP connection pool and the system clock.
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    /// A client that reads time from `clock` (tests move it forward).
    pub fn with_clock(config: ClientConfig, clock: Arc<dyn Clock>) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            // A redirect would resend credentials somewhere else; report it instead (Entur partner authentication:
            // 301/302 mean "use HTTPS").
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.request_timeout())
            .connect_timeout(config.request_timeout().min(Duration::from_secs(5)))
            .user_agent(concat!("tokenbroker/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(crate::resolver::SystemResolver))
            .build()
            .map_err(|e| ConfigError::HttpClient(std::sync::Arc::new(e)))?;
        Ok(Self {
            url_label: redact_url(config.token_url()),
            http,
            config: Arc::new(ArcSwap::from_pointee(config)),
            clock,
        })
    }

    /// The configuration this client uses now.
    pub fn config(&self) -> Arc<ClientConfig> {
        self.config.load_full()
    }

    /// Uses `secret` from the next request on, in this client and all its clones; returns false
    /// (and changes nothing) when it is the secret already in use. Tokens already issued stay
    /// valid: a rotated secret does not invalidate them.
    pub fn replace_secret(&self, secret: ClientSecret) -> bool {
        let current = self.config.load();
        if current.client_secret().same_as(&secret) {
            return false;
        }
        tracing::info!(
            client_id = current.client_id(),
            old = %current.client_secret().fingerprint(),
            new = %secret.fingerprint(),
            "client secret replaced"
        );
        self.config
            .store(Arc::new(current.as_ref().clone().with_secret(secret)));
        true
    }

    /// The HTTP client (its own connection pool, redirects off).
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The clock this client reads.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Asks the token endpoint for a new access token (RFC 6749 §4.4.2), inside a `token fetch`
    /// span (see [`crate::trace`]).
    pub async fn fetch(&self) -> Result<AccessToken, Error> {
        let span = tracing::info_span!(
            target: TRACE_TARGET,
            "token fetch",
            otel.kind = "client",
            url.full = %self.url_label,
            client_id = self.config.load().client_id(),
            otel.status_code = tracing::field::Empty,
        );
        let fetched = self.exchange().instrument(span.clone()).await;
        if fetched.is_err() {
            span.record("otel.status_code", "error");
        }
        fetched
    }

    async fn exchange(&self) -> Result<AccessToken, Error> {
        let config = &self.config.load_full();
        tracing::debug!(
            token_url = %self.url_label,
            client_id = config.client_id(),
            auth_style = %config.auth_style(),
            secret = %config.client_secret().fingerprint(),
            "requesting an access token"
        );
        let mut request = request::build(&self.http, config)
            .build()
            .map_err(|e| self.network_error(e))?;
        propagate_current_span(request.headers_mut());
        let response = self
            .http
            .execute(request)
            .await
            .map_err(|e| self.network_error(e))?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = self.read_body(response).await?;
        if status.is_success() {
            return self.accept(&body, content_type.as_deref(), status.as_u16());
        }
        Err(self.refusal(status, retry_after, &body, config))
    }

    fn accept(
        &self,
        body: &[u8],
        content_type: Option<&str>,
        status: u16,
    ) -> Result<AccessToken, Error> {
        let parsed = parse_success(body, content_type, &self.url_label, status)?;
        let now = self.clock.now();
        let expires_at = effective_expiry(
            now,
            parsed.expires_in,
            peek_times(&parsed.access_token),
            self.config.load().default_lifetime(),
        );
        if expires_at <= now {
            return Err(Error::InvalidResponse {
                url: self.url_label.clone(),
                status,
                problem: "the token is already expired on arrival (its exp claim is in the past: \
                          check this machine's clock)"
                    .into(),
            });
        }
        let token = AccessToken::new(
            parsed.access_token,
            now,
            expires_at,
            parsed.scope,
            parsed.refresh_token,
        );
        tracing::debug!(
            token = token.fingerprint(),
            lifetime_seconds = token.lifetime().as_secs(),
            "received an access token"
        );
        Ok(token)
    }

    pub(crate) fn refusal(
        &self,
        status: StatusCode,
        retry_after: Option<Duration>,
        body: &[u8],
        config: &ClientConfig,
    ) -> Error {
        let parsed = parse_error_body(body, config.client_secret().expose_secret());
        let code = status.as_u16();
        let transient = status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT;
        if transient {
            return Error::Unavailable {
                url: self.url_label.clone(),
                status: code,
                retry_after,
                detail: parsed.detail(),
            };
        }
        Error::Rejected(parsed.into_rejection(&self.url_label, code))
    }

    pub(crate) async fn read_body(&self, response: reqwest::Response) -> Result<Bytes, Error> {
        read_response(
            response,
            &self.url_label,
            self.config.load().request_timeout(),
        )
        .await
    }

    pub(crate) fn network_error(&self, error: reqwest::Error) -> Error {
        let timeout = self.config.load().request_timeout();
        Error::network(&self.url_label, error, timeout)
    }
}

/// The body of a response from `url_label`, at most [`MAX_RESPONSE_BYTES`].
pub(crate) async fn read_response(
    response: reqwest::Response,
    url_label: &str,
    timeout: Duration,
) -> Result<Bytes, Error> {
    let status = response.status().as_u16();
    read_limited(reqwest::Body::from(response), MAX_RESPONSE_BYTES)
        .await
        .map_err(|error| match error {
            LimitedBodyError::Read(cause) => Error::network(url_label, cause, timeout),
            too_large @ LimitedBodyError::TooLarge { .. } => Error::InvalidResponse {
                url: url_label.to_owned(),
                status,
                problem: too_large.to_string(),
            },
        })
}

/// `Retry-After` as delta-seconds or an HTTP date (RFC 9110 §10.2.3).
pub(crate) fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, HeaderValue};

    proptest::proptest! {
        /// Any `Retry-After` text is a duration or nothing, never a panic; numbers of any size
        /// are taken as seconds (the backoff caps them).
        #[test]
        fn any_retry_after_is_read_without_panic(value in "[ -~]{0,40}", seconds in proptest::prelude::any::<u64>()) {
            let mut headers = HeaderMap::new();
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(RETRY_AFTER, value);
                let _ = retry_after(&headers);
            }
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
            proptest::prop_assert_eq!(retry_after(&headers), Some(Duration::from_secs(seconds)));
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        let later = std::time::SystemTime::now() + Duration::from_secs(120);
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_str(&httpdate::fmt_http_date(later)).unwrap(),
        );
        let parsed = retry_after(&headers).unwrap();
        assert!(parsed > Duration::from_secs(100) && parsed <= Duration::from_secs(120));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("whenever"));
        assert_eq!(retry_after(&headers), None);
    }
}
