//! A client-credentials request the way a partner sends it (RFC 6749 §4.4.2, Basic + form), for
//! tests that need a token from a server under test without the client library.

/// POSTs `grant_type=client_credentials` with Basic authentication to `{base}/oauth2/token`.
pub async fn request_token(base: &str, id: &str, secret: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/oauth2/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("the token endpoint answers")
}

/// The `access_token` from [`request_token`]; panics with the response body when there is none.
pub async fn fetch_token(base: &str, id: &str, secret: &str) -> String {
    let response: serde_json::Value = request_token(base, id, secret)
        .await
        .json()
        .await
        .expect("a JSON token response");
    response["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access_token in {response}"))
        .to_owned()
}

/// Asks `{base}/oauth2/introspect` (RFC 7662 §2.1) about `token`, authenticated with Basic; the
/// JSON answer.
pub async fn introspect(base: &str, id: &str, secret: &str, token: &str) -> serde_json::Value {
    reqwest::Client::new()
        .post(format!("{base}/oauth2/introspect"))
        .basic_auth(id, Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .expect("the introspection endpoint answers")
        .json()
        .await
        .expect("a JSON introspection answer")
}
