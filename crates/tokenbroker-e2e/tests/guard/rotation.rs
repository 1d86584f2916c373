//! Key rotation at the issuer: a token signed with the new key is accepted after one JWKS refresh.

use std::time::Duration;

use tokenbroker_guard::{Guard, GuardConfig};
use tokenbroker_server::registry::NewClient;
use tokenbroker_server::DataDir;
use tokenbroker_server::{AuthServer, ServerConfig};
use tokenbroker_server::{KeyAlgorithm, KeyStore};

const AUDIENCE: &str = "https://api.dev.entur.io";

async fn token(server: &AuthServer, id: &str, secret: &str) -> String {
    tokenbroker_testkit::fetch_token(server.issuer(), id, secret).await
}

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_with_one_jwks_refresh() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path().join("data"));
    config.listen = "127.0.0.1:0".parse().unwrap();
    let server = AuthServer::start(config).await.unwrap();
    let new = NewClient {
        name: "app".into(),
        audiences: vec![AUDIENCE.into()],
        ..NewClient::default()
    };
    let (client, issued) = server.registry().create_client(new, "test").await.unwrap();
    let guard = Guard::start(GuardConfig::new(server.issuer(), AUDIENCE))
        .await
        .unwrap();
    let old = token(&server, &client.client_id, &issued.client_secret).await;
    assert!(guard.verify(&old).await.is_ok());
    let fetches = guard.jwks().fetch_count();

    // Rotate to ES256, signing at once, as `tokenbroker keys rotate` does from another process;
    // the running server reloads its keys within 2 s.
    let data = DataDir::open(dir.path().join("data")).unwrap();
    let store = KeyStore::for_data_dir(&data, None, None).await.unwrap();
    store
        .rotate(
            KeyAlgorithm::Es256,
            Duration::ZERO,
            Duration::from_secs(3600),
            "test",
        )
        .await
        .unwrap();
    let mut new = old.clone();
    for _ in 0..50 {
        new = token(&server, &client.client_id, &issued.client_secret).await;
        if kid(&new) != kid(&old) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_ne!(
        kid(&new),
        kid(&old),
        "the server signs with the rotated key"
    );

    let verified = guard
        .verify(&new)
        .await
        .expect("the new kid is fetched and accepted");
    assert_eq!(verified.client_id(), Some(client.client_id.as_str()));
    assert_eq!(
        guard.jwks().fetch_count(),
        fetches + 1,
        "exactly one JWKS refresh"
    );
    assert!(
        guard.verify(&old).await.is_ok(),
        "the old key is still published for its tokens"
    );
    server.stop().await;
}
