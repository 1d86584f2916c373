//! The `tokenbroker` binary, run as a user would, against a real local authorization server.

use std::collections::BTreeMap;
use std::process::Output;
use std::sync::Arc;

use axum::http::HeaderMap;
use axum::routing::any;
use axum::{Json, Router};
use tokenbroker_server::{AuthServer, Dialect, ServerConfig, StaticClient};

const SECRET: &str = "cli-test-secret-8f3a";
const AUDIENCE: &str = "https://api.dev.entur.io";

async fn server() -> AuthServer {
    let client =
        StaticClient::new("cli-client", SECRET, AUDIENCE).with_scopes("personalisation:read");
    AuthServer::start(ServerConfig::in_memory([client]))
        .await
        .unwrap()
}

async fn tokenbroker(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    // A token cache of this invocation's own (tests that share one pass TOKENBROKER_CACHE_DIR).
    let cache = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tokenbroker"));
    command
        .args(args)
        .env("TOKENBROKER_CACHE_DIR", cache.path().join("tokens"))
        .env_remove("RUST_LOG")
        .env_remove("TOKENBROKER_CONFIG")
        .env("HOME", std::env::temp_dir()) // no user config dir found by accident
        .env(
            "XDG_CONFIG_HOME",
            std::env::temp_dir().join("tokenbroker-cli-test-none"),
        )
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("the binary runs");
    if let Some(input) = stdin {
        use tokio::io::AsyncWriteExt;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .await
            .unwrap();
    }
    child.stdin.take();
    child.wait_with_output().await.unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn flags(server: &AuthServer) -> Vec<String> {
    flags_for(&server.token_url(Dialect::Entur))
}

/// The test client's flags, with the token endpoint at `token_url`.
fn flags_for(token_url: &str) -> Vec<String> {
    [
        "--token-url",
        token_url,
        "--client-id",
        "cli-client",
        "--client-secret-env",
        "CLI_SECRET",
        "--auth-style",
        "json",
        "--audience",
        AUDIENCE,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn with<'a>(head: &[&'a str], tail: &'a [String]) -> Vec<&'a str> {
    head.iter()
        .copied()
        .chain(tail.iter().map(String::as_str))
        .collect()
}

#[tokio::test]
async fn token_prints_only_the_token_on_stdout() {
    let server = server().await;
    let flags = flags(&server);
    let out = tokenbroker(
        &with(&["token", "-v"], &flags),
        &[("CLI_SECRET", SECRET)],
        None,
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = text(&out.stdout);
    let token = token.trim();
    assert_eq!(
        token.split('.').count(),
        3,
        "a JWT and nothing else on stdout: {token:?}"
    );
    assert!(
        text(&out.stderr).contains("requesting an access token"),
        "-v logs to stderr"
    );
    assert!(!text(&out.stderr).contains(SECRET));
    assert!(!text(&out.stderr).contains(token));
}

#[tokio::test]
async fn token_json_has_the_documented_fields() {
    let server = server().await;
    let flags = flags(&server);
    let out = tokenbroker(
        &with(&["token", "--json"], &flags),
        &[("CLI_SECRET", SECRET)],
        None,
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["token_type"], "Bearer");
    assert!(json["expires_in"].as_u64().unwrap() > 3500);
    assert!(json["expires_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(json["scope"], "personalisation:read");
    assert!(json["access_token"].as_str().unwrap().starts_with("eyJ"));
}

#[tokio::test]
async fn client_ids_that_start_with_a_dash_are_values_not_options() {
    // One random base64url id in 64 starts with '-'; the CLI used to read it as an option.
    let client = StaticClient::new("-Mdash-client", SECRET, AUDIENCE);
    let server = AuthServer::start(ServerConfig::in_memory([client]))
        .await
        .unwrap();
    let flags: Vec<String> = flags(&server)
        .into_iter()
        .map(|flag| match flag.as_str() {
            "cli-client" => "-Mdash-client".to_owned(),
            _ => flag,
        })
        .collect();
    let out = tokenbroker(&with(&["token"], &flags), &[("CLI_SECRET", SECRET)], None).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(server.tokens_issued(), 1);
}

#[tokio::test]
async fn config_file_profiles_with_a_preset_work() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let config = dir.path().join("tokenbroker.toml");
    std::fs::write(
        &config,
        format!(
            "default_profile = \"local\"\n\n[profiles.local]\npreset = \"entur\"\nenvironment = \"dev\"\n\
             token_url = \"{}\"\nclient_id = \"cli-client\"\nclient_secret_file = \"{}\"\n\
             client_name = \"forsen_utvikling-infoplakat\"\n\n[profiles.other]\ntoken_url = \"https://as.example/t\"\n",
            server.token_url(Dialect::Entur),
            secret_file.display()
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let out = tokenbroker(&["token", "--config", config], &[], None).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The same file through $TOKENBROKER_CONFIG.
    let out = tokenbroker(
        &["token", "--profile", "local"],
        &[("TOKENBROKER_CONFIG", config)],
        None,
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(server.tokens_issued(), 2);
}

#[tokio::test]
async fn exit_codes_follow_the_documentation() {
    let server = server().await;
    let flags = flags(&server);
    // 3: rejected by the server.
    let out = tokenbroker(
        &with(&["token"], &flags),
        &[("CLI_SECRET", "wrong-one")],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains("invalid_client") && !stderr.contains("wrong-one"),
        "{stderr}"
    );

    // 2: configuration errors.
    let out = tokenbroker(&with(&["token"], &flags), &[], None).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("CLI_SECRET"),
        "{}",
        text(&out.stderr)
    );
    let out = tokenbroker(
        &with(&["token", "--client-name", "Bad Name"], &flags),
        &[("CLI_SECRET", SECRET)],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("<company>-<application>"));
    let out = tokenbroker(
        &["token", "--config", "/nonexistent/tokenbroker.toml"],
        &[],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    let out = tokenbroker(&["token", "--bogus-flag"], &[], None).await;
    assert_eq!(out.status.code(), Some(2));

    // 4: network failure.
    let url = server.token_url(Dialect::Entur);
    drop(server);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let out = tokenbroker(
        &[
            "token",
            "--token-url",
            &url,
            "--client-id",
            "c",
            "--client-secret-env",
            "CLI_SECRET",
        ],
        &[("CLI_SECRET", SECRET)],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
}

#[tokio::test]
async fn config_errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tokenbroker.toml");
    std::fs::write(
        &config,
        "[profiles.a]\nclient_id = \"x\"\naudiance = \"typo\"\n",
    )
    .unwrap();
    let out = tokenbroker(&["token", "--config", config.to_str().unwrap()], &[], None).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("tokenbroker.toml: line 3") && stderr.contains("audiance"),
        "{stderr}"
    );
}

/// A host name whose first label is longer than DNS allows: the resolver library refuses it
/// before any query leaves the machine, so the test stays on loopback. The TLS layer refuses
/// such a name too, before resolving it, so the tests reach it over plain HTTP, allowed by name.
const UNRESOLVABLE_HOST: &str =
    "a-label-longer-than-sixty-three-bytes-never-leaves-this-machine-as-a-query.invalid";

#[tokio::test]
async fn doctor_checks_each_step_and_stops_at_the_first_failure_with_its_exit_code() {
    let server = server().await;
    let flags = flags(&server);
    let good = [("CLI_SECRET", SECRET)];
    let out = tokenbroker(
        &with(&["doctor", "--scope", "personalisation:read"], &flags),
        &good,
        None,
    )
    .await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let checks = [
        "config",
        "secret",
        "dns",
        "tcp",
        "tls",
        "token endpoint",
        "token",
        "claims",
        "clock",
    ];
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), checks.len() + 1, "{stdout}");
    for (line, check) in lines.iter().zip(checks) {
        assert_eq!(line.get(..6), Some("ok    "), "{line}");
        assert_eq!(
            line[6..].split("  ").next().unwrap().trim(),
            check,
            "{line}"
        );
    }
    assert!(!stdout.contains(SECRET), "{stdout}");

    // A wrong secret: refused by the server, exit 3, and the line says what to fix.
    let out = tokenbroker(
        &with(&["doctor"], &flags),
        &[("CLI_SECRET", "wrong-one")],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));
    let last = text(&out.stdout).lines().last().unwrap().to_owned();
    assert!(
        last.starts_with("FAIL  token") && last.contains("invalid_client"),
        "{last}"
    );
    assert!(!text(&out.stdout).contains("wrong-one"));

    // A scope the client was not granted is refused before any claim is compared.
    let out = tokenbroker(
        &with(&["doctor", "--scope", "admin:all"], &flags),
        &good,
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));

    // Nothing listening: exit 4 at the TCP step; a name that does not resolve: at DNS.
    for (url, check) in [
        ("http://127.0.0.1:1/oauth/token".to_owned(), "FAIL  tcp"),
        (
            format!("http://{UNRESOLVABLE_HOST}/oauth/token"),
            "FAIL  dns",
        ),
    ] {
        let profile = flags_for(&url);
        let args = with(
            &["doctor", "--allow-insecure-http", UNRESOLVABLE_HOST],
            &profile,
        );
        let out = tokenbroker(&args, &good, None).await;
        assert_eq!(out.status.code(), Some(4), "{}", text(&out.stdout));
        let last = text(&out.stdout).lines().last().unwrap().to_owned();
        assert!(last.starts_with(check), "{last}");
    }
}

#[tokio::test]
async fn a_name_that_does_not_resolve_is_called_a_dns_failure() {
    let url = format!("http://{UNRESOLVABLE_HOST}/oauth/token");
    let out = tokenbroker(
        &with(
            &["token", "--allow-insecure-http", UNRESOLVABLE_HOST],
            &flags_for(&url),
        ),
        &[("CLI_SECRET", SECRET)],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "the host name {UNRESOLVABLE_HOST} does not resolve (DNS)"
        )),
        "{stderr}"
    );
}

