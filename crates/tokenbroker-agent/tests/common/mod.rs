//! Test set-up: a real local authorization server, an upstream API that records what reaches it,
//! and agent configurations pointing at both.
#![allow(dead_code)]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::StreamExt;
use http::{HeaderMap, StatusCode};
use serde_json::json;
use tokenbroker::{AuthStyle, ClientConfig, ClientName};
use tokenbroker_agent::{Agent, AgentConfig, AgentSettings, ProfileSpec};
use tokenbroker_server::{AuthServer, Dialect, ServerConfig, StaticClient};

pub(crate) const CLIENT_ID: &str = "agent-client";
pub(crate) const SECRET: &str = "agent-secret-value-0123456789";
pub(crate) const AUDIENCE: &str = "https://api.dev.entur.io";
pub(crate) const CLIENT_NAME: &str = "acme-agenttest";

pub(crate) async fn auth_server() -> AuthServer {
    let client = StaticClient::new(CLIENT_ID, SECRET, AUDIENCE).with_scopes("personalisation:read");
    AuthServer::start(ServerConfig::in_memory([client]))
        .await
        .expect("local authorization server starts")
}

/// What the upstream saw of one request.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub version: http::Version,
}

/// An upstream API that records requests and answers 401 for tokens in `rejected`.
#[derive(Clone, Default)]
pub(crate) struct Upstream {
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub rejected: Arc<Mutex<HashSet<String>>>,
    pub reject_all: Arc<std::sync::atomic::AtomicBool>,
}

impl Upstream {
    pub(crate) async fn start() -> (Upstream, SocketAddr) {
        let upstream = Upstream::default();
        let router = Router::new()
            .route("/stream", get(stream))
            .route("/slow", get(slow))
            .route("/stall", get(stall))
            .fallback(record)
            .with_state(upstream.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        (upstream, addr)
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub(crate) fn reject(&self, token: &str) {
        self.rejected.lock().unwrap().insert(token.to_owned());
    }
}

async fn record(State(upstream): State<Upstream>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 64 * 1024 * 1024).await.unwrap();
    let bearer = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    upstream.seen.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers.clone(),
        body: body.clone(),
        version: parts.version,
    });
    let rejected = upstream
        .reject_all
        .load(std::sync::atomic::Ordering::Relaxed)
        || upstream.rejected.lock().unwrap().contains(&bearer);
    if rejected {
        return (StatusCode::UNAUTHORIZED, "token rejected").into_response();
    }
    let mut response =
        Json(json!({ "path": parts.uri.path(), "body_len": body.len() })).into_response();
    response
        .headers_mut()
        .insert("x-upstream", "yes".parse().unwrap());
    response
        .headers_mut()
        .insert("keep-alive", "timeout=5".parse().unwrap());
    response
}

/// Three chunks, 400 ms apart.
async fn stream() -> Response {
    let chunks = futures::stream::iter(0..3).then(|i| async move {
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
        Ok::<_, std::io::Error>(Bytes::from(format!("chunk{i};")))
    });
    Body::from_stream(chunks).into_response()
}

/// One chunk, then nothing for 3 s, then the rest.
async fn stall() -> Response {
    let chunks = futures::stream::iter(0..2).then(|i| async move {
        if i > 0 {
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        Ok::<_, std::io::Error>(Bytes::from(format!("part{i};")))
    });
    Body::from_stream(chunks).into_response()
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_millis(1500)).await;
    "slow done"
}

/// An Entur-style profile against the local server.
pub(crate) fn entur_profile(server: &AuthServer, name: &str) -> ProfileSpec {
    let client = ClientConfig::builder(server.token_url(Dialect::Entur), CLIENT_ID, SECRET)
        .auth_style(AuthStyle::Json)
        .audience(AUDIENCE)
        .build()
        .unwrap();
    ProfileSpec {
        client_name: Some(ClientName::new(CLIENT_NAME).unwrap()),
        transaction_ids: true,
        ..ProfileSpec::new(name, client)
    }
}

/// `[agent]` settings from TOML, the way the CLI reads them.
pub(crate) fn settings(toml_text: &str) -> AgentSettings {
    #[derive(serde::Deserialize)]
    struct File {
        agent: AgentSettings,
    }
    toml::from_str::<File>(toml_text)
        .expect("valid [agent] table")
        .agent
}

/// One upstream `api` → `http://ADDR` with profile `main`, plus `extra` TOML lines in [agent].
pub(crate) fn one_upstream(addr: SocketAddr, extra: &str) -> AgentSettings {
    settings(&format!(
        "[agent]\nlisten = \"127.0.0.1:0\"\n{extra}\n[[agent.upstreams]]\nname = \"api\"\nprofile = \"main\"\nbase_url = \"http://{addr}\"\n"
    ))
}

/// A local AS, a recording upstream and an agent in front of it: upstream `api`, profile
/// `main`, and `extra` lines in the `[agent]` table.
pub(crate) struct Setup {
    pub server: AuthServer,
    pub upstream: Upstream,
    pub agent: Agent,
}

pub(crate) async fn setup(extra: &str) -> Setup {
    let server = auth_server().await;
    let (upstream, addr) = Upstream::start().await;
    let agent = agent(
        one_upstream(addr, extra),
        vec![entur_profile(&server, "main")],
    )
    .await;
    Setup {
        server,
        upstream,
        agent,
    }
}

pub(crate) async fn agent(settings: AgentSettings, profiles: Vec<ProfileSpec>) -> Agent {
    Agent::start(AgentConfig::new(settings, profiles))
        .await
        .expect("agent starts")
}

/// An agent on a clock the test moves (failure windows, expiries), and that clock.
pub(crate) async fn agent_on_manual_clock(
    settings: AgentSettings,
    profiles: Vec<ProfileSpec>,
) -> (Agent, Arc<tokenbroker::wire::ManualClock>) {
    let clock = Arc::new(tokenbroker::wire::ManualClock::starting_now());
    let mut config = AgentConfig::new(settings, profiles);
    config.clock = clock.clone();
    let agent = Agent::start(config).await.expect("agent starts");
    (agent, clock)
}

/// The agent's token for `profile`, through its token endpoint.
pub(crate) async fn agent_token(agent: &Agent, profile: &str) -> String {
    let body: serde_json::Value =
        reqwest::get(format!("http://{}/v1/token/{profile}", agent.addr()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    body["access_token"].as_str().expect("a token").to_owned()
}
