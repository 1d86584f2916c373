//! Cost of getting a token: the cached hot path versus a full exchange with the server.
//!
//! - `cached/1_task`: one `token()` call on a warm cache, polled once (the path every API call
//!   takes). Target: median ≤ 100 ns.
//! - `cached/2_threads_64_tasks`: wall time per call while 64 tasks on 2 worker threads read the
//!   same cache at once (contention on the shared token).
//! - `uncached/oauth2_crate`: the `oauth2` crate's client-credentials exchange against the same
//!   local server — the peer without a cache, i.e. what a naive integration pays per API call.
//! - `uncached/tokenbroker_fetch`: our own single exchange, for comparison.
//!
//! Run: `cargo bench -p tokenbroker --bench token_source`.

use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "../tests/client/common/oauth2_http.rs"]
mod oauth2_http;

use criterion::{criterion_group, criterion_main, Criterion};
use futures::FutureExt;
use oauth2::basic::BasicClient;
use oauth2::{ClientId, ClientSecret, TokenUrl};
use tokenbroker::{AuthStyle, CachedTokenSource, ClientConfig, TokenClient};
use tokenbroker_server::{AuthServer, Dialect, ServerConfig, StaticClient};

const SECRET: &str = "bench-secret";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn start_server(rt: &tokio::runtime::Runtime) -> AuthServer {
    let client = StaticClient::new("bench", SECRET, "https://api.example");
    rt.block_on(AuthServer::start(ServerConfig::in_memory([client])))
        .unwrap()
}

fn token_client(server: &AuthServer) -> TokenClient {
    let config = ClientConfig::builder(server.token_url(Dialect::TelenorNorway), "bench", SECRET)
        .auth_style(AuthStyle::Basic)
        .build()
        .unwrap();
    TokenClient::new(config).unwrap()
}

fn cached(c: &mut Criterion) {
    let rt = runtime();
    let server = start_server(&rt);
    let source = Arc::new(CachedTokenSource::new(token_client(&server)));
    rt.block_on(source.token()).unwrap();

    let mut group = c.benchmark_group("cached");
    group.bench_function("1_task", |b| {
        b.iter(|| {
            source
                .token()
                .now_or_never()
                .expect("a warm cache answers without waiting")
                .unwrap()
        })
    });
    group.bench_function("2_threads_64_tasks", |b| {
        b.iter_custom(|iters| {
            let per_task = iters.div_ceil(64);
            rt.block_on(async {
                let started = Instant::now();
                let tasks: Vec<_> = (0..64)
                    .map(|_| {
                        let source = Arc::clone(&source);
                        tokio::spawn(async move {
                            for _ in 0..per_task {
                                std::hint::black_box(source.token().await.unwrap());
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.unwrap();
                }
                started
                    .elapsed()
                    .mul_f64(iters as f64 / (per_task * 64) as f64)
            })
        })
    });
    group.finish();
    assert_eq!(server.token_requests(), 1, "the cache was never bypassed");
}

fn uncached(c: &mut Criterion) {
    let rt = runtime();
    let server = start_server(&rt);
    let ours = token_client(&server);

    let send = oauth2_http::oauth2_http(reqwest::Client::new());
    let peer = BasicClient::new(ClientId::new("bench".into()))
        .set_client_secret(ClientSecret::new(SECRET.into()))
        .set_token_uri(TokenUrl::new(server.token_url(Dialect::TelenorNorway)).unwrap());

    let mut group = c.benchmark_group("uncached");
    group.measurement_time(Duration::from_secs(5));
    group.sample_size(20);
    group.bench_function("oauth2_crate", |b| {
        b.iter(|| {
            rt.block_on(peer.exchange_client_credentials().request_async(&send))
                .unwrap()
        })
    });
    group.bench_function("tokenbroker_fetch", |b| {
        b.iter(|| rt.block_on(ours.fetch()).unwrap())
    });
    group.finish();
}

criterion_group!(benches, cached, uncached);
criterion_main!(benches);
