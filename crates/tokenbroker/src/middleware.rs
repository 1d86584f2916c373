//! Putting the token and the provider's headers on every API request (reqwest-middleware).
//!
//! - `Authorization: Bearer <token>` (RFC 6750 §2.1; Entur partner API authentication "for every Partner API request").
//! - `ET-Client-Name` when configured (Entur API authentication: without it, requests may be rate limited or
//!   blocked).
//! - `X-Transaction-Id`, fresh per request, when configured (Telenor Sweden Open APIs).
//! - `traceparent` naming the current span, with the `otel` feature when spans are exported and
//!   the request carries none (see [`crate::trace`]).
//!
//! On a 401 the token is reported to the source (which drops it if it is still current) and the
//! request is retried once with a fresh token — only if a *different* token is available and the
//! request body can be replayed. Never more than once, so a misconfigured client cannot loop.

use std::sync::Arc;

use http::{Extensions, StatusCode};
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

use crate::api_headers::apply_api_headers;
use crate::source::TokenSource;
use crate::token::AccessToken;
use crate::trace::propagate_current_span;
use crate::wire::https::{require_https_allowing, PlainHttpHosts};
use crate::wire::ClientName;
use crate::x_jwt::XJwtSource;

/// Middleware that authenticates every request with tokens from a [`TokenSource`].
pub struct AuthMiddleware<S> {
    source: Arc<S>,
    client_name: Option<ClientName>,
    transaction_ids: bool,
    x_jwt: Option<Arc<XJwtSource<S>>>,
    plain_http_hosts: PlainHttpHosts,
}

impl<S> std::fmt::Debug for AuthMiddleware<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthMiddleware")
            .field("client_name", &self.client_name)
            .field("transaction_ids", &self.transaction_ids)
            .field("x_jwt", &self.x_jwt.is_some())
            .finish_non_exhaustive()
    }
}

impl<S> AuthMiddleware<S> {
    /// Adds `Authorization: Bearer` from `source`.
    pub fn new(source: Arc<S>) -> Self {
        Self {
            source,
            client_name: None,
            transaction_ids: false,
            x_jwt: None,
            plain_http_hosts: PlainHttpHosts::default(),
        }
    }

    /// Also sends tokens over plain HTTP to these hosts (besides loopback): a mock API in CI,
    /// or a service mesh that encrypts outside the process. Nothing is allowed by default.
    pub fn allow_insecure_http(mut self, hosts: PlainHttpHosts) -> Self {
        self.plain_http_hosts = hosts;
        self
    }

    /// Also sends `X-JWT` from `x_jwt` (whose bearer source must be this middleware's), and a
    /// fresh `X-Transaction-Id` on every request, as Telenor's Communication APIs require.
    pub fn x_jwt(mut self, x_jwt: Arc<XJwtSource<S>>) -> Self {
        self.x_jwt = Some(x_jwt);
        self.transaction_ids = true;
        self
    }

    /// Also sends `ET-Client-Name` (Entur).
    pub fn client_name(mut self, name: ClientName) -> Self {
        self.client_name = Some(name);
        self
    }

    /// Also sends a fresh `X-Transaction-Id` on every request (Telenor Sweden).
    pub fn transaction_ids(mut self, enabled: bool) -> Self {
        self.transaction_ids = enabled;
        self
    }

    fn decorate(&self, mut request: Request, (token, x_jwt): &Credentials) -> Request {
        apply_api_headers(
            request.headers_mut(),
            token,
            x_jwt.as_ref(),
            self.client_name.as_ref(),
            self.transaction_ids,
        );
        propagate_current_span(request.headers_mut());
        request
    }
}

/// A bearer token and, for Communication APIs, the X-JWT that goes with it.
type Credentials = (AccessToken, Option<AccessToken>);

impl<S: TokenSource> AuthMiddleware<S> {
    async fn credentials(&self) -> Result<Credentials, crate::error::Error> {
        match &self.x_jwt {
            Some(x_jwt) => {
                let (bearer, x) = x_jwt.credentials().await?;
                Ok((bearer, Some(x)))
            }
            None => Ok((self.source.token().await?, None)),
        }
    }

    fn invalidate(&self, (token, x_jwt): &Credentials) {
        self.source.invalidate(token);
        if let (Some(source), Some(x_jwt)) = (&self.x_jwt, x_jwt) {
            source.invalidate(x_jwt);
        }
    }
}

#[async_trait::async_trait]
impl<S: TokenSource> Middleware for AuthMiddleware<S> {
    async fn handle(
        &self,
        request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        require_https_allowing(request.url(), &self.plain_http_hosts)
            .map_err(reqwest_middleware::Error::middleware)?;
        let used = self
            .credentials()
            .await
            .map_err(reqwest_middleware::Error::middleware)?;
        let replay = request.try_clone();
        let response = next
            .clone()
            .run(self.decorate(request, &used), extensions)
            .await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let Some(replay) = replay else {
            tracing::debug!("401 on a streaming request; not retried");
            return Ok(response);
        };
        self.invalidate(&used);
        let fresh = match self.credentials().await {
            Ok(fresh) if !same(&fresh, &used) => fresh,
            _ => return Ok(response),
        };
        tracing::info!(
            rejected = used.0.fingerprint(),
            retry_with = fresh.0.fingerprint(),
            "401 from the API; retrying once with new credentials"
        );
        next.run(self.decorate(replay, &fresh), extensions).await
    }
}

/// True when nothing changed: retrying would only repeat the 401.
fn same((token, x_jwt): &Credentials, (used_token, used_x_jwt): &Credentials) -> bool {
    let same_x_jwt = match (x_jwt, used_x_jwt) {
        (Some(a), Some(b)) => a.same_as(b),
        (None, None) => true,
        _ => false,
    };
    token.same_as(used_token) && same_x_jwt
}
