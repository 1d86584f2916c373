//! Putting the token and the provider's headers on every API request (reqwest-middleware).
//!
//! - `Authorization: Bearer <token>` (RFC 6750 §2.1; seed 002 "for every Partner API request").
//! - `ET-Client-Name` when configured (seed 000: without it, requests may be rate limited or
//!   blocked).
//! - `X-Transaction-Id`, fresh per request, when configured (seed 004).
//!
//! On a 401 the token is reported to the source (which drops it if it is still current) and the
//! request is retried once with a fresh token — only if a *different* token is available and the
//! request body can be replayed. Never more than once, so a misconfigured client cannot loop.

use std::sync::Arc;

use http::header::AUTHORIZATION;
use http::{Extensions, StatusCode};
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

use crate::client_name::{ClientName, CLIENT_NAME_HEADER};
use crate::endpoint::require_https;
use crate::source::TokenSource;
use crate::token::AccessToken;
use crate::transaction_id::{new_transaction_id, TRANSACTION_ID_HEADER};

/// Middleware that authenticates every request with tokens from a [`TokenSource`].
pub struct AuthMiddleware<S> {
    source: Arc<S>,
    client_name: Option<ClientName>,
    transaction_ids: bool,
}

impl<S> AuthMiddleware<S> {
    /// Adds `Authorization: Bearer` from `source`.
    pub fn new(source: Arc<S>) -> Self {
        Self {
            source,
            client_name: None,
            transaction_ids: false,
        }
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

    fn decorate(&self, mut request: Request, token: &AccessToken) -> Request {
        let headers = request.headers_mut();
        headers.insert(AUTHORIZATION, token.authorization_header().clone());
        if let Some(name) = &self.client_name {
            headers.insert(CLIENT_NAME_HEADER, name.header_value().clone());
        }
        if self.transaction_ids {
            headers.insert(TRANSACTION_ID_HEADER, new_transaction_id());
        }
        request
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
        require_https(request.url()).map_err(reqwest_middleware::Error::middleware)?;
        let token = self
            .source
            .token()
            .await
            .map_err(reqwest_middleware::Error::middleware)?;
        let replay = request.try_clone();
        let response = next
            .clone()
            .run(self.decorate(request, &token), extensions)
            .await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let Some(replay) = replay else {
            tracing::debug!("401 on a streaming request; not retried");
            return Ok(response);
        };
        self.source.invalidate(&token);
        let fresh = match self.source.token().await {
            Ok(fresh) if !fresh.same_as(&token) => fresh,
            _ => return Ok(response),
        };
        tracing::info!(
            rejected = token.fingerprint(),
            retry_with = fresh.fingerprint(),
            "401 from the API; retrying once with a new token"
        );
        next.run(self.decorate(replay, &fresh), extensions).await
    }
}
