//! Call an Entur partner API with a cached, refreshed-ahead token and the `ET-Client-Name`
//! header (Entur partner authentication, Entur API authentication).
//!
//! ```sh
//! ENTUR_CLIENT_ID=… ENTUR_CLIENT_SECRET=… ET_CLIENT_NAME=acme-app cargo run -p tokenbroker --example entur
//! ```
//!
//! Against the local sandbox (`tokenbroker serve --dev` prints `dev-entur` and its secret):
//! `ENTUR_TOKEN_URL=http://127.0.0.1:8080/oauth/token API_URL=http://127.0.0.1:8080/personalisation/v1/programs/1`.

use std::sync::Arc;

use tokenbroker::{
    AuthMiddleware, CachedTokenSource, ClientConfig, ClientName, EnturEnvironment, TokenClient,
};

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("set {name}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The preset fills the token URL, the JSON style and the audience of Entur's dev
    // environment; a token URL of your own points that style at another server.
    let mut config = ClientConfig::entur(
        EnturEnvironment::Dev,
        env("ENTUR_CLIENT_ID")?,
        env("ENTUR_CLIENT_SECRET")?,
    )
    .scope("personalisation:read");
    if let Ok(token_url) = std::env::var("ENTUR_TOKEN_URL") {
        config = config.token_url(token_url);
    }
    // One source per client: lock-free reads, one background refresh at 75 % of the lifetime.
    let tokens = Arc::new(CachedTokenSource::new(TokenClient::new(config.build()?)?));
    let client_name = std::env::var("ET_CLIENT_NAME").unwrap_or_else(|_| "acme-example".into());
    let api = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(AuthMiddleware::new(Arc::clone(&tokens)).client_name(ClientName::new(&client_name)?))
        .build();
    let url = std::env::var("API_URL")
        .unwrap_or_else(|_| "https://api.dev.entur.io/personalisation/v1/programs/1".into());
    // Two calls, one token request: the second reads the cached token.
    for _ in 0..2 {
        let response = api.get(&url).send().await?;
        println!("{} {}", response.status(), response.text().await?);
    }
    println!("token requests sent: {}", tokens.stats().fetches);
    Ok(())
}
