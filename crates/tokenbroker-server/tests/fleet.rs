//! Several nodes on one registry act as one issuer, and a data directory from before keys moved
//! into the registry keeps every key and token.

use std::time::Duration;

use serde_json::Value;
use tokenbroker_server::registry::{NewClient, Registry, RegistryError, CLIENT_VIEW_BOUND};
use tokenbroker_server::{
    AuthServer, DataDir, KeyAlgorithm, KeyStoreError, ServeError, ServerConfig,
};

const AUDIENCE: &str = "https://api.dev.entur.io";
const ISSUER: &str = "https://issuer.fleet.test";

fn node_config(dir: &std::path::Path, database_url: Option<&str>) -> ServerConfig {
    let mut config = ServerConfig::new(dir);
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.database_url = database_url.map(str::to_owned);
    config.issuer = Some(ISSUER.into());
    config
}

async fn jwks_kids(server: &AuthServer) -> Vec<String> {
    let set: Value = reqwest::get(format!("{}/.well-known/jwks.json", server.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

/// Copies the secrets a fleet node needs (the pepper and the KEK) from one data dir to another.
fn share_secrets(from: &std::path::Path, to: &std::path::Path) {
    let to = DataDir::open(to).unwrap();
    for name in ["pepper", "kek"] {
        let target = to.path().join(name);
        std::fs::copy(from.join(name), &target).unwrap();
    }
}

/// Two nodes on one registry, and a client registered through the first.
struct Fleet {
    a: AuthServer,
    b: AuthServer,
    id: String,
    secret: String,
}

async fn two_nodes(postgres: &tokenbroker_testkit::Postgres, dir: &std::path::Path) -> Fleet {
    let (dir_a, dir_b) = (dir.join("a"), dir.join("b"));
    let a = AuthServer::start(node_config(&dir_a, Some(&postgres.url)))
        .await
        .unwrap();
    share_secrets(&dir_a, &dir_b);
    // Node B checks the schedule only hourly: a rotation reaches it by PostgreSQL's announcement.
    let mut config_b = node_config(&dir_b, Some(&postgres.url));
    config_b.key_reload_interval = Duration::from_secs(3600);
    let b = AuthServer::start(config_b).await.unwrap();
    let new = NewClient {
        name: "app".into(),
        audiences: vec![AUDIENCE.into()],
        ..NewClient::default()
    };
    let (client, issued) = a.registry().create_client(new, "test").await.unwrap();
    Fleet {
        a,
        b,
        id: client.client_id,
        secret: issued.client_secret,
    }
}

/// Two nodes on one PostgreSQL with the same pepper and KEK: a token from either validates at
/// the other (JWKS and introspection), a revocation at one holds at the other, and a rotation
/// made on one reaches both within the reload interval. A node with another KEK or pepper is
/// refused at start.
#[tokio::test]
async fn nodes_sharing_a_registry_are_one_issuer() {
    let postgres = tokenbroker_testkit::Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let Fleet { a, b, id, secret } = two_nodes(&postgres, dir.path()).await;
    let (id, secret) = (id.as_str(), secret.as_str());

    assert_eq!(jwks_kids(&a).await, jwks_kids(&b).await, "one key set");
    let from_a = tokenbroker_testkit::fetch_token(&a.url(), id, secret).await;
    let from_b = tokenbroker_testkit::fetch_token(&b.url(), id, secret).await;
    assert_eq!(kid(&from_a), kid(&from_b), "both sign with the same key");
    let at_b = tokenbroker_testkit::introspect(&b.url(), id, secret, &from_a).await;
    assert_eq!(at_b["active"], true, "{at_b}");

    // Revoked at B, a token from A is inactive at A too.
    let revoked = reqwest::Client::new()
        .post(format!("{}/oauth2/revoke", b.url()))
        .basic_auth(id, Some(secret))
        .form(&[("token", from_a.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let at_a = tokenbroker_testkit::introspect(&a.url(), id, secret, &from_a).await;
    assert_eq!(at_a["active"], false, "{at_a}");

    // A rotation on A (signing at once) reaches B at once, announced by PostgreSQL (B polls
    // only hourly).
    let rotation = a
        .key_store()
        .rotate(
            KeyAlgorithm::Es256,
            Duration::ZERO,
            Duration::from_secs(3600),
            "test",
        )
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    loop {
        let token = tokenbroker_testkit::fetch_token(&b.url(), id, secret).await;
        if kid(&token) == rotation.kid && jwks_kids(&b).await.contains(&rotation.kid) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "node B did not pick up the rotation"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let before = tokenbroker_testkit::introspect(&b.url(), id, secret, &from_b).await;
    assert_eq!(
        before["active"], true,
        "the old key still verifies its tokens"
    );

    // A node with another KEK, or another pepper, is refused at start.
    let dir_c = dir.path().join("c");
    let dir_a = dir.path().join("a");
    share_secrets(&dir_a, &dir_c);
    std::fs::remove_file(dir_c.join("kek")).unwrap();
    let error = AuthServer::start(node_config(&dir_c, Some(&postgres.url)))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ServeError::Keys(KeyStoreError::KekMissing { .. })),
        "{error}"
    );
    assert!(error.is_configuration());
    assert!(!dir_c.join("kek").exists(), "a missing KEK is not replaced");
    std::fs::write(dir_c.join("kek"), [7u8; 32]).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir_c.join("kek"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let error = AuthServer::start(node_config(&dir_c, Some(&postgres.url)))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ServeError::Keys(KeyStoreError::KekMismatch { .. })),
        "{error}"
    );
    let dir_d = dir.path().join("d");
    let error = AuthServer::start(node_config(&dir_d, Some(&postgres.url)))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("another pepper"), "{error}");
    // One issuer: a node with another, or none at all, is refused before it signs anything.
    let dir_e = dir.path().join("e");
    share_secrets(&dir_a, &dir_e);
    let mut elsewhere = node_config(&dir_e, Some(&postgres.url));
    elsewhere.issuer = Some("https://another.issuer.test".into());
    let error = AuthServer::start(elsewhere.clone()).await.unwrap_err();
    assert!(
        matches!(
            &error,
            ServeError::Registry(RegistryError::IssuerMismatch { recorded, .. }) if recorded == ISSUER
        ),
        "{error}"
    );
    elsewhere.issuer = None;
    let error = AuthServer::start(elsewhere).await.unwrap_err();
    assert!(matches!(error, ServeError::IssuerRequired), "{error}");
    a.stop().await;
    b.stop().await;
}

/// A data directory of the old layout (`keys/*.pem`, `keys/manifest.json`) keeps its keys: the
/// first start imports them, the current key goes on signing, and a token signed before the
/// upgrade still validates. (Writing the old layout needs the `testing` feature, which the
/// workspace's test run enables.)
#[cfg(feature = "testing")]
#[tokio::test]
async fn upgrading_a_data_dir_keeps_every_key_and_token() {
    use tokenbroker_server::{sign_access_token, write_legacy_key, AccessTokenClaims};
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::open(dir.path().join("data")).unwrap();
    let retired_later = write_legacy_key(
        &data,
        KeyAlgorithm::Rs256,
        0,
        Some(1),
        Some(i64::from(i32::MAX)),
    );
    let current = write_legacy_key(&data, KeyAlgorithm::Es256, 1, None, None);
    let config = node_config(data.path(), None);
    let server = AuthServer::start(config.clone()).await.unwrap();
    let new = NewClient {
        name: "app".into(),
        audiences: vec![AUDIENCE.into()],
        ..NewClient::default()
    };
    let (client, issued) = server.registry().create_client(new, "test").await.unwrap();
    let (id, secret) = (client.client_id.as_str(), issued.client_secret.as_str());

    let mut kids = jwks_kids(&server).await;
    kids.sort();
    let mut expected = vec![retired_later.kid().to_owned(), current.kid().to_owned()];
    expected.sort();
    assert_eq!(kids, expected, "both old keys are published");
    let fresh = tokenbroker_testkit::fetch_token(&server.url(), id, secret).await;
    assert_eq!(
        kid(&fresh),
        current.kid(),
        "the current key goes on signing"
    );

    // Tokens the old server signed, with either key, still validate.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for key in [&retired_later, &current] {
        let claims = AccessTokenClaims {
            iss: ISSUER.into(),
            sub: id.into(),
            client_id: id.into(),
            aud: AUDIENCE.into(),
            scope: None,
            iat: now - 60,
            exp: now + 3600,
            jti: format!("before-the-upgrade-{}", key.kid()),
        };
        let old = sign_access_token(key, &claims).unwrap();
        let answer = tokenbroker_testkit::introspect(&server.url(), id, secret, &old).await;
        assert_eq!(answer["active"], true, "{answer}");
    }
    server.stop().await;

    // A restart reads the keys from the registry, not from the files.
    std::fs::remove_dir_all(data.path().join("keys")).unwrap();
    let restarted = AuthServer::start(config).await.unwrap();
    let fresh = tokenbroker_testkit::fetch_token(&restarted.url(), id, secret).await;
    assert_eq!(kid(&fresh), current.kid());
    restarted.stop().await;
}

/// A single node on a data directory may move ports on its default issuer; once an issuer is
/// chosen explicitly it is recorded, and a restart with another (or the default) is refused.
#[tokio::test]
async fn a_chosen_issuer_sticks_to_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut config = ServerConfig::new(&data);
    config.listen = "127.0.0.1:0".parse().unwrap();
    AuthServer::start(config.clone())
        .await
        .unwrap()
        .stop()
        .await;
    AuthServer::start(config.clone())
        .await
        .unwrap()
        .stop()
        .await;
    config.issuer = Some(ISSUER.into());
    AuthServer::start(config.clone())
        .await
        .unwrap()
        .stop()
        .await;
    config.issuer = None;
    let error = AuthServer::start(config).await.unwrap_err();
    assert!(error.is_configuration());
    let message = error.to_string();
    assert!(
        message.contains(ISSUER) && message.contains("http://127.0.0.1:"),
        "{message}"
    );
}

/// The failed-authentication limit holds for the fleet: failures split across two nodes add up,
/// and once the client's limit from this address is reached, both nodes refuse it (the node
/// that did not see the last failure within its poll interval).
#[tokio::test]
async fn the_failure_limit_counts_across_nodes() {
    let postgres = tokenbroker_testkit::Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let Fleet { a, b, id, secret } = two_nodes(&postgres, dir.path()).await;
    let (id, secret) = (id.as_str(), secret.as_str());
    let status = |node: &AuthServer, secret: &str| {
        let url = node.url();
        let (id, secret) = (id.to_owned(), secret.to_owned());
        async move {
            tokenbroker_testkit::request_token(&url, &id, &secret)
                .await
                .status()
                .as_u16()
        }
    };
    // Ten failures from this address (the per-client limit from one address), five per node:
    // neither node alone has reached it.
    for n in 0..10 {
        let node = if n % 2 == 0 { &a } else { &b };
        assert_eq!(status(node, "wrong").await, 401, "failure {n}");
    }
    for node in [&a, &b] {
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        loop {
            let answer = status(node, secret).await;
            if answer == 429 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{} still answers {answer} after the fleet's tenth failure",
                node.url()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    a.stop().await;
    b.stop().await;
}

/// How long `node` goes on answering `id`/`secret` with `expected` before it changes its mind;
/// fails past [`CLIENT_VIEW_BOUND`], the bound the registry states for a change to reach every
/// node. Asked every 10 ms: this waits for a change to travel, not for an expiry.
async fn answer_changes_within_bound(
    node: &AuthServer,
    id: &str,
    secret: &str,
    until: u16,
) -> Duration {
    let started = std::time::Instant::now();
    loop {
        let answer = tokenbroker_testkit::request_token(&node.url(), id, secret)
            .await
            .status()
            .as_u16();
        let waited = started.elapsed();
        if answer == until {
            return waited;
        }
        assert!(
            waited <= CLIENT_VIEW_BOUND,
            "{} still answers {answer} (not {until}) {waited:?} after the change",
            node.url()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A client disabled, re-enabled or given a new secret on one node is honoured by the other
/// within the stated bound, though the other had it in its client view (announced by
/// PostgreSQL; polled otherwise).
#[tokio::test]
async fn a_client_change_on_one_node_holds_on_every_node_within_the_bound() {
    let postgres = tokenbroker_testkit::Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let Fleet { a, b, id, secret } = two_nodes(&postgres, dir.path()).await;
    let (id, secret) = (id.as_str(), secret.as_str());
    // B authenticates the client, so it is in B's view.
    for _ in 0..3 {
        tokenbroker_testkit::fetch_token(&b.url(), id, secret).await;
    }

    a.registry().set_enabled(id, false, "test").await.unwrap();
    answer_changes_within_bound(&b, id, secret, 400).await;
    a.registry().set_enabled(id, true, "test").await.unwrap();
    answer_changes_within_bound(&b, id, secret, 200).await;

    // A new secret with no overlap: the old one stops at B, the new one works there.
    let rotated = a
        .registry()
        .rotate_secret(id, Duration::ZERO, "test")
        .await
        .unwrap();
    answer_changes_within_bound(&b, id, secret, 401).await;
    tokenbroker_testkit::fetch_token(&b.url(), id, &rotated.client_secret).await;
    a.stop().await;
    b.stop().await;
}

/// On SQLite, where nothing announces a change, a client disabled by another process (the
/// CLI, here a second registry handle on the same file) is refused by the serving node within
/// the bound: the node polls the change marker.
#[tokio::test]
async fn a_client_disabled_by_another_process_is_refused_within_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path().join("node");
    let node = AuthServer::start(node_config(&dir, None)).await.unwrap();
    let new = NewClient {
        name: "app".into(),
        audiences: vec![AUDIENCE.into()],
        ..NewClient::default()
    };
    let (client, issued) = node.registry().create_client(new, "test").await.unwrap();
    let (id, secret) = (client.client_id.as_str(), issued.client_secret.as_str());
    tokenbroker_testkit::fetch_token(&node.url(), id, secret).await;

    let data = DataDir::open(&dir).unwrap();
    let elsewhere = Registry::open(&data.registry_url().unwrap(), data.pepper().unwrap())
        .await
        .unwrap();
    elsewhere.set_enabled(id, false, "cli").await.unwrap();
    answer_changes_within_bound(&node, id, secret, 400).await;
    elsewhere.close().await;
    node.stop().await;
}

/// A portal login on one node is a session on every node, and a logout on another ends it on
/// all of them: sessions live in the shared registry.
#[tokio::test]
async fn a_portal_session_holds_on_every_node_and_ends_on_all() {
    use secrecy::SecretString;
    use tokenbroker_server::registry::{NewAdmin, Role};
    let postgres = tokenbroker_testkit::Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let Fleet { a, b, .. } = two_nodes(&postgres, dir.path()).await;
    let password = "a fleet-wide password";
    let admin = NewAdmin {
        name: "alice".into(),
        roles: vec![Role::ClientAdmin],
        token_expires_in: None,
        password: Some(SecretString::from(password)),
    };
    a.registry().add_admin(&admin, "test").await.unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = http
        .post(format!("{}/portal/login", a.url()))
        .form(&[("name", "alice"), ("password", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    let cookie = login.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let clients_at = |node: &AuthServer| {
        let request = http
            .get(format!("{}/portal/clients", node.url()))
            .header("cookie", &cookie);
        async move { request.send().await.unwrap() }
    };
    let at_b = clients_at(&b).await;
    assert_eq!(at_b.status(), 200, "node B honours node A's session");
    let page = at_b.text().await.unwrap();
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    let logout = http
        .post(format!("{}/portal/logout", b.url()))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 303);
    for node in [&a, &b] {
        assert_eq!(
            clients_at(node).await.status(),
            303,
            "logged out everywhere"
        );
    }
}
