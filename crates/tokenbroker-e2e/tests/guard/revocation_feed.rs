//! The guard's revocation list against a stand-in feed: paging, expiry, and when it polls.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::Query;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use tokenbroker_guard::{Guard, GuardConfig, RevocationFeed, RevocationList};

const FAR: i64 = 4_102_444_800; // 2100-01-01

/// A feed answering each request with `page(query)`, and how many requests it has answered;
/// its `/jwks` publishes no keys.
async fn stand_in(page: fn(&HashMap<String, String>) -> Value) -> (String, Arc<AtomicUsize>) {
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&requests);
    let app = Router::new()
        .route(
            "/revocations",
            get(move |Query(query): Query<HashMap<String, String>>| {
                counted.fetch_add(1, Ordering::SeqCst);
                async move { axum::Json(page(&query)) }
            }),
        )
        .route("/jwks", get(|| async { axum::Json(json!({ "keys": [] })) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, requests)
}

fn guard_config(url: &str, poll_interval: Duration) -> GuardConfig {
    let mut config = GuardConfig::new(url, "https://api.dev.entur.io");
    config.jwks_url = Some(format!("{url}/jwks"));
    config.revocations = Some(RevocationFeed {
        url: format!("{url}/revocations"),
        poll_interval,
    });
    config
}

fn unix_now() -> i64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(now.as_secs()).unwrap()
}

/// A guard follows the revocation feed's `next` cursors until the last page.
#[tokio::test]
async fn a_guard_reads_every_page_of_the_revocation_feed() {
    let (url, _) = stand_in(|query| match query.get("after").map(String::as_str) {
        None => json!({
            "revocations": [{"jti": "first", "exp": FAR, "revoked_at": 10}],
            "server_time": 20,
            "next": {"since": 10, "after": "first"},
        }),
        Some("first") => json!({
            "revocations": [{"jti": "second", "exp": FAR, "revoked_at": 11}],
            "server_time": 20,
            "next": null,
        }),
        Some(_) => json!({"revocations": [], "server_time": 20}),
    })
    .await;
    let list = RevocationList::new(format!("{url}/revocations"));
    assert_eq!(list.poll().await.unwrap(), 2);
    assert!(list.is_revoked("first") && list.is_revoked("second"));
}

/// A poll that brings nothing new still drops what has expired, and keeps the rest.
#[tokio::test]
async fn an_expired_revocation_leaves_the_list_at_the_next_poll() {
    let (url, _) = stand_in(|query| {
        if query.get("since").map(String::as_str) == Some("0") {
            let expired = unix_now() - 10;
            json!({
                "revocations": [{"jti": "expired", "exp": expired}, {"jti": "live", "exp": FAR}],
                "server_time": 20,
            })
        } else {
            json!({"revocations": [], "server_time": 20})
        }
    })
    .await;
    let list = RevocationList::new(format!("{url}/revocations"));
    assert_eq!(list.poll().await.unwrap(), 2);
    assert!(list.is_revoked("expired") && list.is_revoked("live"));
    assert_eq!(list.poll().await.unwrap(), 0, "nothing new");
    assert!(
        !list.is_revoked("expired"),
        "an expired token's entry is dropped"
    );
    assert!(list.is_revoked("live"), "a live token's entry is kept");
    assert_eq!(list.poll().await.unwrap(), 0);
    assert!(
        list.is_revoked("live"),
        "and kept by a poll that changes nothing"
    );
}

/// `Guard::start` reads the feed once; the background polling starts one interval later
/// instead of reading it all again at once (a million revocations are 10 pages of 100,000).
#[tokio::test]
async fn a_started_guard_polls_again_only_after_one_interval() {
    let (url, requests) = stand_in(|_| json!({"revocations": [], "server_time": 20})).await;
    let interval = Duration::from_millis(400);
    let guard = Guard::start(guard_config(&url, interval)).await.unwrap();
    let started = Instant::now();
    assert_eq!(requests.load(Ordering::SeqCst), 1, "start reads the feed");
    let deadline = started + Duration::from_secs(10);
    while requests.load(Ordering::SeqCst) < 2 {
        assert!(Instant::now() < deadline, "the background poll never came");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        started.elapsed() >= interval - Duration::from_millis(50),
        "the second poll came {:?} after start, before the {interval:?} interval",
        started.elapsed()
    );
    drop(guard);
}

/// A guard built without fetching (`Guard::spawn`) reads the feed at once.
#[tokio::test]
async fn a_spawned_guard_polls_at_once() {
    let (url, requests) = stand_in(|_| json!({"revocations": [], "server_time": 20})).await;
    let guard = Guard::spawn(guard_config(&url, Duration::from_secs(3600))).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while requests.load(Ordering::SeqCst) < 1 {
        assert!(
            Instant::now() < deadline,
            "a spawned guard never read the feed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(guard);
}

/// A poll interval of zero (tokio's interval would panic in the background task) or past a day
/// is refused when the guard is built, naming the setting.
#[tokio::test]
async fn a_poll_interval_out_of_range_is_refused() {
    let (url, _) = stand_in(|_| json!({"revocations": [], "server_time": 20})).await;
    for interval in [Duration::ZERO, tokenbroker_guard::MAX_POLL_INTERVAL * 2] {
        let message = Guard::spawn(guard_config(&url, interval))
            .expect_err("refused")
            .to_string();
        assert!(message.contains("revocation poll interval"), "{message}");
    }
}
