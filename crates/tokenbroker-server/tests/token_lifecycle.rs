//! After issuance: refresh with rotation, RFC 7009 revocation, Telenor logout, RFC 7662
//! introspection and the revocation feed — spoken as raw HTTP, the way any client would.

use serde_json::Value;
use tokenbroker_server::{AuthServer, ServerConfig, StaticClient};

const AUDIENCE: &str = "https://api.telenor.no";

async fn server() -> AuthServer {
    let clients = [
        StaticClient::new("alpha", "alpha-secret", AUDIENCE)
            .with_scopes("openapi")
            .with_refresh_tokens(),
        StaticClient::new("beta", "beta-secret", AUDIENCE).resource_server(),
    ];
    AuthServer::start(ServerConfig::in_memory(clients))
        .await
        .unwrap()
}

struct Call {
    status: u16,
    body: Value,
    text: String,
    www_authenticate: Option<String>,
}

async fn post(
    server: &AuthServer,
    path: &str,
    (id, secret): (&str, &str),
    form: &[(&str, &str)],
) -> Call {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", server.url()))
        .basic_auth(id, Some(secret))
        .form(form)
        .send()
        .await
        .unwrap();
    read(response).await
}

async fn read(response: reqwest::Response) -> Call {
    let status = response.status().as_u16();
    let www_authenticate = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    Call {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
        www_authenticate,
    }
}

async fn token(server: &AuthServer, path: &str, client: (&str, &str)) -> Value {
    let call = post(
        server,
        path,
        client,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(call.status, 200, "{}", call.text);
    call.body
}

async fn introspect(server: &AuthServer, token: &str) -> Value {
    let call = post(
        server,
        "/oauth2/introspect",
        ("beta", "beta-secret"),
        &[("token", token)],
    )
    .await;
    assert_eq!(call.status, 200, "{}", call.text);
    call.body
}

async fn logout(server: &AuthServer, authorization: Option<&str>) -> Call {
    let mut request = reqwest::Client::new().get(format!("{}/oauth/v2/logout", server.url()));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    read(request.send().await.unwrap()).await
}

#[tokio::test]
async fn introspection_reports_active_tokens_and_requires_client_authentication() {
    let server = server().await;
    let issued = token(&server, "/oauth2/token", ("alpha", "alpha-secret")).await;
    let access = issued["access_token"].as_str().unwrap();
    let answer = introspect(&server, access).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["client_id"], "alpha");
    assert_eq!(answer["scope"], "openapi");
    assert_eq!(answer["aud"], AUDIENCE);
    assert_eq!(answer["token_type"], "Bearer");

    assert_eq!(
        introspect(&server, "not-a-token").await,
        serde_json::json!({ "active": false })
    );
    let unauthenticated = post(
        &server,
        "/oauth2/introspect",
        ("beta", "wrong"),
        &[("token", access)],
    )
    .await;
    assert_eq!(unauthenticated.status, 401);
    assert_eq!(unauthenticated.body["error"], "invalid_client");
    assert!(
        unauthenticated.body.get("code").is_none(),
        "RFC endpoints carry no Telenor codes"
    );

    // A token of another issuer (same shape, other key) is not active either.
    let other = AuthServer::start(ServerConfig::in_memory([StaticClient::new(
        "alpha",
        "alpha-secret",
        AUDIENCE,
    )]))
    .await
    .unwrap();
    let foreign = token(&other, "/oauth2/token", ("alpha", "alpha-secret")).await;
    assert_eq!(
        introspect(&server, foreign["access_token"].as_str().unwrap()).await["active"],
        false
    );
    // Expired tokens (and ones expiring this very second) are inactive: the one_verifier table
    // signs them with the server's key instead of waiting for one to run out.
}

