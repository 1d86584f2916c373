//! Call a Telenor Communication API: a client-credentials bearer token (Basic style) plus the
//! X-JWT obtained from hasPermission with it, and a fresh `X-Transaction-Id` on every request
//! (Telenor Sweden Open APIs).
//!
//! ```sh
//! TELENOR_BASE_URL=https://… TELENOR_CLIENT_ID=… TELENOR_CLIENT_SECRET=… \
//! X_JWT_SERVICE="Mobile Subscriptions Administration API" X_JWT_CLIENT_ID=… X_JWT_USER_ID=… \
//! X_JWT_PASSWORD=… cargo run -p tokenbroker --example telenor_x_jwt
//! ```
//!
//! The local sandbox (`tokenbroker serve --dev`) stands in for all of it: `TELENOR_BASE_URL=
//! http://127.0.0.1:8080`, `dev-telenor` and its secret, and the Communication user it prints.

use std::sync::Arc;

use tokenbroker::{
    AuthMiddleware, CachedTokenSource, ClientConfig, TelenorRegion, TokenClient, XJwtConfig,
    XJwtSource,
};

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("set {name}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base_url = env("TELENOR_BASE_URL")?;
    let bearer = ClientConfig::telenor(
        &base_url,
        TelenorRegion::Sweden,
        env("TELENOR_CLIENT_ID")?,
        env("TELENOR_CLIENT_SECRET")?,
    )
    .build()?;
    let bearer = Arc::new(CachedTokenSource::new(TokenClient::new(bearer)?));
    let x_jwt = XJwtConfig::new(
        &base_url,
        &env("X_JWT_SERVICE")?,
        env("X_JWT_CLIENT_ID")?,
        env("X_JWT_USER_ID")?.parse()?,
        env("X_JWT_PASSWORD")?,
    )?;
    // Cached until 75 % of its lifetime, dropped when the bearer token changes.
    let x_jwt = Arc::new(XJwtSource::new(Arc::clone(&bearer), x_jwt));
    let api = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(AuthMiddleware::new(bearer).x_jwt(x_jwt))
        .build();
    let path = std::env::var("API_PATH")
        .unwrap_or_else(|_| "/b2b/mobile-admin/productCatalogManagement/v1/serviceRules".into());
    let response = api.get(format!("{base_url}{path}")).send().await?;
    println!("{} {}", response.status(), response.text().await?);
    Ok(())
}
