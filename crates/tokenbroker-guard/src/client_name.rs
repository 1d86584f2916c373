//! The `ET-Client-Name` policy of an API (Entur API authentication: "Requests without ET-Client-Name may be rate
//! limited or blocked"; the value is `<company>-<application>`, lowercase, no spaces).
//!
//! - [`ClientNamePolicy::Require`]: a missing or malformed name is 400 with the rule.
//! - [`ClientNamePolicy::RateLimit`]: anonymous callers (no valid name) share a strict bucket per
//!   source address; each named caller has its own, larger bucket. Over the limit: 429 with
//!   `Retry-After`.
//! - [`ClientNamePolicy::Off`]: the header is ignored.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::ConnectInfo;
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::future::BoxFuture;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use http::header::RETRY_AFTER;
use http::{HeaderValue, Request, StatusCode};
use serde_json::json;
use tokenbroker_wire::headers::CLIENT_NAME as CLIENT_NAME_HEADER;
use tokenbroker_wire::ClientName;
use tower::{Layer, Service};

/// Keyed states kept before idle ones are swept.
const SWEEP_ABOVE: usize = 10_000;

/// What an API does about `ET-Client-Name`.
#[derive(Debug, Clone)]
pub enum ClientNamePolicy {
    /// Ignore it.
    Off,
    /// Refuse requests without a valid one (400).
    Require,
    /// Rate-limit anonymous callers per address, named callers per name.
    RateLimit(RateLimits),
}

/// Request rates of [`ClientNamePolicy::RateLimit`], per minute.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    /// Per source address, for callers without a valid name (default 60).
    pub anonymous_per_ip: NonZeroU32,
    /// Per name (default 6,000).
    pub named: NonZeroU32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            anonymous_per_ip: NonZeroU32::new(60).expect("non-zero"),
            named: NonZeroU32::new(6_000).expect("non-zero"),
        }
    }
}

/// Enforces a [`ClientNamePolicy`].
#[derive(Clone)]
pub struct ClientNameLayer {
    state: Arc<State>,
}

impl std::fmt::Debug for ClientNameLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientNameLayer").finish_non_exhaustive()
    }
}

struct State {
    policy: ClientNamePolicy,
    anonymous: DefaultKeyedRateLimiter<IpAddr>,
    named: DefaultKeyedRateLimiter<String>,
}

impl ClientNameLayer {
    /// A layer enforcing `policy`.
    pub fn new(policy: ClientNamePolicy) -> Self {
        let limits = match &policy {
            ClientNamePolicy::RateLimit(limits) => *limits,
            _ => RateLimits::default(),
        };
        Self {
            state: Arc::new(State {
                anonymous: RateLimiter::keyed(Quota::per_minute(limits.anonymous_per_ip)),
                named: RateLimiter::keyed(Quota::per_minute(limits.named)),
                policy,
            }),
        }
    }
}

impl<S> Layer<S> for ClientNameLayer {
    type Service = ClientNameService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ClientNameService {
            inner,
            state: Arc::clone(&self.state),
        }
    }
}

/// The service [`ClientNameLayer`] wraps around routes.
#[derive(Clone)]
pub struct ClientNameService<S> {
    inner: S,
    state: Arc<State>,
}

impl<S> std::fmt::Debug for ClientNameService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientNameService").finish_non_exhaustive()
    }
}

impl<S, B> Service<Request<B>> for ClientNameService<S>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        let refusal = self.state.refusal(&request);
        Box::pin(async move {
            match refusal {
                Some(response) => Ok(response),
                None => inner.call(request).await,
            }
        })
    }
}

impl State {
    /// The answer when the request may not pass, `None` when it may.
    fn refusal<B>(&self, request: &Request<B>) -> Option<Response> {
        let presented = request
            .headers()
            .get(CLIENT_NAME_HEADER)
            .map(|v| v.to_str().unwrap_or("\u{fffd}"));
        let name = presented.map(ClientName::new);
        match &self.policy {
            ClientNamePolicy::Off => None,
            ClientNamePolicy::Require => match name {
                Some(Ok(_)) => None,
                Some(Err(error)) => Some(bad_request(&error.to_string())),
                None => Some(bad_request(
                    "ET-Client-Name is required: send ET-Client-Name: <company>-<application> \
                     (lowercase, no spaces, for example forsen_utvikling-infoplakat)",
                )),
            },
            ClientNamePolicy::RateLimit(_) => match name {
                Some(Ok(name)) => {
                    self.sweep();
                    limited(
                        self.named.check_key(&name.as_str().to_owned()),
                        "this ET-Client-Name",
                    )
                }
                _ => {
                    self.sweep();
                    let ip = request
                        .extensions()
                        .get::<ConnectInfo<SocketAddr>>()
                        .map(|ConnectInfo(addr)| addr.ip())
                        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
                    limited(
                        self.anonymous.check_key(&ip),
                        "requests without ET-Client-Name from this address; send ET-Client-Name: <company>-<application>",
                    )
                }
            },
        }
    }

    fn sweep(&self) {
        if self.anonymous.len() > SWEEP_ABOVE {
            self.anonymous.retain_recent();
        }
        if self.named.len() > SWEEP_ABOVE {
            self.named.retain_recent();
        }
    }
}

fn limited<T>(decision: Result<(), governor::NotUntil<T>>, who: &str) -> Option<Response>
where
    T: governor::clock::Reference,
    DefaultClock: Clock<Instant = T>,
{
    let not_until = decision.err()?;
    let wait = not_until.wait_time_from(DefaultClock::default().now());
    let seconds = wait.as_secs().max(1);
    let body = json!({
        "error": "rate_limited",
        "error_description": format!("too many {who}; retry in {seconds} s"),
    });
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(seconds));
    Some(response)
}

fn bad_request(description: &str) -> Response {
    let body = json!({ "error": "invalid_request", "error_description": description });
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}
