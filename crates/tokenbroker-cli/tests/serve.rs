//! `tokenbroker serve` with `tokenbroker clients`, run as an operator would.

use std::process::Stdio;
use std::time::Duration;

use crate::common::BIN;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const AUDIENCE: &str = "https://api.dev.entur.io";

async fn cli(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("TOKENBROKER_CONFIG");
    for (k, v) in env {
        command.env(k, v);
    }
    command.stdin(Stdio::null()).output().await.unwrap()
}

fn json(output: &std::process::Output) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

struct Serving {
    child: crate::common::Process,
    url: String,
}

async fn serve(data_dir: &str) -> Serving {
    let args = ["serve", "--data-dir", data_dir, "--listen", "127.0.0.1:0"];
    let (child, url) = crate::common::spawn_listening(&args, &[]).await;
    Serving { child, url }
}

impl Serving {
    async fn stop(mut self) {
        let pid = self.child.id().unwrap().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .unwrap();
        assert!(status.success());
        let exit = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(exit.success(), "graceful shutdown exits 0, got {exit:?}");
    }
}

async fn token(url: &str, path: &str, id: &str, secret: &str, style: &str) -> std::process::Output {
    let token_url = format!("{url}{path}");
    cli(
        &[
            "token",
            "--token-url",
            &token_url,
            "--client-id",
            id,
            "--client-secret-env",
            "SECRET",
            "--auth-style",
            style,
            "--audience",
            AUDIENCE,
        ],
        &[("SECRET", secret)],
    )
    .await
}

/// The token `tokenbroker token` printed; fails with the CLI's stderr when it printed none.
fn issued_jwt(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "tokenbroker token failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The claims of the token `output` printed.
fn claims(output: &std::process::Output) -> Value {
    tokenbroker::wire::jwt::decode_unverified(&issued_jwt(output))
        .expect("a JWT")
        .1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_creates_clients_and_the_server_issues_tokens_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();

    let created = json(
        &cli(
            &[
                "clients",
                "--data-dir",
                data,
                "create",
                "--name",
                "route-planner",
                "--audience",
                AUDIENCE,
                "--scope",
                "personalisation:read",
                "--json",
            ],
            &[],
        )
        .await,
    );
    let id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 43, "a 256-bit secret");

    let server = serve(data).await;
    // All three client authentication styles, on the standard and the provider paths.
    for (path, style) in [
        ("/oauth2/token", "basic"),
        ("/oauth/token", "json"),
        ("/oauth/v2/token", "form"),
    ] {
        let claims = claims(&token(&server.url, path, &id, &secret, style).await);
        assert_eq!(claims["iss"], server.url.as_str());
        assert_eq!(claims["aud"], AUDIENCE);
        assert_eq!(claims["client_id"], id.as_str());
        assert_eq!(claims["scope"], "personalisation:read");
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            86_400,
            "Entur profile: 24 h"
        );
    }

    // Metadata and keys.
    let http = reqwest::Client::new();
    let metadata: Value = http
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            server.url
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["issuer"], server.url.as_str());
    assert_eq!(
        metadata["token_endpoint"],
        format!("{}/oauth2/token", server.url)
    );
    assert_eq!(metadata["grant_types_supported"][0], "client_credentials");
    let jwks: Value = http
        .get(format!("{}/.well-known/jwks.json", server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kid_before = jwks["keys"][0]["kid"].as_str().unwrap().to_owned();

    // The registry recorded the use; rotation keeps the old secret during the overlap.
    let listed = json(&cli(&["clients", "--data-dir", data, "list", "--json"], &[]).await);
    assert!(listed[0]["secrets"][0]["last_used_at"].is_i64());
    let rotated = json(
        &cli(
            &[
                "clients",
                "--data-dir",
                data,
                "rotate-secret",
                &id,
                "--json",
            ],
            &[],
        )
        .await,
    );
    let new_secret = rotated["client_secret"].as_str().unwrap().to_owned();
    claims(&token(&server.url, "/oauth2/token", &id, &new_secret, "basic").await);
    claims(&token(&server.url, "/oauth2/token", &id, &secret, "basic").await);

    // Disabled clients are refused (exit 3, unauthorized_client); enabling restores them.
    assert!(cli(&["clients", "--data-dir", data, "disable", &id], &[])
        .await
        .status
        .success());
    let refused = token(&server.url, "/oauth2/token", &id, &new_secret, "basic").await;
    assert_eq!(refused.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("unauthorized_client"));
    assert!(cli(&["clients", "--data-dir", data, "enable", &id], &[])
        .await
        .status
        .success());
    claims(&token(&server.url, "/oauth2/token", &id, &new_secret, "basic").await);

    // A restart keeps clients and keys: the same kid, the same clients.
    server.stop().await;
    let server = serve(data).await;
    let jwks: Value = http
        .get(format!("{}/.well-known/jwks.json", server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["kid"], kid_before.as_str());
    claims(&token(&server.url, "/oauth2/token", &id, &new_secret, "basic").await);

    // The audit log tells the story.
    let shown = json(&cli(&["clients", "--data-dir", data, "show", &id, "--json"], &[]).await);
    let actions: Vec<&str> = shown["audit_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "client.create",
            "secret.rotate",
            "client.disable",
            "client.enable"
        ]
    );
    assert!(!shown.to_string().contains(&new_secret));

    assert!(cli(&["clients", "--data-dir", data, "delete", &id], &[])
        .await
        .status
        .success());
    assert_eq!(
        token(&server.url, "/oauth2/token", &id, &new_secret, "basic")
            .await
            .status
            .code(),
        Some(3)
    );
    server.stop().await;
}

#[tokio::test]
async fn admins_are_bootstrapped_with_a_role_and_a_one_time_token() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let admin = json(
        &cli(
            &[
                "admins",
                "--data-dir",
                data,
                "create",
                "--name",
                "alice",
                "--role",
                "client-admin",
                "--json",
            ],
            &[],
        )
        .await,
    );
    assert!(admin["token"].as_str().unwrap().starts_with("tba_"));
    assert_eq!(admin["admin"]["roles"][0], "client-admin");
    let bad = cli(
        &[
            "admins",
            "--data-dir",
            data,
            "create",
            "--name",
            "bob",
            "--role",
            "superuser",
        ],
        &[],
    )
    .await;
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("client-admin"));
}