#[tokio::test]
async fn config_check_reports_every_problem_with_its_line_then_the_resolved_profile() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tokenbroker.toml");
    let path = config.to_str().unwrap();
    let good = "[profiles.good]\n\
        preset = \"entur\"\n\
        environment = \"dev\"\n\
        client_id = \"cli-client\"\n\
        client_secret_env = \"CLI_SECRET\"\n";
    let bad = "default_profile = \"missing\"\n\
        [profiles.bad]\n\
        preset = \"entur\"\n\
        environment = \"prd\"\n\
        client_id = \"x\"\n\
        client_secret_env = \"CLI_SECRET\"\n\
        auth_style = \"jsn\"\n\
        timeout = \"ten\"\n";
    std::fs::write(&config, format!("{bad}{good}")).unwrap();
    let env = [("CLI_SECRET", SECRET)];
    let out = tokenbroker(&["config", "check", "--config", path], &env, None).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<_> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    for (line, number, what) in [
        (lines[0], 1, "default_profile \"missing\""),
        (lines[1], 4, "profile bad: environment"),
        (lines[2], 7, "profile bad: auth_style"),
        (lines[3], 8, "profile bad: timeout"),
    ] {
        assert!(line.starts_with(&format!("{path}:{number}: ")), "{line}");
        assert!(line.contains(what), "{line}");
    }
    assert!(
        text(&out.stderr).contains("4 problems"),
        "{}",
        text(&out.stderr)
    );

    // Fixed, it prints the profile a command would use, with the secret as a fingerprint only.
    std::fs::write(&config, good).unwrap();
    let out = tokenbroker(&["config", "check", "--config", path], &env, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains(&format!("{path}: no problems")), "{stdout}");
    assert!(stdout.contains("profile good in"), "{stdout}");
    assert!(
        stdout.contains("https://partner.dev.entur.org/oauth/token"),
        "{stdout}"
    );
    assert!(stdout.contains("https://api.dev.entur.io"), "{stdout}");
    assert!(!stdout.contains(SECRET), "{stdout}");
    assert!(stdout.contains("sha256:"), "{stdout}");

    // A secret that cannot be read is a problem of the key that names it.
    let out = tokenbroker(&["config", "check", "--config", path], &[], None).await;
    assert_eq!(out.status.code(), Some(2));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "{path}:5: profile good: client_secret_env: environment variable CLI_SECRET is not set"
        )),
        "{stdout}"
    );
}

