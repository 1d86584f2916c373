//! Hostile input at the authorization server: each test is a finding of the attack review, and
//! would fail on the server before it was fixed.

use std::net::IpAddr;

use serde_json::{json, Value};
use tokenbroker_server::registry::Role;
use tokenbroker_server::{AuthServer, ServeError, ServerConfig, StaticClient};

const AUDIENCE: &str = "https://api.dev.entur.io";

async fn server(clients: impl IntoIterator<Item = StaticClient>) -> AuthServer {
    server_with(ServerConfig::in_memory(clients)).await
}

async fn server_with(config: ServerConfig) -> AuthServer {
    AuthServer::start(config).await.unwrap()
}

/// A client whose requests leave from `address` (any of 127.0.0.0/8 is this machine).
fn from(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(address.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

/// A token request with Basic authentication and `form` (`grant_type=client_credentials` when
/// empty).
async fn token_request(
    http: &reqwest::Client,
    server: &AuthServer,
    (id, secret): (&str, &str),
    form: &[(&str, &str)],
) -> reqwest::Response {
    let form = if form.is_empty() {
        &[("grant_type", "client_credentials")]
    } else {
        form
    };
    http.post(format!("{}/oauth2/token", server.url()))
        .basic_auth(id, Some(secret))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn token_status(http: &reqwest::Client, server: &AuthServer, id: &str, secret: &str) -> u16 {
    token_request(http, server, (id, secret), &[])
        .await
        .status()
        .as_u16()
}

/// Finding 1: client ids of any length reached the limiter and stayed there. Now an id past the
/// bound is refused (400) before any lookup or counting, whatever the method.
#[tokio::test]
async fn overlong_credentials_are_refused_before_any_lookup() {
    let server = server([StaticClient::new("alpha", "alpha-secret", AUDIENCE)]).await;
    let long = "a".repeat(tokenbroker_wire::client_auth::MAX_CLIENT_ID_BYTES + 1);
    let http = reqwest::Client::new();
    assert_eq!(token_status(&http, &server, &long, "x").await, 400);
    let response = http
        .post(format!("{}/oauth/token", server.url()))
        .json(&json!({"client_id": long, "client_secret": "x", "grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("client_id is longer"));
    // None of it counted: the right secret still works at once from the same address.
    assert_eq!(
        token_status(&http, &server, "alpha", "alpha-secret").await,
        200
    );
}

/// Finding 2: 20 failures from anywhere locked a client out, right secret included. Now guessing
/// from other addresses, past the client's whole limit, leaves an address that already
/// authenticated the client working; a fresh address is refused, and so is the guesser.
#[tokio::test]
async fn guessing_from_elsewhere_does_not_lock_out_the_client() {
    let server = server([StaticClient::new("alpha", "alpha-secret", AUDIENCE)]).await;
    let home = from("127.0.0.1");
    assert_eq!(
        token_status(&home, &server, "alpha", "alpha-secret").await,
        200
    );
    // 10 addresses × 10 failures: each pair at its limit, the client at its 100.
    for n in 2..=11 {
        let attacker = from(&format!("127.0.0.{n}"));
        for _ in 0..10 {
            assert_eq!(
                token_status(&attacker, &server, "alpha", "guess").await,
                401
            );
        }
        assert_eq!(
            token_status(&attacker, &server, "alpha", "guess").await,
            429,
            "the pair 127.0.0.{n}/alpha is at its limit"
        );
    }
    assert_eq!(
        token_status(&home, &server, "alpha", "alpha-secret").await,
        200,
        "the address the client uses is not locked out"
    );
    assert_eq!(
        token_status(&from("127.0.0.50"), &server, "alpha", "alpha-secret").await,
        429,
        "while the client is under attack, new addresses wait"
    );
}

/// Finding 2, second half: failed token requests from an address do not lock out its
/// administrators (the realms count apart).
#[tokio::test]
async fn failed_client_logins_do_not_lock_out_administrators() {
    let server = server([]).await;
    let issued = server
        .registry()
        .create_admin("ops", &[Role::ClientAdmin], "test")
        .await
        .unwrap();
    let http = from("127.0.0.3");
    for _ in 0..70 {
        token_status(&http, &server, "nobody", "guess").await;
    }
    assert_eq!(token_status(&http, &server, "nobody", "guess").await, 429);
    let admin = http
        .get(format!("{}/admin/clients", server.url()))
        .bearer_auth(&issued.token)
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 200);
}

/// Finding 6: a client could destroy another client's refresh token through `/oauth2/revoke`.
/// Now it is refused (RFC 7009 §2.1) and the token still works for its owner.
#[tokio::test]
async fn another_clients_refresh_token_cannot_be_revoked() {
    let server = server([
        StaticClient::new("owner", "owner-secret", AUDIENCE).with_refresh_tokens(),
        StaticClient::new("other", "other-secret", AUDIENCE),
    ])
    .await;
    let http = reqwest::Client::new();
    let issued: Value = token_request(&http, &server, ("owner", "owner-secret"), &[])
        .await
        .json()
        .await
        .unwrap();
    let refresh = issued["refresh_token"].as_str().unwrap();
    let revoke = http
        .post(format!("{}/oauth2/revoke", server.url()))
        .basic_auth("other", Some("other-secret"))
        .form(&[("token", refresh), ("token_type_hint", "refresh_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 400);
    let body: Value = revoke.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized_client");
    let renewed = token_request(
        &http,
        &server,
        ("owner", "owner-secret"),
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(renewed.status(), 200, "the owner's refresh token survived");
    let renewed: Value = renewed.json().await.unwrap();
    let own = http
        .post(format!("{}/oauth2/revoke", server.url()))
        .basic_auth("owner", Some("owner-secret"))
        .form(&[("token", renewed["refresh_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    let audit = server.registry().audit_log(Some("owner")).await.unwrap();
    assert!(
        audit.iter().any(|e| e.action == "refresh-token.revoke"),
        "{audit:?}"
    );
}

/// Finding 10: `token_type_hint=refresh_token` with an access token revoked nothing. RFC 7009
/// §2.1: the server MUST extend its search to the other token types.
#[tokio::test]
async fn a_wrong_hint_still_revokes_the_access_token() {
    let server = server([StaticClient::new("alpha", "alpha-secret", AUDIENCE)]).await;
    let access = tokenbroker_testkit::fetch_token(&server.url(), "alpha", "alpha-secret").await;
    let http = reqwest::Client::new();
    let revoke = http
        .post(format!("{}/oauth2/revoke", server.url()))
        .basic_auth("alpha", Some("alpha-secret"))
        .form(&[
            ("token", access.as_str()),
            ("token_type_hint", "refresh_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 200);
    let introspected =
        tokenbroker_testkit::introspect(&server.url(), "alpha", "alpha-secret", &access).await;
    assert_eq!(introspected["active"], false);
    // Finding 8: revocations were not audited.
    let audit = server.registry().audit_log(Some("alpha")).await.unwrap();
    let revoked: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "token.revoke")
        .collect();
    assert_eq!(revoked.len(), 1, "{audit:?}");
    assert_eq!(revoked[0].actor, "client:alpha");
}

/// Findings 11 and 12: token responses carry `Pragma: no-cache` (RFC 6749 §5.1), a repeated
/// parameter is `invalid_request` (§3.2), a refused post/JSON authentication still names its
/// scheme (RFC 9110 §11.6.1), a rate-limited client is told `too_many_requests`, and the metadata
/// claims no response type without an authorization endpoint.
#[tokio::test]
async fn answers_follow_the_rfcs() {
    let server = server([StaticClient::new("alpha", "alpha-secret", AUDIENCE)]).await;
    let http = reqwest::Client::new();
    let url = format!("{}/oauth2/token", server.url());
    let ok = token_request(&http, &server, ("alpha", "alpha-secret"), &[]).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["pragma"], "no-cache");
    assert_eq!(ok.headers()["cache-control"], "no-store");

    let repeated = http
        .post(&url)
        .basic_auth("alpha", Some("alpha-secret"))
        .body("grant_type=client_credentials&grant_type=client_credentials")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(repeated.status(), 400);
    let body: Value = repeated.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("repeated"));

    let post_refused = http
        .post(&url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "alpha"),
            ("client_secret", "wrong"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(post_refused.status(), 401);
    assert!(post_refused.headers().contains_key("www-authenticate"));

    let guesser = from("127.0.0.9");
    for _ in 0..10 {
        token_status(&guesser, &server, "alpha", "guess").await;
    }
    let limited = token_request(&guesser, &server, ("alpha", "guess"), &[]).await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["error"], "too_many_requests");

    let metadata: Value = http
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            server.url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["response_types_supported"], json!([]));
}

/// Findings 7 and 8: lifetimes past the bound were stored wrapped (u64::MAX as 0) and names
/// with newlines and escape sequences were accepted; both are refused now, through the registry
/// every entry point shares. The server's own default lifetime is bounded the same way.
#[tokio::test]
async fn out_of_range_lifetimes_and_control_characters_are_refused() {
    use tokenbroker_server::registry::NewClient;
    let server = server([]).await;
    let registry = server.registry();
    let base = || NewClient {
        name: "app".into(),
        audiences: vec![AUDIENCE.to_owned()],
        ..NewClient::default()
    };
    let mut forever = base();
    forever.lifetime = Some(std::time::Duration::from_secs(u64::MAX));
    let error = registry.create_client(forever, "test").await.unwrap_err();
    assert!(error.to_string().contains("lifetime"), "{error}");
    for name in [
        "line\nforged audit line",
        "bell\u{7}",
        "\u{1b}]0;title\u{7}",
    ] {
        let mut named = base();
        named.name = name.into();
        let error = registry.create_client(named, "test").await.unwrap_err();
        assert!(
            error.to_string().contains("control characters"),
            "{name:?}: {error}"
        );
    }
    let mut scoped = base();
    scoped.scopes = vec!["read\u{1b}[31m".into()];
    assert!(registry.create_client(scoped, "test").await.is_err());
    let error = registry
        .rotate_secret("nobody", std::time::Duration::from_secs(u64::MAX), "test")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("overlap"), "{error}");

    let mut config = ServerConfig::in_memory([]);
    config.default_lifetime = Some(std::time::Duration::from_secs(i64::MAX as u64));
    let error = AuthServer::start(config).await.unwrap_err();
    assert!(matches!(error, ServeError::LifetimeOutOfRange), "{error}");

    // Each bound accepts its limit exactly.
    use tokenbroker_server::registry::{
        MAX_ADMIN_TOKEN_LIFETIME, MAX_SECRET_OVERLAP, MAX_TOKEN_LIFETIME,
    };
    let mut longest = base();
    longest.lifetime = Some(MAX_TOKEN_LIFETIME);
    let (created, _) = registry.create_client(longest, "test").await.unwrap();
    let mut one_more = base();
    one_more.lifetime = Some(MAX_TOKEN_LIFETIME + std::time::Duration::from_secs(1));
    assert!(registry.create_client(one_more, "test").await.is_err());
    registry
        .rotate_secret(&created.client_id, MAX_SECRET_OVERLAP, "test")
        .await
        .unwrap();
    registry
        .create_admin_expiring(
            "year",
            &[Role::Viewer],
            Some(MAX_ADMIN_TOKEN_LIFETIME),
            "test",
        )
        .await
        .unwrap();
    let over = MAX_ADMIN_TOKEN_LIFETIME + std::time::Duration::from_secs(1);
    assert!(registry
        .create_admin_expiring("longer", &[Role::Viewer], Some(over), "test")
        .await
        .is_err());
    let mut config = ServerConfig::in_memory([]);
    config.default_lifetime = Some(MAX_TOKEN_LIFETIME);
    AuthServer::start(config).await.unwrap().stop().await;

    // The key reload interval: zero would panic the reload task, so both ends are bounded.
    use tokenbroker_server::{MAX_KEY_RELOAD_INTERVAL, MIN_KEY_RELOAD_INTERVAL};
    let millisecond = std::time::Duration::from_millis(1);
    for accepted in [MIN_KEY_RELOAD_INTERVAL, MAX_KEY_RELOAD_INTERVAL] {
        let mut config = ServerConfig::in_memory([]);
        config.key_reload_interval = accepted;
        AuthServer::start(config).await.unwrap().stop().await;
    }
    for refused in [
        std::time::Duration::ZERO,
        MIN_KEY_RELOAD_INTERVAL - millisecond,
        MAX_KEY_RELOAD_INTERVAL + millisecond,
    ] {
        let mut config = ServerConfig::in_memory([]);
        config.key_reload_interval = refused;
        let error = AuthServer::start(config).await.unwrap_err();
        assert!(
            matches!(error, ServeError::KeyReloadIntervalOutOfRange),
            "{refused:?}: {error}"
        );
    }
}

/// Finding 4: concurrent refreshes of distinct refresh tokens failed with "database is locked"
/// on SQLite. Now every one succeeds.
#[tokio::test]
async fn concurrent_refreshes_succeed_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path().join("data"));
    config.listen = "127.0.0.1:0".parse().unwrap();
    let server = AuthServer::start(config).await.unwrap();
    let new = tokenbroker_server::registry::NewClient {
        name: "app".into(),
        audiences: vec![AUDIENCE.to_owned()],
        refresh_tokens: true,
        ..Default::default()
    };
    let (_, issued) = server.registry().create_client(new, "test").await.unwrap();
    let (id, secret) = (issued.client_id.clone(), issued.client_secret.clone());
    let http = reqwest::Client::new();
    let url = format!("{}/oauth2/token", server.url());
    let mut refresh_tokens = Vec::new();
    for _ in 0..8 {
        let body: Value = http
            .post(&url)
            .basic_auth(&id, Some(&secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        refresh_tokens.push(body["refresh_token"].as_str().unwrap().to_owned());
    }
    let refreshes = refresh_tokens.iter().map(|refresh| {
        http.post(&url)
            .basic_auth(&id, Some(&secret))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
            .send()
    });
    let mut pending = tokio::task::JoinSet::new();
    for refresh in refreshes {
        pending.spawn(refresh);
    }
    while let Some(response) = pending.join_next().await {
        let response = response.unwrap().unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }
    // The other writes that read before writing: secret rotations and revocations at once.
    let registry = server.registry();
    let mut writes = tokio::task::JoinSet::new();
    for n in 0..6 {
        let (registry, id) = (registry.clone(), id.clone());
        writes.spawn(async move {
            if n % 2 == 0 {
                registry
                    .rotate_secret(&id, std::time::Duration::from_secs(60), "test")
                    .await
                    .map(drop)
            } else {
                registry
                    .revoke_token(&format!("jti-{n}"), &id, 4_102_444_800)
                    .await
            }
        });
    }
    while let Some(written) = writes.join_next().await {
        written
            .unwrap()
            .expect("no write fails with \"database is locked\"");
    }
    server.stop().await;
}

/// Finding 3: connections that never finished their headers stayed open. Now a trickle of
/// header bytes, or a TLS handshake that never starts, is cut off at the header timeout, and
/// connections past the cap are closed at once.
#[tokio::test]
async fn slow_headers_and_connection_floods_are_cut_off() {
    use tokio::io::AsyncWriteExt;
    let limits = tokenbroker_server::ListenerLimits {
        max_connections: 3,
        header_read_timeout: std::time::Duration::from_millis(500),
        idle_timeout: std::time::Duration::from_secs(60),
    };
    let patience = std::time::Duration::from_secs(5);
    let mut config = ServerConfig::in_memory([]);
    config.limits = limits;
    let server = AuthServer::start(config).await.unwrap();
    let mut slow = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    slow.write_all(b"POST /oauth2/token HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let took = tokenbroker_testkit::closed_within(slow, true, patience).await;
    assert!(took.is_some(), "a trickling client is cut off");
    let silent = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    assert!(
        tokenbroker_testkit::closed_within(silent, false, patience)
            .await
            .is_some(),
        "a silent one too"
    );

    // The cap: with three connections open, a fourth is closed at once.
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(tokio::net::TcpStream::connect(server.addr()).await.unwrap());
    }
    let extra = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let took = tokenbroker_testkit::closed_within(extra, false, patience)
        .await
        .unwrap();
    assert!(
        took < limits.header_read_timeout,
        "{took:?}: closed before any timeout"
    );
    drop(held);
    server.stop().await;

    let dir = tempfile::tempdir().unwrap();
    let certificate = tokenbroker_testkit::self_signed(dir.path());
    let mut config = ServerConfig::in_memory([]);
    config.limits = limits;
    config.tls = Some(tokenbroker_server::TlsFiles {
        cert: certificate.cert.clone(),
        key: certificate.key.clone(),
    });
    let tls = AuthServer::start(config).await.unwrap();
    let no_handshake = tokio::net::TcpStream::connect(tls.addr()).await.unwrap();
    assert!(
        tokenbroker_testkit::closed_within(no_handshake, false, patience)
            .await
            .is_some(),
        "a TLS connection without a handshake is cut off"
    );
}

/// Finding 6: any client could introspect any other client's tokens, with all their claims.
/// Now a client sees its own tokens and a resource server everyone's; others get
/// `{"active": false}` (RFC 7662 §4).
#[tokio::test]
async fn only_the_owner_and_resource_servers_see_a_token() {
    let server = server([
        StaticClient::new("owner", "owner-secret", AUDIENCE),
        StaticClient::new("nosy", "nosy-secret", AUDIENCE),
        StaticClient::new("api", "api-secret", AUDIENCE).resource_server(),
    ])
    .await;
    let access = tokenbroker_testkit::fetch_token(&server.url(), "owner", "owner-secret").await;
    let asks = |id: &'static str| {
        let (url, access) = (server.url(), access.clone());
        async move { tokenbroker_testkit::introspect(&url, id, &format!("{id}-secret"), &access).await }
    };
    assert_eq!(asks("owner").await["active"], true);
    assert_eq!(asks("api").await["client_id"], "owner");
    assert_eq!(asks("nosy").await, json!({ "active": false }));
}

/// Finding 12: a valid unused refresh token introspected as inactive. Now it is active to the
/// client holding it (with its scope, audience and times) until it is used or expires, on the
/// server's clock; nobody else learns anything about it, not even a resource server.
#[tokio::test]
async fn a_refresh_token_introspects_as_active_to_its_holder() {
    let clock = std::sync::Arc::new(tokenbroker_wire::ManualClock::starting_now());
    let mut config = ServerConfig::in_memory([
        StaticClient::new("owner", "owner-secret", AUDIENCE).with_refresh_tokens(),
        StaticClient::new("api", "api-secret", AUDIENCE).resource_server(),
    ]);
    config.clock = clock.clone();
    let server = server_with(config).await;
    let http = reqwest::Client::new();
    let issue = || async {
        let issued: Value = token_request(&http, &server, ("owner", "owner-secret"), &[])
            .await
            .json()
            .await
            .unwrap();
        issued["refresh_token"].as_str().unwrap().to_owned()
    };
    let asks = |id: &'static str, token: String| {
        let url = server.url();
        async move { tokenbroker_testkit::introspect(&url, id, &format!("{id}-secret"), &token).await }
    };

    let refresh = issue().await;
    let answer = asks("owner", refresh.clone()).await;
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["client_id"], "owner");
    assert_eq!(answer["aud"], AUDIENCE);
    assert!(answer["exp"].as_i64().unwrap() > answer["iat"].as_i64().unwrap());
    assert_eq!(
        asks("api", refresh.clone()).await,
        json!({ "active": false })
    );

    let used = token_request(
        &http,
        &server,
        ("owner", "owner-secret"),
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(used.status(), 200);
    assert_eq!(
        asks("owner", refresh).await,
        json!({ "active": false }),
        "a used one"
    );

    let later = issue().await;
    clock.advance(std::time::Duration::from_secs(31 * 24 * 3600));
    assert_eq!(
        asks("owner", later).await,
        json!({ "active": false }),
        "an expired one"
    );
}

/// Finding 5: a leaked `tba_` token was permanent. Now an administrator can be listed, revoked
/// (refused at once) and created with an expiry (refused once it passes, on the server's clock);
/// refused logins are audited.
#[tokio::test]
async fn administrator_tokens_expire_and_can_be_revoked() {
    let clock = std::sync::Arc::new(tokenbroker_wire::ManualClock::starting_now());
    let mut config = ServerConfig::in_memory([]);
    config.clock = clock.clone();
    let server = AuthServer::start(config).await.unwrap();
    let registry = server.registry();
    let brief = registry
        .create_admin_expiring(
            "brief",
            &[Role::Viewer],
            Some(std::time::Duration::from_secs(60)),
            "test",
        )
        .await
        .unwrap();
    let lasting = registry
        .create_admin("lasting", &[Role::ClientAdmin], "test")
        .await
        .unwrap();
    let status = |token: String| {
        let url = format!("{}/admin/clients", server.url());
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(status(brief.token.clone()).await, 200);
    assert_eq!(status(lasting.token.clone()).await, 200);
    clock.advance(std::time::Duration::from_secs(61));
    assert_eq!(status(brief.token.clone()).await, 401, "expired");
    registry.revoke_admin("lasting", "test").await.unwrap();
    assert_eq!(status(lasting.token.clone()).await, 401, "revoked");

    let listed = registry.list_admins().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed
        .iter()
        .any(|a| a.name == "lasting" && a.revoked_at.is_some()));
    assert!(listed
        .iter()
        .any(|a| a.name == "brief" && a.expires_at.is_some()));
    let audit = registry.audit_log(None).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "admin.revoke"));
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "admin.login-refused")
            .count(),
        2
    );
    assert!(registry
        .create_admin_expiring(
            "forever",
            &[Role::Viewer],
            Some(std::time::Duration::MAX),
            "test"
        )
        .await
        .is_err());
}

/// Finding 2, behind a proxy: all clients share the proxy's address. With the proxy trusted,
/// each client is counted by the address it forwards, and nobody else can choose theirs.
#[tokio::test]
async fn clients_behind_a_trusted_proxy_are_counted_apart() {
    let mut config =
        ServerConfig::in_memory([StaticClient::new("alpha", "alpha-secret", AUDIENCE)]);
    config.trusted_proxies = vec!["127.0.0.2/32".parse().unwrap()];
    let server = server_with(config).await;
    let proxy = from("127.0.0.2");
    let via = |forwarded: &'static str, secret: &'static str| {
        let request = proxy
            .post(format!("{}/oauth2/token", server.url()))
            .basic_auth("nobody", Some(secret))
            .header("x-forwarded-for", forwarded)
            .form(&[("grant_type", "client_credentials")]);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    for _ in 0..10 {
        assert_eq!(via("192.0.2.1", "guess").await, 401);
    }
    assert_eq!(
        via("192.0.2.1", "guess").await,
        429,
        "the guesser is limited"
    );
    assert_eq!(
        via("192.0.2.2", "guess").await,
        401,
        "its neighbour behind the proxy is not"
    );
    // A client that is not the proxy cannot pick its address with the header.
    let direct = from("127.0.0.3");
    for _ in 0..10 {
        direct
            .post(format!("{}/oauth2/token", server.url()))
            .basic_auth("nobody", Some("guess"))
            .header("x-forwarded-for", "192.0.2.99")
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
    }
    assert_eq!(
        via("192.0.2.99", "guess").await,
        401,
        "192.0.2.99 was never counted"
    );
}

/// With `admin_listen`, the public port carries no admin API and no metrics.
#[tokio::test]
async fn the_admin_api_can_live_on_its_own_listener() {
    let mut config = ServerConfig::in_memory([]);
    config.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    let server = server_with(config).await;
    let issued = server
        .registry()
        .create_admin("ops", &[Role::Viewer], "test")
        .await
        .unwrap();
    let admin = server.admin_addr().unwrap();
    let http = reqwest::Client::new();
    let get = |base: String, path: &'static str| {
        let request = http.get(format!("{base}{path}")).bearer_auth(&issued.token);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(get(server.url(), "/admin/clients").await, 404);
    assert_eq!(get(server.url(), "/metrics").await, 404);
    assert_eq!(get(server.url(), "/.well-known/jwks.json").await, 200);
    assert_eq!(get(format!("http://{admin}"), "/admin/clients").await, 200);
    assert_eq!(get(format!("http://{admin}"), "/metrics").await, 200);
    assert_eq!(get(format!("http://{admin}"), "/oauth2/token").await, 404);
}

/// Finding 9: the revocation feed was one unbounded answer. It pages now: a full page names the
/// next one, and following the cursors yields every revocation once.
#[tokio::test]
async fn the_revocation_feed_pages() {
    let server = server([StaticClient::new("alpha", "alpha-secret", AUDIENCE)]).await;
    let http = reqwest::Client::new();
    for _ in 0..5 {
        let access = tokenbroker_testkit::fetch_token(&server.url(), "alpha", "alpha-secret").await;
        let revoked = http
            .post(format!("{}/oauth2/revoke", server.url()))
            .basic_auth("alpha", Some("alpha-secret"))
            .form(&[("token", access.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status(), 200);
    }
    let mut seen = Vec::new();
    let mut query = vec![
        ("since".to_owned(), "0".to_owned()),
        ("limit".into(), "2".into()),
    ];
    for _ in 0..5 {
        let page: Value = http
            .get(format!("{}/revocations", server.url()))
            .query(&query)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let entries = page["revocations"].as_array().unwrap();
        assert!(entries.len() <= 2);
        seen.extend(
            entries
                .iter()
                .map(|e| e["jti"].as_str().unwrap().to_owned()),
        );
        if page["next"].is_null() {
            break;
        }
        query = vec![
            ("since".into(), page["next"]["since"].to_string()),
            (
                "after".into(),
                page["next"]["after"].as_str().unwrap().to_owned(),
            ),
            ("limit".into(), "2".into()),
        ];
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (5, 5), "{seen:?}");
    let too_big = http
        .get(format!("{}/revocations?limit=10001", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(too_big.status(), 400);
    let largest = http
        .get(format!("{}/revocations?limit=10000", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(largest.status(), 200, "the largest page is allowed");
}

/// Finding 9, second half: a client could grow the revocation feed without bound by minting and
/// revoking tokens. Its outstanding revocations are capped; a repeat of one it has is still fine.
#[tokio::test]
async fn a_client_cannot_grow_the_revocation_list_without_bound() {
    use tokenbroker_server::registry::MAX_OUTSTANDING_REVOCATIONS;
    let server = server([]).await;
    let registry = server.registry();
    let exp = 4_102_444_800; // 2100-01-01
    for n in 0..MAX_OUTSTANDING_REVOCATIONS {
        registry
            .revoke_token(&format!("jti-{n}"), "greedy", exp)
            .await
            .unwrap();
    }
    let error = registry
        .revoke_token("one-more", "greedy", exp)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("revoked tokens"), "{error}");
    registry.revoke_token("jti-0", "greedy", exp).await.unwrap();
    registry
        .revoke_token("theirs", "modest", exp)
        .await
        .unwrap();
}
