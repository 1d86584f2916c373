//! One answer to "is this token valid": the same edge tokens go to a guard and to the server's
//! own introspection, and both must give the same verdict. (A guard for an issuer like ours
//! requires `typ: at+jwt` and allows no leeway; the server's own rules are those.)

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{json, Value};
use tokenbroker_guard::{Guard, GuardConfig, RevocationFeed};
use tokenbroker_server::{AuthServer, ServerConfig, SigningKey, StaticClient};
use tokenbroker_testkit::{fetch_token, introspect};
use tokenbroker_wire::jwt::MAX_NUMERIC_DATE;

const AUDIENCE: &str = "https://api.example";

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A compact JWS of `header` and `claims`, signed with `key` as `algorithm`.
fn sign(header: &Value, claims: &Value, key: &EncodingKey, algorithm: Algorithm) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, algorithm).unwrap();
    format!("{message}.{signature}")
}

fn claims(issuer: &str, exp: Value) -> Value {
    json!({
        "iss": issuer, "sub": "alpha", "client_id": "alpha", "aud": AUDIENCE,
        "iat": unix_now(), "exp": exp, "jti": uuid::Uuid::new_v4().to_string(),
    })
}

/// The edge tokens, each with a name, signed by the server's own key unless the case is about
/// the key or the algorithm.
fn edge_tokens(server: &AuthServer, valid: String, revoked: String) -> Vec<(&'static str, String)> {
    let ring = server.keyring();
    let key: &SigningKey = ring.signing_key(unix_now() as i64);
    let (alg, kid, issuer) = (
        key.algorithm(),
        key.kid().to_owned(),
        server.issuer().to_owned(),
    );
    let header = |extra: Value| {
        let mut header = json!({ "alg": format!("{alg:?}"), "typ": "at+jwt", "kid": kid });
        header
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        header
    };
    let ours = |header: Value, claims: Value| sign(&header, &claims, key.encoding_key(), alg);
    let in_an_hour = json!(unix_now() + 3600);
    let public_key_as_secret = serde_json::to_vec(key.public_jwk()).unwrap();
    let hs256 = EncodingKey::from_secret(&public_key_as_secret);
    let hs256_header = json!({ "alg": "HS256", "typ": "at+jwt", "kid": kid });
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({ "alg": "none", "typ": "at+jwt", "kid": kid }).to_string()),
        URL_SAFE_NO_PAD.encode(claims(&issuer, in_an_hour.clone()).to_string())
    );
    let mut not_yet = claims(&issuer, in_an_hour.clone());
    not_yet["nbf"] = json!(unix_now() + 600);
    vec![
        ("valid, issued by the server", valid),
        (
            "valid, signed here",
            ours(header(json!({})), claims(&issuer, in_an_hour.clone())),
        ),
        (
            "expiring this second",
            ours(header(json!({})), claims(&issuer, json!(unix_now()))),
        ),
        (
            "expired a minute ago",
            ours(header(json!({})), claims(&issuer, json!(unix_now() - 60))),
        ),
        (
            "typ: JWT",
            ours(
                header(json!({ "typ": "JWT" })),
                claims(&issuer, in_an_hour.clone()),
            ),
        ),
        ("no typ", {
            let mut h = header(json!({}));
            h.as_object_mut().unwrap().remove("typ");
            ours(h, claims(&issuer, in_an_hour.clone()))
        }),
        (
            "unknown crit",
            ours(
                header(json!({ "crit": ["exp-ext"], "exp-ext": 1 })),
                claims(&issuer, in_an_hour.clone()),
            ),
        ),
        ("alg: none", none),
        (
            "HS256 keyed with the public key",
            sign(
                &hs256_header,
                &claims(&issuer, in_an_hour.clone()),
                &hs256,
                Algorithm::HS256,
            ),
        ),
        (
            "other issuer",
            ours(
                header(json!({})),
                claims("https://evil.example", in_an_hour.clone()),
            ),
        ),
        (
            "unknown kid",
            ours(
                header(json!({ "kid": "not-ours" })),
                claims(&issuer, in_an_hour.clone()),
            ),
        ),
        (
            "exp at the NumericDate bound",
            ours(header(json!({})), claims(&issuer, json!(MAX_NUMERIC_DATE))),
        ),
        (
            "exp one past the bound",
            ours(
                header(json!({})),
                claims(&issuer, json!(MAX_NUMERIC_DATE + 1)),
            ),
        ),
        (
            "exp beyond i64",
            ours(header(json!({})), claims(&issuer, json!(u64::MAX))),
        ),
        (
            "exp not a number",
            ours(header(json!({})), claims(&issuer, json!("tomorrow"))),
        ),
        ("nbf in ten minutes", ours(header(json!({})), not_yet)),
        ("revoked", revoked),
    ]
}

#[tokio::test]
async fn the_guard_and_introspection_give_the_same_verdict_on_every_edge_token() {
    let server = AuthServer::start(ServerConfig::in_memory([StaticClient::new(
        "alpha",
        "alpha-secret",
        AUDIENCE,
    )]))
    .await
    .unwrap();
    let base = server.url();
    let valid = fetch_token(&base, "alpha", "alpha-secret").await;
    let revoked = fetch_token(&base, "alpha", "alpha-secret").await;
    let revocation = reqwest::Client::new()
        .post(format!("{base}/oauth2/revoke"))
        .basic_auth("alpha", Some("alpha-secret"))
        .form(&[("token", revoked.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revocation.status(), 200);

    let mut config = GuardConfig::new(server.issuer(), AUDIENCE);
    config.jwks_url = Some(server.jwks_url());
    config.rules.required_typ = Some("at+jwt".into());
    config.rules.leeway = Duration::ZERO;
    config.revocations = Some(RevocationFeed {
        url: format!("{base}/revocations"),
        poll_interval: Duration::from_secs(3600),
    });
    let guard = Guard::start(config).await.unwrap();
    guard.poll_revocations().await.unwrap();

    let mut accepted = Vec::new();
    for (case, token) in edge_tokens(&server, valid, revoked) {
        let by_guard = guard.verify(&token).await;
        let introspection = introspect(&base, "alpha", "alpha-secret", &token).await;
        let active = introspection["active"] == json!(true);
        assert_eq!(
            by_guard.is_ok(),
            active,
            "{case}: guard says {by_guard:?}, introspection says {introspection}"
        );
        if active {
            accepted.push(case);
        }
    }
    assert_eq!(
        accepted,
        [
            "valid, issued by the server",
            "valid, signed here",
            "exp at the NumericDate bound"
        ]
    );
}
