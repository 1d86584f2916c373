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

/// A registry that can be read but not written (here a PostgreSQL database turned read-only, as
/// a replica is) leaves the server alive and serving keys, but not ready; it is ready again once
/// writes work.
#[tokio::test]
async fn a_read_only_registry_is_not_ready() {
    use sqlx::Connection;
    let postgres = tokenbroker_testkit::Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path().join("data"));
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.database_url = Some(postgres.url.clone());
    config.issuer = Some("https://issuer.test".into());
    let server = AuthServer::start(config).await.unwrap();
    assert_eq!(get(&server, "/readyz").await.0, 200);

    let mut admin = sqlx::PgConnection::connect(&postgres.url).await.unwrap();
    let set_read_only = |on: bool| {
        if on {
            "ALTER DATABASE postgres SET default_transaction_read_only = on"
        } else {
            "ALTER DATABASE postgres SET default_transaction_read_only = off"
        }
    };
    // Existing sessions keep their setting: end them, so the server's pool reconnects.
    let reconnect = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = 'postgres' AND pid <> pg_backend_pid()";
    sqlx::query(set_read_only(true))
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::query(reconnect).execute(&mut admin).await.unwrap();
    // The first probe may meet a terminated connection; from then on the writes are refused.
    let _ = get(&server, "/readyz").await;
    assert_eq!(get(&server, "/readyz").await.0, 503);
    assert_eq!(get(&server, "/readyz").await.0, 503);
    assert_eq!(get(&server, "/healthz").await.0, 200);
    assert_eq!(get(&server, "/.well-known/jwks.json").await.0, 200);

    // This session began before the change, so it can still write the default back.
    sqlx::query(set_read_only(false))
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::query(reconnect).execute(&mut admin).await.unwrap();
    let _ = get(&server, "/readyz").await;
    assert_eq!(get(&server, "/readyz").await.0, 200);
    server.stop().await;
}

/// A key schedule that changed but cannot be loaded (here a key row that does not open) leaves
/// the node serving with the keys it has, but not ready, until the schedule loads again.
#[tokio::test]
async fn a_key_schedule_that_cannot_be_loaded_is_not_ready() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path().join("data"));
    config.listen = "127.0.0.1:0".parse().unwrap();
    let server = AuthServer::start(config).await.unwrap();
    assert_eq!(get(&server, "/readyz").await.0, 200);
    let url = format!("sqlite://{}", dir.path().join("data/registry.db").display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let changed = "UPDATE registry_facts SET value = value || 'x' WHERE name = 'key_schedule'";
    sqlx::query(
        "INSERT INTO signing_keys (kid, algorithm, sealed_key, publish_from, signs_from, created_at) \
         VALUES ('broken', 'es256', 'v1.AAAA', 0, 0, 0)",
    )
    .execute(&mut db)
    .await
    .unwrap();
    sqlx::query(changed).execute(&mut db).await.unwrap();
    let ready = |expected: u16| {
        let server = &server;
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while get(server, "/readyz").await.0 != expected {
                assert!(
                    std::time::Instant::now() < deadline,
                    "/readyz never became {expected}"
                );
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    };
    ready(503).await;
    assert_eq!(get(&server, "/healthz").await.0, 200);
    assert_eq!(get(&server, "/.well-known/jwks.json").await.0, 200);
    sqlx::query("DELETE FROM signing_keys WHERE kid = 'broken'")
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::query(changed).execute(&mut db).await.unwrap();
    ready(200).await;
    server.stop().await;
}
