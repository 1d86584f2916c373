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