#[tokio::test]
async fn revocation_denies_the_token_everywhere_and_feeds_the_guards() {
    let server = server().await;
    let issued = token(&server, "/oauth2/token", ("alpha", "alpha-secret")).await;
    let access = issued["access_token"].as_str().unwrap();
    let jti = introspect(&server, access).await["jti"]
        .as_str()
        .unwrap()
        .to_owned();

    // Another client may not revoke it; unknown tokens are fine (RFC 7009 §2.2).
    let foreign = post(
        &server,
        "/oauth2/revoke",
        ("beta", "beta-secret"),
        &[("token", access)],
    )
    .await;
    assert_eq!(
        (foreign.status, foreign.body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    assert_eq!(
        post(
            &server,
            "/oauth2/revoke",
            ("beta", "beta-secret"),
            &[("token", "nonsense")]
        )
        .await
        .status,
        200
    );
    assert_eq!(introspect(&server, access).await["active"], true);

    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let revoked = post(
        &server,
        "/oauth2/revoke",
        ("alpha", "alpha-secret"),
        &[("token", access)],
    )
    .await;
    assert_eq!(revoked.status, 200);
    assert_eq!(introspect(&server, access).await["active"], false);

    let feed: Value = reqwest::get(format!("{}/revocations?since={before}", server.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed: Vec<&str> = feed["revocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["jti"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [jti.as_str()]);
    assert!(feed["server_time"].as_i64().unwrap() >= before);
    let later: Value = reqwest::get(format!(
        "{}/revocations?since={}",
        server.url(),
        before + 3600
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(later["revocations"].as_array().unwrap().len(), 0);
    let bad = reqwest::get(format!("{}/revocations?since=yesterday", server.url()))
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    // Logging out a revoked token is refused like any invalid one.
    let again = logout(&server, Some(&format!("Bearer {access}"))).await;
    assert_eq!((again.status, again.body["code"].as_u64()), (401, Some(2)));
}

#[tokio::test]
async fn telenor_logout_invalidates_the_bearer_token() {
    let server = server().await;
    let issued = token(&server, "/oauth/v2/token", ("alpha", "alpha-secret")).await;
    let access = issued["access_token"].as_str().unwrap();
    let ok = logout(&server, Some(&format!("Bearer {access}"))).await;
    assert_eq!((ok.status, ok.text.as_str()), (200, "OK!"));
    assert_eq!(introspect(&server, access).await["active"], false);

    let missing = logout(&server, None).await;
    assert_eq!(
        (missing.status, missing.body["code"].as_u64()),
        (401, Some(6))
    );
    let basic = logout(&server, Some("Basic YTpi")).await;
    assert_eq!(basic.body["code"], 6);
    let garbage = logout(&server, Some("Bearer garbage")).await;
    assert_eq!(
        (garbage.status, garbage.body["code"].as_u64()),
        (401, Some(2))
    );
    assert!(garbage.www_authenticate.unwrap().contains("invalid_token"));
}

#[tokio::test]
async fn refresh_tokens_rotate_and_are_single_use() {
    let server = server().await;
    let first = token(&server, "/oauth/v2/token", ("alpha", "alpha-secret")).await;
    let refresh = first["refresh_token"]
        .as_str()
        .expect("alpha receives refresh tokens")
        .to_owned();
    assert!(token(&server, "/oauth/v2/token", ("beta", "beta-secret"))
        .await
        .get("refresh_token")
        .is_none());

    let refreshed = post(
        &server,
        "/oauth/v2/token",
        ("alpha", "alpha-secret"),
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    let rotated = refreshed.body["refresh_token"].as_str().unwrap();
    assert_ne!(
        rotated, refresh,
        "the refresh token itself is refreshed (Telenor Norway client credentials grant)"
    );
    assert_eq!(
        introspect(&server, refreshed.body["access_token"].as_str().unwrap()).await["scope"],
        "openapi"
    );

    // Spent: Telenor answers 401 with code 7, the RFC dialect 400 invalid_grant.
    let reused = post(
        &server,
        "/oauth/v2/token",
        ("alpha", "alpha-secret"),
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(
        (reused.status, reused.body["code"].as_u64()),
        (401, Some(7))
    );
    let reused_rfc = post(
        &server,
        "/oauth2/token",
        ("alpha", "alpha-secret"),
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(
        (reused_rfc.status, reused_rfc.body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // Clients without refresh tokens may not use the grant (Telenor code 21); another client's
    // refresh token is refused.
    let not_allowed = post(
        &server,
        "/oauth/v2/token",
        ("beta", "beta-secret"),
        &[("grant_type", "refresh_token"), ("refresh_token", rotated)],
    )
    .await;
    assert_eq!(
        (not_allowed.status, not_allowed.body["code"].as_u64()),
        (401, Some(21))
    );

    // Revoking a refresh token spends it.
    assert_eq!(
        post(
            &server,
            "/oauth2/revoke",
            ("alpha", "alpha-secret"),
            &[("token", rotated), ("token_type_hint", "refresh_token")]
        )
        .await
        .status,
        200
    );
    let after_revoke = post(
        &server,
        "/oauth2/token",
        ("alpha", "alpha-secret"),
        &[("grant_type", "refresh_token"), ("refresh_token", rotated)],
    )
    .await;
    assert_eq!(after_revoke.body["error"], "invalid_grant");
}

#[tokio::test]
async fn metadata_advertises_every_endpoint() {
    let server = server().await;
    let metadata: Value =
        reqwest::get(format!("{}/.well-known/openid-configuration", server.url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    for (field, path) in [
        ("token_endpoint", "/oauth2/token"),
        ("revocation_endpoint", "/oauth2/revoke"),
        ("introspection_endpoint", "/oauth2/introspect"),
        ("jwks_uri", "/.well-known/jwks.json"),
    ] {
        assert_eq!(
            metadata[field],
            format!("{}{path}", server.url()),
            "{field}"
        );
    }
    assert_eq!(
        metadata["grant_types_supported"],
        serde_json::json!(["client_credentials", "refresh_token"])
    );
}

/// The server stamps and checks tokens on its configured clock: a manual clock moved past `exp`
/// makes introspection call the token inactive, without waiting an hour.
#[tokio::test]
async fn tokens_expire_on_the_servers_clock() {
    let clock = std::sync::Arc::new(tokenbroker_wire::ManualClock::starting_now());
    let mut config = ServerConfig::in_memory([
        StaticClient::new("alpha", "alpha-secret", "https://api.dev.entur.io"),
        StaticClient::new("beta", "beta-secret", "https://api.dev.entur.io").resource_server(),
    ]);
    config.clock = clock.clone();
    let server = AuthServer::start(config).await.unwrap();
    let issued = token(&server, "/oauth2/token", ("alpha", "alpha-secret")).await;
    let access = issued["access_token"].as_str().unwrap();
    let (_, claims) = tokenbroker_wire::jwt::decode_unverified(access).unwrap();
    let stamped = tokenbroker_wire::Clock::unix_seconds(&*clock);
    assert_eq!(claims["iat"], stamped);
    assert_eq!(claims["exp"], stamped + 3600);
    assert_eq!(introspect(&server, access).await["active"], true);

    clock.advance(std::time::Duration::from_secs(3600));
    assert_eq!(introspect(&server, access).await["active"], false);
}
