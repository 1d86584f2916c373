//! `tokenbroker agent` as processes: a fleet sharing one token through a real redis-server,
//! Redis dying mid-run, SIGHUP secret reload, SIGTERM drain.

use std::path::Path;
use std::time::Duration;

use crate::common::{Collector, BIN};
use axum::routing::get;
use tokenbroker_server::{AuthServer, Dialect, ServerConfig, StaticClient};
use tokenbroker_testkit::RedisServer;
use tokio::process::Command;

const CLIENT_ID: &str = "fleet-client";
const SECRET: &str = "fleet-secret-0123456789abcdef";
const AUDIENCE: &str = "https://api.dev.entur.io";
const CACHE_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

async fn auth_server() -> AuthServer {
    let client = StaticClient::new(CLIENT_ID, SECRET, AUDIENCE);
    AuthServer::start(ServerConfig::in_memory([client]))
        .await
        .unwrap()
}

/// An upstream that answers 200 "ok" everywhere, and 200 "slow" after 1.5 s on /slow.
async fn upstream() -> std::net::SocketAddr {
    let router = axum::Router::new()
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                "slow"
            }),
        )
        .fallback(|| async { "ok" });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

fn write_config(
    dir: &Path,
    server: &AuthServer,
    upstream: std::net::SocketAddr,
    agent_extra: &str,
    secret_line: &str,
) -> std::path::PathBuf {
    let path = dir.join("tokenbroker.toml");
    let text = format!(
        "[profiles.main]\n\
         token_url = \"{token_url}\"\n\
         auth_style = \"json\"\n\
         client_id = \"{CLIENT_ID}\"\n\
         {secret_line}\n\
         audience = \"{AUDIENCE}\"\n\
         client_name = \"acme-fleet\"\n\
         \n\
         [agent]\n\
         listen = \"127.0.0.1:0\"\n\
         {agent_extra}\n\
         [[agent.upstreams]]\n\
         name = \"api\"\n\
         profile = \"main\"\n\
         base_url = \"http://{upstream}\"\n",
        token_url = server.token_url(Dialect::Entur),
    );
    std::fs::write(&path, text).unwrap();
    path
}

struct Running {
    child: crate::common::Process,
    base: String,
}

