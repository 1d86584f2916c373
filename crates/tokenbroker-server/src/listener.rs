//! Serving a router on a listener, plain or TLS, until told to stop: the one place that knows how
//! connections are accepted, bounded and shut down gracefully.
//!
//! Both go through `axum_server`, so they share the bounds: at most
//! [`ListenerLimits::max_connections`] open connections (more are closed at once, so a flood
//! cannot exhaust memory or file descriptors), request headers read within
//! [`ListenerLimits::header_read_timeout`] (a slowloris trickling its headers is cut off), and
//! for TLS the handshake within the same time.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum_server::accept::{Accept, DefaultAcceptor};
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a stopping server waits for in-flight requests.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// What one listener accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerLimits {
    /// Open connections at most; further ones are closed on accept (default 1024).
    pub max_connections: usize,
    /// Time to send a request's headers, to finish a TLS handshake, and to send the first byte
    /// (default 10 s).
    pub header_read_timeout: Duration,
    /// A connection with no byte in either direction for this long is closed (default 60 s,
    /// longer than the 30 s a request may take).
    pub idle_timeout: Duration,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// A server running in the background; stops gracefully on [`stop`](Self::stop) or when dropped.
#[derive(Debug)]
pub(crate) struct ServerHandle {
    handle: axum_server::Handle<SocketAddr>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl ServerHandle {
    /// Serves `app` over plain HTTP on `listener` until stopped.
    pub(crate) fn spawn(
        listener: tokio::net::TcpListener,
        app: Router,
        limits: ListenerLimits,
    ) -> io::Result<Self> {
        let handle = axum_server::Handle::new();
        let mut server = axum_server::from_tcp(listener.into_std()?)?
            .acceptor(Limited::new(DefaultAcceptor::new(), limits))
            .handle(handle.clone());
        bound_headers(server.http_builder(), limits);
        Ok(Self::run(handle, async move {
            server
                .serve(app.into_make_service_with_connect_info::<SocketAddr>())
                .await
        }))
    }

    /// Serves `app` over TLS (rustls) on `listener` until stopped.
    pub(crate) fn spawn_tls(
        listener: tokio::net::TcpListener,
        app: Router,
        tls: RustlsConfig,
        limits: ListenerLimits,
    ) -> io::Result<Self> {
        let handle = axum_server::Handle::new();
        let tls = RustlsAcceptor::new(tls).handshake_timeout(limits.header_read_timeout);
        let mut server = axum_server::from_tcp(listener.into_std()?)?
            .acceptor(Limited::new(tls, limits))
            .handle(handle.clone());
        bound_headers(server.http_builder(), limits);
        Ok(Self::run(handle, async move {
            server
                .serve(app.into_make_service_with_connect_info::<SocketAddr>())
                .await
        }))
    }

    fn run(
        handle: axum_server::Handle<SocketAddr>,
        serve: impl std::future::Future<Output = io::Result<()>> + Send + 'static,
    ) -> Self {
        let task = tokio::spawn(async move {
            if let Err(error) = serve.await {
                tracing::error!(%error, "server stopped with an error");
            }
        });
        Self {
            handle,
            task: Some(task),
        }
    }

    /// Stops accepting connections and waits for in-flight requests to finish.
    pub(crate) async fn stop(mut self) {
        self.signal();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn signal(&mut self) {
        self.handle.graceful_shutdown(Some(DRAIN_TIMEOUT));
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.signal();
    }
}

/// Request headers must arrive within the limit (hyper needs a timer to enforce it).
fn bound_headers(builder: &mut auto::Builder<TokioExecutor>, limits: ListenerLimits) {
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
}

/// An acceptor that admits a connection only with a permit, held until the connection closes.
#[derive(Debug, Clone)]
pub(crate) struct Limited<A> {
    inner: A,
    permits: Arc<Semaphore>,
    limits: ListenerLimits,
}

impl<A> Limited<A> {
    fn new(inner: A, limits: ListenerLimits) -> Self {
        Self {
            inner,
            permits: Arc::new(Semaphore::new(limits.max_connections.max(1))),
            limits,
        }
    }
}

impl<A, S> Accept<tokio::net::TcpStream, S> for Limited<A>
where
    A: Accept<Permitted<tokio::net::TcpStream>, S>,
    A::Future: Send + 'static,
    A::Stream: Send + 'static,
    A::Service: Send + 'static,
{
    type Stream = A::Stream;
    type Service = A::Service;
    type Future =
        Pin<Box<dyn std::future::Future<Output = io::Result<(A::Stream, A::Service)>> + Send>>;

    fn accept(&self, stream: tokio::net::TcpStream, service: S) -> Self::Future {
        match Arc::clone(&self.permits).try_acquire_owned() {
            Ok(permit) => {
                let _ = stream.set_nodelay(true);
                let inner = self.inner.accept(
                    Permitted {
                        stream,
                        _permit: permit,
                        // hyper's header timeout starts at the first byte: this one covers a
                        // connection that never sends one.
                        deadline: Box::pin(tokio::time::sleep(self.limits.header_read_timeout)),
                        idle_timeout: self.limits.idle_timeout,
                    },
                    service,
                );
                Box::pin(inner)
            }
            Err(_) => {
                tracing::warn!("connection limit reached; closing a new connection");
                Box::pin(std::future::ready(Err(io::Error::other(
                    "connection limit reached",
                ))))
            }
        }
    }
}

/// A stream that holds its connection's permit, and fails once no byte has moved for its
/// deadline: the header timeout before the first byte, the idle timeout after each one.
#[derive(Debug)]
pub(crate) struct Permitted<S> {
    stream: S,
    _permit: OwnedSemaphorePermit,
    deadline: Pin<Box<tokio::time::Sleep>>,
    idle_timeout: Duration,
}

impl<S> Permitted<S> {
    fn moved(&mut self) {
        let next = tokio::time::Instant::now() + self.idle_timeout;
        self.deadline.as_mut().reset(next);
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Permitted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) if buf.filled().len() > before => {
                self.moved();
                Poll::Ready(Ok(()))
            }
            Poll::Pending if self.deadline.as_mut().poll(cx).is_ready() => Poll::Ready(Err(
                io::Error::new(io::ErrorKind::TimedOut, "the connection was idle too long"),
            )),
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Permitted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            self.moved();
        }
        written
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            self.moved();
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
