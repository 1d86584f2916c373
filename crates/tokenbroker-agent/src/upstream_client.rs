//! The HTTP client for one upstream on one serving thread: a small pool of hyper connections —
//! HTTP/1.1 keep-alive connections, or one multiplexed HTTP/2 connection when ALPN or
//! `http2_prior_knowledge` says so — over rustls with the platform's trust store plus the
//! upstream's `ca_file`, or plain HTTP on loopback.
//!
//! Why not hyper-util's pooled `Client` (which the agent used first): measured with
//! `bench/agent_proxy.sh` it cost about a tenth of the agent's throughput. It keeps one pool for
//! every host behind a lock, builds a connect future for every request even when a connection is
//! idle, and spawns a task per request to hand the connection back when the response body ends.
//! Here every serving thread has its own pool per upstream, so a connection is handed back as soon
//! as the response head arrives and taken again once hyper says it is ready for the next request.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Body;
use http::header::HOST;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderValue, Request, Response, Uri};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::{Connection, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tower::ServiceExt;

/// What can go wrong reaching the upstream: connecting, TLS, or the exchange itself.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Connections kept per upstream and thread; more are closed after their response.
const MAX_POOLED: usize = 512;

/// How connections to one upstream are made.
#[derive(Clone)]
pub(crate) struct ConnectionSettings {
    /// Bounds the TCP connect; the whole exchange is bounded by `upstream_timeout` on top.
    pub connect_timeout: Duration,
    /// Speak HTTP/2 without ALPN (h2c on plain HTTP).
    pub http2_prior_knowledge: bool,
    /// The platform's roots plus any `ca_file` ones; ALPN is set by hyper-rustls.
    pub tls: Arc<rustls::ClientConfig>,
    /// Unused connections older than this are closed rather than reused (`upstream_idle_timeout`).
    pub idle_timeout: Duration,
}

/// One upstream's connections on one serving thread.
pub(crate) struct UpstreamClient {
    connector: HttpsConnector<HttpConnector>,
    /// `scheme://authority/`: what is connected to.
    origin: Uri,
    scheme: Scheme,
    authority: Authority,
    /// `Host` for HTTP/1.1 requests (HTTP/2 carries the authority in the request URI).
    host: HeaderValue,
    settings: ConnectionSettings,
    pool: Mutex<Pool>,
}

struct Pool {
    http1: Vec<Idle>,
    http2: Option<http2::SendRequest<Body>>,
    /// When the HTTP/2 connection last started a request.
    http2_since: Instant,
}

impl Default for Pool {
    fn default() -> Self {
        Self {
            http1: Vec::new(),
            http2: None,
            http2_since: Instant::now(),
        }
    }
}

struct Idle {
    sender: http1::SendRequest<Body>,
    since: Instant,
}

enum Sender {
    Http1(http1::SendRequest<Body>),
    Http2(http2::SendRequest<Body>),
}

impl UpstreamClient {
    /// A client for `scheme://authority` with an empty pool. `None` if the authority cannot be a
    /// `Host` header.
    pub(crate) fn new(
        scheme: Scheme,
        authority: Authority,
        settings: ConnectionSettings,
    ) -> Option<Self> {
        let origin = Uri::builder()
            .scheme(scheme.clone())
            .authority(authority.clone())
            .path_and_query("/")
            .build()
            .ok()?;
        let host = HeaderValue::from_str(authority.as_str()).ok()?;
        Some(Self {
            connector: connector(&settings),
            origin,
            scheme,
            authority,
            host,
            settings,
            pool: Mutex::new(Pool::default()),
        })
    }

    /// The same upstream with a pool of its own, for another serving thread.
    pub(crate) fn for_another_thread(&self) -> Self {
        Self {
            // The connector holds no connections: sharing its configuration is fine.
            connector: self.connector.clone(),
            origin: self.origin.clone(),
            scheme: self.scheme.clone(),
            authority: self.authority.clone(),
            host: self.host.clone(),
            settings: self.settings.clone(),
            pool: Mutex::new(Pool::default()),
        }
    }

    /// Sends `request` to `path` on this upstream and returns the response head, its body still
    /// streaming. The request URI and `Host` are set here. A pooled connection that the upstream
    /// closed before the request could be written hands the request back unsent; it then goes out
    /// on the next pooled connection or a new one, so keep-alive races never fail a request.
    pub(crate) async fn send(
        &self,
        mut request: Request<Body>,
        path: PathAndQuery,
    ) -> Result<Response<Incoming>, BoxError> {
        loop {
            let (sender, pooled) = match self.checkout() {
                Some(sender) => (sender, true),
                None => (self.connect().await?, false),
            };
            let sent = match sender {
                Sender::Http1(mut sender) => {
                    *request.uri_mut() = Uri::from(path.clone());
                    request.headers_mut().insert(HOST, self.host.clone());
                    let sent = sender.try_send_request(request).await;
                    self.check_in(sender);
                    sent
                }
                Sender::Http2(mut sender) => {
                    *request.uri_mut() = self.absolute(&path)?;
                    request.headers_mut().remove(HOST);
                    sender.ready().await?;
                    sender.try_send_request(request).await
                }
            };
            match sent {
                Ok(response) => return Ok(response),
                Err(mut failed) => match failed.take_message() {
                    Some(unsent) if pooled => request = unsent,
                    _ => return Err(failed.into_error().into()),
                },
            }
        }
    }

    /// An HTTP/2 connection, or an HTTP/1.1 one ready for a request; closed and stale
    /// connections met on the way are dropped.
    fn checkout(&self) -> Option<Sender> {
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(http2) = &pool.http2 {
            if !http2.is_closed() {
                let sender = http2.clone();
                pool.http2_since = Instant::now();
                return Some(Sender::Http2(sender));
            }
            pool.http2 = None;
        }
        self.sweep(&mut pool, true).map(Sender::Http1)
    }

    /// Closes the connections that have been unused for `upstream_idle_timeout`. Called
    /// periodically: without traffic, nothing else would look at the pool.
    pub(crate) fn close_idle(&self) {
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        self.sweep(&mut pool, false);
        let http2_idle = pool.http2.as_ref().is_some_and(|http2| {
            http2.is_closed() || pool.http2_since.elapsed() > self.settings.idle_timeout
        });
        if http2_idle {
            pool.http2 = None;
        }
    }

    /// Drops closed and stale HTTP/1.1 connections; with `take`, returns the first one that is
    /// ready for a request.
    fn sweep(&self, pool: &mut Pool, take: bool) -> Option<http1::SendRequest<Body>> {
        let now = Instant::now();
        let mut at = 0;
        while at < pool.http1.len() {
            let idle = &pool.http1[at];
            if idle.sender.is_closed()
                || now.duration_since(idle.since) > self.settings.idle_timeout
            {
                // Dropping the last sender ends the connection once it is idle.
                pool.http1.swap_remove(at);
            } else if take && idle.sender.is_ready() {
                return Some(pool.http1.swap_remove(at).sender);
            } else {
                // Still receiving its previous response's body, or not wanted now.
                at += 1;
            }
        }
        None
    }

    fn check_in(&self, sender: http1::SendRequest<Body>) {
        if sender.is_closed() {
            return;
        }
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        if pool.http1.len() < MAX_POOLED {
            pool.http1.push(Idle {
                sender,
                since: Instant::now(),
            });
        }
    }

    /// A new connection: TCP (and TLS), then HTTP/2 if negotiated or configured, else HTTP/1.1.
    /// Its connection task runs on this thread's runtime.
    async fn connect(&self) -> Result<Sender, BoxError> {
        let stream = self.connector.clone().oneshot(self.origin.clone()).await?;
        if self.settings.http2_prior_knowledge || stream.connected().is_negotiated_h2() {
            let (sender, connection) = http2::Builder::new(TokioExecutor::new())
                .timer(TokioTimer::new())
                .handshake(stream)
                .await?;
            tokio::spawn(drive(connection));
            let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
            pool.http2 = Some(sender.clone());
            pool.http2_since = Instant::now();
            Ok(Sender::Http2(sender))
        } else {
            let (sender, connection) = http1::handshake(stream).await?;
            tokio::spawn(drive(connection));
            Ok(Sender::Http1(sender))
        }
    }

    fn absolute(&self, path: &PathAndQuery) -> Result<Uri, BoxError> {
        Ok(Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(path.clone())
            .build()?)
    }
}

/// Runs a connection until the upstream or the pool closes it.
async fn drive<F, E>(connection: F)
where
    F: std::future::Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    if let Err(error) = connection.await {
        tracing::debug!(%error, "upstream connection ended");
    }
}

fn connector(settings: &ConnectionSettings) -> HttpsConnector<HttpConnector> {
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp.set_connect_timeout(Some(settings.connect_timeout));
    hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(settings.tls.as_ref().clone())
        // Plain HTTP only reaches loopback: base_url passed the HTTPS rule.
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(tcp)
}