impl Running {
    fn signal(&self, name: &str) {
        let pid = self.child.id().unwrap().to_string();
        let status = std::process::Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

async fn start_agent(config: &Path) -> Running {
    start_agent_with(config, &[]).await
}

async fn start_agent_with(config: &Path, extra_env: &[(&str, &str)]) -> Running {
    let args = ["agent", "--config", config.to_str().unwrap()];
    let mut env = vec![
        ("FLEET_SECRET", SECRET),
        ("TOKENBROKER_CACHE_KEY", CACHE_KEY),
    ];
    env.extend_from_slice(extra_env);
    let (child, base) = crate::common::spawn_listening(&args, &env).await;
    Running { child, base }
}

/// A server, an upstream, and an agent config (in the returned directory) whose profile reads
/// its secret from `FLEET_SECRET`.
async fn agent_with_env_secret() -> (AuthServer, tempfile::TempDir, std::path::PathBuf) {
    let server = auth_server().await;
    let upstream = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &server,
        upstream,
        "",
        "client_secret_env = \"FLEET_SECRET\"",
    );
    (server, dir, config)
}

async fn token_of(agent: &Running) -> (u16, String) {
    let response = reqwest::get(format!("{}/v1/token/main", agent.base))
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap();
    (
        status,
        body["access_token"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_agents_sharing_redis_spend_one_token_and_survive_redis_dying() {
    let mut redis = RedisServer::start();
    let (server, _dir, config) = agent_with_env_secret().await;
    server.set_default_lifetime(Duration::from_secs(4));
    server.faults().set_delay(Duration::from_millis(300));
    let shared = format!(
        "[agent.shared_cache]\nredis_url = \"{}\"\nkey_env = \"TOKENBROKER_CACHE_KEY\"\n",
        redis.url()
    );
    std::fs::write(&config, std::fs::read_to_string(&config).unwrap() + &shared).unwrap();
    let agents = futures::future::join_all((0..4).map(|_| start_agent(&config))).await;
    // Each agent fetches at start-up; the lease lets one of them ask the AS.
    let tokens = futures::future::join_all(agents.iter().map(token_of)).await;
    assert!(
        tokens.iter().all(|(status, _)| *status == 200),
        "{tokens:?}"
    );
    assert!(
        tokens.iter().all(|(_, t)| *t == tokens[0].1),
        "one token for the fleet"
    );
    assert_eq!(server.token_requests(), 1, "4 cold agents, 1 token request");
    let stored = redis.command("KEYS tokenbroker:token:*");
    assert!(stored.contains("tokenbroker:token:"), "{stored}");

    redis.kill();
    // Past the tokens' lifetime: every agent must get a new one without Redis.
    for round in 0..8 {
        for agent in &agents {
            let response = reqwest::get(format!("{}/api/x", agent.base)).await.unwrap();
            assert_eq!(
                response.status(),
                200,
                "round {round}: Redis down must not fail requests"
            );
        }
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    assert!(
        server.token_requests() >= 5,
        "each agent fetched for itself: {}",
        server.token_requests()
    );
}

#[tokio::test]
async fn sighup_reloads_the_secret_file() {
    let server = auth_server().await;
    let upstream = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, "an-old-revoked-secret\n").unwrap();
    let secret_line = format!("client_secret_file = {:?}", secret_file.to_str().unwrap());
    // Polling off: only the signal can bring the new secret in.
    let config = write_config(
        dir.path(),
        &server,
        upstream,
        "secret_poll_interval = 0",
        &secret_line,
    );
    let agent = start_agent(&config).await;
    assert_eq!(token_of(&agent).await.0, 503, "the old secret is refused");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(token_of(&agent).await.0, 503, "not reloaded without SIGHUP");
    agent.signal("HUP");
    let mut status = 0;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = token_of(&agent).await.0;
        if status == 200 {
            break;
        }
    }
    assert_eq!(status, 200, "SIGHUP brought the new secret in");
}

#[tokio::test]
async fn sigterm_drains_in_flight_requests_and_exits_zero() {
    let (_server, _dir, config) = agent_with_env_secret().await;
    let mut agent = start_agent(&config).await;
    let slow = tokio::spawn(reqwest::get(format!("{}/api/slow", agent.base)));
    tokio::time::sleep(Duration::from_millis(400)).await;
    agent.signal("TERM");
    let response = slow.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "slow");
    let status = tokio::time::timeout(Duration::from_secs(10), agent.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn config_errors_name_the_file_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokenbroker.toml");
    let cases = [
        (
            "[agent]\nlisten = \"0.0.0.0:7070\"\ntoken_profiles = [\"x\"]\n[profiles.x]\ntoken_url = \"http://127.0.0.1:1/t\"\nclient_id = \"c\"\nclient_secret = \"s\"\n",
            ["tokenbroker.toml", "loopback"],
        ),
        ("[agent]\nlisten = \"127.0.0.1:0\"\nlisen = 1\n", ["line 3", "lisen"]),
        (
            "[agent]\nlisten = \"0.0.0.0:7070\"\nlisten_beyond_loopback = true\ntoken_profiles = [\"x\"]\n[profiles.x]\ntoken_url = \"http://127.0.0.1:1/t\"\nclient_id = \"c\"\nclient_secret = \"s\"\n",
            ["tokenbroker.toml", "needs allowed_hosts"],
        ),
        (
            "[agent]\nlisten = \"0.0.0.0:7070\"\nlisten_beyond_loopback = true\nallowed_hosts = [\"agent\"]\ntoken_profiles = [\"x\"]\n[profiles.x]\ntoken_url = \"http://127.0.0.1:1/t\"\nclient_id = \"c\"\nclient_secret = \"s\"\n",
            ["tokenbroker.toml", "needs token_endpoint_secret_env"],
        ),
    ];
    for (config, expected) in cases {
        std::fs::write(&path, config).unwrap();
        let output = Command::new(BIN)
            .args(["agent", "--config", path.to_str().unwrap()])
            .output()
            .await
            .unwrap();
        assert_eq!(output.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(expected.iter().all(|e| stderr.contains(e)), "{stderr}");
    }
}

#[tokio::test]
async fn the_agent_logs_one_json_access_line_per_request_and_never_the_token() {
    let (_server, _dir, config) = agent_with_env_secret().await;
    let args = ["agent", "--config", config.to_str().unwrap()];
    let env = [("FLEET_SECRET", SECRET), ("TOKENBROKER_LOG_FORMAT", "json")];
    let (child, base) = crate::common::spawn_listening(&args, &env).await;
    let agent = Running { child, base };
    let (status, token) = token_of(&agent).await;
    assert_eq!(status, 200);
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let proxied = reqwest::Client::new()
        .get(format!("{}/api/items?secret=x", agent.base))
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), 200);
    let unknown = reqwest::get(format!("{}/nope/x", agent.base))
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    let access = |lines: &[String]| -> Vec<serde_json::Value> {
        lines
            .iter()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
            .filter(|e: &serde_json::Value| e["target"] == "tokenbroker_agent::access")
            .collect()
    };
    let mut lines = Vec::new();
    for _ in 0..100 {
        lines = agent.child.stderr_lines();
        if access(&lines).len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let events = access(&lines);
    let routes: Vec<(&str, &str, u64)> = events
        .iter()
        .map(|e| {
            (
                e["route"].as_str().unwrap(),
                e["profile"].as_str().unwrap(),
                e["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        routes,
        [
            ("v1", "-", 200),
            ("api", "main", 200),
            ("(unknown upstream)", "-", 404)
        ],
        "{lines:?}"
    );
    assert!(events.iter().all(|e| e["duration_ms"].as_f64().is_some()));
    // The caller's trace is on its line; requests without one get a trace of their own.
    assert_eq!(events[1]["trace_id"], trace_id, "{lines:?}");
    for event in [&events[0], &events[2]] {
        let id = event["trace_id"].as_str().unwrap();
        assert!(id.len() == 32 && id != trace_id, "{id}");
    }
    for line in &lines {
        assert!(!line.contains(&token) && !line.contains(SECRET), "{line}");
        assert!(
            !line.contains("items"),
            "the path past the upstream is not logged: {line}"
        );
    }
}

/// An upstream that answers with the `traceparent` it received.
async fn traceparent_echo() -> std::net::SocketAddr {
    let router = axum::Router::new().fallback(|headers: axum::http::HeaderMap| async move {
        let received = headers.get("traceparent").and_then(|v| v.to_str().ok());
        received.unwrap_or("").to_owned()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traced_request_reaches_the_upstream_as_a_child_of_the_span_the_collector_receives() {
    let collector = Collector::start().await;
    let server = auth_server().await;
    let dir = tempfile::tempdir().unwrap();
    let secret_line = "client_secret_env = \"FLEET_SECRET\"";
    let config = write_config(
        dir.path(),
        &server,
        traceparent_echo().await,
        "",
        secret_line,
    );
    let agent = start_agent_with(&config, &collector.env()).await;

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let response = reqwest::Client::new()
        .get(format!("{}/api/items", agent.base))
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let received = response.text().await.unwrap();
    let upstream_parent = tokenbroker::wire::trace_context::TraceParent::parse(&received)
        .unwrap_or_else(|| panic!("the upstream got a valid traceparent: {received:?}"));
    assert_eq!(upstream_parent.trace_id_hex(), trace_id);
    assert_ne!(upstream_parent.parent_id_hex(), caller_span);
    assert_eq!(upstream_parent.flags, 1, "sampled, as the caller asked");

    // The agent's span: the caller's child, and the upstream's parent.
    let span = collector
        .await_span("the proxy request span", |service, span| {
            service == "tokenbroker-agent" && span["name"] == "proxy request"
        })
        .await;
    assert_eq!(span["traceId"], trace_id, "{span}");
    assert_eq!(span["parentSpanId"], caller_span, "{span}");
    assert_eq!(span["spanId"], upstream_parent.parent_id_hex(), "{span}");
    // The token the agent fetched left a span of its own; no span holds the secret or the token.
    collector
        .await_span("the token fetch span", |_, span| {
            span["name"] == "token fetch"
        })
        .await;
    let (status, token) = token_of(&agent).await;
    assert_eq!(status, 200);
    let exported = serde_json::to_string(&collector.spans()).unwrap();
    assert!(!exported.contains(SECRET) && !exported.contains(&token));
}
