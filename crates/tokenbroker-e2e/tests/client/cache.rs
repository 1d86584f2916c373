//! The cached source: single flight, refresh ahead, failure handling, invalidation.

use std::sync::Arc;
use std::time::Duration;

use super::common::*;
use tokenbroker::{CachedTokenSource, FetchBudget, ManualClock, RefreshPolicy, TokenClient};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_cold_callers_cause_one_request() {
    let server = server().await;
    // Slow the endpoint so every caller arrives while the one fetch is in flight.
    server.faults().set_delay(Duration::from_millis(100));
    let source = source(entur(&server));
    let callers: Vec<_> = (0..10_000)
        .map(|_| {
            let source = Arc::clone(&source);
            tokio::spawn(async move { source.token().await })
        })
        .collect();
    let mut tokens = Vec::with_capacity(callers.len());
    for caller in callers {
        tokens.push(caller.await.unwrap().unwrap());
    }
    assert_eq!(server.token_requests(), 1);
    assert!(tokens.iter().all(|t| t.same_as(&tokens[0])));
}

#[tokio::test]
async fn repeated_calls_hit_the_cache() {
    let server = server().await;
    let source = source(entur(&server));
    let first = source.token().await.unwrap();
    for _ in 0..100 {
        assert!(source.token().await.unwrap().same_as(&first));
    }
    assert_eq!(server.token_requests(), 1);
    assert_eq!(source.fetch_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_ahead_keeps_a_steady_caller_from_ever_waiting() {
    let server = server().await;
    server.set_default_lifetime(Duration::from_secs(3));
    let client = TokenClient::new(entur(&server).build().unwrap()).unwrap();
    let policy = RefreshPolicy {
        refresh_at: 0.5,
        ..quick_policy()
    };
    let source = CachedTokenSource::with_policy(client, policy);
    source.token().await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(6_500);
    let mut seen = Vec::new();
    while tokio::time::Instant::now() < deadline {
        let asked_at = std::time::SystemTime::now();
        let token = source.token().await.unwrap();
        // The policy keeps a tenth of the lifetime (JWT exp is whole seconds, so the lifetime is
        // between 2 and 3 s). Measured from the moment of asking, so a descheduled test thread
        // cannot fake a failure.
        let margin = token.lifetime() / 10;
        let remaining = token.remaining(asked_at);
        assert!(
            remaining >= margin,
            "handed out a token with only {remaining:?} left (margin {margin:?})"
        );
        if !seen
            .iter()
            .any(|t: &tokenbroker::AccessToken| t.same_as(&token))
        {
            seen.push(token);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        seen.len() >= 3,
        "refreshed ahead at least twice, saw {} tokens",
        seen.len()
    );
    assert_eq!(
        source.wait_count(),
        1,
        "only the cold first call waited for a fetch"
    );
}

#[tokio::test]
async fn failing_refresh_serves_the_old_token_until_its_minimum_lifetime_then_errors() {
    let server = server().await;
    let clock = Arc::new(ManualClock::starting_now());
    let client = TokenClient::with_clock(entur(&server).build().unwrap(), clock.clone()).unwrap();
    let source = CachedTokenSource::with_policy(client, quick_policy());
    let original = source.token().await.unwrap();

    server.faults().fail_with_status(Some(503));
    // Past the refresh point (75 % of an hour): the background refresh fails, the old token stays.
    clock.advance(Duration::from_secs(2_800));
    assert!(source.token().await.unwrap().same_as(&original));
    wait_for_fetches(&source, 3).await;
    assert!(source.token().await.unwrap().same_as(&original));

    // Past the minimum remaining lifetime (30 s before expiry): no token, a clear error.
    clock.advance(Duration::from_secs(780));
    let error = source.token().await.unwrap_err();
    assert!(error.to_string().contains("HTTP 503"), "{error}");

    // Within the failure window, callers get that error at once, without a request.
    let requests = server.token_requests();
    assert!(source.token().await.is_err());
    assert_eq!(
        server.token_requests(),
        requests,
        "no attempt inside the window"
    );

    // The server recovers: the first call after the window fetches.
    server.faults().reset();
    let tokenbroker::SourceHealth::Failing {
        failures,
        retry_in,
        serving: false,
    } = source.health()
    else {
        panic!("failing without a token to serve: {:?}", source.health())
    };
    assert_eq!(
        (failures, retry_in),
        (2, Duration::from_secs(2)),
        "1 s, then doubled"
    );
    clock.advance(retry_in);
    let fresh = source.token().await.unwrap();
    assert!(!fresh.same_as(&original));
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = server().await;
    server.faults().fail_with_status(Some(503));
    server
        .faults()
        .set_retry_after(Some(Duration::from_secs(1)));
    let client = TokenClient::new(entur(&server).build().unwrap()).unwrap();
    let policy = RefreshPolicy {
        backoff: tokenbroker::Backoff {
            max_attempts: 3,
            base: Duration::from_millis(1),
            max_delay: Duration::from_secs(5),
        },
        ..RefreshPolicy::default()
    };
    let source = Arc::new(CachedTokenSource::with_policy(client, policy));
    let waiting = tokio::spawn({
        let source = Arc::clone(&source);
        async move { source.token().await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        server.token_requests() <= 1,
        "retried before Retry-After elapsed"
    );
    server.faults().reset();
    waiting.await.unwrap().unwrap();
    assert_eq!(server.token_requests(), 2);
}

#[tokio::test]
async fn invalidate_drops_only_the_current_token_and_is_rate_limited() {
    let server = server().await;
    let source = source(entur(&server));
    let first = source.token().await.unwrap();
    assert!(source.invalidate(&first));
    let second = source.token().await.unwrap();
    assert!(!second.same_as(&first));
    assert!(
        !source.invalidate(&first),
        "a stale 401 must not drop the new token"
    );
    assert!(
        !source.invalidate(&second),
        "a second invalidation within the interval is ignored"
    );
    assert!(source.token().await.unwrap().same_as(&second));
    assert_eq!(server.token_requests(), 2);
}

async fn wait_for_fetches(source: &CachedTokenSource, at_least: u64) {
    for _ in 0..200 {
        if source.fetch_count() >= at_least {
            // Let the failing flight finish and clear itself.
            tokio::time::sleep(Duration::from_millis(20)).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("only {} fetches happened", source.fetch_count());
}

#[tokio::test]
async fn a_spent_budget_stops_a_runaway_loop_and_keeps_serving_the_token() {
    let server = server().await;
    // Opaque tokens expire by `expires_in` on the source's clock alone, which the test moves.
    server.faults().set_opaque_tokens(true);
    server.set_default_lifetime(Duration::from_secs(10));
    let clock = Arc::new(ManualClock::starting_now());
    let client = TokenClient::with_clock(entur(&server).build().unwrap(), clock.clone()).unwrap();
    let source = CachedTokenSource::builder(client)
        .policy(tokenbroker::RefreshPolicy {
            min_invalidate_interval: Duration::ZERO,
            refresh_at: 0.3,
            ..quick_policy()
        })
        .budget(FetchBudget {
            per_hour: Some(2),
            per_day: None,
        })
        .build();
    let first = source.token().await.unwrap();
    assert!(source.invalidate(&first));
    let second = source.token().await.unwrap();
    assert!(source.budget_left().exhausted());
    // A runaway loop: the API keeps rejecting, but with the budget spent the token is kept.
    assert!(!source.invalidate(&second));
    assert!(source.token().await.unwrap().same_as(&second));
    // Past the refresh point, the background refresh is refused without a request, and the
    // still-valid token keeps being served.
    clock.advance(Duration::from_millis(3_200));
    assert!(source.token().await.unwrap().same_as(&second));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.token_requests(), 2);
    assert_eq!(source.stats().budget_refusals, 1);
}
