//! A round-robin TCP proxy on a loopback port: the load balancer in front of a fleet of servers,
//! for tests. Each connection goes to the next backend that accepts it; a backend that refuses
//! (a stopped node) is skipped, as a load balancer's health check would.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};

/// A running proxy; stops accepting when dropped.
#[derive(Debug)]
pub struct RoundRobinProxy {
    addr: SocketAddr,
    backends: Arc<Mutex<Vec<SocketAddr>>>,
    task: tokio::task::JoinHandle<()>,
}

impl RoundRobinProxy {
    /// Binds an ephemeral loopback port; backends are added with [`set_backends`](Self::set_backends)
    /// (the nodes need the proxy's address as their issuer before they start).
    pub async fn bind() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("a bound address");
        let backends: Arc<Mutex<Vec<SocketAddr>>> = Arc::default();
        let next = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn({
            let backends = Arc::clone(&backends);
            async move {
                while let Ok((caller, _)) = listener.accept().await {
                    let candidates = backends.lock().expect("backends").clone();
                    let start = next.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(forward(caller, candidates, start));
                }
            }
        });
        Self {
            addr,
            backends,
            task,
        }
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<address>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The servers connections are spread over.
    pub fn set_backends(&self, backends: impl IntoIterator<Item = SocketAddr>) {
        *self.backends.lock().expect("backends") = backends.into_iter().collect();
    }
}

impl Drop for RoundRobinProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Connects `caller` to the first backend, from `start` on, that accepts and answers, and copies
/// both ways. A backend that closes the connection before sending a byte (a node stopping with
/// the connection still in its listen backlog) has not seen the request: the next backend gets
/// it, replayed — as a load balancer's `retry-on empty-response` does.
async fn forward(mut caller: TcpStream, backends: Vec<SocketAddr>, start: usize) {
    let mut sent = Vec::new();
    for offset in 0..backends.len() {
        let backend = backends[(start + offset) % backends.len()];
        let Ok(upstream) = TcpStream::connect(backend).await else {
            continue;
        };
        match relay(&mut caller, upstream, &mut sent).await {
            Relayed::Answered | Relayed::CallerGone => return,
            Relayed::Empty => continue,
        }
    }
}

/// How one backend took a connection.
enum Relayed {
    /// It answered; everything was copied until one side closed.
    Answered,
    /// It closed before answering anything.
    Empty,
    /// The caller went away (or replaying is impossible).
    CallerGone,
}

/// The most request bytes kept for a replay; a larger request is not retried.
const MAX_REPLAY_BYTES: usize = 1024 * 1024;

async fn relay(caller: &mut TcpStream, mut upstream: TcpStream, sent: &mut Vec<u8>) -> Relayed {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    if upstream.write_all(sent).await.is_err() {
        return Relayed::Empty;
    }
    let mut from_caller = [0u8; 16 * 1024];
    let mut from_upstream = [0u8; 16 * 1024];
    loop {
        tokio::select! {
            read = caller.read(&mut from_caller) => match read {
                Ok(0) | Err(_) => return Relayed::CallerGone,
                Ok(n) => {
                    if sent.len() + n > MAX_REPLAY_BYTES {
                        return Relayed::CallerGone;
                    }
                    sent.extend_from_slice(&from_caller[..n]);
                    if upstream.write_all(&from_caller[..n]).await.is_err() {
                        return Relayed::Empty;
                    }
                }
            },
            read = upstream.read(&mut from_upstream) => match read {
                Ok(0) | Err(_) => return Relayed::Empty,
                Ok(n) => {
                    if caller.write_all(&from_upstream[..n]).await.is_err() {
                        return Relayed::CallerGone;
                    }
                    let _ = tokio::io::copy_bidirectional(caller, &mut upstream).await;
                    return Relayed::Answered;
                }
            },
        }
    }
}
