//! Each wire style and each `expires_in` shape, against the real local authorization server.

use std::time::{Duration, SystemTime};

use super::common::*;
use tokenbroker::wire::jwt;
use tokenbroker::{AuthStyle, BasicEncoding, ClientConfig, TokenClient};
use tokenbroker_server::{Dialect, ExpiresInFormat};

async fn fetch(
    config: tokenbroker::ClientConfigBuilder,
) -> Result<tokenbroker::AccessToken, tokenbroker::Error> {
    TokenClient::new(config.build().unwrap())
        .unwrap()
        .fetch()
        .await
}

/// JWT `exp` is whole seconds, so the effective lifetime may be a second short of the nominal one.
fn assert_lifetime_about(token: &tokenbroker::AccessToken, seconds: u64) {
    let lifetime = token.lifetime();
    let nominal = Duration::from_secs(seconds);
    assert!(
        lifetime <= nominal && lifetime > nominal - Duration::from_secs(2),
        "lifetime {lifetime:?}, expected about {nominal:?}"
    );
}

fn claims(token: &tokenbroker::AccessToken) -> serde_json::Value {
    jwt::decode_unverified(token.secret()).expect("a JWT").1
}

#[tokio::test]
async fn json_style_gets_an_entur_token_for_the_audience() {
    let server = server().await;
    let token = fetch(entur(&server)).await.unwrap();
    let claims = claims(&token);
    assert_eq!(claims["aud"], ENTUR_AUDIENCE);
    assert_eq!(claims["client_id"], ENTUR_ID);
    assert_eq!(
        token.scope(),
        Some("personalisation:read personalisation:write")
    );
    assert_lifetime_about(&token, 3600);
    assert_eq!(server.tokens_issued(), 1);
}

#[tokio::test]
async fn form_style_sends_credentials_in_the_body() {
    let server = server().await;
    let config = entur(&server)
        .auth_style(AuthStyle::Form)
        .scope("personalisation:read");
    let token = fetch(config).await.unwrap();
    assert_eq!(claims(&token)["scope"], "personalisation:read");
}

#[tokio::test]
async fn basic_style_works_rfc_encoded_and_raw() {
    let server = server().await;
    for encoding in [BasicEncoding::Rfc, BasicEncoding::Raw] {
        let token = fetch(telenor(&server, Dialect::TelenorNorway).basic_encoding(encoding)).await;
        assert!(token.is_ok(), "{encoding:?}: {token:?}");
    }
    assert_eq!(server.tokens_issued(), 2);
}

#[tokio::test]
async fn expires_in_as_a_string_is_understood() {
    let server = server().await;
    // Telenor Sweden sends "expires_in": "3599"-style strings by default (Telenor Sweden Open APIs).
    // Opaque tokens, so expires_in is the only source of the expiry.
    server.faults().set_opaque_tokens(true);
    let token = fetch(telenor(&server, Dialect::TelenorSweden))
        .await
        .unwrap();
    assert_eq!(token.lifetime(), Duration::from_secs(3600));
    server.faults().set_expires_in(ExpiresInFormat::String);
    let token = fetch(entur(&server)).await.unwrap();
    assert_eq!(token.lifetime(), Duration::from_secs(3600));
    server.faults().set_expires_in(ExpiresInFormat::Number);
    let token = fetch(telenor(&server, Dialect::TelenorSweden))
        .await
        .unwrap();
    assert_eq!(token.lifetime(), Duration::from_secs(3600));
}

#[tokio::test]
async fn missing_expires_in_falls_back_to_the_jwt_exp() {
    let server = server().await;
    server.faults().set_expires_in(ExpiresInFormat::Missing);
    server.set_default_lifetime(Duration::from_secs(900));
    let token = fetch(entur(&server)).await.unwrap();
    let exp = claims(&token)["exp"].as_u64().unwrap();
    assert_eq!(
        token.expires_at(),
        SystemTime::UNIX_EPOCH + Duration::from_secs(exp)
    );
}

#[tokio::test]
async fn jwt_exp_earlier_than_expires_in_wins() {
    let server = server().await;
    server.set_default_lifetime(Duration::from_secs(600));
    server.faults().advertise_expires_in(Some(3600));
    let token = fetch(entur(&server)).await.unwrap();
    let remaining = token.lifetime();
    assert!(
        remaining <= Duration::from_secs(600) && remaining > Duration::from_secs(590),
        "{remaining:?}"
    );
}

#[tokio::test]
async fn without_expires_in_or_exp_the_default_lifetime_applies() {
    let server = server().await;
    server.faults().set_expires_in(ExpiresInFormat::Missing);
    server.faults().set_opaque_tokens(true);
    let token = fetch(entur(&server).default_lifetime(Duration::from_secs(42)))
        .await
        .unwrap();
    assert_eq!(token.lifetime(), Duration::from_secs(42));
    assert!(jwt::decode_unverified(token.secret()).is_none());
}

#[tokio::test]
async fn entur_preset_pairs_environment_and_audience() {
    let err = ClientConfig::entur(tokenbroker::EnturEnvironment::Staging, "id", "secret")
        .audience("https://api.entur.io")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("same environment"), "{err}");
}
