//! The address a request comes from, for the failed-authentication limiter.
//!
//! It is the TCP peer, unless the peer is one of the configured `trusted_proxies` (the
//! TLS-terminating proxy `--insecure-http` is meant for): then it is the address that proxy
//! names in `Forwarded` ([RFC 7239](https://www.rfc-editor.org/rfc/rfc7239)) or
//! `X-Forwarded-For`. Walking from the right, addresses of trusted proxies are skipped and the
//! first other one is taken, so a client cannot choose its own address by sending the header
//! itself: whatever it wrote is to the left of what the trusted proxy appended. Headers from
//! anyone else are ignored. Without this, every client behind the proxy shares the proxy's
//! address and one bad client's failures limit them all.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use ipnet::IpNet;

use crate::state::AppState;

/// The most forwarded addresses looked at in one request (a hop list longer than any real chain
/// is not walked further).
const MAX_HOPS: usize = 16;

/// The request's client address, as the limiter counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClientAddress(pub(crate) IpAddr);

impl FromRequestParts<Arc<AppState>> for ClientAddress {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        // Not served over TCP (never the case for the shipped listeners): the unspecified address.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0u8; 16]), |ConnectInfo(addr)| addr.ip());
        Ok(Self(client_address(
            peer,
            &parts.headers,
            &state.trusted_proxies,
        )))
    }
}

/// `peer`, or the address trusted proxies forwarded for, as described in the module docs.
pub(crate) fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut hops = forwarded_for(headers);
    if hops.is_empty() {
        hops = x_forwarded_for(headers);
    }
    hops.into_iter()
        .rev()
        .take(MAX_HOPS)
        .find(|ip| !is_trusted(ip))
        .unwrap_or(peer)
}

/// The `for=` addresses of every `Forwarded` element, left to right; obfuscated identifiers
/// and unknown nodes are skipped.
fn forwarded_for(headers: &HeaderMap) -> Vec<IpAddr> {
    headers
        .get_all("forwarded")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                name.eq_ignore_ascii_case("for")
                    .then(|| parse_node(value))?
            })
        })
        .collect()
}

/// The addresses of every `X-Forwarded-For` header, left to right.
fn x_forwarded_for(headers: &HeaderMap) -> Vec<IpAddr> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(parse_node)
        .collect()
}

/// `192.0.2.1`, `192.0.2.1:4711`, `"[2001:db8::1]:4711"` or `2001:db8::1` as an address.
fn parse_node(node: &str) -> Option<IpAddr> {
    let node = node.trim().trim_matches('"');
    if let Ok(ip) = node.parse() {
        return Some(ip);
    }
    if let Ok(socket) = node.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    node.strip_prefix('[')?
        .split_once(']')
        .and_then(|(ip, _port)| ip.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn only_trusted_proxies_are_believed_and_spoofed_hops_are_skipped() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        let stranger: IpAddr = "198.51.100.9".parse().unwrap();
        let forwarded = headers(&[("x-forwarded-for", "203.0.113.66, 192.0.2.7")]);
        assert_eq!(
            client_address(proxy, &forwarded, &trusted),
            "192.0.2.7".parse::<IpAddr>().unwrap(),
            "the right-most address the proxy appended, not what the client wrote before it"
        );
        assert_eq!(client_address(stranger, &forwarded, &trusted), stranger);
        assert_eq!(client_address(proxy, &HeaderMap::new(), &trusted), proxy);
        let chained = headers(&[("x-forwarded-for", "192.0.2.7, 10.9.9.9")]);
        assert_eq!(
            client_address(proxy, &chained, &trusted),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
        let rfc7239 = headers(&[(
            "forwarded",
            "for=203.0.113.66, for=\"[2001:db8::7]:4711\";proto=https",
        )]);
        assert_eq!(
            client_address(proxy, &rfc7239, &trusted),
            "2001:db8::7".parse::<IpAddr>().unwrap()
        );
        let garbage = headers(&[("x-forwarded-for", "not-an-address, unknown")]);
        assert_eq!(client_address(proxy, &garbage, &trusted), proxy);
    }
}
