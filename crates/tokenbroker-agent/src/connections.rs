//! Serving one TCP listener's connections: hyper's HTTP/1.1 and h2c server, the agent's own
//! endpoints (`/healthz`, `/readyz`, `/metrics`, `/v1/...`) through the axum router, and every
//! other path straight to the proxy.
//!
//! Why not `axum::serve` with the proxy as the router's fallback (the first version): every
//! proxied request then went through the router's lookup, its boxed services and its body
//! conversions before reaching [`proxy::forward`], about a tenth of the agent's cost per request
//! measured with `bench/agent_proxy.sh`. The agent's own endpoints are rare; proxied requests are
//! the hot path.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::proxy;
use crate::settings::RESERVED_NAMES;
use crate::state::AgentState;

/// Where a request goes: the agent's own endpoints or the proxy.
struct Endpoints {
    state: Arc<AgentState>,
    /// The agent's own endpoints (its fallback is the proxy, for paths like `/healthz/x`).
    router: Router,
}

impl Endpoints {
    async fn handle(&self, request: http::Request<Incoming>) -> Response {
        if let Some(refused) = self.state.callers.refusal(request.uri(), request.headers()) {
            return refused;
        }
        let request = request.map(Body::new);
        if is_agent_path(request.uri().path()) {
            match self.router.clone().oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            }
        } else {
            proxy::forward(State(Arc::clone(&self.state)), request).await
        }
    }
}

/// True for `/healthz`, `/readyz`, `/metrics` and `/v1/...`: no upstream may take these names.
fn is_agent_path(path: &str) -> bool {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    RESERVED_NAMES.contains(&first)
}

/// Accepts and serves connections until `stopped` turns true; then stops accepting and waits
/// until every open connection has finished its in-flight requests.
pub(crate) async fn serve(
    listener: TcpListener,
    state: Arc<AgentState>,
    router: Router,
    mut stopped: watch::Receiver<bool>,
) {
    let mut server = auto::Builder::new(TokioExecutor::new());
    server
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(state.header_read_timeout);
    let permits = Arc::clone(&state.connection_permits);
    let endpoints = Arc::new(Endpoints { state, router });
    let graceful = GracefulShutdown::new();
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
            _ = stopped.wait_for(|stop| *stop) => break,
        };
        // Past the connection cap, a new connection is closed at once.
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            tracing::warn!("connection limit reached; closing a new connection");
            continue;
        };
        // Responses are written whole; don't let Nagle hold back their last segment.
        let _ = stream.set_nodelay(true);
        let endpoints = Arc::clone(&endpoints);
        let service = hyper::service::service_fn(move |request| {
            let endpoints = Arc::clone(&endpoints);
            async move { Ok::<_, Infallible>(endpoints.handle(request).await) }
        });
        let connection = server
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "a caller's connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// A connection that failed between the kernel's accept and ours is the caller's problem; running
/// out of file descriptors is ours: say so and pause instead of spinning.
async fn accept_failed(error: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::warn!(%error, "cannot accept connections; retrying in 100 ms");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agents_own_paths_are_told_from_upstream_paths() {
        assert!(is_agent_path("/healthz"));
        assert!(is_agent_path("/v1/token/entur"));
        assert!(is_agent_path("/metrics/"));
        assert!(!is_agent_path("/entur/healthz"));
        assert!(!is_agent_path("/v1x/token"));
        assert!(!is_agent_path("/"));
    }
}
