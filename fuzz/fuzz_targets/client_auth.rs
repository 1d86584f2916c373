//! The authorization server's reading of client authentication: any `Authorization` header,
//! `Content-Type` and body decode to bounded credentials or a refusal.
#![no_main]

use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use secrecy::ExposeSecret;
use tokenbroker_wire::client_auth::{decode, MAX_CLIENT_ID_BYTES, MAX_SECRET_BYTES};

#[derive(Arbitrary, Debug)]
struct Request<'a> {
    authorization: Option<&'a [u8]>,
    json: bool,
    body: &'a [u8],
}

fuzz_target!(|request: Request<'_>| {
    let mut headers = HeaderMap::new();
    if let Some(value) = request
        .authorization
        .and_then(|v| HeaderValue::from_bytes(v).ok())
    {
        headers.insert(AUTHORIZATION, value);
    }
    let content_type = if request.json {
        "application/json"
    } else {
        "application/x-www-form-urlencoded"
    };
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(decoded) = decode(&headers, request.body) {
        for reading in &decoded.credentials {
            assert!(reading.client_id.len() <= MAX_CLIENT_ID_BYTES);
            assert!(!reading.client_id.chars().any(char::is_control));
            assert!(reading.secret.expose_secret().len() <= MAX_SECRET_BYTES);
        }
    }
});
