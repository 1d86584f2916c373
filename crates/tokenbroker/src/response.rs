//! Reading what the token endpoint answered: a token (RFC 6749 §5.1) or an error (§5.2).
//!
//! Real servers bend the RFC: Telenor sends `expires_in` as a string (`"3599"`, Telenor's authentication pages),
//! Apigee wraps errors in `{"fault": …}`, and proxies answer with HTML. Each shape either becomes a
//! [`TokenResponse`] or an [`Error`] that says what was wrong; nothing here panics on outside input.

use std::time::Duration;

use serde_json::Value;

use crate::error::{Error, Rejection};

/// The longest `expires_in` we believe: ten years. Anything longer is a server bug.
const MAX_EXPIRES_IN: u64 = 10 * 365 * 24 * 3600;

/// How much server-supplied text we keep in an error message.
const MAX_DESCRIPTION: usize = 200;

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug)]
pub(crate) struct TokenResponse {
    pub access_token: String,
    pub expires_in: Option<Duration>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
}

/// Parses a 2xx body. `url` and `status` only label errors.
pub(crate) fn parse_success(
    body: &[u8],
    content_type: Option<&str>,
    url: &str,
    status: u16,
) -> Result<TokenResponse, Error> {
    let invalid = |problem: String| Error::InvalidResponse {
        url: url.to_owned(),
        status,
        problem,
    };
    let value: Value =
        serde_json::from_slice(body).map_err(|_| invalid(not_json(body, content_type)))?;
    let Value::Object(fields) = value else {
        return Err(invalid("the body is JSON but not an object".into()));
    };
    let access_token = match fields.get("access_token") {
        Some(Value::String(token)) if !token.is_empty() => token.clone(),
        Some(_) => return Err(invalid("access_token is empty or not a string".into())),
        None => return Err(invalid("the body has no access_token".into())),
    };
    if !is_header_safe(&access_token) {
        return Err(invalid(
            "access_token contains whitespace or control characters".into(),
        ));
    }
    if let Some(token_type) = fields.get("token_type") {
        // RFC 6749 §5.1: token_type is case-insensitive; we can only apply Bearer tokens (RFC 6750).
        match token_type.as_str() {
            Some(t) if t.eq_ignore_ascii_case("bearer") => {}
            Some(other) => {
                return Err(invalid(format!(
                    "token_type {:?} is not supported; only Bearer tokens can be used",
                    truncate(other)
                )))
            }
            None => return Err(invalid("token_type is not a string".into())),
        }
    }
    let expires_in = match fields.get("expires_in") {
        None | Some(Value::Null) => None,
        Some(value) => Some(parse_expires_in(value).map_err(invalid)?),
    };
    Ok(TokenResponse {
        access_token,
        expires_in,
        refresh_token: fields
            .get("refresh_token")
            .and_then(Value::as_str)
            .map(str::to_owned),
        scope: fields
            .get("scope")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

/// True when `token` is non-empty and can be sent in a header as it is (no whitespace or control
/// characters): what a server hands us is checked here, not where it is sent.
pub(crate) fn is_header_safe(token: &str) -> bool {
    !token.is_empty() && !token.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// `expires_in` as a number or a numeric string (Telenor), in seconds.
fn parse_expires_in(value: &Value) -> Result<Duration, String> {
    let seconds = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .ok_or_else(|| {
        format!(
            "expires_in {} is neither a number nor a numeric string",
            describe(value)
        )
    })?;
    if !seconds.is_finite() || seconds <= 0.0 {
        return Err(format!(
            "expires_in {} is not a positive number of seconds",
            describe(value)
        ));
    }
    if seconds > MAX_EXPIRES_IN as f64 {
        return Err(format!(
            "expires_in {} is absurdly long (over ten years)",
            describe(value)
        ));
    }
    Ok(Duration::from_secs(seconds.floor() as u64))
}

fn describe(value: &Value) -> String {
    truncate(&value.to_string())
}

fn not_json(body: &[u8], content_type: Option<&str>) -> String {
    let looks_html = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map(|start| body[start..].starts_with(b"<"))
        .unwrap_or(false);
    let kind = match (body.is_empty(), looks_html) {
        (true, _) => "the body is empty".to_owned(),
        (false, true) => "the body is HTML, not JSON (a proxy or error page?)".to_owned(),
        (false, false) => format!("the body is not JSON ({} bytes)", body.len()),
    };
    match content_type {
        Some(ct) => format!("{kind}; content-type {}", truncate(ct)),
        None => kind,
    }
}

/// Fields of an error body, in the shapes RFC 6749 §5.2, Telenor and Apigee use.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ErrorBody {
    pub error: Option<String>,
    pub description: Option<String>,
    pub code: Option<u32>,
}

/// Parses an error body as well as it can; never fails.
pub(crate) fn parse_error_body(body: &[u8], secret: &str) -> ErrorBody {
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
        return ErrorBody::default();
    };
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(|s| scrub(s, secret));
    let fault = fields.get("fault");
    let error = text(fields.get("error"))
        .filter(|e| e.parse::<u32>().is_err())
        .or_else(|| text(fault.and_then(|f| f.pointer("/detail/errorcode"))));
    let description = text(fields.get("error_description"))
        .or_else(|| text(fields.get("message")))
        .or_else(|| text(fault.and_then(|f| f.get("faultstring"))));
    let code = ["code", "error_code", "errorCode", "error"]
        .iter()
        .filter_map(|name| fields.get(*name))
        .find_map(|v| match v {
            Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        });
    ErrorBody {
        error,
        description,
        code,
    }
}

impl ErrorBody {
    /// The rejection this body describes, for a 3xx/4xx status.
    pub(crate) fn into_rejection(self, url: &str, status: u16) -> Rejection {
        Rejection {
            url: url.to_owned(),
            status,
            error: self.error,
            description: self.description,
            provider_code: self.code,
        }
    }

    /// `: <error> <description>` for an unavailable server, or empty.
    pub(crate) fn detail(&self) -> String {
        let parts: Vec<&str> = [self.error.as_deref(), self.description.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        if parts.is_empty() {
            String::new()
        } else {
            format!(": {}", parts.join(" "))
        }
    }
}

/// Server text made safe for one log line: no secret, no newlines, bounded length. Control
/// characters go first, so a secret the server split with them is still found.
fn scrub(text: &str, secret: &str) -> String {
    let mut clean = text.to_owned();
    clean.retain(|c| !c.is_control());
    let mut secret = secret.to_owned();
    secret.retain(|c| !c.is_control());
    if !secret.is_empty() {
        clean = clean.replace(&secret, "[redacted]");
    }
    truncate(&clean)
}

fn truncate(text: &str) -> String {
    if text.chars().count() <= MAX_DESCRIPTION {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(MAX_DESCRIPTION).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::Strategy;

    proptest::proptest! {
        /// Any body, JSON or not, is a token response or a one-line error; never a panic.
        #[test]
        fn any_body_parses_or_is_refused(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = parse_success(&body, Some("application/json"), "https://as/token", 200);
            let _ = parse_error_body(&body, "secret");
        }

        /// Any `expires_in` — numbers at every boundary, numeric strings, anything else — gives a
        /// lifetime of at most ten years or an error.
        #[test]
        fn any_expires_in_is_bounded(expires_in in proptest::prop_oneof![
            proptest::prelude::any::<i64>().prop_map(|n| n.to_string()),
            proptest::prelude::any::<u64>().prop_map(|n| n.to_string()),
            proptest::prelude::any::<f64>().prop_map(|n| format!("{n:?}")),
            "\"[0-9eE.+-]{0,25}\"",
        ]) {
            let body = format!(r#"{{"access_token":"t","expires_in":{expires_in}}}"#);
            if let Ok(parsed) = ok(&body) {
                proptest::prop_assert!(parsed.expires_in.is_none_or(|d| d.as_secs() <= MAX_EXPIRES_IN));
            }
        }

        /// The secret never survives into an error description, whatever surrounds or splits it.
        #[test]
        fn descriptions_never_carry_the_secret(before in ".{0,20}", splitter in "[\\x00-\\x1f]{0,2}", after in ".{0,20}") {
            let secret = "s3cr3t-value";
            let (head, tail) = secret.split_at(5);
            let description = format!("{before}{head}{splitter}{tail}{after}");
            let body = serde_json::json!({ "error": "invalid_client", "error_description": description });
            let parsed = parse_error_body(body.to_string().as_bytes(), secret);
            proptest::prop_assert!(!parsed.detail().contains(secret), "{}", parsed.detail());
        }
    }

    fn ok(body: &str) -> Result<TokenResponse, Error> {
        parse_success(
            body.as_bytes(),
            Some("application/json"),
            "https://as/token",
            200,
        )
    }

    #[test]
    fn expires_in_may_be_a_number_or_a_string() {
        let number = ok(r#"{"access_token":"t","expires_in":3599,"token_type":"Bearer"}"#).unwrap();
        assert_eq!(number.expires_in, Some(Duration::from_secs(3599)));
        let string = ok(r#"{"access_token":"t","expires_in":"3599","scope":"openapi"}"#).unwrap();
        assert_eq!(string.expires_in, Some(Duration::from_secs(3599)));
        assert_eq!(string.scope.as_deref(), Some("openapi"));
        assert_eq!(ok(r#"{"access_token":"t"}"#).unwrap().expires_in, None);
    }

    #[test]
    fn token_type_is_case_insensitive_bearer_only() {
        assert!(ok(r#"{"access_token":"t","token_type":"bEaReR"}"#).is_ok());
        let err = ok(r#"{"access_token":"t","token_type":"mac"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("only Bearer"), "{err}");
    }

    #[test]
    fn malformed_bodies_are_clear_errors() {
        for (body, expected) in [
            ("<html><body>502 Bad Gateway</body></html>", "HTML"),
            ("", "empty"),
            ("not json", "not JSON"),
            ("[1,2]", "not an object"),
            (r#"{"token":"t"}"#, "no access_token"),
            (r#"{"access_token":42}"#, "not a string"),
            (r#"{"access_token":"t","expires_in":-5}"#, "positive"),
            (r#"{"access_token":"t","expires_in":"soon"}"#, "numeric"),
            (r#"{"access_token":"t","expires_in":1e12}"#, "absurd"),
        ] {
            let err = ok(body).unwrap_err().to_string();
            assert!(err.contains(expected), "{body:?}: {err}");
        }
    }

    #[test]
    fn error_bodies_in_every_known_shape() {
        let rfc = parse_error_body(
            br#"{"error":"invalid_client","error_description":"bad"}"#,
            "s",
        );
        assert_eq!(rfc.error.as_deref(), Some("invalid_client"));
        assert_eq!(rfc.description.as_deref(), Some("bad"));
        let telenor = parse_error_body(br#"{"error":"invalid_client","code":"22"}"#, "s");
        assert_eq!(telenor.code, Some(22));
        let numeric = parse_error_body(br#"{"error":6,"message":"Missing header"}"#, "s");
        assert_eq!((numeric.error, numeric.code), (None, Some(6)));
        let apigee = parse_error_body(
            br#"{"fault":{"faultstring":"Invalid ApiKey","detail":{"errorcode":"oauth.v2.InvalidApiKey"}}}"#,
            "s",
        );
        assert_eq!(apigee.error.as_deref(), Some("oauth.v2.InvalidApiKey"));
        assert_eq!(parse_error_body(b"<html>", "s"), ErrorBody::default());
    }

    #[test]
    fn server_text_cannot_smuggle_the_secret_or_newlines() {
        let body =
            br#"{"error":"invalid_client","error_description":"secret hunter2 is wrong\nreally"}"#;
        let parsed = parse_error_body(body, "hunter2");
        let description = parsed.description.unwrap();
        assert!(!description.contains("hunter2"));
        assert!(!description.contains('\n'));
    }
}
