//! `tokenbroker doctor`: follows the path a token takes — configuration and secret, DNS, TCP,
//! TLS, the token endpoint, a token, its claims against the profile, the clock — one line per
//! check, each failure with what to do. It stops at the first failure, whose class is the exit
//! code: 2 configuration, 3 refused by the server or a token that does not fit the profile,
//! 4 network or clock.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use tokenbroker::wire::https::redact_url;
use tokenbroker::{AccessToken, Profile};
use url::Url;

use crate::args::ProfileArgs;
use crate::config;
use crate::exit::{CliError, CliResult, FAILURE, REJECTED, USAGE};

/// How long each network step may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(5);
/// A clock further than this from the server's makes tokens look expired or not yet valid.
const MAX_CLOCK_SKEW: Duration = Duration::from_secs(30);
/// At most this many resolved addresses are tried.
const MAX_ADDRESSES: usize = 4;

/// A failed check: its exit code and the line saying what to do.
struct Failure {
    code: u8,
    message: String,
}

type Step<T> = Result<T, Failure>;

fn fail(code: u8, message: impl Into<String>) -> Failure {
    Failure {
        code,
        message: message.into(),
    }
}

fn ok(check: &str, detail: impl std::fmt::Display) {
    println!("ok    {check:<15} {detail}");
}

/// Runs the checks in order and prints a line for each.
pub(crate) async fn run(args: &ProfileArgs) -> CliResult {
    match checks(args).await {
        Ok(()) => {
            println!("all checks passed");
            Ok(())
        }
        Err((check, failure)) => {
            println!("FAIL  {check:<15} {}", failure.message);
            Err(CliError {
                code: failure.code,
                message: format!("doctor: the {check} check failed"),
            })
        }
    }
}

async fn checks(args: &ProfileArgs) -> Result<(), (&'static str, Failure)> {
    let (profile, place) =
        config::resolve_with_place(args).map_err(|error| ("config", fail(USAGE, error.message)))?;
    ok("config", &place);
    ok(
        "secret",
        format!("read ({})", profile.client.client_secret().fingerprint()),
    );
    let url = profile.client.token_url().clone();
    let addresses = resolve(&url).await.map_err(|f| ("dns", f))?;
    let address = connect(&addresses).await.map_err(|f| ("tcp", f))?;
    ok("tcp", format!("{address} accepts connections"));
    let server_date = endpoint(&profile, &url).await?;
    let token = fetch(&profile).await.map_err(|f| ("token", f))?;
    claims(&profile, &token).map_err(|f| ("claims", f))?;
    clock(server_date).map_err(|f| ("clock", f))
}

/// The token endpoint's addresses.
async fn resolve(url: &Url) -> Step<Vec<SocketAddr>> {
    let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']);
    let port = url.port_or_known_default().unwrap_or(443);
    let lookup = tokio::time::timeout(STEP_TIMEOUT, tokio::net::lookup_host((host, port)));
    let addresses: Vec<SocketAddr> = match lookup.await {
        Ok(Ok(found)) => found.take(MAX_ADDRESSES).collect(),
        Ok(Err(error)) => {
            return Err(fail(
                FAILURE,
                format!(
                    "{host} does not resolve ({error}): check the host name in the token URL \
                     and this machine's resolver (/etc/resolv.conf, a VPN)"
                ),
            ))
        }
        Err(_) => {
            return Err(fail(
                FAILURE,
                format!("no DNS answer for {host} within {STEP_TIMEOUT:?}: check the resolver"),
            ))
        }
    };
    if addresses.is_empty() {
        return Err(fail(FAILURE, format!("{host} resolves to no address")));
    }
    let list: Vec<String> = addresses.iter().map(|a| a.ip().to_string()).collect();
    ok("dns", format!("{host} → {}", list.join(", ")));
    Ok(addresses)
}

/// The first address that accepts a TCP connection.
async fn connect(addresses: &[SocketAddr]) -> Step<SocketAddr> {
    let mut reasons = Vec::new();
    for address in addresses {
        match tokio::time::timeout(STEP_TIMEOUT, tokio::net::TcpStream::connect(address)).await {
            Ok(Ok(_)) => return Ok(*address),
            Ok(Err(error)) => reasons.push(format!("{address}: {error}")),
            Err(_) => reasons.push(format!("{address}: no answer within {STEP_TIMEOUT:?}")),
        }
    }
    Err(fail(
        FAILURE,
        format!(
            "{}: check the port in the token URL, that the server runs, and firewalls or a proxy \
             (HTTPS_PROXY) on the way",
            reasons.join("; ")
        ),
    ))
}

