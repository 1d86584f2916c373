//! Telenor's Communication flow end to end: the client library gets a bearer token, exchanges it
//! for an X-JWT at hasPermission, and calls a Communication API with Bearer + X-JWT +
//! X-Transaction-Id; expired X-JWTs are refused with Telenor's message and renewed by the client.

use std::sync::Arc;
use std::time::Duration;

use reqwest_middleware::ClientBuilder;
use tokenbroker::{
    AuthMiddleware, AuthStyle, CachedTokenSource, ClientConfig, ManualClock, TokenClient,
    XJwtConfig, XJwtSource,
};
use tokenbroker_sandbox::communication::SERVICE_RULES_PATH;
use tokenbroker_sandbox::{Sandbox, SandboxOptions, COMMUNICATION_USER_ID};
use tokenbroker_server::{Dialect, ServerConfig};

const SERVICE: &str = "Mobile Subscriptions Administration API";

#[tokio::test]
async fn bearer_plus_x_jwt_reaches_the_communication_api_and_renews_after_expiry() {
    let dir = tempfile::tempdir().unwrap();
    // One manual clock drives the server (which stamps the X-JWT), its guards and the client:
    // the X-JWT expires when the test says so, without waiting.
    let clock = Arc::new(ManualClock::starting_now());
    let mut config = ServerConfig::new(dir.path().join("data"));
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.clock = clock.clone();
    let options = SandboxOptions {
        x_jwt_lifetime: Duration::from_secs(3),
    };
    let sandbox = Sandbox::start_with_options(config, options).await.unwrap();
    let base = sandbox.server.issuer().to_owned();
    let telenor = sandbox
        .clients
        .iter()
        .find(|c| c.client_id == "dev-telenor")
        .unwrap();

    let token_url = format!("{base}{}", Dialect::TelenorNorway.token_path());
    let bearer_config =
        ClientConfig::builder(token_url, "dev-telenor", telenor.client_secret.clone())
            .auth_style(AuthStyle::Basic)
            .build()
            .unwrap();
    let bearer = Arc::new(CachedTokenSource::new(
        TokenClient::new(bearer_config).unwrap(),
    ));
    let password = sandbox.communication_user.password.clone();
    let x_jwt_config = XJwtConfig::new(
        &base,
        SERVICE,
        "comm-client",
        COMMUNICATION_USER_ID,
        password.clone(),
    )
    .unwrap();
    let x_jwt =
        Arc::new(XJwtSource::new(Arc::clone(&bearer), x_jwt_config).with_clock(clock.clone()));
    let api = ClientBuilder::new(reqwest::Client::new())
        .with(AuthMiddleware::new(Arc::clone(&bearer)).x_jwt(Arc::clone(&x_jwt)))
        .build();
    let rules = format!("{base}{SERVICE_RULES_PATH}");

    let response = api.get(&rules).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("serviceRules"));

    // Bearer alone is not enough.
    let bearer_only = ClientBuilder::new(reqwest::Client::new())
        .with(AuthMiddleware::new(Arc::clone(&bearer)).transaction_ids(true))
        .build();
    let refused = bearer_only.get(&rules).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    assert!(refused.text().await.unwrap().contains("X-JWT is required"));

    // An expired X-JWT is refused with Telenor's message…
    let (first_bearer, first_x_jwt) = x_jwt.credentials().await.unwrap();
    clock.advance(Duration::from_millis(3_200));
    let stale = reqwest::Client::new()
        .get(&rules)
        .bearer_auth(first_bearer.secret())
        .header("X-JWT", first_x_jwt.secret())
        .header("X-Transaction-Id", "t-1")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 401);
    assert!(stale
        .text()
        .await
        .unwrap()
        .contains("expired; a new one must be requested"));
    // …while the client renews ahead of expiry and keeps working.
    assert_eq!(api.get(&rules).send().await.unwrap().status(), 200);
    let (_, renewed) = x_jwt.credentials().await.unwrap();
    assert!(!renewed.same_as(&first_x_jwt));

    // Wrong Communication credentials are refused, and the password never shows in the error.
    let wrong = XJwtConfig::new(
        &base,
        SERVICE,
        "comm-client",
        COMMUNICATION_USER_ID,
        "wrong-password",
    )
    .unwrap();
    let error = XJwtSource::new(Arc::clone(&bearer), wrong)
        .credentials()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("403") && error.contains("permission"),
        "{error}"
    );
    assert!(!error.contains("wrong-password") && !error.contains(&password));

    // hasPermission needs a transaction id.
    let no_transaction = reqwest::Client::new()
        .post(format!("{base}/b2b/corporate/auth/right/v2/hasPermission/corporate/?service=x"))
        .bearer_auth(first_bearer.secret())
        .json(&serde_json::json!({ "clientId": "c", "userId": COMMUNICATION_USER_ID, "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(no_transaction.status(), 400);
    sandbox.server.stop().await;
}
