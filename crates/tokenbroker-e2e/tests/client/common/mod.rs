//! Shared set-up for the integration tests: a real local authorization server with known clients.
#![allow(dead_code)]

pub(super) mod api;
pub(super) mod oauth2_http;

use std::sync::Arc;
use std::time::Duration;

use tokenbroker::{
    AuthStyle, Backoff, CachedTokenSource, ClientConfig, ClientConfigBuilder, RefreshPolicy,
    TokenClient,
};
use tokenbroker_server::{AuthServer, Dialect, ServerConfig, StaticClient};

pub(super) const ENTUR_AUDIENCE: &str = "https://api.dev.entur.io";
pub(super) const ENTUR_ID: &str = "entur-client";
/// Special characters on purpose: they exercise the Basic header's form-urlencoding.
pub(super) const SECRET: &str = "s3cr3t+value/with:special@chars%";
pub(super) const TELENOR_ID: &str = "telenor-client";
pub(super) const TELENOR_AUDIENCE: &str = "https://api.telenor.no";

pub(super) async fn server() -> AuthServer {
    let clients = [
        StaticClient::new(ENTUR_ID, SECRET, ENTUR_AUDIENCE)
            .with_scopes("personalisation:read personalisation:write"),
        StaticClient::new(TELENOR_ID, SECRET, TELENOR_AUDIENCE).with_scopes("openapi"),
    ];
    AuthServer::start(ServerConfig::in_memory(clients))
        .await
        .expect("local authorization server starts")
}

/// Entur-style configuration (JSON body, audience) against the local server.
pub(super) fn entur(server: &AuthServer) -> ClientConfigBuilder {
    ClientConfig::builder(server.token_url(Dialect::Entur), ENTUR_ID, SECRET)
        .auth_style(AuthStyle::Json)
        .audience(ENTUR_AUDIENCE)
}

/// Telenor-style configuration (Basic + form) against the local server.
pub(super) fn telenor(server: &AuthServer, dialect: Dialect) -> ClientConfigBuilder {
    ClientConfig::builder(server.token_url(dialect), TELENOR_ID, SECRET)
        .auth_style(AuthStyle::Basic)
}

/// A policy with fast retries, so failure tests finish quickly.
pub(super) fn quick_policy() -> RefreshPolicy {
    RefreshPolicy {
        backoff: Backoff {
            max_attempts: 2,
            base: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
        },
        ..RefreshPolicy::default()
    }
}

pub(super) fn source(config: ClientConfigBuilder) -> Arc<CachedTokenSource> {
    let client = TokenClient::new(config.build().expect("valid config")).expect("client");
    Arc::new(CachedTokenSource::with_policy(client, quick_policy()))
}
