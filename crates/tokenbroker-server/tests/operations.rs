//! Running the server: health, readiness, metrics, and brute-force protection.

use serde_json::Value;
use tokenbroker_server::{AuthServer, ServerConfig, StaticClient};

const AUDIENCE: &str = "https://api.dev.entur.io";

async fn server() -> AuthServer {
    let clients = [
        StaticClient::new("alpha", "alpha-secret", AUDIENCE),
        StaticClient::new("beta", "beta-secret", AUDIENCE),
    ];
    AuthServer::start(ServerConfig::in_memory(clients))
        .await
        .unwrap()
}

async fn token(server: &AuthServer, id: &str, secret: &str) -> reqwest::Response {
    tokenbroker_testkit::request_token(&server.url(), id, secret).await
}

async fn get(server: &AuthServer, path: &str) -> (u16, String) {
    let response = reqwest::get(format!("{}{path}", server.url()))
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let server = server().await;
    assert_eq!(get(&server, "/healthz").await, (200, "ok".into()));
    assert_eq!(get(&server, "/readyz").await.0, 200);

    assert_eq!(token(&server, "alpha", "alpha-secret").await.status(), 200);
    assert_eq!(token(&server, "alpha", "alpha-secret").await.status(), 200);
    assert_eq!(token(&server, "beta", "nope").await.status(), 401);
    let (status, metrics) = get(&server, "/metrics").await;
    assert_eq!(status, 200);
    let line = |needle: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(needle))
            .map(str::to_owned)
    };
    assert!(
        line("tokenbroker_tokens_issued_total")
            .is_some_and(|l| l.contains("client_id=\"alpha\"") && l.ends_with(" 2")),
        "{metrics}"
    );
    assert!(
        line("tokenbroker_token_failures_total{reason=\"invalid_client\"} 1").is_some(),
        "{metrics}"
    );
    assert!(
        line("tokenbroker_token_request_seconds_count 3").is_some(),
        "{metrics}"
    );
    assert!(!metrics.contains("alpha-secret"));

    // Without its database the server is alive but not ready.
    server.registry().close().await;
    assert_eq!(get(&server, "/healthz").await.0, 200);
    assert_eq!(get(&server, "/readyz").await.0, 503);
}

#[tokio::test]
async fn repeated_failures_for_a_client_are_throttled_with_retry_after() {
    let server = server().await;
    for _ in 0..10 {
        assert_eq!(token(&server, "alpha", "guess").await.status(), 401);
    }
    // The limit for this client from this address is reached: even the right secret waits
    // here, so guessing cannot go on in parallel with it.
    let throttled = token(&server, "alpha", "alpha-secret").await;
    assert_eq!(throttled.status(), 429);
    let retry_after: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: Value = throttled.json().await.unwrap();
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("retry in"));
    // Other clients from the same address are not affected (the address limit is higher).
    assert_eq!(token(&server, "beta", "beta-secret").await.status(), 200);
}

/// The in-memory server is a configuration of the one server: it takes the same settings (here
/// the Telenor profile and ES256) and refuses what it cannot honour.
#[tokio::test]
async fn in_memory_server_takes_the_shipped_settings() {
    let mut config =
        ServerConfig::in_memory([StaticClient::new("alpha", "alpha-secret", AUDIENCE)]);
    config.profile = tokenbroker_server::Profile::Telenor;
    config.algorithm = tokenbroker_server::KeyAlgorithm::Es256;
    let server = AuthServer::start(config.clone()).await.unwrap();
    assert_eq!(
        server.keyring().signing_key(0).key_algorithm(),
        tokenbroker_server::KeyAlgorithm::Es256
    );
    assert_eq!(token(&server, "alpha", "alpha-secret").await.status(), 200);
    // The standard path speaks the profile's dialect: Telenor's numeric error codes.
    let refused = token(&server, "alpha", "wrong").await;
    assert_eq!(refused.status(), 401);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], 22, "{body}");
    let (_, metadata) = get(&server, "/.well-known/oauth-authorization-server").await;
    assert!(metadata.contains(&server.jwks_url()), "{metadata}");
    server.stop().await;

    config.database_url = Some("sqlite::memory:".into());
    let error = AuthServer::start(config).await.unwrap_err();
    assert!(
        matches!(error, tokenbroker_server::ServeError::DatabaseUrlInMemory),
        "{error}"
    );
    assert!(error.is_configuration());
}
