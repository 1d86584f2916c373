//! The authenticating reverse proxy: `/NAME/rest?query` → `base_url/rest?query` with the
//! profile's credentials, bodies streamed both ways.
//!
//! Never forwards without a valid token (503 instead: unlike Envoy's OAuth2 filter, which can send
//! an expired one, envoy#44674). An upstream 401 while the token was current means the token was
//! revoked or rotated early: it is dropped, a new one fetched, and the request retried once — if
//! its body was small enough to buffer (see [`crate::replay`]).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use http::header::CONTENT_LENGTH;
use http::uri::PathAndQuery;
use http::{HeaderMap, Method, StatusCode};
use serde_json::json;
use tokenbroker::innermost_cause;

use crate::headers;
use crate::idle_timeout::IdleTimeout;
use crate::problem::{no_token, problem};
use crate::profile::Credentials;
use crate::replay::{self, OutgoingBody};
use crate::state::{AgentState, Upstream};

/// The fallback handler: every path that is not one of the agent's own endpoints.
pub(crate) async fn forward(State(state): State<Arc<AgentState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Some((name, rest)) = split_upstream(parts.uri.path()) else {
        return unknown_upstream(&state, "");
    };
    let Some(upstream) = state.upstreams.get(name) else {
        return unknown_upstream(&state, name);
    };
    if escapes_base_path(rest) {
        return problem(
            StatusCode::BAD_REQUEST,
            "invalid_path",
            "paths with . or .. segments, or encoded / or \\, are not forwarded",
            json!({ "upstream": name }),
        );
    }
    let Some(path) = upstream.path_for(rest, parts.uri.query()) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "invalid_path",
            "the path and query do not form a valid upstream URI",
            json!({ "upstream": name }),
        );
    };
    let profile = &upstream.profile;
    let credentials = match profile.credentials().await {
        Ok(credentials) => credentials,
        Err(reason) => {
            state.metrics.proxy_error(name, "no_valid_token");
            tracing::warn!(upstream = name, profile = %profile.name, reason = %reason.0, "answering 503");
            return no_token(&profile.name, &reason.0);
        }
    };
    let content_length = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let prepared = replay::prepare(
        body,
        content_length,
        state.max_replay_body,
        state.body_read_timeout,
    )
    .await;
    let body = match prepared {
        Ok(body) => body,
        Err(error @ replay::BodyError::TooSlow(_)) => {
            return problem(
                StatusCode::REQUEST_TIMEOUT,
                "body_too_slow",
                &error.to_string(),
                json!({ "upstream": name }),
            )
        }
        Err(error) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "unreadable_body",
                &error.to_string(),
                json!({ "upstream": name }),
            )
        }
    };
    let streamed = matches!(body, OutgoingBody::Streamed(_));
    let mut forwarded = parts.headers;
    headers::keep_forwardable(&mut forwarded, streamed);
    let call = Call {
        state: &state,
        upstream,
        method: parts.method,
        path,
        headers: forwarded,
    };
    call.run(body, credentials).await
}

/// One proxied request: sent once, and once more after a 401 when the body allows.
struct Call<'a> {
    state: &'a AgentState,
    upstream: &'a Upstream,
    method: Method,
    path: PathAndQuery,
    headers: HeaderMap,
}

