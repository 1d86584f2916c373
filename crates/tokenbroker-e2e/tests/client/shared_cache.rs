//! The Redis shared cache against a real `redis-server` and the local authorization server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::common::*;
use tokenbroker::redis_cache::{CacheCipher, RedisCacheConfig, RedisTokenCache};
use tokenbroker::{CachedTokenSource, TokenClient};
use tokenbroker_testkit::RedisServer;

const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

fn cache_config(redis: &RedisServer) -> RedisCacheConfig {
    let mut config =
        RedisCacheConfig::new(redis.url(), CacheCipher::from_base64(KEY, "test").unwrap());
    config.max_wait = Duration::from_millis(1500);
    config
}

/// One "instance": its own HTTP client, local cache and Redis connection, like a process.
fn instance(
    server: &tokenbroker_server::AuthServer,
    config: RedisCacheConfig,
) -> Arc<CachedTokenSource> {
    instance_on(server, config, Arc::new(tokenbroker::SystemClock))
}

/// An instance whose time is `clock`.
fn instance_on(
    server: &tokenbroker_server::AuthServer,
    config: RedisCacheConfig,
    clock: Arc<dyn tokenbroker::Clock>,
) -> Arc<CachedTokenSource> {
    let client = TokenClient::with_clock(entur(server).build().unwrap(), clock).unwrap();
    let cache = Arc::new(RedisTokenCache::new(config).unwrap());
    Arc::new(
        CachedTokenSource::builder(client)
            .policy(quick_policy())
            .shared_cache(cache)
            .build(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_cold_instances_spend_one_token() {
    let redis = RedisServer::start();
    let server = server().await;
    // Slow enough that all four ask while the first fetch is in flight.
    server.faults().set_delay(Duration::from_millis(300));
    let instances: Vec<_> = (0..4)
        .map(|_| instance(&server, cache_config(&redis)))
        .collect();
    let calls: Vec<_> = instances
        .iter()
        .map(|source| {
            let source = Arc::clone(source);
            tokio::spawn(async move { source.token().await })
        })
        .collect();
    let mut tokens = Vec::new();
    for call in calls {
        tokens.push(call.await.unwrap().unwrap());
    }
    assert_eq!(server.token_requests(), 1, "one fetch for the whole fleet");
    assert!(tokens.iter().all(|t| t.same_as(&tokens[0])));
    let shared_hits: u64 = instances.iter().map(|s| s.stats().shared_hits).sum();
    assert_eq!(shared_hits, 3);
}

#[tokio::test]
async fn tokens_are_sealed_at_rest_and_expire_with_the_token() {
    let redis = RedisServer::start();
    let server = server().await;
    let source = instance(&server, cache_config(&redis));
    let token = source.token().await.unwrap();
    let keys = redis.command("KEYS tokenbroker:token:*");
    let key = keys
        .lines()
        .find(|l| l.starts_with("tokenbroker:"))
        .expect("one token key")
        .to_owned();
    let stored = redis.command(&format!("GET {key}"));
    assert!(
        !stored.contains(token.secret()),
        "the token must not be stored in the clear"
    );
    assert!(!stored.contains(&token.secret()[..20]));
    let pttl: i64 = redis
        .command(&format!("PTTL {key}"))
        .trim()
        .trim_start_matches(':')
        .parse()
        .unwrap();
    let lifetime = token.lifetime().as_millis() as i64;
    assert!(
        pttl > 0 && pttl <= lifetime,
        "PTTL {pttl} within the lifetime {lifetime}"
    );
    assert_eq!(
        redis.command("KEYS tokenbroker:lease:*").trim(),
        "*0",
        "lease released"
    );
}

#[tokio::test]
async fn a_token_sealed_with_another_key_or_garbage_is_ignored() {
    let redis = RedisServer::start();
    let server = server().await;
    let other_key = RedisCacheConfig::new(
        redis.url(),
        CacheCipher::from_bytes(&[9u8; 32], "other").unwrap(),
    );
    instance(&server, other_key).token().await.unwrap();
    let fresh = instance(&server, cache_config(&redis));
    fresh.token().await.unwrap();
    assert_eq!(
        server.token_requests(),
        2,
        "a token it cannot open is not used"
    );
    assert_eq!(fresh.stats().shared_hits, 0);
}

#[tokio::test]
async fn a_rejected_token_is_not_taken_back_from_the_shared_cache() {
    let redis = RedisServer::start();
    let server = server().await;
    let a = instance(&server, cache_config(&redis));
    let b = instance(&server, cache_config(&redis));
    let first = a.token().await.unwrap();
    assert!(b.token().await.unwrap().same_as(&first));
    assert!(a.invalidate(&first), "the API said 401");
    let second = a.token().await.unwrap();
    assert!(
        !second.same_as(&first),
        "a fetched a new token instead of the rejected shared one"
    );
    assert_eq!(server.token_requests(), 2);
    // b still holds the old one until its API says 401; then it takes a's new one from Redis.
    assert!(b.invalidate(&first));
    assert!(b.token().await.unwrap().same_as(&second));
    assert_eq!(server.token_requests(), 2);
}

/// Whoever takes the lease looks once more before fetching: a token stored between its first
/// look and its lease (by the holder that just released it) is taken, not fetched a second time.
#[tokio::test]
async fn a_lease_holder_takes_a_token_stored_since_its_first_look() {
    use futures::FutureExt;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokenbroker::{AccessToken, SharedCache};

    let redis = RedisServer::start();
    let server = server().await;
    let stored = instance(&server, cache_config(&redis))
        .token()
        .await
        .unwrap();
    assert_eq!(server.token_requests(), 1);
    let cache = RedisTokenCache::new(cache_config(&redis)).unwrap();
    let config = entur(&server).build().unwrap();
    let key = config.cache_key();
    let client = TokenClient::new(config).unwrap();
    // The first look sees nothing it can use, as a look made just before the store would; the
    // look after the lease sees the stored token.
    let looks = AtomicUsize::new(0);
    let acceptable = |_: &AccessToken| looks.fetch_add(1, Ordering::SeqCst) > 0;
    let taken = cache
        .obtain(&key, &acceptable, client.fetch().boxed())
        .await
        .unwrap();
    assert_eq!(
        looks.load(Ordering::SeqCst),
        2,
        "looked before and after the lease"
    );
    assert!(taken.same_as(&stored), "the stored token, not a new one");
    assert_eq!(server.token_requests(), 1, "no second fetch for the fleet");
    assert_eq!(cache.hits(), 1);
}

#[tokio::test]
async fn a_lease_holder_that_never_stores_costs_a_bounded_wait() {
    let redis = RedisServer::start();
    let server = server().await;
    let config = cache_config(&redis);
    let source = instance(&server, config);
    // A crashed instance's lease, with the key layout of RedisTokenCache.
    let key = entur(&server).build().unwrap().cache_key();
    redis.command(&format!(
        "SET tokenbroker:lease:{key} someone-else PX 60000"
    ));
    let started = Instant::now();
    source.token().await.unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1400),
        "waited {waited:?} for the other instance"
    );
    assert_eq!(server.token_requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_never_fails_a_fetch() {
    let mut redis = RedisServer::start();
    let server = server().await;
    // Opaque tokens: their expiry is `expires_in` on the instances' clock alone, which the test
    // moves instead of sleeping.
    server.faults().set_opaque_tokens(true);
    server.set_default_lifetime(Duration::from_secs(2));
    let clock = Arc::new(tokenbroker::ManualClock::starting_now());
    let a = instance_on(&server, cache_config(&redis), clock.clone());
    let b = instance_on(&server, cache_config(&redis), clock.clone());
    a.token().await.unwrap();
    b.token().await.unwrap();
    assert_eq!(server.token_requests(), 1);
    redis.kill();
    // Past the refresh point and the usable margin: both must fetch, with Redis gone.
    clock.advance(Duration::from_millis(2100));
    let started = Instant::now();
    a.token().await.expect("Redis down must not fail a");
    b.token().await.expect("Redis down must not fail b");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "fallback took {:?}",
        started.elapsed()
    );
    assert!(server.token_requests() >= 3);
}

#[tokio::test]
async fn an_unreachable_redis_at_start_up_is_not_fatal() {
    let server = server().await;
    let config = RedisCacheConfig::new(
        format!("redis://127.0.0.1:{}", tokenbroker_testkit::free_port()),
        CacheCipher::from_base64(KEY, "test").unwrap(),
    );
    let source = instance(&server, config);
    source.token().await.unwrap();
    assert_eq!(server.token_requests(), 1);
}