/// TLS and an HTTP answer from the token endpoint (a GET: any status proves it is there);
/// returns the server's `Date` for the clock check.
async fn endpoint(
    profile: &Profile,
    url: &Url,
) -> Result<Option<SystemTime>, (&'static str, Failure)> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(profile.client.request_timeout())
        .build()
        .map_err(|e| {
            (
                "tls",
                fail(FAILURE, format!("cannot build an HTTP client: {e}")),
            )
        })?;
    let https = url.scheme() == "https";
    let response = http.get(url.clone()).send().await.map_err(|error| {
        let cause = tokenbroker::innermost_cause(&error);
        if https && error.is_connect() {
            let hint = "the certificate is not trusted here: an expired or self-signed \
                        certificate, a name mismatch, or a proxy that intercepts TLS (install its CA)";
            ("tls", fail(FAILURE, format!("{cause}: {hint}")))
        } else {
            ("token endpoint", fail(FAILURE, cause.to_string()))
        }
    })?;
    if https {
        ok("tls", "certificate accepted (HTTPS)");
    } else {
        ok(
            "tls",
            "plain HTTP (loopback, or a host in allow_insecure_http)",
        );
    }
    let status = response.status();
    if status.is_server_error() {
        return Err((
            "token endpoint",
            fail(
                FAILURE,
                format!(
                    "{} answered {status}: the server is failing",
                    redact_url(url)
                ),
            ),
        ));
    }
    ok(
        "token endpoint",
        format!(
            "{} answers (HTTP {} to a GET)",
            redact_url(url),
            status.as_u16()
        ),
    );
    Ok(response
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|date| date.to_str().ok())
        .and_then(|date| httpdate::parse_http_date(date).ok()))
}

/// A new token (never a cached one: the check is whether the server issues one now).
async fn fetch(profile: &Profile) -> Step<AccessToken> {
    let source = profile
        .token_source()
        .map_err(|error| fail(USAGE, error.to_string()))?;
    match source.token().await {
        Ok(token) => {
            let left = token.remaining(SystemTime::now()).as_secs();
            ok(
                "token",
                format!("issued ({}), valid for {left} s", token.fingerprint()),
            );
            Ok(token)
        }
        Err(error) => {
            let code = if error.rejection().is_some() {
                REJECTED
            } else {
                FAILURE
            };
            Err(fail(code, error.to_string()))
        }
    }
}

/// The token's audience and scope against what the profile asks for.
fn claims(profile: &Profile, token: &AccessToken) -> Step<()> {
    let Some((_, claims)) = tokenbroker::wire::jwt::decode_unverified(token.secret()) else {
        ok("claims", "an opaque token: nothing to compare");
        return Ok(());
    };
    let params = profile.client.params();
    if let Some(audience) = &params.audience {
        let found = match claims.get("aud") {
            Some(Value::String(aud)) => aud == audience,
            Some(Value::Array(auds)) => auds.iter().any(|aud| aud.as_str() == Some(audience)),
            _ => false,
        };
        if !found {
            return Err(fail(
                REJECTED,
                format!(
                    "the token's aud is {} but the profile asks for {audience:?}: the API will \
                     refuse it; check the profile's audience and the environment",
                    claims.get("aud").map_or("missing".into(), Value::to_string)
                ),
            ));
        }
    }
    let granted = claims
        .get("scope")
        .and_then(Value::as_str)
        .or(token.scope())
        .unwrap_or_default();
    let granted: Vec<&str> = granted.split_whitespace().collect();
    let wanted = params.scope.as_deref().unwrap_or_default();
    let missing: Vec<&str> = wanted
        .split_whitespace()
        .filter(|scope| !granted.contains(scope))
        .collect();
    if !missing.is_empty() {
        return Err(fail(
            REJECTED,
            format!(
                "the token lacks scope {}: ask the provider to grant it to this client",
                missing.join(" ")
            ),
        ));
    }
    ok(
        "claims",
        format!(
            "aud {} and scope {:?} fit the profile",
            claims.get("aud").map_or("-".into(), Value::to_string),
            granted.join(" ")
        ),
    );
    Ok(())
}

/// This machine's clock against the server's `Date`.
fn clock(server_date: Option<SystemTime>) -> Step<()> {
    let Some(server) = server_date else {
        ok("clock", "the server sent no Date header: not compared");
        return Ok(());
    };
    let now = SystemTime::now();
    let (skew, direction) = match now.duration_since(server) {
        Ok(ahead) => (ahead, "ahead of"),
        Err(behind) => (behind.duration(), "behind"),
    };
    // The Date header has whole seconds: a second of difference is rounding.
    if skew > MAX_CLOCK_SKEW {
        return Err(fail(
            FAILURE,
            format!(
                "this machine's clock is {} s {direction} the server's: tokens will look \
                 expired or not yet valid; synchronise it (NTP, chrony, timedatectl)",
                skew.as_secs()
            ),
        ));
    }
    ok(
        "clock",
        format!("within {} s of the server's", skew.as_secs().max(1)),
    );
    Ok(())
}
