//! `tokenbroker decode`: show a JWT's header and claims, without verifying it.

use std::io::Read;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::exit::{CliError, CliResult};

/// Prints the header, the claims and the time claims in human form.
pub(crate) fn run(jwt: Option<&str>) -> CliResult {
    let jwt = match jwt {
        Some(jwt) if jwt != "-" => jwt.trim().to_owned(),
        _ => read_stdin()?,
    };
    let (header, claims) = tokenbroker::wire::jwt::decode_unverified(&jwt).ok_or_else(|| {
        CliError::usage("not a JWT: expected three base64url parts separated by '.' with JSON header and claims")
    })?;
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

fn read_stdin() -> CliResult<String> {
    let mut text = String::new();
    std::io::stdin()
        .take(1 << 20)
        .read_to_string(&mut text)
        .map_err(|e| CliError::usage(format!("cannot read the JWT from stdin: {e}")))?;
    Ok(text.trim().to_owned())
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
