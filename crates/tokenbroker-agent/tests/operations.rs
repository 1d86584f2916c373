//! The agent's own endpoints and lifecycle: token endpoint, health, metrics, budget, secret
//! reload, graceful shutdown and logout, and the X-JWT flow against the sandbox.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use crate::common::*;
use tokenbroker::{AuthStyle, ClientConfig};
use tokenbroker_agent::SECRET_HEADER;
use tokenbroker_server::{AuthServer, Dialect, ServerConfig, StaticClient};

#[tokio::test]
async fn the_token_endpoint_answers_in_the_rfc_shape_without_caching() {
    let Setup {
        server,
        upstream: _upstream,
        agent,
    } = setup("").await;
    let response = reqwest::get(format!("http://{}/v1/token/main", agent.addr()))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["access_token"].as_str().unwrap().starts_with("eyJ"));
    let expires_in = body["expires_in"].as_u64().unwrap();
    assert!(expires_in > 3_500 && expires_in <= 3_600, "{expires_in}");
    let unknown = reqwest::get(format!("http://{}/v1/token/other", agent.addr()))
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    // Many callers, one token request.
    for _ in 0..20 {
        agent_token(&agent, "main").await;
    }
    assert_eq!(server.token_requests(), 1);
}

#[tokio::test]
async fn the_token_endpoint_can_require_a_shared_secret() {
    let server = auth_server().await;
    let (_upstream, addr) = Upstream::start().await;
    std::env::set_var("AGENT_TEST_ENDPOINT_SECRET", "let-me-in-0123");
    let settings = one_upstream(
        addr,
        "token_endpoint_secret_env = \"AGENT_TEST_ENDPOINT_SECRET\"",
    );
    let agent = agent(settings, vec![entur_profile(&server, "main")]).await;
    let url = format!("http://{}/v1/token/main", agent.addr());
    let http = reqwest::Client::new();
    assert_eq!(http.get(&url).send().await.unwrap().status(), 401);
    let wrong = http
        .get(&url)
        .header(SECRET_HEADER, "let-me-in-0124")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let right = http
        .get(&url)
        .header(SECRET_HEADER, "let-me-in-0123")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
}

/// The Unix socket is private, serves tokens, and has the TCP listener's bounds: silent and
/// trickling callers are closed at `header_read_timeout`, and the connection cap counts its
/// connections too.
#[tokio::test]
async fn the_unix_socket_is_private_serves_tokens_and_cuts_off_slow_callers() {
    use tokio::io::AsyncWriteExt;
    let server = auth_server().await;
    let (_upstream, addr) = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("agent.sock");
    let settings = one_upstream(
        addr,
        &format!(
            "unix_socket = {:?}\nheader_read_timeout = 0.5\nmax_connections = 3",
            socket.to_str().unwrap()
        ),
    );
    let agent = agent(settings, vec![entur_profile(&server, "main")]).await;
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let answer = unix_get(&socket, "/v1/token/main").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"token_type\":\"Bearer\""), "{answer}");

    let patience = Duration::from_secs(5);
    let silent = tokio::net::UnixStream::connect(&socket).await.unwrap();
    assert!(tokenbroker_testkit::closed_within(silent, false, patience)
        .await
        .is_some());
    let mut slow = tokio::net::UnixStream::connect(&socket).await.unwrap();
    slow.write_all(b"GET /api/x HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .await
        .unwrap();
    assert!(tokenbroker_testkit::closed_within(slow, true, patience)
        .await
        .is_some());

    let held = [
        tokio::net::UnixStream::connect(&socket).await.unwrap(),
        tokio::net::UnixStream::connect(&socket).await.unwrap(),
        tokio::net::UnixStream::connect(&socket).await.unwrap(),
    ];
    let extra = tokio::net::UnixStream::connect(&socket).await.unwrap();
    let took = tokenbroker_testkit::closed_within(extra, false, patience)
        .await
        .unwrap();
    assert!(
        took < Duration::from_millis(400),
        "{took:?}: closed before any timeout"
    );
    drop(held);
    agent.shutdown().await;
    assert!(!socket.exists(), "removed on shutdown");
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let server = auth_server().await;
    let (_upstream, addr) = Upstream::start().await;
    server.faults().fail_with_status(Some(503));
    let (agent, clock) =
        agent_on_manual_clock(one_upstream(addr, ""), vec![entur_profile(&server, "main")]).await;
    let base = format!("http://{}", agent.addr());
    assert_eq!(
        reqwest::get(format!("{base}/healthz"))
            .await
            .unwrap()
            .status(),
        200
    );
    let not_ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(not_ready.status(), 503);
    let body: serde_json::Value = not_ready.json().await.unwrap();
    assert_eq!(body["profiles"]["main"], false);
    server.faults().fail_with_status(None);
    // The start-up fetch failed: no new one starts until its failure window has passed.
    clock.advance(tokenbroker::RefreshPolicy::default().max_failure_cooldown);
    reqwest::get(format!("{base}/api/x")).await.unwrap();
    reqwest::get(format!("{base}/api/x")).await.unwrap();
    assert_eq!(
        reqwest::get(format!("{base}/readyz"))
            .await
            .unwrap()
            .status(),
        200
    );
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in [
        "tokenbroker_agent_token_fetches_total{profile=\"main\",outcome=\"success\"} 1",
        "tokenbroker_agent_upstream_responses_total{upstream=\"api\",status=\"200\"} 2",
        "tokenbroker_agent_token_budget_remaining{profile=\"main\",window=\"hour\"}",
        "tokenbroker_agent_token_cache_hits_total{profile=\"main\"}",
    ] {
        assert!(metrics.contains(expected), "missing {expected}:\n{metrics}");
    }
    assert!(metrics.contains("outcome=\"failure\"} "), "{metrics}");
    let expiry = metric(
        &metrics,
        "tokenbroker_agent_token_expiry_seconds{profile=\"main\"}",
    );
    assert!((3_500.0..=3_600.0).contains(&expiry), "{expiry}");
}