impl Call<'_> {
    async fn run(self, body: OutgoingBody, used: Credentials) -> Response {
        let bytes = match body {
            OutgoingBody::Buffered(bytes) => bytes,
            OutgoingBody::Streamed(body) => {
                let response = self.send(body, &used).await;
                if matches!(&response, Ok(r) if r.status() == StatusCode::UNAUTHORIZED) {
                    tracing::info!(
                        upstream = %self.upstream.name,
                        "401 on a streamed body larger than max_replay_body_bytes; passed on unretried"
                    );
                }
                return self.answer(response);
            }
        };
        match self.send(Body::from(bytes.clone()), &used).await {
            Ok(response) if response.status() == StatusCode::UNAUTHORIZED => {
                self.retry_after_401(bytes, response, used).await
            }
            other => self.answer(other),
        }
    }

    async fn retry_after_401(
        &self,
        bytes: bytes::Bytes,
        unauthorized: UpstreamResponse,
        used: Credentials,
    ) -> Response {
        let profile = &self.upstream.profile;
        profile.invalidate(&used);
        let fresh = match profile.credentials().await {
            Ok(fresh) if !same(&fresh, &used) => fresh,
            // Nothing new to try: retrying would only repeat the 401.
            _ => return self.answer(Ok(unauthorized)),
        };
        self.state.metrics.reauthenticated(&profile.name);
        tracing::info!(
            upstream = %self.upstream.name,
            rejected = used.bearer.fingerprint(),
            retry_with = fresh.bearer.fingerprint(),
            "401 from the upstream; retrying once with a new token"
        );
        let retried = self.send(Body::from(bytes), &fresh).await;
        self.answer(retried)
    }

    async fn send(
        &self,
        body: Body,
        credentials: &Credentials,
    ) -> Result<UpstreamResponse, Failure> {
        let mut request = http::Request::new(body);
        *request.method_mut() = self.method.clone();
        *request.headers_mut() = self.headers.clone();
        headers::authenticate(request.headers_mut(), &self.upstream.profile, credentials);
        let request = self.upstream.http.send(request, self.path.clone());
        match tokio::time::timeout(self.state.upstream_timeout, request).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(error)) => Err(Failure::Unreachable(innermost_cause(&*error))),
            Err(_) => Err(Failure::Timeout),
        }
    }

    fn answer(&self, outcome: Result<UpstreamResponse, Failure>) -> Response {
        let name = &self.upstream.name;
        match outcome {
            Ok(upstream) => {
                self.state
                    .metrics
                    .upstream_response(name, upstream.status().as_u16());
                // Wrapping hyper's body (not a stream of it) keeps its exact size, so the caller
                // gets Content-Length and one write instead of chunked encoding.
                let (mut parts, body) = upstream.into_parts();
                headers::remove_hop_by_hop(&mut parts.headers);
                let body = IdleTimeout::new(body, self.upstream.read_timeout);
                Response::from_parts(parts, Body::new(body))
            }
            Err(failure) => self.failed(failure),
        }
    }

    fn failed(&self, failure: Failure) -> Response {
        let name = &self.upstream.name;
        match failure {
            Failure::Timeout => {
                self.state.metrics.proxy_error(name, "upstream_timeout");
                problem(
                    StatusCode::GATEWAY_TIMEOUT,
                    "upstream_timeout",
                    &format!(
                        "the upstream sent no response within {} s",
                        self.state.upstream_timeout.as_secs_f32()
                    ),
                    json!({ "upstream": name }),
                )
            }
            Failure::Unreachable(reason) => {
                self.state.metrics.proxy_error(name, "upstream_unreachable");
                problem(
                    StatusCode::BAD_GATEWAY,
                    "upstream_unreachable",
                    &format!("could not reach the upstream: {reason}"),
                    json!({ "upstream": name }),
                )
            }
        }
    }
}

enum Failure {
    Timeout,
    Unreachable(String),
}

/// An upstream's answer, its body still streaming.
type UpstreamResponse = http::Response<hyper::body::Incoming>;

fn same(a: &Credentials, b: &Credentials) -> bool {
    let same_x_jwt = match (&a.x_jwt, &b.x_jwt) {
        (Some(x), Some(y)) => x.same_as(y),
        (None, None) => true,
        _ => false,
    };
    a.bearer.same_as(&b.bearer) && same_x_jwt
}

/// `/NAME/rest` → (`NAME`, `/rest`); `/NAME` → (`NAME`, ``).
pub(crate) fn split_upstream(path: &str) -> Option<(&str, &str)> {
    let path = path.strip_prefix('/')?;
    let (name, rest) = match path.find('/') {
        Some(at) => path.split_at(at),
        None => (path, ""),
    };
    (!name.is_empty()).then_some((name, rest))
}

