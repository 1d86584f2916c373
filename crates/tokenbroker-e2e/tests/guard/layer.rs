//! The guard in front of a real API, validating tokens from a real authorization server.

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use tokenbroker_guard::{Guard, GuardConfig, GuardLayer, Rejection, RevocationFeed, VerifiedToken};
use tokenbroker_server::{AuthServer, ServerConfig, StaticClient};

const AUDIENCE: &str = "https://api.dev.entur.io";

async fn issuer() -> AuthServer {
    let clients = [
        StaticClient::new("reader", "reader-secret", AUDIENCE).with_scopes("personalisation:read"),
        StaticClient::new("nobody", "nobody-secret", AUDIENCE),
        StaticClient::new("elsewhere", "elsewhere-secret", "https://api.other"),
        StaticClient::new("brief", "brief-secret", AUDIENCE)
            .with_scopes("personalisation:read")
            .with_lifetime(Duration::from_secs(2)),
    ];
    AuthServer::start(ServerConfig::in_memory(clients))
        .await
        .unwrap()
}

fn config(issuer: &AuthServer) -> GuardConfig {
    let mut config = GuardConfig::new(issuer.issuer(), AUDIENCE);
    config.rules.leeway = Duration::ZERO;
    config.rules.required_typ = Some("at+jwt".into());
    config
}

async fn token(issuer: &AuthServer, client: &str) -> String {
    tokenbroker_testkit::fetch_token(&issuer.url(), client, &format!("{client}-secret")).await
}

/// An API with a scoped route and a slow one, behind the guard.
async fn api(guard: Arc<Guard>) -> String {
    let app = Router::new()
        .route(
            "/personalisation/v1/programs/{id}",
            get(|token: VerifiedToken| async move {
                format!("program for {}", token.client_id().unwrap())
            })
            .layer(GuardLayer::new(Arc::clone(&guard)).require_scopes(["personalisation:read"])),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                "too late"
            })
            .layer(GuardLayer::new(guard)),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

struct Answer {
    status: u16,
    challenge: String,
    body: String,
}

async fn call(url: &str, authorization: Option<&str>) -> Answer {
    let mut request = reqwest::Client::new().get(url);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.unwrap();
    Answer {
        status: response.status().as_u16(),
        challenge: response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default(),
        body: response.text().await.unwrap(),
    }
}

fn forged(header: &str, claims: &str) -> String {
    format!(
        "{}.{}.c2lnbmF0dXJl",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    )
}