#[tokio::test]
async fn a_spent_budget_keeps_the_token_and_shows_in_metrics() {
    let server = auth_server().await;
    let (upstream, addr) = Upstream::start().await;
    let settings = one_upstream(addr, "[agent.budgets.main]\nper_hour = 1\n");
    let agent = agent(settings, vec![entur_profile(&server, "main")]).await;
    let url = format!("http://{}/api/x", agent.addr());
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 200);
    // A runaway: the upstream rejects the token. With the budget spent the agent does not fetch,
    // passes the 401 on, and keeps serving its still-valid token.
    upstream
        .reject_all
        .store(true, std::sync::atomic::Ordering::Relaxed);
    for _ in 0..5 {
        assert_eq!(reqwest::get(&url).await.unwrap().status(), 401);
    }
    upstream
        .reject_all
        .store(false, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 200);
    assert_eq!(server.token_requests(), 1, "the budget held");
    let metrics = reqwest::get(format!("http://{}/metrics", agent.addr()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "tokenbroker_agent_token_budget_remaining{profile=\"main\",window=\"hour\"} 0"
        ),
        "{metrics}"
    );
    assert_eq!(
        reqwest::get(format!("http://{}/readyz", agent.addr()))
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn secrets_reload_from_their_files_on_demand_and_on_change() {
    let server = auth_server().await;
    let (_upstream, addr) = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, "the-old-revoked-secret\n").unwrap();
    let mut profile = entur_profile(&server, "main");
    profile.client = profile.client.with_secret("the-old-revoked-secret".into());
    profile.secret_file = Some(secret_file.clone());
    let settings = one_upstream(addr, "secret_poll_interval = 0.2");
    let agent = agent(settings, vec![profile]).await;
    let url = format!("http://{}/api/x", agent.addr());
    assert_eq!(
        reqwest::get(&url).await.unwrap().status(),
        503,
        "the old secret is refused"
    );
    assert_eq!(agent.reload_secrets(), 0, "unchanged file, nothing to do");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    // The file watch picks it up within a few polls.
    let mut status = 0;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = reqwest::get(&url).await.unwrap().status().as_u16();
        if status == 200 {
            break;
        }
    }
    assert_eq!(status, 200, "the new secret from the file is used");
}

