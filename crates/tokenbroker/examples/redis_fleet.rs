//! One token for a whole fleet: every instance consults a Redis cache (tokens sealed with a
//! shared key) before the token endpoint, so N instances cost one token request, not N. Here
//! three "instances" in one process share it; in production they are separate processes with
//! the same key. Needs the `redis` feature.
//!
//! ```sh
//! export TOKENBROKER_CACHE_KEY=$(openssl rand -base64 32)
//! TOKEN_URL=… CLIENT_ID=… CLIENT_SECRET=… AUDIENCE=… REDIS_URL=redis://127.0.0.1:6379 \
//!   cargo run -p tokenbroker --features redis --example redis_fleet
//! ```

use std::sync::Arc;

use tokenbroker::redis_cache::{CacheCipher, RedisCacheConfig, RedisTokenCache};
use tokenbroker::{AuthStyle, CachedTokenSource, ClientConfig, FetchBudget, TokenClient};

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("set {name}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = ClientConfig::builder(env("TOKEN_URL")?, env("CLIENT_ID")?, env("CLIENT_SECRET")?)
        .auth_style(AuthStyle::Json)
        .audience(env("AUDIENCE")?)
        .build()?;
    let redis_url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let cipher =
        CacheCipher::from_base64(&env("TOKENBROKER_CACHE_KEY")?, "$TOKENBROKER_CACHE_KEY")?;
    let shared = Arc::new(RedisTokenCache::new(RedisCacheConfig::new(
        redis_url, cipher,
    ))?);
    let mut instances = Vec::new();
    for _ in 0..3 {
        let source = CachedTokenSource::builder(TokenClient::new(config.clone())?)
            .shared_cache(Arc::clone(&shared) as _)
            // A budget protects the provider's quota even if Redis is down.
            .budget(FetchBudget {
                per_hour: Some(60),
                per_day: None,
            })
            .build();
        instances.push(source);
    }
    for (number, instance) in instances.iter().enumerate() {
        let token = instance.token().await?;
        let stats = instance.stats();
        println!(
            "instance {number}: token {} (token requests {}, from Redis {})",
            token.fingerprint(),
            stats.fetches,
            stats.shared_hits
        );
    }
    Ok(())
}
