//! Any `Authorization` header read as a bearer token (RFC 6750 §2.1), and any `ET-Client-Name`
//! read as Entur's client name: a token without surrounding spaces, a name that is a header value.
#![no_main]

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use tokenbroker_wire::headers::{bearer_token, Presented};
use tokenbroker_wire::ClientName;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = HeaderValue::from_bytes(data) {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, value);
        if let Presented::Token(token) = bearer_token(&headers) {
            assert!(!token.is_empty() && token.trim() == token);
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(name) = ClientName::new(text) {
            assert_eq!(name.header_value().as_bytes(), name.as_str().as_bytes());
        }
    }
});
