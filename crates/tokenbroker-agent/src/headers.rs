//! Which headers cross the proxy, and which the agent adds.
//!
//! Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are dropped both ways, as are
//! the ones a `Connection` header names. Incoming `Authorization` is always dropped: callers never
//! choose the credentials. The profile then adds `Authorization: Bearer`, `X-JWT`,
//! `ET-Client-Name` and `X-Transaction-Id` (Entur API authentication, Telenor Sweden Open APIs).
//! Every request continues the caller's W3C trace, or starts one.

use http::header::{
    AUTHORIZATION, CONNECTION, CONTENT_LENGTH, HOST, PROXY_AUTHENTICATE, PROXY_AUTHORIZATION, TE,
    TRAILER, TRANSFER_ENCODING, UPGRADE,
};
use http::{HeaderMap, HeaderName, HeaderValue};
use tokenbroker::apply_api_headers;
use tokenbroker::wire::trace_context::{
    TraceParent, MAX_TRACESTATE_BYTES, TRACEPARENT, TRACESTATE,
};

use crate::profile::{Credentials, Profile};

/// Hop-by-hop headers (RFC 9110 §7.6.1, plus the legacy `Keep-Alive` and `Proxy-Connection`).
static HOP_BY_HOP: [HeaderName; 9] = [
    CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    PROXY_AUTHENTICATE,
    PROXY_AUTHORIZATION,
    TE,
    TRAILER,
    TRANSFER_ENCODING,
    UPGRADE,
];

/// Keeps of the caller's headers what goes upstream: not the hop-by-hop ones, `Host` (set from
/// the upstream URL) or `Authorization`; `Content-Length` only when the body is streamed through
/// unchanged.
pub(crate) fn keep_forwardable(headers: &mut HeaderMap, keep_content_length: bool) {
    remove_hop_by_hop(headers);
    headers.remove(HOST);
    headers.remove(AUTHORIZATION);
    headers.remove(crate::token_endpoint::SECRET_HEADER);
    if !keep_content_length {
        headers.remove(CONTENT_LENGTH);
    }
}

/// Continues the caller's trace (W3C Trace Context): the request goes on with a child
/// `traceparent` of the caller's, or starts a trace when the caller sent none, several or a
/// malformed one — then its `tracestate`, which belongs to that trace, goes too, as does one
/// longer than [`MAX_TRACESTATE_BYTES`]. `span` is this hop's `proxy request` span: when it is
/// exported (feature `otel`), the caller's span becomes its parent and its id the upstream's
/// parent. Returns the trace the request now carries.
pub(crate) fn continue_trace(headers: &mut HeaderMap, span: &tracing::Span) -> TraceParent {
    let incoming = TraceParent::from_headers(headers);
    if incoming.is_none() {
        headers.remove(TRACESTATE);
    }
    let next = next_hop(incoming, span);
    let state_length: usize = headers.get_all(TRACESTATE).iter().map(|v| v.len()).sum();
    if state_length > MAX_TRACESTATE_BYTES {
        headers.remove(TRACESTATE);
    }
    // Hex digits and dashes: always a valid header value.
    if let Ok(value) = HeaderValue::try_from(next.to_string()) {
        headers.insert(TRACEPARENT, value);
    }
    next
}

/// The `traceparent` for the upstream: the exported span's own ids when there is one, else a new
/// span id in the caller's trace, or a new trace.
#[cfg_attr(not(feature = "otel"), allow(unused_variables))]
fn next_hop(incoming: Option<TraceParent>, span: &tracing::Span) -> TraceParent {
    #[cfg(feature = "otel")]
    {
        use tokenbroker::wire::trace_context::otel;
        if let Some(parent) = &incoming {
            otel::continue_remote(span, parent);
        }
        if let Some(exported) = otel::traceparent_of(span) {
            return exported;
        }
    }
    match incoming {
        Some(incoming) => incoming.child(),
        None => TraceParent::new_root(),
    }
}

/// Adds the profile's credentials and provider headers, by the client library's one rule
/// ([`apply_api_headers`]): a caller's own `X-Transaction-Id` is kept.
pub(crate) fn authenticate(headers: &mut HeaderMap, profile: &Profile, credentials: &Credentials) {
    apply_api_headers(
        headers,
        &credentials.bearer,
        credentials.x_jwt.as_ref(),
        profile.client_name.as_ref(),
        profile.transaction_ids,
    );
}

/// Removes the hop-by-hop headers and those the `Connection` header names, in place: this runs
/// twice per proxied request, and most requests have none of them.
pub(crate) fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let named_by_connection: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|list| list.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named_by_connection {
        headers.remove(name);
    }
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn hop_by_hop_and_caller_credentials_do_not_cross() {
        let mut incoming = HeaderMap::new();
        incoming.insert(
            AUTHORIZATION,
            HeaderValue::from_static("Bearer callers-own"),
        );
        incoming.insert(
            CONNECTION,
            HeaderValue::from_static("keep-alive, x-private"),
        );
        incoming.insert("x-private", HeaderValue::from_static("1"));
        incoming.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        incoming.insert(HOST, HeaderValue::from_static("127.0.0.1:7070"));
        incoming.insert("accept", HeaderValue::from_static("application/json"));
        incoming.insert(CONTENT_LENGTH, HeaderValue::from_static("3"));
        let mut kept = incoming.clone();
        keep_forwardable(&mut kept, false);
        let names: Vec<&str> = kept.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["accept"]);
        keep_forwardable(&mut incoming, true);
        assert!(incoming.contains_key(CONTENT_LENGTH));
    }
}