#[tokio::test]
async fn bad_operator_input_gets_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let out = cli(&["serve", "--data-dir", data, "--listen", "0.0.0.0:0"], &[]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--insecure-http"));
    let out = cli(&["clients", "--data-dir", data, "show", "nobody"], &[]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no client with id \"nobody\""));
    let out = cli(
        &["clients", "--data-dir", data, "create", "--name", "x"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "--audience is required");
    let out = cli(&["serve", "--data-dir", data, "--profile", "okta"], &[]).await;
    assert_eq!(out.status.code(), Some(2));
}

async fn jwks(url: &str) -> jsonwebtoken::jwk::JwkSet {
    reqwest::get(format!("{url}/.well-known/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn kid_of(output: &std::process::Output) -> String {
    jsonwebtoken::decode_header(issued_jwt(output))
        .unwrap()
        .kid
        .unwrap()
}

/// Verifies `jwt` against the published JWKS, as any API would.
fn verifies_with(jwks: &jsonwebtoken::jwk::JwkSet, output: &std::process::Output) -> bool {
    let jwt = issued_jwt(output);
    let header = jsonwebtoken::decode_header(&jwt).unwrap();
    let Some(jwk) = jwks.find(header.kid.as_deref().unwrap()) else {
        return false;
    };
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(
        &jwt,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .is_ok()
}

async fn wait_for(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_on_a_running_server_without_breaking_any_token() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let created = json(
        &cli(
            &[
                "clients",
                "--data-dir",
                data,
                "create",
                "--name",
                "app",
                "--audience",
                AUDIENCE,
                "--json",
            ],
            &[],
        )
        .await,
    );
    let (id, secret) = (
        created["client_id"].as_str().unwrap(),
        created["client_secret"].as_str().unwrap(),
    );
    let server = serve(data).await;
    let old_token = token(&server.url, "/oauth2/token", id, secret, "basic").await;
    let old_kid = kid_of(&old_token);

    let rotation = json(
        &cli(
            &[
                "keys",
                "--data-dir",
                data,
                "rotate",
                "--algorithm",
                "es256",
                "--publish-ahead",
                "8",
                "--retain",
                "4",
                "--json",
            ],
            &[],
        )
        .await,
    );
    let new_kid = rotation["kid"].as_str().unwrap().to_owned();
    let signs_from = rotation["signs_from"].as_i64().unwrap();
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    };

    // The running server publishes the next key before it signs with it.
    wait_for("the JWKS publishes both keys", async || {
        jwks(&server.url).await.keys.len() == 2
    })
    .await;
    let before_switch = token(&server.url, "/oauth2/token", id, secret, "basic").await;
    if now() < signs_from {
        assert_eq!(
            kid_of(&before_switch),
            old_kid,
            "the new key must not sign before it is published long enough"
        );
    }

    // After the switch: new tokens are ES256 with the new kid; old tokens still verify.
    wait_for("the new key signs", async || now() >= signs_from).await;
    let after_switch = token(&server.url, "/oauth2/token", id, secret, "basic").await;
    assert_eq!(kid_of(&after_switch), new_kid);
    let published = jwks(&server.url).await;
    assert!(
        verifies_with(&published, &old_token),
        "a token signed by the old key still verifies"
    );
    assert!(verifies_with(&published, &after_switch));

    // After retention the old key is no longer published.
    wait_for("the old key is retired", async || {
        jwks(&server.url).await.find(&old_kid).is_none()
    })
    .await;
    assert!(verifies_with(&jwks(&server.url).await, &after_switch));
    let listed = json(&cli(&["keys", "--data-dir", data, "list", "--json"], &[]).await);
    assert_eq!(
        listed.as_array().unwrap().len(),
        2,
        "retired keys are pruned at the next rotation, not before"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dev_sandbox_serves_communication_apis_to_a_cli_profile_with_x_jwt() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--dev",
            "--data-dir",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut url, mut secret, mut password) = (String::new(), String::new(), String::new());
    while let Ok(Ok(Some(line))) =
        tokio::time::timeout(Duration::from_secs(60), lines.next_line()).await
    {
        if let Some(rest) = line.strip_prefix("listening on ") {
            url = rest.to_owned();
        }
        if let Some(rest) = line.trim().strip_prefix("dev-telenor  secret ") {
            secret = rest.split_whitespace().next().unwrap().to_owned();
        }
        if line.starts_with("Telenor Communication") {
            password = line
                .split("\"password\": \"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_owned();
            break;
        }
    }
    assert!(!url.is_empty() && !secret.is_empty() && !password.is_empty());
    let config = dir.path().join("tokenbroker.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.comm]\npreset = \"telenor\"\nregion = \"sweden\"\nbase_url = \"{url}\"\nclient_id = \"dev-telenor\"\n\
             client_secret_env = \"TELENOR_SECRET\"\nx_jwt_service = \"Mobile Subscriptions Administration API\"\n\
             x_jwt_client_id = \"comm-client\"\nx_jwt_user_id = 1234567\nx_jwt_password_env = \"COMM_PASSWORD\"\n"
        ),
    )
    .unwrap();
    let rules = format!("{url}/b2b/mobile-admin/productCatalogManagement/v1/serviceRules");
    let env = [
        ("TELENOR_SECRET", secret.as_str()),
        ("COMM_PASSWORD", password.as_str()),
    ];
    let out = cli(
        &["request", "--config", config.to_str().unwrap(), &rules],
        &env,
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("serviceRules"));

    // Without the Communication password the profile is refused before any request.
    let out = cli(
        &["request", "--config", config.to_str().unwrap(), &rules],
        &[("TELENOR_SECRET", secret.as_str())],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("COMM_PASSWORD"));
    let _ = child.kill().await;
}
