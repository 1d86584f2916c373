//! The HTTPS rule: credentials and tokens only travel over TLS, except to this machine.
//!
//! Entur partner authentication: "Communication to authentication servers enforce HTTPS", and
//! Entur answers plain HTTP with 301/302/405. Loopback (127.0.0.0/8, ::1, `localhost`) may use
//! HTTP so a local authorization server works in development and tests.

use std::net::IpAddr;

use url::{Host, Url};

use crate::WireError;

/// Parses `raw` as a URL and applies [`require_https`]; `what` names it in errors
/// (for example `token_url`).
pub fn parse_secure_url(raw: &str, what: &str) -> Result<Url, WireError> {
    let url = Url::parse(raw.trim()).map_err(|source| WireError::InvalidUrl {
        what: what.to_owned(),
        value: raw.to_owned(),
        source,
    })?;
    require_https(&url)?;
    Ok(url)
}

/// Refuses any URL that is not `https://`, unless its host is a loopback address.
pub fn require_https(url: &Url) -> Result<(), WireError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        _ => Err(WireError::InsecureUrl {
            url: redact_url(url),
        }),
    }
}

/// True when the URL's host is 127.0.0.0/8, ::1, `localhost` or a `*.localhost` name.
pub fn is_loopback(url: &Url) -> bool {
    url.host().is_some_and(|host| is_loopback_host(&host))
}

/// True for a host that names this machine: `127.0.0.0/8`, `::1`, `localhost` and any name
/// below it ([RFC 6761 §6.3](https://www.rfc-editor.org/rfc/rfc6761#section-6.3): such names
/// never reach DNS, so nobody else can point them elsewhere).
pub fn is_loopback_host<S: AsRef<str>>(host: &Host<S>) -> bool {
    match host {
        Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
        Host::Domain(name) => {
            let name = name.as_ref().trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
    }
}

/// [`is_loopback_host`] for host text as a `Host` header carries it without its port
/// (`localhost`, `127.0.0.1`, `[::1]`); false for text that is not a host.
pub fn is_loopback_name(name: &str) -> bool {
    Host::parse(name).is_ok_and(|host| is_loopback_host(&host))
}

/// The URL without user info, query or fragment: safe to put in an error message.
pub fn redact_url(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str) -> Result<Url, WireError> {
        parse_secure_url(raw, "token_url")
    }

    #[test]
    fn https_is_always_allowed() {
        assert!(check("https://partner.entur.org/oauth/token").is_ok());
    }

    #[test]
    fn plain_http_is_allowed_only_for_loopback() {
        for ok in [
            "http://127.0.0.1:8080/oauth/token",
            "http://127.8.9.10/x",
            "http://[::1]:9000/x",
            "http://localhost/x",
            "http://api.localhost/x",
        ] {
            assert!(check(ok).is_ok(), "{ok} should be allowed");
        }
        for bad in [
            "http://partner.entur.org/oauth/token",
            "http://10.0.0.1/x",
            "http://localhost.example.com/x",
            "ftp://127.0.0.1/x",
        ] {
            let err = check(bad).unwrap_err().to_string();
            assert!(err.contains("https://"), "{bad}: {err}");
        }
    }

    #[test]
    fn errors_never_show_credentials_in_the_url() {
        let err = check("http://user:pw@example.com/token?client_secret=s3cr3t")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("pw@"), "{err}");
        assert!(!err.contains("s3cr3t"), "{err}");
    }

    #[test]
    fn garbage_is_an_error_naming_the_field_and_keeping_the_cause() {
        let err = check("not a url").unwrap_err();
        assert!(err.to_string().contains("token_url"), "{err}");
        assert!(std::error::Error::source(&err).is_some());
    }
}
