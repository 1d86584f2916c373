//! `tokenbroker serve` with `tokenbroker clients`, run as an operator would.

use std::process::Stdio;
use std::time::Duration;

use crate::common::BIN;
use serde_json::Value;
use tokenbroker_server::registry::CLIENT_VIEW_BOUND;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const AUDIENCE: &str = "https://api.dev.entur.io";

async fn cli(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    // A token cache of this invocation's own: every `token` here asks the server.
    let cache = tempfile::tempdir().unwrap();
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env("TOKENBROKER_CACHE_DIR", cache.path().join("tokens"))
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
        self.child.terminate().await;
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

    // Disabled clients are refused (exit 3, unauthorized_client) within the client view's bound;
    // enabling restores them.
    assert!(cli(&["clients", "--data-dir", data, "disable", &id], &[])
        .await
        .status
        .success());
    let refused = refused_within_bound(&server.url, &id, &new_secret).await;
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
    refused_within_bound(&server.url, &id, &new_secret).await;
    server.stop().await;
}

/// The failed `tokenbroker token` once the server honours a change another process made to the
/// client (disabled, deleted): within [`CLIENT_VIEW_BOUND`], the bound the registry states.
/// Asked every 20 ms (this waits for the change to travel, not for an expiry); half a second
/// more is allowed for the `tokenbroker token` process each check starts.
async fn refused_within_bound(url: &str, id: &str, secret: &str) -> std::process::Output {
    let started = std::time::Instant::now();
    loop {
        let answer = token(url, "/oauth2/token", id, secret, "basic").await;
        if answer.status.code() == Some(3) {
            return answer;
        }
        assert!(
            started.elapsed() <= CLIENT_VIEW_BOUND + Duration::from_millis(500),
            "still issued a token {:?} after the change (exit {:?})",
            started.elapsed(),
            answer.status.code()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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
    let out = cli(
        &[
            "serve",
            "--data-dir",
            data,
            "--trusted-proxy",
            "10.0.0.0/33",
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("trusted proxy \"10.0.0.0/33\" is not a CIDR")
            && stderr.lines().count() == 1,
        "{stderr}"
    );

    // --kek-file: at most 1 KiB, private, 32 raw bytes or their base64; TOKENBROKER_KEK base64.
    use std::os::unix::fs::PermissionsExt;
    let kek_file = dir.path().join("kek-file");
    let kek_file_arg = kek_file.to_str().unwrap();
    let private = |bytes: &[u8]| {
        let _ = std::fs::remove_file(&kek_file);
        std::fs::write(&kek_file, bytes).unwrap();
        std::fs::set_permissions(&kek_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    };
    let keys_list = [
        "keys",
        "--data-dir",
        data,
        "--kek-file",
        kek_file_arg,
        "list",
    ];
    for (contents, expected) in [
        // 1 KiB is read (and is base64 of 768 bytes); one byte more is not read at all.
        (vec![b'A'; 1024], "32 bytes, not 768"),
        (vec![b'A'; 1025], "larger than 1 KiB"),
        (vec![7u8; 31], "not base64"),
    ] {
        private(&contents);
        let out = cli(&keys_list, &[]).await;
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(expected) && stderr.contains("--kek-file"),
            "{stderr}"
        );
    }
    private(&[7u8; 32]);
    std::fs::set_permissions(&kek_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = cli(&keys_list, &[]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("chmod 600"));
    let out = cli(
        &["keys", "--data-dir", data, "list"],
        &[("TOKENBROKER_KEK", "bm90IDMyIGJ5dGVz")],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("TOKENBROKER_KEK: a key-encryption key is 32 bytes, not 12"),
        "{stderr}"
    );
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
    let dir_handle = tokenbroker_server::DataDir::open(data).unwrap();
    let registry = tokenbroker_server::registry::Registry::open(
        &dir_handle.registry_url().unwrap(),
        dir_handle.pepper().unwrap(),
    )
    .await
    .unwrap();
    let audit = registry.audit_log(None).await.unwrap();
    registry.close().await;
    let rotated: Vec<_> = audit.iter().filter(|e| e.action == "keys.rotate").collect();
    assert_eq!(rotated.len(), 1, "the rotation is audited: {audit:?}");
    assert_eq!(rotated[0].actor, "operator");
    assert!(rotated[0].detail.contains(&new_kid) && rotated[0].detail.contains(&old_kid));
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

/// Runs the CLI with `input` on stdin.
async fn cli_with_stdin(args: &[&str], input: &str) -> std::process::Output {
    use tokio::io::AsyncWriteExt;
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("TOKENBROKER_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).await.unwrap();
    drop(stdin);
    child.wait_with_output().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_import_secrets_update_clients_and_give_administrators_portal_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let imported = "secret-from-the-old-issuer";
    let created = cli_with_stdin(
        &[
            "clients",
            "--data-dir",
            data,
            "create",
            "--name",
            "legacy",
            "--audience",
            AUDIENCE,
            "--secret-stdin",
            "--json",
        ],
        &format!("{imported}\n"),
    )
    .await;
    let client = json(&created);
    assert!(!String::from_utf8_lossy(&created.stdout).contains(imported));
    assert_eq!(client["secrets"][0]["kind"], "argon2id");
    let id = client["client_id"].as_str().unwrap().to_owned();

    let updated = json(
        &cli(
            &[
                "clients",
                "--data-dir",
                data,
                "update",
                &id,
                "--scope",
                "a b",
                "--lifetime",
                "900",
                "--refresh-token",
                "true",
                "--json",
            ],
            &[],
        )
        .await,
    );
    assert_eq!(updated["scopes"], serde_json::json!(["a", "b"]));
    assert_eq!(updated["lifetime_seconds"], 900);
    assert_eq!(updated["refresh_tokens"], true);
    assert_eq!(updated["name"], "legacy", "untouched");
    let reset = json(
        &cli(
            &[
                "clients",
                "--data-dir",
                data,
                "update",
                &id,
                "--lifetime",
                "default",
                "--json",
            ],
            &[],
        )
        .await,
    );
    assert_eq!(reset["lifetime_seconds"], Value::Null);
    for (args, complaint) in [
        (vec!["update", id.as_str()], "nothing to change"),
        (
            vec!["update", id.as_str(), "--lifetime", "soon"],
            "`default`",
        ),
        (vec!["update", "nobody", "--name", "x"], "no client with id"),
    ] {
        let mut full = vec!["clients", "--data-dir", data];
        full.extend(args);
        let out = cli(&full, &[]).await;
        assert_eq!(out.status.code(), Some(2), "{full:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(complaint),
            "{full:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for (input, complaint) in [
        ("", "is empty"),
        ("short\n", "8 to 1024 bytes"),
        ("two\nlines\n", "more than one line"),
    ] {
        let out = cli_with_stdin(
            &[
                "clients",
                "--data-dir",
                data,
                "create",
                "--name",
                "x",
                "--audience",
                AUDIENCE,
                "--secret-stdin",
            ],
            input,
        )
        .await;
        assert_eq!(out.status.code(), Some(2), "{input:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(complaint), "{input:?}: {stderr}");
        assert!(
            input.is_empty() || !stderr.contains(input.trim()),
            "{stderr}"
        );
    }

    let password = "a long portal password";
    let admin = cli_with_stdin(
        &[
            "admins",
            "--data-dir",
            data,
            "create",
            "--name",
            "alice",
            "--role",
            "client-admin",
            "--password-stdin",
            "--json",
        ],
        password,
    )
    .await;
    assert!(!String::from_utf8_lossy(&admin.stdout).contains(password));
    json(&admin);
    let too_short = cli_with_stdin(
        &[
            "admins",
            "--data-dir",
            data,
            "set-password",
            "alice",
            "--password-stdin",
        ],
        "short-one",
    )
    .await;
    assert_eq!(too_short.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&too_short.stderr).contains("12 characters"));
    let listed = cli(&["admins", "--data-dir", data, "list"], &[]).await;
    assert!(String::from_utf8_lossy(&listed.stdout).contains("portal password set"));

    // The server lets alice log in to the portal with that password, and only with it.
    let server = serve(data).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let log_in = |password: &'static str| {
        let request = http
            .post(format!("{}/portal/login", server.url))
            .form(&[("name", "alice"), ("password", password)]);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(log_in("a long portal password").await, 303);
    assert_eq!(log_in("a wrong portal password").await, 401);
    let changed = cli_with_stdin(
        &[
            "admins",
            "--data-dir",
            data,
            "set-password",
            "alice",
            "--password-stdin",
        ],
        "another long password\n",
    )
    .await;
    assert!(
        changed.status.success(),
        "{}",
        String::from_utf8_lossy(&changed.stderr)
    );
    assert_eq!(log_in("a long portal password").await, 401);
    assert_eq!(log_in("another long password").await, 303);
    server.stop().await;
}

/// `serve --dev` without `--data-dir` keeps its state (dev clients with printed secrets, keys,
/// pepper) in a temporary directory that is gone when it stops, and never touches the user's
/// data directory, where a later plain `serve` would honour those clients.
#[tokio::test]
async fn the_sandbox_leaves_no_data_directory_behind() {
    let home = tempfile::tempdir().unwrap();
    let home_text = home.path().to_str().unwrap();
    let env = [("HOME", home_text), ("XDG_DATA_HOME", home_text)];
    let (mut child, url) =
        crate::common::spawn_listening(&["serve", "--dev", "--listen", "127.0.0.1:0"], &env).await;
    // The sandbox answers, so it started.
    let keys = reqwest::get(format!("{url}/.well-known/jwks.json"))
        .await
        .unwrap();
    assert_eq!(keys.status(), 200);
    let temporary = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("tokenbroker-dev-"))
                && path.join("registry.db").exists()
        })
        .collect::<Vec<_>>();
    assert!(
        !temporary.is_empty(),
        "a temporary data directory while it runs"
    );
    let pid = child.id().unwrap().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap()
        .success());
    let exit = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success(), "{exit:?}");
    let still_there: Vec<_> = temporary.iter().filter(|path| path.exists()).collect();
    // Other sandboxes of this test run may be alive; this one's directory is one of those seen.
    assert!(
        still_there.len() < temporary.len(),
        "removed on exit: {still_there:?}"
    );
    assert!(
        std::fs::read_dir(home.path()).unwrap().next().is_none(),
        "nothing written under the user's home"
    );
}

/// Polls the process's stderr until `found` holds for a line (at most 10 s); all the lines so far.
async fn await_stderr(
    process: &crate::common::Process,
    found: impl Fn(&str) -> bool,
) -> Vec<String> {
    for _ in 0..200 {
        let lines = process.stderr_lines();
        if lines.iter().any(|line| found(line)) {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "never logged the expected line: {:?}",
        process.stderr_lines()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ci_sandbox_seeds_fixed_clients_describes_itself_in_json_and_logs_json_lines() {
    const SECRET: &str = "ci-secret-fixed-for-tests";
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let seed = dir.path().join("seed.toml");
    std::fs::write(
        &seed,
        format!("[[clients]]\nid = \"ci-app\"\nsecret = \"{SECRET}\"\naudiences = [\"{AUDIENCE}\"]\nscope = \"read write\"\n"),
    )
    .unwrap();
    let home_text = home.to_str().unwrap();
    let env = [("HOME", home_text), ("XDG_DATA_HOME", home_text)];
    let args = [
        "serve",
        "--dev",
        "--json",
        "--log-format",
        "json",
        "--listen",
        "127.0.0.1:0",
        "--seed",
        seed.to_str().unwrap(),
    ];
    let (mut server, first) = crate::common::spawn_first_line(&args, &env).await;
    let started: Value = serde_json::from_str(&first).expect("the first line is one JSON object");
    let url = started["url"].as_str().unwrap().to_owned();
    assert_eq!(started["token_endpoint"], format!("{url}/oauth2/token"));
    assert_eq!(started["jwks_uri"], format!("{url}/.well-known/jwks.json"));
    assert_eq!(
        started["seeded_clients"],
        serde_json::json!([{"client_id": "ci-app", "created": true}])
    );
    let dev = started["dev_clients"].as_array().unwrap();
    assert!(dev.iter().any(|c| c["client_id"] == "dev-entur"
        && c["client_secret"].as_str().is_some_and(|s| s.len() >= 16)));
    assert_eq!(started["data_dir_temporary"], true);
    let data_dir = std::path::PathBuf::from(started["data_dir"].as_str().unwrap());
    assert!(data_dir.join("registry.db").exists());

    // The seeded client gets tokens with its fixed secret, and with nothing else.
    let issued = token(&url, "/oauth2/token", "ci-app", SECRET, "form").await;
    assert_eq!(claims(&issued)["scope"], "read write");
    let access_token = issued_jwt(&issued);
    let refused = token(&url, "/oauth2/token", "ci-app", "not-the-secret", "form").await;
    assert_eq!(refused.status.code(), Some(3));

    // Every log line is a JSON object; the token request left an access line naming the route
    // and the client, and the refusal a warning; no line holds the secret or the token.
    let lines = await_stderr(&server, |line| {
        line.contains("client authentication refused")
    })
    .await;
    let events: Vec<Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    assert!(events
        .iter()
        .any(|e| e["target"] == "tokenbroker_server::access"
            && e["route"] == "/oauth2/token"
            && e["status"] == 200
            && e["span"]["client_id"] == "ci-app"));
    assert!(events
        .iter()
        .any(|e| e["level"] == "WARN" && e["client_id"] == "ci-app"));
    for line in &lines {
        assert!(
            !line.contains(SECRET) && !line.contains(&access_token),
            "{line}"
        );
    }

    server.terminate().await;
    assert!(!data_dir.exists(), "the sandbox removes its data directory");

    // A kept data directory, configured through the environment: a second start leaves the
    // seeded client as it is.
    let kept = dir.path().join("kept");
    let env = [
        ("HOME", home_text),
        ("TOKENBROKER_DATA_DIR", kept.to_str().unwrap()),
        ("TOKENBROKER_LISTEN", "127.0.0.1:0"),
        ("TOKENBROKER_SEED", seed.to_str().unwrap()),
    ];
    for created in [true, false] {
        let (mut server, first) = crate::common::spawn_first_line(&["serve", "--json"], &env).await;
        let started: Value = serde_json::from_str(&first).unwrap();
        assert_eq!(started["seeded_clients"][0]["created"], created);
        assert_eq!(started["data_dir_temporary"], false);
        server.terminate().await;
    }
    assert!(kept.join("registry.db").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_endpoint_span_is_a_child_of_the_clients_token_fetch_span() {
    const SECRET: &str = "traced-secret-fixed-for-tests";
    let collector = crate::common::Collector::start().await;
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.toml");
    std::fs::write(
        &seed,
        format!("[[clients]]\nid = \"traced-app\"\nsecret = \"{SECRET}\"\naudiences = [\"{AUDIENCE}\"]\n"),
    )
    .unwrap();
    let home = dir.path().to_str().unwrap();
    let mut env = vec![("HOME", home), ("XDG_DATA_HOME", home)];
    env.extend(collector.env());
    let args = [
        "serve",
        "--dev",
        "--listen",
        "127.0.0.1:0",
        "--seed",
        seed.to_str().unwrap(),
    ];
    let (_server, url) = crate::common::spawn_listening(&args, &env).await;

    let token_url = format!("{url}/oauth2/token");
    let mut client_env = vec![("SECRET", SECRET)];
    client_env.extend(collector.env());
    let issued = cli(
        &[
            "token",
            "--token-url",
            &token_url,
            "--client-id",
            "traced-app",
            "--client-secret-env",
            "SECRET",
            "--auth-style",
            "form",
            "--audience",
            AUDIENCE,
        ],
        &client_env,
    )
    .await;
    let token = issued_jwt(&issued);

    // The command flushed its span before it exited; the server's joins the same trace.
    let fetch = collector
        .await_span("the client's token fetch", |service, span| {
            service == "tokenbroker" && span["name"] == "token fetch"
        })
        .await;
    let endpoint = collector
        .await_span("the server's token endpoint span", |service, span| {
            service == "tokenbroker-serve" && span["name"] == "POST /oauth2/token"
        })
        .await;
    assert_eq!(endpoint["traceId"], fetch["traceId"]);
    assert_eq!(endpoint["parentSpanId"], fetch["spanId"]);
    assert_eq!(
        fetch["parentSpanId"], "",
        "the command's fetch starts the trace"
    );
    let exported = serde_json::to_string(&collector.spans()).unwrap();
    assert!(!exported.contains(SECRET) && !exported.contains(&token));
}