#[tokio::test]
async fn shutdown_drains_in_flight_requests_and_logs_tokens_out() {
    let server = auth_server().await;
    let (_upstream, addr) = Upstream::start().await;
    let mut profile = entur_profile(&server, "main");
    let logout = format!("{}/oauth/v2/logout", server.url());
    profile.logout_url = Some(logout.parse().unwrap());
    let agent = agent(
        one_upstream(addr, "logout_on_shutdown = true"),
        vec![profile],
    )
    .await;
    let base = format!("http://{}", agent.addr());
    let token = agent_token(&agent, "main").await;
    let in_flight = tokio::spawn({
        let url = format!("{base}/api/slow");
        async move { reqwest::get(url).await.unwrap().text().await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    agent.shutdown().await;
    assert_eq!(
        in_flight.await.unwrap(),
        "slow done",
        "the in-flight request finished"
    );
    assert!(
        reqwest::get(format!("{base}/healthz")).await.is_err(),
        "no longer listening"
    );
    // The token was logged out: the AS now refuses to log it out again (code 2, invalid token).
    let again = reqwest::Client::new()
        .get(&logout)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 401);
}

#[tokio::test]
async fn shutdown_revokes_tokens_with_rfc_7009_where_there_is_no_logout() {
    let server = auth_server().await;
    let (_upstream, addr) = Upstream::start().await;
    let mut profile = entur_profile(&server, "main");
    profile.revocation_url = Some(format!("{}/oauth2/revoke", server.url()).parse().unwrap());
    let agent = agent(
        one_upstream(addr, "logout_on_shutdown = true"),
        vec![profile],
    )
    .await;
    let token = agent_token(&agent, "main").await;
    let introspect = || async {
        let answer =
            tokenbroker_testkit::introspect(&server.url(), CLIENT_ID, SECRET, &token).await;
        answer["active"].as_bool().unwrap()
    };
    assert!(introspect().await, "active while the agent runs");
    agent.shutdown().await;
    assert!(!introspect().await, "revoked at shutdown");
}

#[tokio::test]
async fn telenor_x_jwt_and_entur_programs_through_the_agent_against_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = tokenbroker_server::ServerConfig::new(dir.path().join("data"));
    config.listen = "127.0.0.1:0".parse().unwrap();
    let sandbox = tokenbroker_sandbox::Sandbox::start(config).await.unwrap();
    let base = sandbox.server.issuer().to_owned();
    let secret_of = |id: &str| {
        sandbox
            .clients
            .iter()
            .find(|c| c.client_id == id)
            .unwrap()
            .client_secret
            .clone()
    };
    let telenor = ClientConfig::builder(
        format!("{base}{}", Dialect::TelenorNorway.token_path()),
        "dev-telenor",
        secret_of("dev-telenor"),
    )
    .auth_style(AuthStyle::Basic)
    .build()
    .unwrap();
    // The X-JWT password starts out wrong, from a file, and is fixed by a reload.
    let password_file = dir.path().join("x-jwt-password");
    std::fs::write(&password_file, "not-the-password\n").unwrap();
    let x_jwt = tokenbroker::XJwtConfig::new(
        &base,
        "Mobile Subscriptions Administration API",
        "comm-client",
        tokenbroker_sandbox::COMMUNICATION_USER_ID,
        "not-the-password",
    )
    .unwrap();
    let entur = ClientConfig::builder(
        format!("{base}{}", Dialect::Entur.token_path()),
        "dev-entur",
        secret_of("dev-entur"),
    )
    .auth_style(AuthStyle::Json)
    .audience(tokenbroker_sandbox::partner_api::ENTUR_AUDIENCE)
    .build()
    .unwrap();
    let profiles = vec![
        tokenbroker_agent::ProfileSpec {
            transaction_ids: true,
            x_jwt: Some(x_jwt),
            x_jwt_password_file: Some(password_file.clone()),
            ..tokenbroker_agent::ProfileSpec::new("telenor", telenor)
        },
        tokenbroker_agent::ProfileSpec {
            client_name: Some(tokenbroker::ClientName::new(CLIENT_NAME).unwrap()),
            ..tokenbroker_agent::ProfileSpec::new("entur", entur)
        },
    ];
    let settings = settings(&format!(
        "[agent]\nlisten = \"127.0.0.1:0\"\n\
         [[agent.upstreams]]\nname = \"telenor\"\nprofile = \"telenor\"\nbase_url = \"{base}\"\n\
         [[agent.upstreams]]\nname = \"entur\"\nprofile = \"entur\"\nbase_url = \"{base}\"\n"
    ));
    let agent = agent(settings, profiles).await;
    let rules = format!(
        "http://{}/telenor{}",
        agent.addr(),
        tokenbroker_sandbox::communication::SERVICE_RULES_PATH
    );
    let refused = reqwest::get(&rules).await.unwrap();
    assert_eq!(refused.status(), 503, "no X-JWT with the wrong password");
    let body = refused.text().await.unwrap();
    assert!(!body.contains("not-the-password"), "{body}");
    std::fs::write(
        &password_file,
        format!("{}\n", sandbox.communication_user.password),
    )
    .unwrap();
    assert_eq!(agent.reload_secrets(), 1, "the X-JWT password was reloaded");
    let response = reqwest::get(&rules).await.unwrap();
    assert_eq!(
        response.status(),
        200,
        "Bearer + X-JWT + X-Transaction-Id accepted"
    );
    let programs = reqwest::get(format!(
        "http://{}/entur/personalisation/v1/programs/1",
        agent.addr()
    ))
    .await
    .unwrap();
    assert_eq!(
        programs.status(),
        200,
        "Bearer + ET-Client-Name accepted by the guard"
    );
    let token: serde_json::Value =
        reqwest::get(format!("http://{}/v1/token/telenor", agent.addr()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert!(
        token["x_jwt"]
            .as_str()
            .is_some_and(|x| x.starts_with("eyJ")),
        "{token}"
    );
}

async fn unix_get(socket: &std::path::Path, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::UnixStream::connect(socket).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

#[tokio::test]
async fn dropping_the_agent_stops_it() {
    let running = setup("").await;
    let addr = running.agent.addr();
    let health = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    drop(running.agent);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "still accepting 5 s after the drop"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A caller trickling its headers is disconnected at `header_read_timeout`, and callers past
/// `max_connections` are closed at once.
#[tokio::test]
async fn slow_callers_and_connection_floods_are_cut_off() {
    use tokio::io::AsyncWriteExt;
    let setup = setup("header_read_timeout = 0.5\nmax_connections = 2\nworker_threads = 1").await;
    let patience = Duration::from_secs(5);
    let mut slow = tokio::net::TcpStream::connect(setup.agent.addr())
        .await
        .unwrap();
    slow.write_all(b"GET /api/x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .unwrap();
    assert!(tokenbroker_testkit::closed_within(slow, true, patience)
        .await
        .is_some());
    // A caller that sends nothing at all is closed in the same time.
    let silent = tokio::net::TcpStream::connect(setup.agent.addr())
        .await
        .unwrap();
    assert!(tokenbroker_testkit::closed_within(silent, false, patience)
        .await
        .is_some());

    let held = [
        tokio::net::TcpStream::connect(setup.agent.addr())
            .await
            .unwrap(),
        tokio::net::TcpStream::connect(setup.agent.addr())
            .await
            .unwrap(),
    ];
    let extra = tokio::net::TcpStream::connect(setup.agent.addr())
        .await
        .unwrap();
    let took = tokenbroker_testkit::closed_within(extra, false, patience)
        .await
        .unwrap();
    assert!(
        took < Duration::from_millis(500),
        "{took:?}: closed before any timeout"
    );
    drop(held);
}

/// Out-of-range durations are configuration errors, not panics (`secret_poll_interval = 1e20`
/// used to exit with a panic).
#[test]
fn out_of_range_settings_are_errors() {
    let addr: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
    for extra in [
        "secret_poll_interval = 1e20",
        "header_read_timeout = 0",
        "read_timeout = 1e300",
        "max_connections = 0",
    ] {
        let error = one_upstream(addr, extra).validate().unwrap_err();
        let key = extra.split(' ').next().unwrap();
        assert!(error.contains(key), "{extra}: {error}");
    }
    // Each bound accepts its limit exactly (a day; the largest connection cap).
    let max = tokenbroker_agent::settings::MAX_CONNECTIONS;
    for at_the_limit in [
        "secret_poll_interval = 86400".to_owned(),
        "read_timeout = 86400".to_owned(),
        "header_read_timeout = 86400.0".to_owned(),
        format!("max_connections = {max}"),
    ] {
        let settings = one_upstream(addr, &at_the_limit);
        assert_eq!(settings.validate(), Ok(()), "{at_the_limit}");
    }
    let error = one_upstream(addr, "read_timeout = 86400.001")
        .validate()
        .unwrap_err();
    assert!(error.contains("read_timeout"), "{error}");
}

/// A caller trickling a body the agent buffers for a retry is answered 408 at
/// `body_read_timeout`, and nothing reaches the upstream.
#[tokio::test]
async fn a_slow_request_body_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let setup = setup("body_read_timeout = 0.5").await;
    let mut stream = tokio::net::TcpStream::connect(setup.agent.addr())
        .await
        .unwrap();
    stream
        .write_all(b"POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nfirst bytes")
        .await
        .unwrap();
    let mut answer = vec![0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("answered before the caller finished")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]).into_owned();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("body_too_slow"), "{answer}");
    assert!(setup.upstream.seen().is_empty());
}

/// A metric's value in the agent's exposition, 0 when absent.
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// The outage trap: an AS that refuses connections for a minute under steady traffic. The agent
/// makes at most one attempt per failure window (1 s doubling to 30 s, on its clock), none of
/// them counted against the budget (they never reached the provider), says so in /readyz and
/// /metrics, and serves 200 within one window of the AS coming back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_authorization_server_costs_one_attempt_per_window_and_no_budget() {
    let port = tokenbroker_testkit::free_port();
    let token_url = format!("http://127.0.0.1:{port}/oauth/token");
    let (_upstream, addr) = Upstream::start().await;
    let client = ClientConfig::builder(&token_url, CLIENT_ID, SECRET)
        .auth_style(AuthStyle::Json)
        .audience(AUDIENCE)
        .build()
        .unwrap();
    let profile = tokenbroker_agent::ProfileSpec::new("main", client);
    let settings = one_upstream(addr, "[agent.budgets.main]\nper_hour = 5\n");
    let (agent, clock) = agent_on_manual_clock(settings, vec![profile]).await;
    let base = format!("http://{}", agent.addr());
    let http = reqwest::Client::new();
    let metrics = || async {
        http.get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let failures = "tokenbroker_agent_token_fetches_total{profile=\"main\",outcome=\"failure\"}";

    // A minute of traffic, four requests a second on the agent's clock: 240 requests.
    for _second in 0..60 {
        for _ in 0..4 {
            let answer = http.get(format!("{base}/api/x")).send().await.unwrap();
            assert_eq!(answer.status(), 503);
        }
        clock.advance(Duration::from_secs(1));
    }
    let text = metrics().await;
    let attempts = metric(&text, failures);
    // The first flight's retries (3 attempts), then one attempt per window: at 1, 3, 7, 15 and
    // 31 s (the next would be at 61 s).
    assert!(
        (1.0..=8.0).contains(&attempts),
        "{attempts} attempts in a minute:\n{text}"
    );
    assert_eq!(
        metric(
            &text,
            "tokenbroker_agent_token_budget_remaining{profile=\"main\",window=\"hour\"}"
        ),
        5.0,
        "attempts that never reached the provider cost no budget"
    );
    assert!(
        metric(
            &text,
            "tokenbroker_agent_token_fetch_failures_in_a_row{profile=\"main\"}"
        ) >= 2.0,
        "{text}"
    );
    let ready: serde_json::Value = http
        .get(format!("{base}/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["ready"], false);
    assert_eq!(ready["states"]["main"]["state"], "failing", "{ready}");
    assert_eq!(ready["states"]["main"]["serving_cached_token"], false);

    // The AS comes back on the same port: within one window (at most 30 s) the agent serves 200.
    let client = StaticClient::new(CLIENT_ID, SECRET, AUDIENCE);
    let mut server_config = ServerConfig::in_memory([client]);
    server_config.listen = format!("127.0.0.1:{port}").parse().unwrap();
    let server = AuthServer::start(server_config).await.unwrap();
    clock.advance(Duration::from_secs(30));
    let answer = http.get(format!("{base}/api/x")).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(server.token_requests(), 1);
    let ready: serde_json::Value = http
        .get(format!("{base}/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["states"]["main"]["state"], "fresh", "{ready}");
    let text = metrics().await;
    assert_eq!(
        metric(
            &text,
            "tokenbroker_agent_token_fetch_failures_in_a_row{profile=\"main\"}"
        ),
        0.0
    );
    assert_eq!(
        metric(
            &text,
            "tokenbroker_agent_token_budget_remaining{profile=\"main\",window=\"hour\"}"
        ),
        4.0,
        "the one request that reached the provider counts"
    );
}
