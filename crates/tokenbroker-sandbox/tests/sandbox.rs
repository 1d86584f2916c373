//! The sandbox: dev clients get tokens from the AS and call the demo partner APIs on the same
//! listener, which answer the providers' statuses.

use tokenbroker_sandbox::partner_api::ENTUR_AUDIENCE;
use tokenbroker_sandbox::Sandbox;
use tokenbroker_server::registry::NewClient;
use tokenbroker_server::ServerConfig;

use tokenbroker_testkit::fetch_token as token;

async fn get(url: &str, token: Option<&str>, client_name: Option<&str>) -> (u16, String) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(name) = client_name {
        request = request.header("ET-Client-Name", name);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn dev_clients_call_the_demo_apis_and_get_the_seed_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path().join("data"));
    config.listen = "127.0.0.1:0".parse().unwrap();
    let sandbox = Sandbox::start(config).await.unwrap();
    let base = sandbox.server.issuer().to_owned();
    // The secrets are printed on the terminal by `serve --dev`, never in Debug (logs).
    let debug = format!("{sandbox:?}");
    assert!(debug.contains("dev-entur"), "{debug}");
    for client in &sandbox.clients {
        assert!(!debug.contains(&client.client_secret), "{debug}");
    }
    assert!(
        !debug.contains(&sandbox.communication_user.password),
        "{debug}"
    );
    let secret = |id: &str| {
        sandbox
            .clients
            .iter()
            .find(|c| c.client_id == id)
            .unwrap()
            .client_secret
            .clone()
    };
    let entur = token(&base, "dev-entur", &secret("dev-entur")).await;
    let telenor = token(&base, "dev-telenor", &secret("dev-telenor")).await;
    let programs = format!("{base}/personalisation/v1/programs/1");
    let offers = format!("{base}/corporate/fixed-network/product-catalog/product-offers");
    let name = Some("forsen_utvikling-infoplakat");

    let (status, body) = get(&programs, Some(&entur), name).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"caller\":\"dev-entur\""), "{body}");
    assert_eq!(
        get(&programs, Some(&entur), None).await.0,
        400,
        "ET-Client-Name is required"
    );
    assert_eq!(get(&programs, None, name).await.0, 401, "no token");
    let (status, body) = get(&programs, Some(&telenor), name).await;
    assert!(
        status == 401 && body.contains("audience"),
        "a token for another API: {body}"
    );

    // A client made by an operator, with the audience but without the scope: 403.
    let unscoped = NewClient {
        name: "unscoped".into(),
        audiences: vec![ENTUR_AUDIENCE.into()],
        ..NewClient::default()
    };
    let (client, issued) = sandbox
        .server
        .registry()
        .create_client(unscoped, "test")
        .await
        .unwrap();
    let unscoped = token(&base, &client.client_id, &issued.client_secret).await;
    let (status, body) = get(&programs, Some(&unscoped), name).await;
    assert!(
        status == 403 && body.contains("personalisation:read"),
        "{body}"
    );

    let (status, body) = get(&offers, Some(&telenor), None).await;
    assert!(status == 200 && body.contains("productOffers"), "{body}");
    assert_eq!(get(&offers, Some(&entur), None).await.0, 401);

    // A restart recreates the dev clients with new secrets: the old ones stop working.
    let old = secret("dev-entur");
    let data_dir = dir.path().join("data");
    sandbox.server.stop().await;
    let mut config = ServerConfig::new(&data_dir);
    config.listen = "127.0.0.1:0".parse().unwrap();
    let again = Sandbox::start(config).await.unwrap();
    let new = again
        .clients
        .iter()
        .find(|c| c.client_id == "dev-entur")
        .unwrap()
        .client_secret
        .clone();
    assert_ne!(old, new);
    again.server.stop().await;
}
