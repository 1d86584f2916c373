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

/// Connects `caller` to the first backend, from `start` on, that accepts, and copies both ways.
async fn forward(mut caller: TcpStream, backends: Vec<SocketAddr>, start: usize) {
    for offset in 0..backends.len() {
        let backend = backends[(start + offset) % backends.len()];
        if let Ok(mut upstream) = TcpStream::connect(backend).await {
            let _ = tokio::io::copy_bidirectional(&mut caller, &mut upstream).await;
            return;
        }
    }
}
