//! The authenticating reverse proxy against a real AS and a recording upstream.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::*;
use futures::StreamExt;

#[tokio::test]
async fn forwards_with_every_header_and_strips_the_callers_authorization() {
    let Setup {
        server,
        upstream,
        agent,
    } = setup("").await;
    let response = reqwest::Client::new()
        .post(format!(
            "http://{}/api/personalisation/v1/programs/1?lang=nb&x=1",
            agent.addr()
        ))
        .header("authorization", "Bearer callers-own-token")
        .header("x-custom", "kept")
        .header("connection", "x-hop")
        .header("x-hop", "dropped")
        .body("{\"a\":1}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["x-upstream"],
        "yes",
        "response headers come back"
    );
    assert!(
        !response.headers().contains_key("keep-alive"),
        "hop-by-hop dropped"
    );
    let seen = upstream.seen();
    let seen = &seen[0];
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.path, "/personalisation/v1/programs/1");
    assert_eq!(seen.query.as_deref(), Some("lang=nb&x=1"));
    assert_eq!(&seen.body[..], b"{\"a\":1}");
    let token = agent_token(&agent, "main").await;
    assert_eq!(
        seen.headers["authorization"],
        format!("Bearer {token}").as_str()
    );
    assert_eq!(seen.headers["et-client-name"], CLIENT_NAME);
    let transaction = seen.headers["x-transaction-id"].to_str().unwrap();
    assert_eq!(transaction.len(), 36, "a UUID: {transaction}");
    assert_eq!(seen.headers["x-custom"], "kept");
    assert!(!seen.headers.contains_key("x-hop"));
    assert_eq!(server.token_requests(), 1);
}

#[tokio::test]
async fn every_request_gets_its_own_transaction_id_unless_the_caller_sent_one() {
    let Setup {
        server: _server,
        upstream,
        agent,
    } = setup("").await;
    let http = reqwest::Client::new();
    let url = format!("http://{}/api/x", agent.addr());
    http.get(&url).send().await.unwrap();
    http.get(&url).send().await.unwrap();
    http.get(&url)
        .header("x-transaction-id", "mine-123")
        .send()
        .await
        .unwrap();
    let seen = upstream.seen();
    let ids: Vec<_> = seen
        .iter()
        .map(|s| s.headers["x-transaction-id"].clone())
        .collect();
    assert_ne!(ids[0], ids[1]);
    assert_eq!(ids[2], "mine-123");
}

