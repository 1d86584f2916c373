//! The ET-Client-Name policies, on a real API over loopback.

use std::num::NonZeroU32;

use axum::routing::get;
use axum::Router;
use tokenbroker_guard::{ClientNameLayer, ClientNamePolicy, RateLimits};

async fn api(policy: ClientNamePolicy) -> String {
    let app = Router::new()
        .route("/stops", get(|| async { "ok" }))
        .layer(ClientNameLayer::new(policy));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/stops", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap()
    });
    url
}

async fn call(url: &str, name: Option<&str>) -> (u16, Option<String>, String) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(name) = name {
        request = request.header("ET-Client-Name", name);
    }
    let response = request.send().await.unwrap();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        response.status().as_u16(),
        retry_after,
        response.text().await.unwrap(),
    )
}

#[tokio::test]
async fn require_refuses_missing_and_malformed_names_with_the_rule() {
    let url = api(ClientNamePolicy::Require).await;
    assert_eq!(call(&url, Some("forsen_utvikling-infoplakat")).await.0, 200);
    let (status, _, body) = call(&url, None).await;
    assert_eq!(status, 400);
    assert!(body.contains("<company>-<application>"), "{body}");
    let (status, _, body) = call(&url, Some("Forsen Utvikling")).await;
    assert_eq!(status, 400);
    assert!(body.contains("lowercase, no spaces"), "{body}");
}

#[tokio::test]
async fn rate_limit_throttles_anonymous_callers_but_not_named_ones() {
    let limits = RateLimits {
        anonymous_per_ip: NonZeroU32::new(3).unwrap(),
        named: NonZeroU32::new(100).unwrap(),
    };
    let url = api(ClientNamePolicy::RateLimit(limits)).await;
    for _ in 0..3 {
        assert_eq!(call(&url, None).await.0, 200);
    }
    let (status, retry_after, body) = call(&url, None).await;
    assert_eq!(status, 429);
    assert!(retry_after.unwrap().parse::<u64>().unwrap() >= 1);
    assert!(body.contains("ET-Client-Name"), "{body}");
    // A malformed name counts as anonymous; a valid name has its own bucket.
    assert_eq!(call(&url, Some("Not Valid")).await.0, 429);
    for _ in 0..10 {
        assert_eq!(call(&url, Some("acme-planner")).await.0, 200);
    }
}

#[tokio::test]
async fn off_ignores_the_header() {
    let url = api(ClientNamePolicy::Off).await;
    assert_eq!(call(&url, None).await.0, 200);
    assert_eq!(call(&url, Some("Whatever Goes")).await.0, 200);
}
