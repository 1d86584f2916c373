//! The middleware puts the token and provider headers on requests and recovers from one 401.

use std::sync::Arc;

use super::common::api::{Api, ApiState};
use super::common::*;
use reqwest_middleware::ClientBuilder;
use tokenbroker::{AuthMiddleware, CachedTokenSource, ClientName};

fn http(source: Arc<CachedTokenSource>) -> reqwest_middleware::ClientWithMiddleware {
    let middleware = AuthMiddleware::new(source)
        .client_name(ClientName::new("forsen_utvikling-infoplakat").unwrap())
        .transaction_ids(true);
    ClientBuilder::new(reqwest::Client::new())
        .with(middleware)
        .build()
}

#[tokio::test]
async fn every_request_carries_bearer_client_name_and_a_fresh_transaction_id() {
    let server = server().await;
    let api = Api::start(ApiState::default()).await;
    let source = source(entur(&server));
    let client = http(Arc::clone(&source));
    for _ in 0..3 {
        let response = client
            .get(api.url("/personalisation/v1/programs/1"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let seen = api.seen();
    let token = source.peek().unwrap();
    for request in &seen {
        assert_eq!(
            request.authorization.as_deref(),
            Some(format!("Bearer {}", token.secret()).as_str())
        );
        assert_eq!(
            request.client_name.as_deref(),
            Some("forsen_utvikling-infoplakat")
        );
    }
    let ids: std::collections::HashSet<_> = seen
        .iter()
        .map(|s| s.transaction_id.clone().unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "transaction ids are unique");
    assert_eq!(server.token_requests(), 1);
}

#[tokio::test]
async fn a_401_causes_one_refetch_and_one_retry_with_the_body_replayed() {
    let server = server().await;
    let api = Api::start(ApiState {
        reject_first_token: true,
        ..ApiState::default()
    })
    .await;
    let client = http(source(entur(&server)));
    let response = client
        .post(api.url("/personalisation/v1/programs"))
        .body("{\"name\":\"x\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let seen = api.seen();
    assert_eq!(seen.len(), 2, "one retry");
    assert_ne!(
        seen[0].authorization, seen[1].authorization,
        "the retry used a new token"
    );
    assert_ne!(seen[0].transaction_id, seen[1].transaction_id);
    assert_eq!(seen[1].body, seen[0].body, "the body was replayed");
    assert_eq!(server.token_requests(), 2, "one re-fetch");
}

#[tokio::test]
async fn an_api_that_rejects_everything_cannot_cause_a_loop() {
    let server = server().await;
    let api = Api::start(ApiState {
        reject_all: true,
        ..ApiState::default()
    })
    .await;
    let client = http(source(entur(&server)));
    let first = client.get(api.url("/x")).send().await.unwrap();
    assert_eq!(first.status(), 401);
    assert_eq!(api.seen().len(), 2, "retried once");
    // Within the invalidation interval the token is not dropped again: no retry, no fetch.
    let second = client.get(api.url("/x")).send().await.unwrap();
    assert_eq!(second.status(), 401);
    assert_eq!(api.seen().len(), 3);
    assert_eq!(server.token_requests(), 2);
}

#[tokio::test]
async fn plain_http_to_a_remote_api_is_refused_before_sending() {
    let server = server().await;
    let client = http(source(entur(&server)));
    let error = client
        .get("http://api.entur.io/personalisation/v1/programs/1")
        .send()
        .await
        .unwrap_err();
    assert!(error.to_string().contains("use an https:// URL"), "{error}");
    assert_eq!(server.token_requests(), 0, "no token was even fetched");
}
