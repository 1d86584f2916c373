//! `tokenbroker decode`: show a JWT's header and claims, without verifying it.

use std::io::Read;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::exit::{CliError, CliResult};

/// Prints the header, the claims and the time claims in human form, or all of it as JSON.
pub(crate) fn run(jwt: Option<&str>, json: bool) -> CliResult {
    let text = match jwt {
        Some(jwt) if jwt != "-" => jwt.to_owned(),
        _ => read_stdin()?,
    };
    let jwt = without_bearer(&text);
    let (header, claims) = tokenbroker::wire::jwt::decode_unverified(jwt).ok_or_else(|| {
        CliError::usage("not a JWT: expected three base64url parts separated by '.' with JSON header and claims")
    })?;
    if json {
        let value =
            serde_json::json!({ "header": header, "claims": claims, "signature_verified": false });
        println!("{value}");
        return Ok(());
    }
    println!("Signature NOT verified: this shows what the token says, not that it is genuine.");
    println!("header:\n{}", pretty(&header));
    println!("claims:\n{}", pretty(&claims));
    let now = SystemTime::now();
    for (claim, label) in [("iat", "issued"), ("nbf", "not before"), ("exp", "expires")] {
        if let Some(at) = claims
            .get(claim)
            .and_then(Value::as_f64)
            .filter(|s| (0.0..1e11).contains(s))
        {
            let at = SystemTime::UNIX_EPOCH + Duration::from_secs_f64(at);
            println!(
                "{label}: {} ({})",
                humantime::format_rfc3339_seconds(at),
                relative(at, now)
            );
        }
    }
    Ok(())
}

/// The token in what was pasted: `eyJ…`, `Bearer eyJ…` or `Authorization: Bearer eyJ…`.
fn without_bearer(text: &str) -> &str {
    let text = text.trim();
    let text = strip_prefix_ignoring_case(text, "authorization:").map_or(text, str::trim_start);
    strip_prefix_ignoring_case(text, "bearer ").map_or(text, str::trim_start)
}

fn strip_prefix_ignoring_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

fn read_stdin() -> CliResult<String> {
    let mut text = String::new();
    std::io::stdin()
        .take(1 << 20)
        .read_to_string(&mut text)
        .map_err(|e| CliError::usage(format!("cannot read the JWT from stdin: {e}")))?;
    Ok(text)
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

fn relative(at: SystemTime, now: SystemTime) -> String {
    let whole_seconds =
        |d: Duration| humantime::format_duration(Duration::from_secs(d.as_secs())).to_string();
    match at.duration_since(now) {
        Ok(ahead) => format!("in {}", whole_seconds(ahead)),
        Err(behind) => format!("{} ago", whole_seconds(behind.duration())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_authorization_headers_give_the_token() {
        for pasted in [
            "eyJ.a.b",
            "  eyJ.a.b\n",
            "Bearer eyJ.a.b",
            "bearer   eyJ.a.b",
            "Authorization: Bearer eyJ.a.b",
            "authorization:bearer eyJ.a.b",
        ] {
            assert_eq!(without_bearer(pasted), "eyJ.a.b", "{pasted:?}");
        }
        assert_eq!(without_bearer("Bearer"), "Bearer", "too short to strip");
        assert_eq!(
            without_bearer("Beärer x"),
            "Beärer x",
            "no panic on a multibyte boundary"
        );
    }
}
