//! Protect an axum API with the guard: every request needs a valid bearer token for this API's
//! audience from the issuer, and the route needs a scope. 401 without a valid token, 403
//! without the scope (Entur partner authentication).
//!
//! ```sh
//! # a local issuer: tokenbroker serve --dev (issuer http://127.0.0.1:8080)
//! ISSUER=http://127.0.0.1:8080 AUDIENCE=https://api.dev.entur.io \
//!   cargo run -p tokenbroker-guard --example protect_an_api
//! curl -H "Authorization: Bearer $(tokenbroker token …)" http://127.0.0.1:3000/programs/1
//! ```

use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use tokenbroker_guard::{Guard, GuardConfig, GuardLayer, VerifiedToken};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let issuer = std::env::var("ISSUER").unwrap_or_else(|_| "https://partner.dev.entur.org".into());
    let audience = std::env::var("AUDIENCE").unwrap_or_else(|_| "https://api.dev.entur.io".into());
    // Discovers the JWKS (RFC 8414), keeps it fresh, follows the issuer's revocation feed.
    let guard = Guard::start(GuardConfig::new(issuer, audience)).await?;
    let app = Router::new().route(
        "/programs/{id}",
        get(program).layer(GuardLayer::new(guard).require_scopes(["personalisation:read"])),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

async fn program(Path(id): Path<u32>, token: VerifiedToken) -> String {
    format!(
        "program {id} for {}\n",
        token.client_id().unwrap_or("an unnamed client")
    )
}
