//! The HTTPS rule: credentials and tokens only travel over TLS, except to this machine.
//!
//! Entur partner authentication: "Communication to authentication servers enforce HTTPS", and
//! Entur answers plain HTTP with 301/302/405. Loopback (127.0.0.0/8, ::1, `localhost`) may use
//! HTTP so a local authorization server works in development and tests; other hosts only when
//! named in a [`PlainHttpHosts`] list (`allow_insecure_http`): a mock server in docker-compose
//! or CI, or a service mesh that encrypts outside the process.

use std::net::IpAddr;

use url::{Host, Url};

use crate::WireError;

/// Most entries an allow-list may hold.
pub const MAX_PLAIN_HTTP_HOSTS: usize = 64;

/// Hosts besides loopback that may be reached over plain HTTP: exact names (`mock-as`,
/// `10.1.2.3`) or a wildcard for the names below a domain (`*.svc.cluster.local` allows
/// `auth.ns.svc.cluster.local`, not `svc.cluster.local` itself). Empty by default: nothing is
/// allowed unless someone named it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlainHttpHosts {
    /// Lower-case names, and `.domain` suffixes for wildcards.
    entries: Vec<String>,
}

impl PlainHttpHosts {
    /// The list of `entries`, each checked: a host name, an IP address, or `*.` and a domain.
    pub fn new<S: AsRef<str>>(entries: &[S]) -> Result<Self, WireError> {
        if entries.len() > MAX_PLAIN_HTTP_HOSTS {
            return Err(WireError::InvalidPlainHttpHost {
                entry: format!(
                    "({} entries; at most {MAX_PLAIN_HTTP_HOSTS})",
                    entries.len()
                ),
            });
        }
        let entries = entries
            .iter()
            .map(|entry| normalise_entry(entry.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(Self { entries })
    }

    /// True when nothing beyond loopback is allowed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `host` is on the list.
    pub fn allows<S: AsRef<str>>(&self, host: &Host<S>) -> bool {
        let name = match host {
            Host::Domain(name) => name.as_ref().trim_end_matches('.').to_ascii_lowercase(),
            Host::Ipv4(ip) => ip.to_string(),
            Host::Ipv6(ip) => ip.to_string(),
        };
        self.entries
            .iter()
            .any(|entry| match entry.strip_prefix('.') {
                Some(_) => name.len() > entry.len() && name.ends_with(entry.as_str()),
                None => *entry == name,
            })
    }
}

fn normalise_entry(entry: &str) -> Result<String, WireError> {
    let invalid = || WireError::InvalidPlainHttpHost {
        entry: entry.chars().take(100).collect(),
    };
    let trimmed = entry.trim().trim_end_matches('.').to_ascii_lowercase();
    let (wildcard, name) = match trimmed.strip_prefix("*.") {
        Some(domain) => (true, domain),
        None => (false, trimmed.as_str()),
    };
    // A bare name like `mock-as` is a valid domain to the URL parser; `*`, paths, ports,
    // spaces and schemes are not accepted.
    let host = Host::parse(name).map_err(|_| invalid())?;
    match (&host, wildcard) {
        (Host::Domain(domain), _) if !domain.is_empty() && !domain.contains('*') => {}
        (Host::Ipv4(_) | Host::Ipv6(_), false) => {}
        _ => return Err(invalid()),
    }
    if name.contains([':', '/', '@']) && !matches!(host, Host::Ipv6(_)) {
        return Err(invalid());
    }
    let canonical = match host {
        Host::Domain(domain) => domain,
        Host::Ipv4(ip) => ip.to_string(),
        Host::Ipv6(ip) => ip.to_string(),
    };
    Ok(if wildcard {
        format!(".{canonical}")
    } else {
        canonical
    })
}

/// Parses `raw` as a URL and applies [`require_https`]; `what` names it in errors
/// (for example `token_url`).
pub fn parse_secure_url(raw: &str, what: &str) -> Result<Url, WireError> {
    parse_secure_url_allowing(raw, what, &PlainHttpHosts::default())
}

/// [`parse_secure_url`], also allowing plain HTTP to the hosts in `allowed`.
pub fn parse_secure_url_allowing(
    raw: &str,
    what: &str,
    allowed: &PlainHttpHosts,
) -> Result<Url, WireError> {
    let url = Url::parse(raw.trim()).map_err(|source| WireError::InvalidUrl {
        what: what.to_owned(),
        value: raw.to_owned(),
        source,
    })?;
    require_https_allowing(&url, allowed)?;
    Ok(url)
}

/// Refuses any URL that is not `https://`, unless its host is a loopback address.
pub fn require_https(url: &Url) -> Result<(), WireError> {
    require_https_allowing(url, &PlainHttpHosts::default())
}

/// [`require_https`], also allowing plain HTTP to the hosts in `allowed`.
pub fn require_https_allowing(url: &Url, allowed: &PlainHttpHosts) -> Result<(), WireError> {
    let plain_allowed = || is_loopback(url) || url.host().is_some_and(|h| allowed.allows(&h));
    match url.scheme() {
        "https" => Ok(()),
        "http" if plain_allowed() => Ok(()),
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
    fn named_hosts_may_use_plain_http_and_nothing_else_does() {
        let allowed = PlainHttpHosts::new(&["Mock-AS", "*.svc.cluster.local", "10.1.2.3"]).unwrap();
        for ok in [
            "http://mock-as:8080/oauth/token",
            "http://MOCK-AS./x",
            "http://auth.ns.svc.cluster.local/x",
            "http://10.1.2.3/x",
        ] {
            assert!(
                parse_secure_url_allowing(ok, "token_url", &allowed).is_ok(),
                "{ok}"
            );
        }
        for bad in [
            "http://mock-as.evil.example/x",
            "http://svc.cluster.local/x",
            "http://xsvc.cluster.local/x",
            "http://10.1.2.4/x",
            "ftp://mock-as/x",
        ] {
            let err = parse_secure_url_allowing(bad, "token_url", &allowed).unwrap_err();
            assert!(
                err.to_string().contains("allow_insecure_http"),
                "{bad}: {err}"
            );
        }
        assert!(
            check("http://mock-as/x").is_err(),
            "nothing is allowed by default"
        );
    }

    #[test]
    fn allow_list_entries_are_host_names_or_wildcard_domains() {
        for bad in [
            "*",
            "*.",
            "http://mock-as",
            "mock-as:8080",
            "a b",
            "*.*.x",
            "",
            "mock-as/x",
        ] {
            let err = PlainHttpHosts::new(&[bad]).unwrap_err().to_string();
            assert!(err.contains("allow_insecure_http"), "{bad}: {err}");
        }
        let too_many: Vec<String> = (0..=MAX_PLAIN_HTTP_HOSTS)
            .map(|i| format!("h{i}"))
            .collect();
        assert!(PlainHttpHosts::new(&too_many).is_err());
        assert!(PlainHttpHosts::new(&too_many[..MAX_PLAIN_HTTP_HOSTS]).is_ok());
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
