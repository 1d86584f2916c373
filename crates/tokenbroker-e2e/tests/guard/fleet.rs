//! Three authorization-server nodes on one PostgreSQL behind a round-robin proxy are one issuer
//! to a guard pointed at the proxy: across a key rotation, a revocation made at another node,
//! and a node stopped under load.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokenbroker_guard::{Guard, GuardConfig, RevocationFeed};
use tokenbroker_server::registry::NewClient;
use tokenbroker_server::{AuthServer, DataDir, KeyAlgorithm, ServerConfig};
use tokenbroker_testkit::{Postgres, RoundRobinProxy};

const AUDIENCE: &str = "https://api.dev.entur.io";

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

/// Starts `count` nodes issuing as the proxy's URL; the first makes the pepper and KEK, which
/// the others get a copy of.
async fn fleet(
    postgres: &Postgres,
    proxy: &RoundRobinProxy,
    dir: &std::path::Path,
) -> Vec<AuthServer> {
    let mut nodes = Vec::new();
    for n in 0..3 {
        let data = dir.join(format!("node-{n}"));
        if n > 0 {
            let data = DataDir::open(&data).unwrap();
            for secret in ["pepper", "kek"] {
                std::fs::copy(dir.join("node-0").join(secret), data.path().join(secret)).unwrap();
            }
        }
        let mut config = ServerConfig::new(data);
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.database_url = Some(postgres.url.clone());
        config.issuer = Some(proxy.url());
        nodes.push(AuthServer::start(config).await.unwrap());
    }
    proxy.set_backends(nodes.iter().map(AuthServer::addr));
    nodes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_behind_a_proxy_are_one_issuer() {
    let postgres = Postgres::start();
    let proxy = RoundRobinProxy::bind().await;
    let dir = tempfile::tempdir().unwrap();
    let mut nodes = fleet(&postgres, &proxy, dir.path()).await;
    let new = NewClient {
        name: "app".into(),
        audiences: vec![AUDIENCE.into()],
        ..NewClient::default()
    };
    let (client, issued) = nodes[0]
        .registry()
        .create_client(new, "test")
        .await
        .unwrap();
    let (id, secret) = (client.client_id.clone(), issued.client_secret.clone());
    let mut config = GuardConfig::new(proxy.url(), AUDIENCE);
    config.revocations = Some(RevocationFeed {
        url: format!("{}/revocations", proxy.url()),
        poll_interval: Duration::from_millis(300),
    });
    let guard = Guard::start(config).await.unwrap();

    // A token from every node validates through the one guard.
    for node in &nodes {
        let token = tokenbroker_testkit::fetch_token(&node.url(), &id, &secret).await;
        guard.verify(&token).await.expect("a token from any node");
    }

    // A rotation made on one node, its key published 2 s before it signs: a steady stream of
    // tokens through the proxy is never rejected, and ends on the new key.
    let rotation = nodes[1]
        .key_store()
        .rotate(
            KeyAlgorithm::Es256,
            Duration::from_secs(2),
            Duration::from_secs(3600),
            "test",
        )
        .await
        .unwrap();
    let until = Instant::now() + Duration::from_secs(5);
    let (mut verified, mut last_kid) = (0, String::new());
    while Instant::now() < until {
        let token = tokenbroker_testkit::fetch_token(&proxy.url(), &id, &secret).await;
        if let Err(rejection) = guard.verify(&token).await {
            panic!(
                "token {verified} (kid {}) rejected during the rotation: {rejection}",
                kid(&token)
            );
        }
        verified += 1;
        last_kid = kid(&token);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        last_kid, rotation.kid,
        "after {verified} tokens the new key signs"
    );

    // Revoked at node 2, a token issued by node 1: inactive at node 3, rejected by the guard
    // within its poll interval.
    let token = tokenbroker_testkit::fetch_token(&nodes[0].url(), &id, &secret).await;
    let revoked = reqwest::Client::new()
        .post(format!("{}/oauth2/revoke", nodes[1].url()))
        .basic_auth(&id, Some(&secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let answer = tokenbroker_testkit::introspect(&nodes[2].url(), &id, &secret, &token).await;
    assert_eq!(answer["active"], false, "{answer}");
    let deadline = Instant::now() + Duration::from_secs(3);
    while guard.verify(&token).await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "the guard still accepts a revoked token"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // One node stopped in the middle of a load of token requests: every request is answered,
    // and every answer is a token.
    let (id, secret) = (Arc::new(id), Arc::new(secret));
    let mut load = tokio::task::JoinSet::new();
    for n in 0..60 {
        let (url, id, secret) = (proxy.url(), Arc::clone(&id), Arc::clone(&secret));
        load.spawn(async move {
            tokio::time::sleep(Duration::from_millis(n * 10)).await;
            tokenbroker_testkit::request_token(&url, &id, &secret)
                .await
                .status()
                .as_u16()
        });
    }
    tokio::time::sleep(Duration::from_millis(250)).await;
    nodes.pop().unwrap().stop().await;
    let mut answers = Vec::new();
    while let Some(answer) = load.join_next().await {
        answers.push(answer.unwrap());
    }
    assert_eq!(answers.len(), 60);
    assert!(answers.iter().all(|status| *status == 200), "{answers:?}");
    for node in nodes {
        node.stop().await;
    }
}
