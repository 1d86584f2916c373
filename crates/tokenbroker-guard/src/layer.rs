//! The guard as a tower [`Layer`]: put it in front of routes; handlers behind it only run for
//! requests with a valid token holding the route's scopes.
//!
//! Entur's authentication pages's 408: a request is admitted with its token's `exp`; if the handler is still
//! running when the token expires (long uploads, slow backends), the request is cancelled and
//! answered 408 "token expired during processing — obtain a new token". (The deadline covers the
//! handler until it returns its response; a streaming body already under way is not cut.)

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use http::Request;
use tower::{Layer, Service};

use crate::guard::Guard;
use crate::rejection::Rejection;
use tokenbroker_wire::headers::{bearer_token, Presented};

/// Validates the bearer token of every request, requiring `scopes`.
#[derive(Clone)]
pub struct GuardLayer {
    guard: Arc<Guard>,
    scopes: Arc<[String]>,
}

impl std::fmt::Debug for GuardLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardLayer")
            .field("guard", &self.guard)
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl GuardLayer {
    /// A layer that requires a valid token.
    pub fn new(guard: Arc<Guard>) -> Self {
        Self {
            guard,
            scopes: Arc::from(Vec::new()),
        }
    }

    /// Also requires these scopes (403 `insufficient_scope` naming the first missing one).
    pub fn require_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = GuardService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GuardService {
            inner,
            guard: Arc::clone(&self.guard),
            scopes: Arc::clone(&self.scopes),
        }
    }
}

/// The service [`GuardLayer`] wraps around a route.
#[derive(Clone)]
pub struct GuardService<S> {
    inner: S,
    guard: Arc<Guard>,
    scopes: Arc<[String]>,
}

impl<S> std::fmt::Debug for GuardService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardService")
            .field("guard", &self.guard)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<Request<B>> for GuardService<S>
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

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The clone that was polled ready serves this request (tower's usual swap).
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        let guard = Arc::clone(&self.guard);
        let scopes = Arc::clone(&self.scopes);
        Box::pin(async move {
            let verified = match bearer_token(request.headers()) {
                Presented::Nothing => Err(Rejection::Missing),
                Presented::NotBearer => Err(Rejection::NotBearer),
                Presented::Token(token) => guard.check(token).await,
            }
            .and_then(|verified| {
                match scopes.iter().find(|scope| !verified.has_scope(scope)) {
                    Some(missing) => Err(Rejection::InsufficientScope(missing.clone())),
                    None => Ok(verified),
                }
            });
            guard.count(verified.as_ref().err());
            let verified = match verified {
                Ok(verified) => verified,
                Err(rejection) => return Ok(rejection.into_response()),
            };
            let config = guard.config();
            let deadline = deadline(
                verified.expires_at(),
                config.rules.leeway,
                config.clock.now(),
            );
            request.extensions_mut().insert(verified);
            let Some(deadline) = deadline else {
                // A deadline beyond what the clocks can hold never comes.
                return inner.call(request).await;
            };
            match tokio::time::timeout_at(deadline, inner.call(request)).await {
                Ok(response) => response,
                Err(_) => {
                    let rejection = Rejection::ExpiredDuringProcessing;
                    guard.count(Some(&rejection));
                    Ok(rejection.into_response())
                }
            }
        })
    }
}

/// The monotonic instant at which a token valid until `expires_at` (plus `leeway`) runs out, it
/// being `now` on the guard's clock; `None` when that is beyond what the clocks can represent.
fn deadline(
    expires_at: SystemTime,
    leeway: Duration,
    now: SystemTime,
) -> Option<tokio::time::Instant> {
    let left = expires_at
        .checked_add(leeway)?
        .duration_since(now)
        .unwrap_or_default();
    tokio::time::Instant::now().checked_add(left)
}
