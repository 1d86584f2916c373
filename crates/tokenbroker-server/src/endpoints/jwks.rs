//! `GET /.well-known/jwks.json`: the public keys that verify our tokens (RFC 7517 §5).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::keys::jwk_set;
use crate::state::AppState;

/// How long verifiers may cache the key set.
pub const JWKS_MAX_AGE_SECONDS: u64 = 300;

/// Serves the JWK Set with `Cache-Control: max-age`.
pub(crate) async fn jwks(State(state): State<Arc<AppState>>) -> Response {
    let ring = state.keyring();
    let mut response = Json(jwk_set(ring.published(state.unix_now()))).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_str(&format!("public, max-age={JWKS_MAX_AGE_SECONDS}"))
            .expect("static header"),
    );
    response
}
