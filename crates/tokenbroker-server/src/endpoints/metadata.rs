//! `GET /.well-known/oauth-authorization-server` (RFC 8414 §3) and the same document at
//! `/.well-known/openid-configuration`, for tools that only know OpenID discovery.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::dialect::STANDARD_TOKEN_PATH;
use crate::routes::{INTROSPECTION_PATH, REVOCATION_PATH};
use crate::state::AppState;

/// The authorization server metadata.
pub(crate) async fn metadata(State(state): State<Arc<AppState>>) -> Json<Value> {
    let issuer = state.issuer.trim_end_matches('/');
    let ring = state.keyring();
    let mut algorithms: Vec<String> = ring
        .published(state.unix_now())
        .iter()
        .map(|k| format!("{:?}", k.algorithm()))
        .collect();
    algorithms.dedup();
    Json(json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}{STANDARD_TOKEN_PATH}"),
        "jwks_uri": format!("{issuer}{}", crate::routes::JWKS_PATH),
        "revocation_endpoint": format!("{issuer}{REVOCATION_PATH}"),
        "introspection_endpoint": format!("{issuer}{INTROSPECTION_PATH}"),
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "grant_types_supported": ["client_credentials", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        // RFC 8414 §2 requires the member; with no authorization endpoint there is no
        // response_type to support.
        "response_types_supported": [],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algorithms,
        "access_token_signing_alg_values_supported": algorithms,
    }))
}
