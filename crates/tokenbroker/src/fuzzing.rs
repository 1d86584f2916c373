//! Entry points for the fuzz targets in `fuzz/` (run by `bench/fuzz.sh`): each feeds outside
//! input to one parser and checks what must hold for every input, not only that nothing panics.
//!
//! Only the `fuzzing` feature compiles this module; no shipped build enables it.

use http::{HeaderMap, HeaderValue};

use crate::error::Error;
use crate::response::{is_header_safe, parse_error_body, parse_success};

/// The client secret the error-body target looks for in what it parsed.
pub const SECRET: &str = "fuzz-secret-7c1e9a0d4b";

/// A token endpoint's 2xx body: parsed or refused; a parsed token can go in a header as it is.
pub fn token_response(body: &[u8]) {
    if let Ok(parsed) = parse_success(body, Some("application/json"), "https://as.test", 200) {
        assert!(is_header_safe(&parsed.access_token));
    }
}

/// A token endpoint's refusal: whatever it says, the secret and control characters never reach
/// the error's text.
pub fn error_body(body: &[u8]) {
    let parsed = parse_error_body(body, SECRET);
    let rejection = parsed.into_rejection("https://as.test", 401);
    assert_clean(&Error::Rejected(rejection).to_string());
}

/// A hasPermission answer with the given status: an X-JWT a header can carry, or an error whose
/// text carries neither the password nor control characters.
pub fn x_jwt_answer(status: u16, body: &[u8]) {
    match crate::x_jwt::read_answer(status, body, SECRET, "https://as.test") {
        Ok(token) => assert!(is_header_safe(&token)),
        Err(error) => assert_clean(&error.to_string()),
    }
}

/// A `Retry-After` header value: a duration or nothing.
pub fn retry_after(value: &[u8]) {
    let Ok(value) = HeaderValue::from_bytes(value) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(http::header::RETRY_AFTER, value);
    let _ = crate::exchange::retry_after(&headers);
}

/// `tokenbroker.toml` text: profiles, or an error on one line.
pub fn profiles_file(text: &str) {
    if let Err(message) = crate::profile::parse_toml::<crate::profile::ProfilesFile>(text) {
        assert!(!message.contains('\n'), "a multi-line error: {message}");
    }
}

fn assert_clean(text: &str) {
    assert!(!text.contains(SECRET), "the secret leaked: {text}");
    assert!(
        !text.chars().any(char::is_control),
        "a control character: {text:?}"
    );
}
