//! How the guard's cost grows with what it holds: validations/s of one ES256 token and the
//! guard's memory with 0, 100,000 and 1,000,000 revoked tokens in its revocation set, and with
//! 1, 10 and 64 keys (the most a guard keeps, `MAX_JWKS_KEYS`) in the issuer's JWKS.
//!
//! A small loopback server stands in for the issuer's JWKS and revocation feed (the feed in
//! pages of 100,000, as the server pages it); the token comes from a real `AuthServer`.
//! Memory is the heap the guard holds after its first fetch: live heap bytes, counted by this
//! bench's allocator, before and after `Guard::start`, printed as
//! `memory revocations=N keys=K heap_kib=…` lines for `bench/report.sh`. (The process's resident
//! set was tried first and gave negative figures: a dropped guard's tasks and criterion's
//! analysis free memory while the next guard is measured.)
//!
//! Run: `cargo bench -p tokenbroker-e2e --bench guard_costs`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use criterion::Criterion;
use futures::FutureExt;
use serde_json::{json, Value};
use tokenbroker_guard::{Guard, GuardConfig, RevocationFeed};
use tokenbroker_server::{AuthServer, KeyAlgorithm, ServerConfig, StaticClient};

const AUDIENCE: &str = "https://api.dev.entur.io";
const PAGE: usize = 100_000;

/// What the stand-in serves.
struct Published {
    jwks: Value,
    revoked: usize,
    exp: i64,
}

#[derive(serde::Deserialize)]
struct Page {
    #[serde(default)]
    after: Option<String>,
}

/// One page of `revoked` made-up `jti`s (`revoked-0000000`, …), in order, with a cursor.
async fn feed(State(published): State<Arc<Published>>, Query(page): Query<Page>) -> Json<Value> {
    let start = page
        .after
        .and_then(|after| after.strip_prefix("revoked-")?.parse::<usize>().ok())
        .map_or(0, |last| last + 1);
    let end = (start + PAGE).min(published.revoked);
    let revocations: Vec<Value> = (start..end)
        .map(|n| json!({ "jti": format!("revoked-{n:07}"), "exp": published.exp }))
        .collect();
    let next = (end < published.revoked)
        .then(|| json!({ "since": 0, "after": format!("revoked-{:07}", end - 1) }));
    Json(json!({ "revocations": revocations, "server_time": 0, "next": next }))
}

async fn stand_in(published: Published) -> String {
    let published = Arc::new(published);
    let app = Router::new()
        .route(
            "/jwks",
            get(|State(p): State<Arc<Published>>| async move { Json(p.jwks.clone()) }),
        )
        .route("/revocations", get(feed))
        .with_state(published);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// `count` keys: the issuer's, then made-up EC keys under other `kid`s.
fn key_set(issuer_jwks: &Value, count: usize) -> Value {
    let real = issuer_jwks["keys"][0].clone();
    let mut keys = vec![real.clone()];
    for n in 1..count {
        let mut other = real.clone();
        other["kid"] = json!(format!("other-{n}"));
        keys.push(other);
    }
    json!({ "keys": keys })
}

/// The system allocator, counting the bytes live on the heap.
struct Counting;

static LIVE_HEAP_BYTES: AtomicI64 = AtomicI64::new(0);

fn signed(size: usize) -> i64 {
    i64::try_from(size).unwrap_or(i64::MAX)
}

// SAFETY: every call goes to the system allocator with the caller's arguments unchanged; the
// counter is only arithmetic on the sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let block = unsafe { System.alloc(layout) };
        if !block.is_null() {
            LIVE_HEAP_BYTES.fetch_add(signed(layout.size()), Ordering::Relaxed);
        }
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        unsafe { System.dealloc(block, layout) };
        LIVE_HEAP_BYTES.fetch_sub(signed(layout.size()), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = unsafe { System.realloc(block, layout, new_size) };
        if !moved.is_null() {
            LIVE_HEAP_BYTES.fetch_add(signed(new_size) - signed(layout.size()), Ordering::Relaxed);
        }
        moved
    }
}

#[global_allocator]
static HEAP: Counting = Counting;

/// The heap's live bytes, in KiB, once the runtime has had a moment to finish what a dropped
/// guard left (its aborted tasks are dropped on the runtime's threads).
async fn settled_heap_kib() -> i64 {
    tokio::time::sleep(Duration::from_millis(200)).await;
    LIVE_HEAP_BYTES.load(Ordering::Relaxed) / 1024
}

struct Issuer {
    _server: AuthServer,
    issuer: String,
    jwks: Value,
    token: String,
}

async fn issuer() -> Issuer {
    let client = StaticClient::new("bench", "bench-secret", AUDIENCE);
    let mut config = ServerConfig::in_memory([client]);
    config.algorithm = KeyAlgorithm::Es256;
    let server = AuthServer::start(config).await.unwrap();
    let token = tokenbroker_testkit::fetch_token(&server.url(), "bench", "bench-secret").await;
    let jwks = reqwest::get(server.jwks_url())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    Issuer {
        issuer: server.issuer().to_owned(),
        _server: server,
        jwks,
        token,
    }
}

/// A guard fed by a stand-in with `keys` keys and `revoked` revocations, and the heap it holds.
async fn guard(issuer: &Issuer, keys: usize, revoked: usize) -> (Arc<Guard>, i64) {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + 3600;
    let url = stand_in(Published {
        jwks: key_set(&issuer.jwks, keys),
        revoked,
        exp,
    })
    .await;
    let mut config = GuardConfig::new(issuer.issuer.clone(), AUDIENCE);
    config.jwks_url = Some(format!("{url}/jwks"));
    config.revocations = Some(RevocationFeed {
        url: format!("{url}/revocations"),
        poll_interval: Duration::from_secs(3600),
    });
    let before = settled_heap_kib().await;
    let guard = Guard::start(config).await.unwrap();
    let delta = settled_heap_kib().await - before;
    assert!(guard.verify(&issuer.token).await.is_ok());
    (guard, delta)
}

/// One validation, polled once: the keys are cached, so it never waits (a runtime's block_on
/// per iteration would add its own wake-ups to what is measured).
fn verify(guard: &Guard, token: &str) {
    guard
        .verify(token)
        .now_or_never()
        .expect("the keys are cached")
        .unwrap();
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let issuer = rt.block_on(issuer());
    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("guard_revocations");
    for revoked in [0, 100_000, 1_000_000] {
        let (guard, delta) = rt.block_on(guard(&issuer, 1, revoked));
        println!("memory revocations={revoked} keys=1 heap_kib={delta}");
        group.bench_function(revoked.to_string(), |b| {
            b.iter(|| verify(&guard, &issuer.token))
        });
        drop(guard);
    }
    group.finish();
    let mut group = criterion.benchmark_group("guard_keys");
    for keys in [1, 10, 64] {
        let (guard, delta) = rt.block_on(guard(&issuer, keys, 0));
        println!("memory revocations=0 keys={keys} heap_kib={delta}");
        group.bench_function(keys.to_string(), |b| {
            b.iter(|| verify(&guard, &issuer.token))
        });
    }
    group.finish();
    criterion.final_summary();
}
