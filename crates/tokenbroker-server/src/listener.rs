//! Serving a router on a listener, plain or TLS, until told to stop: the one place that knows
//! how a server is shut down gracefully.

use axum::Router;

/// A server running in the background; stops gracefully on [`stop`](Self::stop) or when dropped.
#[derive(Debug)]
pub(crate) struct ServerHandle {
    shutdown: Option<Shutdown>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// How a running server is told to stop.
#[derive(Debug)]
enum Shutdown {
    Plain(tokio::sync::oneshot::Sender<()>),
    Tls(axum_server::Handle<std::net::SocketAddr>),
}

/// How long a stopping server waits for in-flight requests.
pub const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

impl ServerHandle {
    /// Serves `app` over plain HTTP on `listener` until stopped.
    pub(crate) fn spawn(listener: tokio::net::TcpListener, app: Router) -> Self {
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = serve.await {
                tracing::error!(%error, "server stopped with an error");
            }
        });
        Self {
            shutdown: Some(Shutdown::Plain(shutdown)),
            task: Some(task),
        }
    }

    /// Serves `app` over TLS (rustls) on `listener` until stopped.
    pub(crate) fn spawn_tls(
        listener: tokio::net::TcpListener,
        app: Router,
        tls: axum_server::tls_rustls::RustlsConfig,
    ) -> std::io::Result<Self> {
        let handle = axum_server::Handle::new();
        let server =
            axum_server::from_tcp_rustls(listener.into_std()?, tls)?.handle(handle.clone());
        let task = tokio::spawn(async move {
            let serve =
                server.serve(app.into_make_service_with_connect_info::<std::net::SocketAddr>());
            if let Err(error) = serve.await {
                tracing::error!(%error, "TLS server stopped with an error");
            }
        });
        Ok(Self {
            shutdown: Some(Shutdown::Tls(handle)),
            task: Some(task),
        })
    }

    /// Stops accepting connections and waits for in-flight requests to finish.
    pub(crate) async fn stop(mut self) {
        self.signal();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn signal(&mut self) {
        match self.shutdown.take() {
            Some(Shutdown::Plain(sender)) => {
                let _ = sender.send(());
            }
            Some(Shutdown::Tls(handle)) => handle.graceful_shutdown(Some(DRAIN_TIMEOUT)),
            None => {}
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.signal();
    }
}
