//! Who may use the agent over TCP: programs on this machine, not web pages in its browser.
//!
//! The agent listens on loopback, but a browser on the same machine can reach loopback too:
//! - *DNS rebinding*: a page at `attacker.example` re-points its name at 127.0.0.1 and reads the
//!   agent's answers (its token endpoint included) as same-origin. Its requests carry
//!   `Host: attacker.example:7070`, so only `Host` values naming loopback (the wire crate's
//!   `is_loopback_name`: `localhost` and names below it, `127.0.0.0/8`, `::1`) or configured
//!   `allowed_hosts` are served.
//! - *Cross-site requests*: any page can send a "simple" POST to `http://127.0.0.1:7070/api/…`
//!   and have it forwarded with the agent's bearer token, without reading the answer. Browsers
//!   mark such requests with `Origin` (and `Sec-Fetch-Site: cross-site`); programs do not send
//!   them. A request with an `Origin` outside `allowed_origins`, or marked cross-site, is refused.

use http::header::{HOST, ORIGIN};
use http::{HeaderMap, StatusCode, Uri};
use serde_json::json;
use tokenbroker::wire::https::is_loopback_name;

use crate::problem::problem;

/// The callers a TCP listener serves besides loopback names.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallerPolicy {
    /// Extra `Host` names (without port) to serve, lowercase.
    pub(crate) allowed_hosts: Vec<String>,
    /// `Origin` values (`scheme://host[:port]`) whose browser requests are served.
    pub(crate) allowed_origins: Vec<String>,
}

impl CallerPolicy {
    /// The 403 answer when the request comes from a web page rather than a program.
    pub(crate) fn refusal(
        &self,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Option<axum::response::Response> {
        self.reason_to_refuse(uri, headers).map(refused)
    }

    fn reason_to_refuse(&self, uri: &Uri, headers: &HeaderMap) -> Option<&'static str> {
        let host = headers
            .get(HOST)
            .and_then(|v| v.to_str().ok())
            .or_else(|| uri.authority().map(http::uri::Authority::as_str));
        // Browsers always send Host; an HTTP/1.0 program may not, and is served.
        if host.is_some_and(|host| !self.host_allowed(host)) {
            return Some("the Host header does not name this agent's loopback address");
        }
        let origin = headers.get(ORIGIN).and_then(|v| v.to_str().ok());
        let cross_site = headers
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));
        let origin_allowed = |origin: &str| {
            self.allowed_origins
                .iter()
                .any(|allowed| allowed.eq_ignore_ascii_case(origin))
        };
        match origin {
            Some(origin) if !origin_allowed(origin) => {
                Some("requests from web pages are not served (Origin)")
            }
            None if cross_site => {
                Some("cross-site requests from web pages are not served (Sec-Fetch-Site)")
            }
            _ => None,
        }
    }

    fn host_allowed(&self, host: &str) -> bool {
        let name = host_name(host).to_ascii_lowercase();
        is_loopback_name(&name) || self.allowed_hosts.contains(&name)
    }
}

/// `host` without its port: `[::1]:7070` → `[::1]`, `localhost:7070` → `localhost`.
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_inclusive(']').next().unwrap_or(host);
    }
    host.rsplit_once(':').map_or(host, |(name, _port)| name)
}

fn refused(message: &str) -> axum::response::Response {
    problem(
        StatusCode::FORBIDDEN,
        "caller_not_allowed",
        message,
        json!({}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(policy: &CallerPolicy, pairs: &[(&'static str, &str)]) -> bool {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, value.parse().unwrap());
        }
        policy
            .reason_to_refuse(&Uri::from_static("/api/x"), &headers)
            .is_none()
    }

    #[test]
    fn loopback_hosts_and_programs_pass_pages_and_rebinding_do_not() {
        let policy = CallerPolicy::default();
        for host in [
            "127.0.0.1:7070",
            "localhost:7070",
            "LOCALHOST",
            "[::1]:7070",
            "127.1.2.3",
            "app.localhost:7070",
        ] {
            assert!(check(&policy, &[("host", host)]), "{host}");
        }
        for host in [
            "attacker.example:7070",
            "10.0.0.1:7070",
            "[::2]:7070",
            "localhost.evil",
            "localhostx:7070",
            "[::1",
        ] {
            assert!(!check(&policy, &[("host", host)]), "{host}");
        }
        assert!(check(&policy, &[]), "no Host at all: an HTTP/1.0 program");
        assert!(!check(
            &policy,
            &[
                ("host", "127.0.0.1:7070"),
                ("origin", "https://evil.example")
            ]
        ));
        assert!(!check(
            &policy,
            &[("host", "127.0.0.1:7070"), ("sec-fetch-site", "cross-site")]
        ));
        let configured = CallerPolicy {
            allowed_hosts: vec!["agent.internal".into()],
            allowed_origins: vec!["http://localhost:3000".into()],
        };
        assert!(check(&configured, &[("host", "agent.internal:7070")]));
        assert!(check(
            &configured,
            &[
                ("host", "localhost:7070"),
                ("origin", "http://localhost:3000")
            ]
        ));
    }
}