#[tokio::test]
async fn valid_tokens_pass_and_every_bad_one_gets_the_seed_answer() {
    let issuer = issuer().await;
    let guard = Guard::start(config(&issuer)).await.unwrap(); // JWKS found by RFC 8414 discovery
    let url = format!(
        "{}/personalisation/v1/programs/1",
        api(Arc::clone(&guard)).await
    );

    let ok = call(
        &url,
        Some(&format!("Bearer {}", token(&issuer, "reader").await)),
    )
    .await;
    assert_eq!((ok.status, ok.body.as_str()), (200, "program for reader"));

    // 401 without a token: a bare challenge, no error code (RFC 6750 §3.1).
    let missing = call(&url, None).await;
    assert_eq!(
        (missing.status, missing.challenge.as_str()),
        (401, "Bearer")
    );
    let basic = call(&url, Some("Basic cmVhZGVyOnNlY3JldA==")).await;
    assert!(basic.status == 401 && basic.challenge.contains("invalid_request"));

    // 403: valid token, missing permission — the scope is named.
    let unscoped = call(
        &url,
        Some(&format!("Bearer {}", token(&issuer, "nobody").await)),
    )
    .await;
    assert_eq!(unscoped.status, 403);
    assert!(
        unscoped.challenge.contains("insufficient_scope")
            && unscoped
                .challenge
                .contains("scope=\"personalisation:read\"")
    );
    assert!(unscoped.body.contains("personalisation:read"));

    // 401 invalid_token for the rest, each with its reason.
    let other_audience = call(
        &url,
        Some(&format!("Bearer {}", token(&issuer, "elsewhere").await)),
    )
    .await;
    assert!(
        other_audience.status == 401 && other_audience.body.contains("audience"),
        "{}",
        other_audience.body
    );
    let kid = guard_kid(&issuer);
    for (what, token, reason) in [
        ("garbage", "not.a.jwt".to_owned(), "malformed"),
        (
            "alg none",
            forged(r#"{"alg":"none","typ":"at+jwt"}"#, r#"{"sub":"x"}"#),
            "algorithm",
        ),
        (
            "HS256",
            forged(
                &format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{kid}"}}"#),
                r#"{"sub":"x"}"#,
            ),
            "algorithm",
        ),
        (
            "bad typ",
            forged(
                &format!(r#"{{"alg":"RS256","typ":"JWT","kid":"{kid}"}}"#),
                r#"{"sub":"x"}"#,
            ),
            "type",
        ),
        (
            "bad signature",
            forged(
                &format!(r#"{{"alg":"RS256","typ":"at+jwt","kid":"{kid}"}}"#),
                r#"{"sub":"x"}"#,
            ),
            "signature",
        ),
        (
            "oversized",
            format!("{}.{}.x", "a".repeat(5000), "b".repeat(5000)),
            "too large",
        ),
    ] {
        let answer = call(&url, Some(&format!("Bearer {token}"))).await;
        assert_eq!(answer.status, 401, "{what}");
        assert!(
            answer.challenge.contains("invalid_token"),
            "{what}: {}",
            answer.challenge
        );
        assert!(answer.body.contains(reason), "{what}: {}", answer.body);
    }

    let metrics = guard.metrics_text();
    assert!(
        metrics.contains("tokenbroker_guard_validations_total{outcome=\"ok\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("outcome=\"insufficient_scope\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("tokenbroker_guard_keys 1"), "{metrics}");
}

fn guard_kid(issuer: &AuthServer) -> String {
    issuer.keyring().signing_key(0).kid().to_owned()
}

#[tokio::test]
async fn expired_tokens_are_401_and_tokens_expiring_mid_request_are_408() {
    let issuer = issuer().await;
    let brief = token(&issuer, "brief").await;
    // On the guard's clock, the token has 0.3 s left when the request arrives.
    let (_, claims) = tokenbroker::wire::jwt::decode_unverified(&brief).unwrap();
    let exp = std::time::UNIX_EPOCH + Duration::from_secs(claims["exp"].as_u64().unwrap());
    let clock = Arc::new(tokenbroker::ManualClock::new(
        exp - Duration::from_millis(300),
    ));
    let mut config = config(&issuer);
    config.clock = clock.clone();
    let guard = Guard::start(config).await.unwrap();
    let api = api(guard).await;

    // The handler takes 10 s; the token runs out first: cancelled with 408 when it expires.
    let started = std::time::Instant::now();
    let slow = call(&format!("{api}/slow"), Some(&format!("Bearer {brief}"))).await;
    assert_eq!(slow.status, 408);
    assert!(
        slow.body.contains("expired during processing"),
        "{}",
        slow.body
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "cancelled at expiry, not after the handler"
    );

    clock.advance(Duration::from_secs(1));
    let expired = call(
        &format!("{api}/personalisation/v1/programs/1"),
        Some(&format!("Bearer {brief}")),
    )
    .await;
    assert_eq!(expired.status, 401);
    assert!(expired.body.contains("expired"), "{}", expired.body);
    assert!(expired.challenge.contains("invalid_token"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_unknown_kids_costs_at_most_one_jwks_fetch() {
    let issuer = issuer().await;
    let guard = Guard::start(config(&issuer)).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let before = issuer.jwks_requests();
    assert_eq!(
        before, 1,
        "start fetched the keys once; the background task did not repeat it"
    );
    let verifications: Vec<_> = (0..10_000)
        .map(|_| {
            let guard = Arc::clone(&guard);
            let token = forged(
                &format!(
                    r#"{{"alg":"RS256","typ":"at+jwt","kid":"{}"}}"#,
                    uuid::Uuid::new_v4()
                ),
                r#"{"sub":"x"}"#,
            );
            tokio::spawn(async move { guard.verify(&token).await })
        })
        .collect();
    for verification in verifications {
        assert_eq!(
            verification.await.unwrap().unwrap_err(),
            Rejection::UnknownKey
        );
    }
    let fetched = issuer.jwks_requests() - before;
    assert!(
        fetched <= 1,
        "{fetched} JWKS fetches for 10,000 unknown kids"
    );
}

#[tokio::test]
async fn known_keys_keep_working_through_an_issuer_outage() {
    let issuer = issuer().await;
    let guard = Guard::start(config(&issuer)).await.unwrap();
    let token = token(&issuer, "reader").await;
    drop(issuer);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let verified = guard
        .verify(&token)
        .await
        .expect("still valid without the issuer");
    assert_eq!(verified.client_id(), Some("reader"));
    let _ = guard.jwks().refresh().await; // fails: the issuer is gone
    assert!(
        guard.verify(&token).await.is_ok(),
        "a failed refresh keeps the known keys"
    );
}

#[tokio::test]
async fn revoked_tokens_are_rejected_within_the_poll_interval() {
    let issuer = issuer().await;
    let mut config = config(&issuer);
    config.revocations = Some(RevocationFeed {
        url: format!("{}/revocations", issuer.url()),
        poll_interval: Duration::from_millis(200),
    });
    let guard = Guard::start(config).await.unwrap();
    let token = token(&issuer, "reader").await;
    assert!(guard.verify(&token).await.is_ok());
    let revoked = reqwest::Client::new()
        .post(format!("{}/oauth2/revoke", issuer.url()))
        .basic_auth("reader", Some("reader-secret"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(guard.verify(&token).await.unwrap_err(), Rejection::Revoked);
}

#[tokio::test]
async fn discovery_falls_back_to_openid_configuration() {
    let issuer = issuer().await;
    // An issuer that publishes only OpenID Connect Discovery (as oauth2-mock-server does).
    let jwks_uri = issuer.jwks_url();
    let metadata = Router::new().route(
        "/.well-known/openid-configuration",
        get(move || {
            let jwks_uri = jwks_uri.clone();
            async move { axum::Json(serde_json::json!({ "jwks_uri": jwks_uri })) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let oidc_only = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, metadata).await.unwrap() });

    let guard = Guard::start(GuardConfig::new(&oidc_only, AUDIENCE))
        .await
        .unwrap();
    assert_eq!(
        guard.jwks().key_count(),
        1,
        "keys found through openid-configuration"
    );

    let nowhere = Guard::start(GuardConfig::new(format!("{}/nothing", oidc_only), AUDIENCE)).await;
    let message = nowhere.err().unwrap().to_string();
    assert!(
        message.contains("oauth-authorization-server") && message.contains("openid-configuration"),
        "{message}"
    );
}

/// The latest `exp` believed (the bound on NumericDates) passes the layer, whose 408 deadline is
/// then centuries away; one second later is refused as malformed, not a panic.
#[tokio::test]
async fn exp_at_the_numeric_date_bound_passes_and_one_past_it_is_refused() {
    use tokenbroker::wire::jwt::MAX_NUMERIC_DATE;
    use tokenbroker_server::{sign_access_token, AccessTokenClaims};

    let issuer = issuer().await;
    let guard = Guard::start(config(&issuer)).await.unwrap();
    let url = format!(
        "{}/personalisation/v1/programs/1",
        api(Arc::clone(&guard)).await
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let ring = issuer.keyring();
    let token_until = |exp: u64| {
        let claims = AccessTokenClaims {
            iss: issuer.issuer().to_owned(),
            sub: "reader".into(),
            client_id: "reader".into(),
            aud: AUDIENCE.into(),
            scope: Some("personalisation:read".into()),
            iat: now,
            exp,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        sign_access_token(ring.signing_key(now as i64), &claims).unwrap()
    };
    let at_bound = call(
        &url,
        Some(&format!("Bearer {}", token_until(MAX_NUMERIC_DATE))),
    )
    .await;
    assert_eq!(
        (at_bound.status, at_bound.body.as_str()),
        (200, "program for reader")
    );
    let past = token_until(MAX_NUMERIC_DATE + 1);
    assert_eq!(guard.verify(&past).await.unwrap_err(), Rejection::Malformed);
    let refused = call(&url, Some(&format!("Bearer {past}"))).await;
    assert_eq!(refused.status, 401);
}

/// Serves `body` as a JWK Set with `cache_control`, on a loopback port; returns its URL.
async fn jwks_server(body: String, cache_control: &'static str) -> String {
    let app = Router::new().route(
        "/jwks",
        get(move || {
            let body = body.clone();
            async move { ([(axum::http::header::CACHE_CONTROL, cache_control)], body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// A JWKS with `max-age` at `u64::MAX` (and a configured `stale_if_error` at `Duration::MAX`)
/// is capped, not a panic on every request; a JWKS over the size limit is refused.
#[tokio::test]
async fn hostile_jwks_max_age_and_size_are_bounded() {
    let issuer = issuer().await;
    let keys = reqwest::get(issuer.jwks_url())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut config = config(&issuer);
    config.jwks_url = Some(jwks_server(keys.clone(), "max-age=18446744073709551615").await);
    config.jwks.stale_if_error = Duration::MAX;
    let guard = Guard::start(config).await.unwrap();
    let token = token(&issuer, "reader").await;
    assert!(guard.verify(&token).await.is_ok());
    assert!(
        guard.verify(&token).await.is_ok(),
        "still no panic on reuse"
    );

    // The issuer's real keys, padded past the bound: refused whole, so no key is taken from it.
    let mut padded: serde_json::Value = serde_json::from_str(&keys).unwrap();
    padded["padding"] = "x".repeat(tokenbroker_guard::MAX_JWKS_BYTES).into();
    let mut config = self::config(&issuer);
    config.jwks_url = Some(jwks_server(padded.to_string(), "max-age=60").await);
    let guard = Guard::start(config).await.unwrap();
    assert_eq!(
        guard.verify(&token).await.unwrap_err(),
        Rejection::KeysUnavailable,
        "no keys were taken from the oversized set"
    );
}