/// True for a path that could climb out of the base URL's path at an upstream that decodes or
/// normalises before routing: `.`/`..` segments (dots possibly `%2e`, a `;parameter` after them
/// as Tomcat reads `..;/`), an encoded `/` or `\\` (`%2f`, `%5c`, which some servers decode into
/// separators), a raw `\\` (IIS's separator), or any of those encoded twice (`%252e`). Checked on
/// every request: no allocation.
pub(crate) fn escapes_base_path(rest: &str) -> bool {
    let bytes = rest.as_bytes();
    if bytes.contains(&b'\\') {
        return true;
    }
    let encoded_separator = bytes.windows(3).any(|w| {
        w[0] == b'%' && (w[1..].eq_ignore_ascii_case(b"2f") || w[1..].eq_ignore_ascii_case(b"5c"))
    });
    let double_encoded = bytes.windows(5).any(|w| {
        w[..3].eq_ignore_ascii_case(b"%25")
            && [b"2e", b"2f", b"5c"]
                .iter()
                .any(|x| w[3..].eq_ignore_ascii_case(*x))
    });
    encoded_separator || double_encoded || rest.split('/').any(is_dot_segment)
}

/// `.` or `..` (each dot possibly spelled `%2e`), with or without a `;parameter` (the `;`
/// possibly spelled `%3b`: an upstream that decodes before dropping parameters reads `%2e.%3b`
/// as `..;`, which the fuzz target found).
fn is_dot_segment(segment: &str) -> bool {
    let mut left = segment.as_bytes();
    let mut dots = 0;
    loop {
        let parameters_start = left.first() == Some(&b';')
            || left
                .get(..3)
                .is_some_and(|s| s.eq_ignore_ascii_case(b"%3b"));
        if left.is_empty() || parameters_start {
            return (1..=2).contains(&dots);
        }
        left = match left.strip_prefix(b".") {
            Some(after) => after,
            None if left
                .get(..3)
                .is_some_and(|s| s.eq_ignore_ascii_case(b"%2e")) =>
            {
                &left[3..]
            }
            None => return false,
        };
        dots += 1;
        if dots > 2 {
            return false;
        }
    }
}

fn unknown_upstream(state: &AgentState, name: &str) -> Response {
    let known: Vec<&String> = state.upstreams.keys().collect();
    problem(
        StatusCode::NOT_FOUND,
        "unknown_upstream",
        "no upstream has this name; paths are /NAME/... for a configured [[agent.upstreams]] name",
        json!({ "upstream": name, "upstreams": known }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_upstream_and_rest() {
        assert_eq!(split_upstream("/entur/a/b"), Some(("entur", "/a/b")));
        assert_eq!(split_upstream("/entur"), Some(("entur", "")));
        assert_eq!(split_upstream("/"), None);
        for escaping in [
            "/a/../b",
            "/a/%2E%2e/b",
            "/%2e",
            "/a/.%2E",
            "/..%2f..%2finternal.txt",
            "/%2e%2e%2f",
            "/%2e%2e%5c",
            "/..\\",
            "/..;/internal",
            "/a/%2E%2E;jsessionid=1/b",
            "/%252e%252e/x",
            "/a%2Fb",
            // Found by the agent_path fuzz target: `%3B` decodes to the `;` Tomcat drops.
            "/%2e.%3B",
            "/..%3bx/y",
        ] {
            assert!(escapes_base_path(escaping), "{escaping}");
        }
        for fine in [
            "/a/..b/c.d",
            "/a/.../b",
            "/a/%2e%2e%2e",
            "/a//b",
            "/a;b=c/d",
            "/%20x",
            "/a%25b",
            "/a%3Bb/c",
        ] {
            assert!(!escapes_base_path(fine), "{fine}");
        }
    }

    proptest::proptest! {
        /// Whatever path passes the check stays below the base path at an upstream that
        /// decodes it first.
        #[test]
        fn forwarded_paths_stay_below_the_base(
            segments in proptest::collection::vec("(\\.|%2[eEfF]|%5[cC]|%3[bB]|%25|;|[a-z]|\\\\){0,4}", 0..6)
        ) {
            let rest = format!("/{}", segments.join("/"));
            if !escapes_base_path(&rest) {
                proptest::prop_assert!(crate::path_model::lowest_depth_after_decoding(&rest) >= 0, "{}", rest);
            }
        }
    }
}
