//! The portal's clients page with 1,000 clients, served over loopback by a real server: what an
//! administrator's browser waits for, from the request to the last byte, gzipped as browsers ask.
//! Before criterion's measurement it prints the latency percentiles of 1,000 sequential requests
//! and the page's weight, raw and gzipped; the targets are p99 under 50 ms and under 200 KB.
//!
//! Run: `cargo bench -p tokenbroker-server --bench portal`.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use secrecy::SecretString;
use tokenbroker_server::registry::{NewAdmin, NewClient, Role};
use tokenbroker_server::{AuthServer, ServerConfig};

const CLIENTS: usize = 1_000;
const PASSWORD: &str = "a bench password, long enough";

/// A server holding `CLIENTS` clients, and a logged-in session cookie.
async fn server_with_clients() -> (AuthServer, String) {
    let server = AuthServer::start(ServerConfig::in_memory([]))
        .await
        .unwrap();
    let registry = server.registry();
    for n in 0..CLIENTS {
        let new = NewClient {
            name: format!("Partner application {n:04}"),
            audiences: vec!["https://api.entur.io".into()],
            scopes: vec!["personalisation:read".into(), "journeys:read".into()],
            lifetime: (n % 3 == 0).then(|| Duration::from_secs(3_600)),
            ..NewClient::default()
        };
        registry.create_client(new, "bench").await.unwrap();
    }
    let admin = NewAdmin {
        name: "bench".into(),
        roles: vec![Role::Viewer],
        token_expires_in: None,
        password: Some(SecretString::from(PASSWORD)),
    };
    registry.add_admin(&admin, "bench").await.unwrap();
    let login = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/portal/login", server.url()))
        .form(&[("name", "bench"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    (server, cookie)
}

/// Fetches the page (gzip-compressed when `gzip`) and returns the bytes that crossed the wire.
async fn clients_page(http: &reqwest::Client, url: &str, cookie: &str, gzip: bool) -> usize {
    let mut request = http.get(url).header("cookie", cookie);
    if gzip {
        request = request.header("accept-encoding", "gzip");
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.bytes().await.unwrap().len()
}

fn portal(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (server, cookie) = runtime.block_on(server_with_clients());
    let url = format!("{}/portal/clients", server.url());
    let http = reqwest::Client::new();

    let (bytes, gzipped, mut latencies) = runtime.block_on(async {
        let bytes = clients_page(&http, &url, &cookie, false).await;
        let gzipped = clients_page(&http, &url, &cookie, true).await;
        let mut latencies = Vec::with_capacity(1_000);
        for _ in 0..1_000 {
            let started = Instant::now();
            clients_page(&http, &url, &cookie, true).await;
            latencies.push(started.elapsed());
        }
        (bytes, gzipped, latencies)
    });
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "clients page, {CLIENTS} clients: {bytes} bytes ({:.0} KB), {gzipped} bytes gzipped \
         ({:.0} KB); 1,000 sequential gzipped requests: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        bytes as f64 / 1024.0,
        gzipped as f64 / 1024.0,
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
    );

    c.bench_function("portal_clients_page_1000_clients", |b| {
        b.iter(|| runtime.block_on(clients_page(&http, &url, &cookie, true)))
    });
}

criterion_group!(benches, portal);
criterion_main!(benches);
