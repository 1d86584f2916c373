//! Thread-per-core serving: N threads, each running a single-threaded Tokio runtime with its own
//! `SO_REUSEPORT` listener on the agent's address and its own upstream connection pools. The
//! kernel spreads incoming connections over the listeners.
//!
//! Why not one multi-threaded runtime: measured with `bench/agent_proxy.sh`, it spent its time
//! handing each request between tasks on different threads (the server connection, the handler,
//! the pooled upstream connection's task), each hand-off a futex wake-up and, in a VM, an
//! inter-processor interrupt: 21–24k requests/s with one or two worker threads, against 32k on a
//! single current-thread runtime. Here a request, its upstream connection and that connection's
//! task stay on one thread.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::sync::{oneshot, watch};

use crate::connections;
use crate::error::AgentError;
use crate::state::AgentState;

/// Binds `count` listeners on `addr` with `SO_REUSEPORT`; port 0 becomes one ephemeral port
/// shared by all of them.
pub(crate) fn bind(
    addr: SocketAddr,
    count: usize,
) -> Result<(SocketAddr, Vec<std::net::TcpListener>), AgentError> {
    let failed = |source| AgentError::Listen {
        what: addr.to_string(),
        source,
    };
    let mut bound = addr;
    let mut listeners = Vec::with_capacity(count);
    for _ in 0..count.max(1) {
        let socket = match bound {
            SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
            SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
        }
        .map_err(failed)?;
        socket.set_reuseaddr(true).map_err(failed)?;
        socket.set_reuseport(true).map_err(failed)?;
        socket.set_nodelay(true).map_err(failed)?;
        socket.bind(bound).map_err(failed)?;
        let listener = socket.listen(1024).map_err(failed)?;
        bound = listener.local_addr().map_err(failed)?;
        listeners.push(listener.into_std().map_err(failed)?);
    }
    Ok((bound, listeners))
}

/// Starts one serving thread per listener; each receiver completes when its thread has drained.
pub(crate) fn spawn(
    listeners: Vec<std::net::TcpListener>,
    state: &AgentState,
    router: fn(Arc<AgentState>) -> Router,
    stopped: &watch::Receiver<bool>,
) -> Result<Vec<oneshot::Receiver<()>>, AgentError> {
    let mut finished = Vec::with_capacity(listeners.len());
    for (index, listener) in listeners.into_iter().enumerate() {
        let state = state.for_another_thread();
        let stopped = stopped.clone();
        let (done, finished_rx) = oneshot::channel();
        std::thread::Builder::new()
            .name(format!("agent-worker-{index}"))
            .spawn(move || serve_on_this_thread(listener, Arc::new(state), router, stopped, done))
            .map_err(|source| AgentError::Listen {
                what: "a serving thread".into(),
                source,
            })?;
        finished.push(finished_rx);
    }
    Ok(finished)
}

fn serve_on_this_thread(
    listener: std::net::TcpListener,
    state: Arc<AgentState>,
    router: fn(Arc<AgentState>) -> Router,
    stopped: watch::Receiver<bool>,
    done: oneshot::Sender<()>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "cannot start a serving thread's runtime");
            return;
        }
    };
    runtime.block_on(async move {
        match tokio::net::TcpListener::from_std(listener) {
            Ok(listener) => {
                tokio::spawn(Arc::clone(&state).close_idle_connections());
                let router = router(Arc::clone(&state));
                connections::serve(listener, state, router, stopped).await
            }
            Err(error) => tracing::error!(%error, "cannot register the listener"),
        }
    });
    let _ = done.send(());
}