#[tokio::test]
async fn the_upstream_sees_a_child_of_the_callers_trace_or_a_new_one() {
    use tokenbroker::wire::trace_context::TraceParent;
    let Setup {
        server: _server,
        upstream,
        agent,
    } = setup("").await;
    let http = reqwest::Client::new();
    let url = format!("http://{}/api/x", agent.addr());
    let callers = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let cases: [&[(&str, &str)]; 4] = [
        &[("traceparent", callers), ("tracestate", "vendor=abc")],
        &[],
        // Malformed (upper-case hex): a new trace, and the tracestate of the bad one is dropped.
        &[
            (
                "traceparent",
                "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            ),
            ("tracestate", "vendor=stale"),
        ],
        // Two of them cannot be told apart: a new trace too.
        &[("traceparent", callers), ("traceparent", callers)],
    ];
    for headers in cases {
        let mut request = http.get(&url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        assert_eq!(request.send().await.unwrap().status(), 200);
    }
    let seen = upstream.seen();
    let parent = |index: usize| {
        let values: Vec<_> = seen[index].headers.get_all("traceparent").iter().collect();
        assert_eq!(values.len(), 1, "exactly one traceparent upstream");
        TraceParent::parse(values[0].to_str().unwrap()).expect("a valid traceparent")
    };
    let caller = TraceParent::parse(callers).unwrap();
    let child = parent(0);
    assert_eq!(
        child.trace_id, caller.trace_id,
        "the caller's trace continues"
    );
    assert_ne!(
        child.parent_id, caller.parent_id,
        "with the agent's span as parent"
    );
    assert_eq!(child.flags, caller.flags);
    assert_eq!(seen[0].headers["tracestate"], "vendor=abc");
    for index in [1, 2, 3] {
        assert_ne!(parent(index).trace_id, caller.trace_id, "case {index}");
        assert!(
            !seen[index].headers.contains_key("tracestate"),
            "case {index}"
        );
    }
    assert_ne!(
        parent(1).trace_id,
        parent(2).trace_id,
        "each new trace is its own"
    );
}

#[tokio::test]
async fn responses_stream_through_chunk_by_chunk() {
    let Setup {
        server: _server,
        upstream: _upstream,
        agent,
    } = setup("").await;
    let started = Instant::now();
    let response = reqwest::get(format!("http://{}/api/stream", agent.addr()))
        .await
        .unwrap();
    let mut body = response.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    let first_at = started.elapsed();
    assert_eq!(&first[..], b"chunk0;");
    let mut rest = Vec::new();
    while let Some(chunk) = body.next().await {
        rest.extend_from_slice(&chunk.unwrap());
    }
    let all_at = started.elapsed();
    assert_eq!(rest, b"chunk1;chunk2;");
    assert!(
        all_at - first_at >= Duration::from_millis(700),
        "the first chunk arrived {:?} before the end: it was not buffered",
        all_at - first_at
    );
}

#[tokio::test]
async fn large_request_bodies_stream_through_intact() {
    let server = auth_server().await;
    let (upstream, addr) = Upstream::start().await;
    let settings = one_upstream(addr, "max_replay_body_bytes = 65536");
    let agent = agent(settings, vec![entur_profile(&server, "main")]).await;
    let big: Vec<u8> = (0..3 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    // Chunked, with no Content-Length: the agent finds out while reading that it is too big.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.chunks(100_000).map(|c| Ok(c.to_vec())).collect();
    let response = reqwest::Client::new()
        .put(format!("http://{}/api/upload", agent.addr()))
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let with_length = reqwest::Client::new()
        .put(format!("http://{}/api/upload", agent.addr()))
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(with_length.status(), 200);
    let seen = upstream.seen();
    assert_eq!(seen.len(), 2);
    assert!(
        seen.iter().all(|s| s.body[..] == big[..]),
        "bodies arrive byte for byte"
    );
}

#[tokio::test]
async fn an_upstream_401_invalidates_refetches_and_retries_once() {
    let Setup {
        server,
        upstream,
        agent,
    } = setup("").await;
    let first = agent_token(&agent, "main").await;
    upstream.reject(&first); // revoked early, as after a logout
    let response = reqwest::Client::new()
        .post(format!("http://{}/api/orders", agent.addr()))
        .body("replay me")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "the retry with a new token succeeded"
    );
    let seen = upstream.seen();
    assert_eq!(seen.len(), 2, "one retry");
    assert_eq!(&seen[1].body[..], b"replay me", "the body was replayed");
    assert_ne!(
        seen[0].headers["authorization"],
        seen[1].headers["authorization"]
    );
    assert_eq!(server.token_requests(), 2);
    let metrics = reqwest::get(format!("http://{}/metrics", agent.addr()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("tokenbroker_agent_reauthentications_total{profile=\"main\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_upstream_that_rejects_everything_gets_one_retry_not_a_loop() {
    let Setup {
        server,
        upstream,
        agent,
    } = setup("").await;
    upstream
        .reject_all
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let url = format!("http://{}/api/x", agent.addr());
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 401);
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 401);
    // First request: 2 upstream calls; the second: invalidation is rate-limited, so no new
    // token and no retry.
    assert_eq!(upstream.seen().len(), 3);
    assert!(server.token_requests() <= 2);
}

#[tokio::test]
async fn a_401_on_a_body_too_large_to_replay_is_passed_through() {
    let Setup {
        server: _server,
        upstream,
        agent,
    } = setup("max_replay_body_bytes = 1024").await;
    upstream.reject(&agent_token(&agent, "main").await);
    let response = reqwest::Client::new()
        .post(format!("http://{}/api/x", agent.addr()))
        .body(vec![b'x'; 4096])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(upstream.seen().len(), 1, "not retried");
}

#[tokio::test]
async fn no_valid_token_means_503_naming_the_profile_and_nothing_forwarded() {
    let server = auth_server().await;
    // A one-second opaque token: its expiry is exactly `expires_in` (no JWT `exp` rounded to the
    // second), so after 950 ms it has at most 50 ms left, under the agent's margin of a tenth.
    server.faults().set_opaque_tokens(true);
    server.set_default_lifetime(Duration::from_secs(1));
    let (upstream, addr) = Upstream::start().await;
    let (agent, clock) =
        agent_on_manual_clock(one_upstream(addr, ""), vec![entur_profile(&server, "main")]).await;
    let url = format!("http://{}/api/x", agent.addr());
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 200);
    server.faults().fail_with_status(Some(503));
    clock.advance(Duration::from_millis(950)); // the token is no longer usable
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "no_valid_token");
    assert_eq!(body["profile"], "main");
    assert!(
        body["reason"].as_str().unwrap().contains("HTTP 503"),
        "{body}"
    );
    assert_eq!(
        upstream.seen().len(),
        1,
        "never forwarded without a valid token"
    );
    let ready = reqwest::get(format!("http://{}/readyz", agent.addr()))
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    server.faults().fail_with_status(None);
    // Within one failure window of the AS coming back.
    clock.advance(tokenbroker::RefreshPolicy::default().max_failure_cooldown);
    assert_eq!(
        reqwest::get(&url).await.unwrap().status(),
        200,
        "recovers with the AS"
    );
}

#[tokio::test]
async fn http2_both_ways() {
    let server = auth_server().await;
    let (upstream, addr) = Upstream::start().await;
    let settings = settings(&format!(
        "[agent]\nlisten = \"127.0.0.1:0\"\n[[agent.upstreams]]\nname = \"api\"\nprofile = \"main\"\nbase_url = \"http://{addr}\"\nhttp2_prior_knowledge = true\n"
    ));
    let agent = agent(settings, vec![entur_profile(&server, "main")]).await;
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let response = h2
        .get(format!("http://{}/api/x", agent.addr()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), http::Version::HTTP_2, "client to agent");
    assert_eq!(
        upstream.seen()[0].version,
        http::Version::HTTP_2,
        "agent to upstream"
    );
}

#[tokio::test]
async fn unknown_upstreams_and_dot_segments_are_refused() {
    let Setup {
        server: _server,
        upstream,
        agent,
    } = setup("").await;
    let unknown = reqwest::get(format!("http://{}/nope/x", agent.addr()))
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let body: serde_json::Value = unknown.json().await.unwrap();
    assert_eq!(body["upstreams"], serde_json::json!(["api"]));
    // Sent raw: URL libraries (reqwest included) would resolve the dots before sending.
    // Finding 14: encoded separators and `;` parameters reached upstreams that decode first.
    for path in [
        "/api/a/../admin",
        "/api/a/%2E%2e/admin",
        "/api/..%2f..%2finternal.txt",
        "/api/%2e%2e%2finternal.txt",
        "/api/%2e%2e%5cinternal.txt",
        "/api/..;/internal.txt",
    ] {
        let answer = raw_get(agent.addr(), path).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{path}: {answer}");
    }
    assert!(upstream.seen().is_empty());
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_502_naming_it() {
    let server = auth_server().await;
    let dead = tokenbroker_testkit::free_port();
    let settings = one_upstream(format!("127.0.0.1:{dead}").parse().unwrap(), "");
    let agent = agent(settings, vec![entur_profile(&server, "main")]).await;
    let response = reqwest::get(format!("http://{}/api/x", agent.addr()))
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "upstream_unreachable");
    assert_eq!(body["upstream"], "api");
}

async fn raw_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

#[tokio::test]
async fn a_stalled_upstream_body_is_cut_off_at_the_read_timeout() {
    let Setup {
        server: _server,
        upstream: _upstream,
        agent,
    } = setup("read_timeout = 0.5").await;
    let started = Instant::now();
    let response = reqwest::get(format!("http://{}/api/stall", agent.addr()))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    assert_eq!(&body.next().await.unwrap().unwrap()[..], b"part0;");
    let rest = body.next().await;
    assert!(
        matches!(rest, Some(Err(_))),
        "the stalled body ends in an error, not silently: {rest:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "cut off after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_slow_upstream_head_is_a_504() {
    let Setup {
        server: _server,
        upstream: _upstream,
        agent,
    } = setup("upstream_timeout = 0.5").await;
    let response = reqwest::get(format!("http://{}/api/slow", agent.addr()))
        .await
        .unwrap();
    assert_eq!(response.status(), 504);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "upstream_timeout");
}

#[tokio::test]
async fn https_upstreams_are_verified_against_the_system_roots_plus_ca_file() {
    let server = auth_server().await;
    let dir = tempfile::tempdir().unwrap();
    // A real HTTPS upstream: our own authorization server with a self-signed certificate.
    let certificate = tokenbroker_testkit::self_signed(dir.path());
    let files = tokenbroker_server::TlsFiles {
        cert: certificate.cert,
        key: certificate.key,
    };
    let mut config = tokenbroker_server::ServerConfig::new(dir.path().join("data"));
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.tls = Some(files.clone());
    let tls_upstream = tokenbroker_server::AuthServer::start(config).await.unwrap();
    let base = format!("https://127.0.0.1:{}", tls_upstream.addr().port());
    let upstream = |name: &str, ca: &str| {
        format!("[[agent.upstreams]]\nname = \"{name}\"\nprofile = \"main\"\nbase_url = \"{base}\"\n{ca}\n")
    };
    let settings = settings(&format!(
        "[agent]\nlisten = \"127.0.0.1:0\"\n{}{}",
        upstream(
            "trusted",
            &format!("ca_file = {:?}", files.cert.to_str().unwrap())
        ),
        upstream("untrusted", ""),
    ));
    let agent = agent(settings, vec![entur_profile(&server, "main")]).await;
    let path = "/.well-known/oauth-authorization-server";
    let trusted = reqwest::get(format!("http://{}/trusted{path}", agent.addr()))
        .await
        .unwrap();
    assert_eq!(trusted.status(), 200);
    let metadata: serde_json::Value = trusted.json().await.unwrap();
    assert_eq!(metadata["issuer"], base);
    let untrusted = reqwest::get(format!("http://{}/untrusted{path}", agent.addr()))
        .await
        .unwrap();
    assert_eq!(untrusted.status(), 502, "an unknown certificate is refused");
    let body: serde_json::Value = untrusted.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("certificate"),
        "{body}"
    );
}

/// Connections a [`counting_upstream`] accepted, and how many of them the agent closed.
#[derive(Default)]
struct Connections {
    accepted: AtomicUsize,
    closed_by_agent: AtomicUsize,
}

/// A bare HTTP/1.1 upstream that counts connections and answers every request `200 ok`. With
/// `hang_up_after_each`, it closes each connection right after its first answer without
/// announcing it, as a server whose keep-alive timeout just ran out does.
async fn counting_upstream(hang_up_after_each: bool) -> (Arc<Connections>, std::net::SocketAddr) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(Connections::default());
    let counted = Arc::clone(&connections);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counted.accepted.fetch_add(1, Ordering::SeqCst);
            let counted = Arc::clone(&counted);
            tokio::spawn(async move {
                let mut received = Vec::new();
                let mut buffer = [0u8; 4096];
                while let Ok(read) = stream.read(&mut buffer).await {
                    if read == 0 {
                        counted.closed_by_agent.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                    received.extend_from_slice(&buffer[..read]);
                    while let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
                        received.drain(..end + 4);
                        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                        if stream.write_all(answer).await.is_err() || hang_up_after_each {
                            return;
                        }
                    }
                }
            });
        }
    });
    (connections, addr)
}

