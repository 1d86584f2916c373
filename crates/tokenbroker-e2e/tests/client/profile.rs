//! A Rust service loads the same `tokenbroker.toml` profile the CLI uses and makes authenticated
//! requests with it.

use super::common::api::{Api, ApiState};
use super::common::*;
use tokenbroker::profile::ProfileProblem;
use tokenbroker::Profile;
use tokenbroker_server::Dialect;

#[tokio::test]
async fn a_profile_from_tokenbroker_toml_authenticates_requests() {
    let server = server().await;
    let api = Api::start(ApiState::default()).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("entur-secret"), format!("{SECRET}\n")).unwrap();
    let config = dir.path().join("tokenbroker.toml");
    std::fs::write(
        &config,
        format!(
            r#"default_profile = "entur-dev"

[server]
listen = "127.0.0.1:0"

[profiles.entur-dev]
token_url = "{token_url}"
auth_style = "json"
client_id = "{ENTUR_ID}"
client_secret_file = "{secret}"
audience = "{ENTUR_AUDIENCE}"
client_name = "forsen_utvikling-infoplakat"
"#,
            token_url = server.token_url(Dialect::Entur),
            secret = dir.path().join("entur-secret").display(),
        ),
    )
    .unwrap();

    let profile = Profile::load(&config, "entur-dev").unwrap();
    let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(profile.middleware().unwrap())
        .build();
    for _ in 0..2 {
        let response = http.get(api.url("/programs/1")).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    let seen = api.seen();
    assert!(seen.iter().all(|request| request
        .authorization
        .as_deref()
        .is_some_and(|value| value.starts_with("Bearer ey"))));
    assert!(seen
        .iter()
        .all(|request| request.client_name.as_deref() == Some("forsen_utvikling-infoplakat")));
    assert_eq!(server.token_requests(), 1, "one token, reused");

    let error = Profile::load(&config, "telenor").unwrap_err();
    assert!(matches!(error.problem, ProfileProblem::Unknown(_)));
    assert!(error.to_string().contains("profiles: entur-dev"), "{error}");
}

#[tokio::test]
async fn an_empty_secret_file_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "\n").unwrap();
    let config = dir.path().join("tokenbroker.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.p]\ntoken_url = \"https://as.example/token\"\nclient_id = \"c\"\nclient_secret_file = \"{}\"\n",
            secret.display()
        ),
    )
    .unwrap();
    let error = Profile::load(&config, "p").unwrap_err().to_string();
    assert!(error.starts_with("profile p in "), "{error}");
    assert!(
        error.contains("client_secret:") && error.contains("is empty"),
        "{error}"
    );
}