#[tokio::test]
async fn decode_reads_stdin_and_says_the_signature_is_not_verified() {
    let server = server().await;
    let flags = flags(&server);
    let out = tokenbroker(&with(&["token"], &flags), &[("CLI_SECRET", SECRET)], None).await;
    let token = text(&out.stdout);
    let out = tokenbroker(&["decode"], &[], Some(&token)).await;
    assert!(out.status.success());
    let shown = text(&out.stdout);
    assert!(shown.contains("NOT verified"), "{shown}");
    assert!(shown.contains("\"typ\": \"at+jwt\""), "{shown}");
    assert!(shown.contains("\"client_id\": \"cli-client\""), "{shown}");
    assert!(
        shown.contains("expires: ") && shown.contains("(in 59m"),
        "{shown}"
    );

    let out = tokenbroker(&["decode", "not-a-jwt"], &[], None).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not a JWT"));
}

/// An API that echoes the headers it received.
async fn echo_api() -> String {
    async fn echo(headers: HeaderMap) -> Json<BTreeMap<String, String>> {
        Json(
            headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
                .collect(),
        )
    }
    let app = Router::new().route("/echo", any(echo)).route(
        "/forbidden",
        any(|| async { (axum::http::StatusCode::FORBIDDEN, "no") }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test]
async fn request_sends_the_profile_headers_and_prints_the_body() {
    let server = server().await;
    let api = Arc::new(echo_api().await);
    let flags = flags(&server);
    let url = format!("{api}/echo");
    let args = with(
        &[
            "request",
            "-X",
            "POST",
            "-H",
            "X-Custom: yes",
            "-d",
            "hello",
            &url,
            "--client-name",
            "acme-app",
        ],
        &flags,
    );
    let out = tokenbroker(&args, &[("CLI_SECRET", SECRET)], None).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let echoed: BTreeMap<String, String> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(echoed["authorization"].starts_with("Bearer eyJ"));
    assert_eq!(echoed["et-client-name"], "acme-app");
    assert_eq!(echoed["x-custom"], "yes");
    assert!(text(&out.stderr).contains("HTTP 200"));

    let forbidden = format!("{api}/forbidden");
    let out = tokenbroker(
        &with(&["request", &forbidden], &flags),
        &[("CLI_SECRET", SECRET)],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("HTTP 403"));
}

#[tokio::test]
async fn demo_runs_and_exits_zero() {
    let out = tokenbroker(&["demo"], &[], None).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(
        shown.contains("10,000 concurrent callers on a cold cache: 1 token request(s)"),
        "{shown}"
    );
    assert!(shown.contains("1 call(s) waited"), "{shown}");
    for expected in [
        "with a token and ET-Client-Name → 200",
        "without a token → 401",
        "without ET-Client-Name → 400",
        "without personalisation:read → 403",
        "→ 408 Request Timeout",
        "re-authenticates once (1 new token) and retries → 200",
        "X-Transaction-Id → 200",
        "no credentials sent → 200 OK (the agent added Bearer and ET-Client-Name)",
        "100 requests through the agent: 1 token request(s) to the AS",
        "GET /v1/token/entur → token_type \"Bearer\"",
    ] {
        assert!(
            shown.contains(expected),
            "missing {expected:?} in:\n{shown}"
        );
    }
}

/// Five `tokenbroker token` calls spend one token: later calls reuse the one the first cached
/// (a 0700 directory, 0600 files), five at once fetch once, `--no-cache` fetches anyway, and a
/// wrong secret is never answered from the cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_calls_share_one_cached_token_across_invocations() {
    use std::os::unix::fs::PermissionsExt;
    let server = server().await;
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().join("tokens");
    let dir_text = dir.to_str().unwrap().to_owned();
    let env = [
        ("CLI_SECRET", SECRET),
        ("TOKENBROKER_CACHE_DIR", dir_text.as_str()),
    ];
    let flags = flags(&server);
    let args = with(&["token"], &flags);
    let mut printed = Vec::new();
    for _ in 0..5 {
        let out = tokenbroker(&args, &env, None).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
        printed.push(text(&out.stdout));
    }
    assert_eq!(server.token_requests(), 1, "five calls, one token request");
    assert!(printed.iter().all(|token| token == &printed[0]));
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    for file in std::fs::read_dir(&dir).unwrap() {
        let mode = file.unwrap().metadata().unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Five at once on an empty cache: one fetch, the others wait for it.
    let fresh = cache.path().join("fresh");
    let fresh_text = fresh.to_str().unwrap().to_owned();
    let env_fresh = [
        ("CLI_SECRET", SECRET),
        ("TOKENBROKER_CACHE_DIR", fresh_text.as_str()),
    ];
    let calls = (0..5).map(|_| tokenbroker(&args, &env_fresh, None));
    let outs = futures::future::join_all(calls).await;
    assert!(outs.iter().all(|out| out.status.success()));
    assert_eq!(
        server.token_requests(),
        2,
        "five concurrent calls, one more token request"
    );

    let bypass = with(&["token", "--no-cache"], &flags);
    assert!(tokenbroker(&bypass, &env, None).await.status.success());
    assert_eq!(server.token_requests(), 3);

    let wrong = [
        ("CLI_SECRET", "not-the-secret"),
        ("TOKENBROKER_CACHE_DIR", dir_text.as_str()),
    ];
    let refused = tokenbroker(&args, &wrong, None).await;
    assert!(
        !refused.status.success(),
        "a wrong secret is not answered from the cache"
    );
    assert_eq!(server.token_requests(), 4);
}

/// Logs piped to a file or a CI log carry no colour escapes; a cache directory other users may
/// enter is not used (and said so), and the command still works.
#[tokio::test]
async fn piped_logs_have_no_colour_and_an_open_cache_directory_is_not_used() {
    use std::os::unix::fs::PermissionsExt;
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let open = dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
    let open_text = open.to_str().unwrap().to_owned();
    let flags = flags(&server);
    let out = tokenbroker(
        &with(&["token", "--cache-dir", &open_text], &flags),
        &[("CLI_SECRET", SECRET)],
        None,
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("not caching tokens") && stderr.contains("chmod 700"),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "colour escapes in a pipe: {stderr:?}"
    );
    assert_eq!(
        std::fs::read_dir(&open).unwrap().count(),
        0,
        "nothing written there"
    );
}

#[tokio::test]
async fn completions_and_the_manual_page_come_from_the_argument_definitions() {
    for (shell, marker) in [
        ("bash", "complete -F _tokenbroker"),
        ("zsh", "#compdef tokenbroker"),
        ("fish", "complete -c tokenbroker"),
    ] {
        let out = tokenbroker(&["completions", shell], &[], None).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(script.contains(marker), "{shell}: {script:.200}");
        // Every command and a deep flag are offered.
        assert!(script.contains("rotate-secret") && script.contains("client-secret-env"));
    }
    let out = tokenbroker(&["completions", "tcsh"], &[], None).await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );

    let out = tokenbroker(&["man"], &[], None).await;
    assert!(out.status.success());
    let page = text(&out.stdout);
    assert!(page.contains(".TH tokenbroker 1"), "{page:.300}");
    assert!(page.contains("completions") && page.contains("serve"));
}

#[tokio::test]
async fn plain_http_reaches_a_named_host_only_when_allowed() {
    let server = server().await;
    // `mock-as` never reaches DNS: the proxy (the server itself, which routes on the path of an
    // absolute-form request) takes every plain-HTTP request, as a docker-compose network would.
    let proxy = server.url();
    let env = [
        ("CLI_SECRET", SECRET),
        ("HTTP_PROXY", proxy.as_str()),
        ("http_proxy", proxy.as_str()),
        ("NO_PROXY", ""),
        ("no_proxy", ""),
    ];
    let flags = flags_for("http://mock-as:8080/oauth/token");
    let args = with(&["token"], &flags);
    let refused = tokenbroker(&args, &env, None).await;
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("allow_insecure_http"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(server.token_requests(), 0);

    let mut allowing = args.clone();
    allowing.extend(["--allow-insecure-http", "mock-as"]);
    let allowed = tokenbroker(&allowing, &env, None).await;
    assert!(allowed.status.success(), "{}", text(&allowed.stderr));
    assert_eq!(text(&allowed.stdout).trim().split('.').count(), 3);

    let mut by_env = env.to_vec();
    by_env.push((
        "TOKENBROKER_ALLOW_INSECURE_HTTP",
        "other-host,*.mock-as,mock-as",
    ));
    let allowed = tokenbroker(&args, &by_env, None).await;
    assert!(allowed.status.success(), "{}", text(&allowed.stderr));
    assert_eq!(server.token_requests(), 2);
}

#[tokio::test]
async fn every_profile_key_has_an_environment_variable_and_client_flags_never_merge_into_an_unnamed_profile(
) {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let token_url = server.token_url(Dialect::Entur);
    let env = [
        ("TOKENBROKER_TOKEN_URL", token_url.as_str()),
        ("TOKENBROKER_CLIENT_ID", "cli-client"),
        (
            "TOKENBROKER_CLIENT_SECRET_FILE",
            secret_file.to_str().unwrap(),
        ),
        ("TOKENBROKER_AUTH_STYLE", "json"),
        ("TOKENBROKER_AUDIENCE", AUDIENCE),
        ("TOKENBROKER_SCOPE", "personalisation:read"),
    ];
    let out = tokenbroker(&["token", "--json"], &env, None).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["scope"], "personalisation:read");

    // A config file whose default profile asks for a scope this client was never granted: had
    // the flags merged into it, the server would refuse.
    let config = dir.path().join("tokenbroker.toml");
    std::fs::write(
        &config,
        format!(
            "default_profile = \"mine\"\n[profiles.mine]\ntoken_url = \"{token_url}\"\nclient_id = \"someone-else\"\n\
             client_secret_env = \"NOT_SET_ANYWHERE\"\nscope = \"admin:everything\"\n"
        ),
    )
    .unwrap();
    let flags = flags(&server);
    let out = tokenbroker(
        &with(&["token", "--config", config.to_str().unwrap()], &flags),
        &[("CLI_SECRET", SECRET)],
        None,
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Named, the profile is the base and the flags override it: its scope then reaches the server.
    let out = tokenbroker(
        &with(
            &[
                "token",
                "--config",
                config.to_str().unwrap(),
                "--profile",
                "mine",
            ],
            &flags,
        ),
        &[("CLI_SECRET", SECRET)],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("scope"), "{}", text(&out.stderr));
}