/// An agent (with `extra` [agent] lines) in front of a [`counting_upstream`].
struct PoolSetup {
    _server: tokenbroker_server::AuthServer,
    connections: Arc<Connections>,
    agent: tokenbroker_agent::Agent,
    caller: reqwest::Client,
}

impl PoolSetup {
    async fn start(hang_up_after_each: bool, extra: &str) -> PoolSetup {
        let server = auth_server().await;
        let (connections, addr) = counting_upstream(hang_up_after_each).await;
        let agent = agent(
            one_upstream(addr, extra),
            vec![entur_profile(&server, "main")],
        )
        .await;
        PoolSetup {
            _server: server,
            connections,
            agent,
            caller: reqwest::Client::new(),
        }
    }

    /// `count` requests in a row over one caller connection, each asserted to be `200 ok`.
    async fn requests_in_a_row(&self, count: usize) {
        for round in 0..count {
            let response = self
                .caller
                .get(format!("http://{}/api/x", self.agent.addr()))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "request {round}");
            assert_eq!(response.text().await.unwrap(), "ok", "request {round}");
        }
    }

    fn accepted(&self) -> usize {
        self.connections.accepted.load(Ordering::SeqCst)
    }

    fn closed_by_agent(&self) -> usize {
        self.connections.closed_by_agent.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn upstream_connections_are_kept_alive_and_reused() {
    let pool = PoolSetup::start(false, "").await;
    pool.requests_in_a_row(20).await;
    assert_eq!(pool.accepted(), 1);
    assert_eq!(pool.closed_by_agent(), 0);
}

#[tokio::test]
async fn an_upstream_that_drops_idle_connections_never_fails_a_request() {
    let pool = PoolSetup::start(true, "").await;
    pool.requests_in_a_row(20).await;
    assert_eq!(pool.accepted(), 20);
}

#[tokio::test]
async fn unused_upstream_connections_are_closed_after_the_idle_timeout() {
    let pool = PoolSetup::start(false, "upstream_idle_timeout = 0.3").await;
    pool.requests_in_a_row(3).await;
    assert_eq!((pool.accepted(), pool.closed_by_agent()), (1, 0));
    let deadline = Instant::now() + Duration::from_secs(5);
    while pool.closed_by_agent() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        pool.closed_by_agent(),
        1,
        "closed within 5 s of a 0.3 s idle timeout"
    );
    pool.requests_in_a_row(1).await;
    assert_eq!(
        pool.accepted(),
        2,
        "a new connection after the idle one was closed"
    );
}

