//! Demo partner APIs, each behind its own guard, answering like the providers' examples.
//!
//! - Entur-like: `GET /personalisation/v1/programs/{id}` (Entur partner API authentication's example request), requiring
//!   the `personalisation:read` scope and `ET-Client-Name` (Entur API authentication).
//! - `GET /personalisation/v1/programs/{id}/export?seconds=N`: the same, but slow — a token that
//!   expires meanwhile gets 408.
//! - Telenor-like: `GET /corporate/fixed-network/product-catalog/product-offers` (Telenor Sweden Open APIs's
//!   usage example), bearer token only.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Path, Query};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokenbroker_guard::{ClientNameLayer, ClientNamePolicy, Guard, GuardLayer, VerifiedToken};

/// The audience the Entur-like API accepts (Entur's dev environment, Entur partner API authentication).
pub const ENTUR_AUDIENCE: &str = "https://api.dev.entur.io";
/// The scope the Entur-like program route needs.
pub const PROGRAMS_SCOPE: &str = "personalisation:read";
/// The audience the Telenor-like API accepts.
pub const TELENOR_AUDIENCE: &str = "https://api.telenor.no";

/// The demo routes, guarded by `entur` and `telenor`.
pub fn routes(entur: Arc<Guard>, telenor: Arc<Guard>) -> Router {
    Router::new()
        .route(
            "/personalisation/v1/programs/{id}",
            get(program)
                .layer::<_, Infallible>(
                    GuardLayer::new(Arc::clone(&entur)).require_scopes([PROGRAMS_SCOPE]),
                )
                .layer(ClientNameLayer::new(ClientNamePolicy::Require)),
        )
        .route(
            "/personalisation/v1/programs/{id}/export",
            get(export)
                .layer::<_, Infallible>(
                    GuardLayer::new(Arc::clone(&entur)).require_scopes([PROGRAMS_SCOPE]),
                )
                .layer(ClientNameLayer::new(ClientNamePolicy::Require)),
        )
        .route(
            "/corporate/fixed-network/product-catalog/product-offers",
            get(product_offers).layer(GuardLayer::new(telenor)),
        )
}

async fn program(Path(id): Path<u32>, token: VerifiedToken) -> Json<Value> {
    Json(json!({
        "id": id,
        "name": format!("Loyalty program {id}"),
        "caller": token.client_id(),
    }))
}

#[derive(serde::Deserialize)]
struct ExportQuery {
    seconds: Option<u64>,
}

/// A slow export (`?seconds=N`, at most 30): long enough for a token to expire mid-request,
/// which the guard answers with 408 (Entur's authentication pages).
async fn export(Path(id): Path<u32>, Query(query): Query<ExportQuery>) -> Json<Value> {
    let seconds = query.seconds.unwrap_or(5).min(30);
    tokio::time::sleep(std::time::Duration::from_secs(seconds)).await;
    Json(json!({ "id": id, "exported": true }))
}

async fn product_offers(token: VerifiedToken) -> Json<Value> {
    Json(json!({
        "caller": token.client_id(),
        "productOffers": [
            { "id": "fiber-500", "name": "Fiber 500/500" },
            { "id": "fiber-1000", "name": "Fiber 1000/1000" },
        ],
    }))
}
