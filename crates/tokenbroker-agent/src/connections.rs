//! Serving one listener's connections (a worker's TCP listener, or the Unix socket): hyper's
//! HTTP/1.1 and h2c server, the agent's own endpoints (`/healthz`, `/readyz`, `/metrics`,
//! `/v1/...`) through the axum router, and every other path straight to the proxy. Both kinds of
//! listener share one connection cap and the same time limits.
//!
//! Why not `axum::serve` with the proxy as the router's fallback (the first version): every
//! proxied request then went through the router's lookup, its boxed services and its body
//! conversions before reaching [`proxy::forward`], about a tenth of the agent's cost per request
//! measured with `bench/agent_proxy.sh`. The agent's own endpoints are rare; proxied requests are
//! the hot path.

use std::convert::Infallible;
use std::future::Future;
use std::io;
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
use tokio::io::{AsyncRead, AsyncWrite, Interest};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::sync::watch;
use tower::ServiceExt;
use tracing::Instrument;

use crate::access_log;
use crate::proxy;
use crate::settings::RESERVED_NAMES;
use crate::state::AgentState;
use crate::TRACE_TARGET;

/// A listener the agent serves callers on.
pub(crate) trait CallerListener: Send + 'static {
    /// A caller's connection.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// Whether callers' `Host`, `Origin` and `Sec-Fetch-Site` are checked: a browser can be
    /// talked into connecting to a TCP port (DNS rebinding, cross-site forms), never to a Unix
    /// socket, whose file mode already says who may connect.
    const CHECKS_CALLERS: bool;
    /// The next connection.
    fn accept(&mut self) -> impl Future<Output = io::Result<Self::Stream>> + Send;
    /// Completes once the caller has sent something (or hung up), without consuming it.
    fn readable(stream: &Self::Stream) -> impl Future<Output = io::Result<()>> + Send;
}

impl CallerListener for TcpListener {
    type Stream = TcpStream;
    const CHECKS_CALLERS: bool = true;

    async fn accept(&mut self) -> io::Result<TcpStream> {
        let (stream, _) = TcpListener::accept(self).await?;
        // Responses are written whole; don't let Nagle hold back their last segment.
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }

    async fn readable(stream: &TcpStream) -> io::Result<()> {
        stream.peek(&mut [0u8; 1]).await.map(drop)
    }
}

impl CallerListener for UnixListener {
    type Stream = UnixStream;
    const CHECKS_CALLERS: bool = false;

    async fn accept(&mut self) -> io::Result<UnixStream> {
        Ok(UnixListener::accept(self).await?.0)
    }

    async fn readable(stream: &UnixStream) -> io::Result<()> {
        // tokio's readiness starts out set, so `UnixStream::readable` alone returns at once; a
        // peek that would block clears it (tokio has no `UnixStream::peek`).
        loop {
            stream.readable().await?;
            let peeked = stream.try_io(Interest::READABLE, || {
                socket2::SockRef::from(stream).peek(&mut [std::mem::MaybeUninit::uninit()])
            });
            match peeked {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
                other => return other.map(drop),
            }
        }
    }
}

/// Where a request goes: the agent's own endpoints or the proxy.
struct Endpoints {
    state: Arc<AgentState>,
    /// The agent's own endpoints (its fallback is the proxy, for paths like `/healthz/x`).
    router: Router,
    checks_callers: bool,
}

impl Endpoints {
    async fn handle(&self, mut request: http::Request<Incoming>) -> Response {
        let span = tracing::info_span!(
            target: TRACE_TARGET,
            "proxy request",
            otel.kind = "server",
            http.request.method = %request.method(),
            http.route = access_log::route_of(&self.state, request.uri().path()).0,
            http.response.status_code = tracing::field::Empty,
        );
        let trace = crate::headers::continue_trace(request.headers_mut(), &span);
        let line = access_log::start(&self.state, &request, &trace);
        let response = self.route(request).instrument(span.clone()).await;
        span.record("http.response.status_code", response.status().as_u16());
        if let Some(line) = line {
            line.finish(response.status());
        }
        response
    }

    async fn route(&self, request: http::Request<Incoming>) -> Response {
        if self.checks_callers {
            if let Some(refused) = self.state.callers.refusal(request.uri(), request.headers()) {
                return refused;
            }
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
pub(crate) async fn serve<L: CallerListener>(
    mut listener: L,
    state: Arc<AgentState>,
    router: Router,
    mut stopped: watch::Receiver<bool>,
) {
    let mut server = auto::Builder::new(TokioExecutor::new());
    server
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(state.header_read_timeout);
    let first_byte_timeout = state.header_read_timeout;
    let permits = Arc::clone(&state.connection_permits);
    let endpoints = Arc::new(Endpoints {
        state,
        router,
        checks_callers: L::CHECKS_CALLERS,
    });
    let graceful = GracefulShutdown::new();
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(stream) => stream,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
            () = until_stopped(&mut stopped) => break,
        };
        // Past the connection cap, a new connection is closed at once.
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            tracing::warn!("connection limit reached; closing a new connection");
            continue;
        };
        let endpoints = Arc::clone(&endpoints);
        let service = hyper::service::service_fn(move |request| {
            let endpoints = Arc::clone(&endpoints);
            async move { Ok::<_, Infallible>(endpoints.handle(request).await) }
        });
        let watcher = graceful.watcher();
        let server = server.clone();
        tokio::spawn(async move {
            // hyper's header timeout starts once it reads a request; before that, telling
            // HTTP/1.1 from HTTP/2 waits for the first bytes with no limit. A caller that sends
            // none is closed here, in the same time.
            if tokio::time::timeout(first_byte_timeout, L::readable(&stream))
                .await
                .is_err()
            {
                tracing::debug!("a caller sent nothing within header_read_timeout; closed");
                return;
            }
            let connection = server.serve_connection(TokioIo::new(stream), service);
            if let Err(error) = watcher.watch(connection.into_owned()).await {
                tracing::debug!(%error, "a caller's connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Completes once `stopped` turns true (or its sender is gone). Holds no borrow of the value
/// across an await, so `serve` can run on a multi-threaded runtime (the Unix socket's).
async fn until_stopped(stopped: &mut watch::Receiver<bool>) {
    while !*stopped.borrow_and_update() {
        if stopped.changed().await.is_err() {
            return;
        }
    }
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
