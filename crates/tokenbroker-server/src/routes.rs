//! The HTTP surface shared by every way of running the server.

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;

use crate::dialect::{Dialect, STANDARD_TOKEN_PATH};
use crate::endpoints::{admin, health, introspection, jwks, metadata, revocation, token};
use crate::state::AppState;

/// RFC 7009 revocation endpoint.
pub const REVOCATION_PATH: &str = "/oauth2/revoke";
/// RFC 7662 introspection endpoint.
pub const INTROSPECTION_PATH: &str = "/oauth2/introspect";
/// Telenor's logout endpoint (Telenor Norway client credentials grant).
pub const LOGOUT_PATH: &str = tokenbroker_wire::provider::TELENOR_NORWAY_LOGOUT_PATH;
/// The revocation feed guards poll.
pub const REVOCATION_FEED_PATH: &str = "/revocations";

/// Longest a request may take before it is answered 408.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Largest request body accepted (token requests are a few hundred bytes).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Every endpoint: the providers' token paths, the standard one, keys and metadata.
pub fn router(state: Arc<AppState>) -> Router {
    let token_route = |dialect: Dialect| post(move |s, c, h, b| token::token(s, c, dialect, h, b));
    let mut router = Router::new()
        .route("/.well-known/jwks.json", get(jwks::jwks))
        .route(
            "/.well-known/oauth-authorization-server",
            get(metadata::metadata),
        )
        .route("/.well-known/openid-configuration", get(metadata::metadata))
        .route(STANDARD_TOKEN_PATH, token_route(state.profile.dialect()))
        .route(REVOCATION_PATH, post(revocation::revoke))
        .route(INTROSPECTION_PATH, post(introspection::introspect))
        .route(LOGOUT_PATH, get(revocation::logout))
        .route(REVOCATION_FEED_PATH, get(revocation::feed))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route(
            "/admin/clients",
            get(admin::list_clients).post(admin::create_client),
        )
        .route(
            "/admin/clients/{id}",
            get(admin::show_client).delete(admin::delete_client),
        )
        .route(
            "/admin/clients/{id}/rotate-secret",
            post(admin::rotate_secret),
        )
        .route("/admin/clients/{id}/disable", post(admin::disable_client))
        .route("/admin/clients/{id}/enable", post(admin::enable_client))
        .route("/admin/audit", get(admin::audit_log));
    for dialect in [
        Dialect::Entur,
        Dialect::TelenorNorway,
        Dialect::TelenorSweden,
    ] {
        router = router.route(dialect.token_path(), token_route(dialect));
    }
    router
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .with_state(state)
}

/// A server running in the background; stops gracefully on [`stop`](Self::stop) or when dropped.
pub struct ServerHandle {
    shutdown: Option<Shutdown>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// How a running server is told to stop.
enum Shutdown {
    Plain(tokio::sync::oneshot::Sender<()>),
    Tls(axum_server::Handle<std::net::SocketAddr>),
}

/// How long a stopping server waits for in-flight requests.
pub const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

impl ServerHandle {
    /// Serves `app` over plain HTTP on `listener` until stopped.
    pub fn spawn(listener: tokio::net::TcpListener, app: Router) -> Self {
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
    pub fn spawn_tls(
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
    pub async fn stop(mut self) {
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