/// Finding 15: a DNS-rebinding page (`Host: attacker.example`) could read the token endpoint,
/// and any page's cross-site POST was forwarded with the agent's token. Both are refused now,
/// before anything reaches the upstream; programs on this machine are served as before.
#[tokio::test]
async fn web_pages_cannot_use_the_agent() {
    let setup = setup("allowed_hosts = [\"agent.internal\"]").await;
    let base = format!("http://{}", setup.agent.addr());
    let http = reqwest::Client::new();
    let rebinding = http
        .get(format!("{base}/v1/token/main"))
        .header("host", "attacker.example:7070")
        .send()
        .await
        .unwrap();
    assert_eq!(rebinding.status(), 403);
    assert!(!rebinding.text().await.unwrap().contains("access_token"));
    let cross_site = http
        .post(format!("{base}/api/transfer"))
        .header("origin", "https://evil.example")
        .header("content-type", "text/plain")
        .body("amount=1000")
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    assert!(setup.upstream.seen().is_empty(), "nothing was forwarded");

    let configured = http
        .get(format!("{base}/api/ok"))
        .header("host", "agent.internal")
        .send()
        .await
        .unwrap();
    assert_eq!(configured.status(), 200);
    assert_eq!(
        http.get(format!("{base}/api/ok"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}
