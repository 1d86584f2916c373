//! A tiny partner API for middleware tests: records what it receives, rejects tokens on demand.
#![allow(dead_code)]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::any;
use axum::Router;

/// What the API saw on one request.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub authorization: Option<String>,
    pub client_name: Option<String>,
    pub transaction_id: Option<String>,
    pub body: Bytes,
}

#[derive(Default)]
pub(crate) struct ApiState {
    pub seen: Mutex<Vec<Seen>>,
    /// Reject the first token ever presented (as if it had been revoked).
    pub reject_first_token: bool,
    /// Reject every token.
    pub reject_all: bool,
    pub rejected: Mutex<HashSet<String>>,
}

pub(crate) struct Api {
    pub addr: SocketAddr,
    pub state: Arc<ApiState>,
}

impl Api {
    pub(crate) async fn start(state: ApiState) -> Self {
        let state = Arc::new(state);
        let app = Router::new()
            .route("/{*path}", any(handle))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, state }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }
}

async fn handle(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let seen = Seen {
        authorization: header("authorization"),
        client_name: header("et-client-name"),
        transaction_id: header("x-transaction-id"),
        body,
    };
    let token = seen.authorization.clone().unwrap_or_default();
    state.seen.lock().unwrap().push(seen);
    let mut rejected = state.rejected.lock().unwrap();
    if state.reject_first_token && rejected.is_empty() {
        rejected.insert(token.clone());
    }
    if state.reject_all || rejected.contains(&token) || !token.starts_with("Bearer ") {
        return (StatusCode::UNAUTHORIZED, "token expired or revoked");
    }
    (StatusCode::OK, "{\"id\":1}")
}
