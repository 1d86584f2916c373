//! Every class of failure becomes a typed error whose one-line message says what and why.

use std::time::Duration;

use super::common::*;
use tokenbroker::{ClientConfig, Error, TokenClient};
use tokenbroker_server::{BodyFault, Dialect};

async fn fail(config: tokenbroker::ClientConfigBuilder) -> Error {
    let error = TokenClient::new(config.build().unwrap())
        .unwrap()
        .fetch()
        .await
        .unwrap_err();
    let line = error.to_string();
    assert!(!line.contains('\n'), "one line: {line}");
    assert!(!line.contains(SECRET), "no secret: {line}");
    error
}

#[tokio::test]
async fn wrong_secret_is_rejected_with_the_credentials_hint() {
    let server = server().await;
    let config = ClientConfig::builder(server.token_url(Dialect::Entur), ENTUR_ID, "wrong")
        .auth_style(tokenbroker::AuthStyle::Json)
        .audience(ENTUR_AUDIENCE);
    let error = fail(config).await;
    let rejection = error.rejection().expect("a rejection");
    assert_eq!(rejection.status, 401);
    assert_eq!(rejection.error.as_deref(), Some("invalid_client"));
    assert!(
        error
            .to_string()
            .contains("secret may be wrong or may have been changed"),
        "{error}"
    );
    assert!(!error.is_transient());
}

#[tokio::test]
async fn telenor_numeric_codes_are_explained() {
    let server = server().await;
    let bad_secret = ClientConfig::builder(
        server.token_url(Dialect::TelenorNorway),
        TELENOR_ID,
        "wrong",
    );
    let error = fail(bad_secret).await;
    assert_eq!(error.rejection().unwrap().provider_code, Some(22));
    assert!(
        error
            .to_string()
            .contains("error code 22: Basic Authentication failed"),
        "{error}"
    );

    let unknown = ClientConfig::builder(server.token_url(Dialect::TelenorNorway), "nobody", "x");
    let error = fail(unknown).await;
    assert!(
        error
            .to_string()
            .contains("error code 1: invalid client id"),
        "{error}"
    );

    let scope = telenor(&server, Dialect::TelenorNorway).scope("admin");
    let error = fail(scope).await;
    assert_eq!(error.rejection().unwrap().status, 403);
    assert!(
        error
            .to_string()
            .contains("error code 8: illegal or unauthorized scope"),
        "{error}"
    );
    assert!(
        error.to_string().contains("lacks the permission"),
        "{error}"
    );
}

#[tokio::test]
async fn audience_from_another_environment_is_refused() {
    let server = server().await;
    let error = fail(entur(&server).audience("https://api.staging.entur.io")).await;
    assert_eq!(
        error.rejection().unwrap().error.as_deref(),
        Some("invalid_target")
    );
    assert!(error.to_string().contains("same environment"), "{error}");
}

#[tokio::test]
async fn scope_not_granted_is_invalid_scope() {
    let server = server().await;
    let error = fail(entur(&server).scope("personalisation:admin")).await;
    let rejection = error.rejection().unwrap();
    assert_eq!(
        (rejection.status, rejection.error.as_deref()),
        (400, Some("invalid_scope"))
    );
}

#[tokio::test]
async fn server_errors_are_transient_and_carry_retry_after() {
    let server = server().await;
    server.faults().fail_with_status(Some(503));
    server
        .faults()
        .set_retry_after(Some(Duration::from_secs(7)));
    let error = fail(entur(&server)).await;
    assert!(error.is_transient());
    assert_eq!(error.retry_after(), Some(Duration::from_secs(7)));
    assert!(error.to_string().contains("HTTP 503"), "{error}");

    server.faults().fail_with_status(Some(429));
    assert!(fail(entur(&server)).await.is_transient());
}

#[tokio::test]
async fn malformed_bodies_are_invalid_responses() {
    let server = server().await;
    for (fault, expected) in [
        (BodyFault::NotJson, "not JSON"),
        (BodyFault::Html, "HTML"),
        (BodyFault::MissingAccessToken, "no access_token"),
        (BodyFault::Oversized, "larger than 64 KiB"),
    ] {
        server.faults().set_body(fault);
        let error = fail(entur(&server)).await;
        assert!(
            matches!(error, Error::InvalidResponse { .. }),
            "{fault:?}: {error:?}"
        );
        assert!(error.to_string().contains(expected), "{fault:?}: {error}");
    }
}

#[tokio::test]
async fn unreachable_and_slow_servers_are_network_errors() {
    let server = server().await;
    let url = server.token_url(Dialect::Entur);
    drop(server);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let config =
        ClientConfig::builder(url, ENTUR_ID, SECRET).auth_style(tokenbroker::AuthStyle::Json);
    let error = fail(config).await;
    assert!(matches!(error, Error::Network { .. }), "{error:?}");
    assert!(error.is_transient());
    // The transport's error is kept as the source (down to the refused connection), without
    // the URL.
    let cause = std::error::Error::source(&error).unwrap();
    assert!(!cause.to_string().contains("/oauth/token"), "{cause}");
    assert!(
        tokenbroker::innermost_cause(cause).contains("refused"),
        "{cause:?}"
    );

    let server = super::common::server().await;
    server.faults().set_delay(Duration::from_secs(2));
    let error = fail(entur(&server).request_timeout(Duration::from_millis(200))).await;
    assert!(error.to_string().contains("no answer within"), "{error}");
}

#[tokio::test]
async fn wrong_path_is_explained() {
    let server = server().await;
    let config = ClientConfig::builder(format!("{}/token-typo", server.url()), ENTUR_ID, SECRET);
    let error = fail(config).await;
    assert_eq!(error.rejection().unwrap().status, 404);
    assert!(error.to_string().contains("check token_url"), "{error}");
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let error = ClientConfig::builder("http://partner.entur.org/oauth/token", "id", "s")
        .build()
        .unwrap_err();
    assert!(matches!(error, Error::InsecureUrl { .. }));
    assert!(error.to_string().contains("use an https:// URL"), "{error}");
}
