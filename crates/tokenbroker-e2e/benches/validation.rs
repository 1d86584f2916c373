//! Validations/s through the guard's Layer versus raw `jsonwebtoken` RS256 verification of the
//! same token, and the p99 per-request overhead of the Layer.
//!
//! Run: `cargo bench -p tokenbroker-guard --bench validation`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::response::Response;
use criterion::Criterion;
use http::Request;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, DecodingKey, Validation};
use serde_json::{Map, Value};
use tokenbroker_guard::{Guard, GuardConfig, GuardLayer};
use tokenbroker_server::{AuthServer, ServerConfig, StaticClient};
use tower::{Layer, Service, ServiceExt};

const AUDIENCE: &str = "https://api.dev.entur.io";

struct Setup {
    _issuer: AuthServer,
    token: String,
    raw_key: DecodingKey,
    raw_validation: Validation,
    guard: Arc<Guard>,
}

fn setup(rt: &tokio::runtime::Runtime) -> Setup {
    rt.block_on(async {
        let client = StaticClient::new("bench", "bench-secret", AUDIENCE)
            .with_scopes("personalisation:read");
        let issuer = AuthServer::start(ServerConfig::in_memory([client]))
            .await
            .unwrap();
        let response: Value = reqwest::Client::new()
            .post(format!("{}/oauth2/token", issuer.url()))
            .basic_auth("bench", Some("bench-secret"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = response["access_token"].as_str().unwrap().to_owned();
        let jwks: JwkSet = reqwest::get(issuer.jwks_url())
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let kid = decode_header(&token).unwrap().kid.unwrap();
        let raw_key = DecodingKey::from_jwk(jwks.find(&kid).unwrap()).unwrap();
        let mut raw_validation = Validation::new(jsonwebtoken::Algorithm::RS256);
        raw_validation.set_issuer(&[issuer.issuer()]);
        raw_validation.set_audience(&[AUDIENCE]);
        let guard = Guard::start(GuardConfig::new(issuer.issuer(), AUDIENCE))
            .await
            .unwrap();
        Setup {
            _issuer: issuer,
            token,
            raw_key,
            raw_validation,
            guard,
        }
    })
}

fn request(token: &str) -> Request<Body> {
    Request::builder()
        .uri("/personalisation/v1/programs/1")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

fn service(
    guard: &Arc<Guard>,
) -> impl Service<Request<Body>, Response = Response, Error = std::convert::Infallible, Future: Send>
       + Clone {
    let handler = tower::service_fn(|_request: Request<Body>| async {
        Ok::<_, std::convert::Infallible>(Response::new(Body::empty()))
    });
    GuardLayer::new(Arc::clone(guard))
        .require_scopes(["personalisation:read"])
        .layer(handler)
}

fn bench(c: &mut Criterion, rt: &tokio::runtime::Runtime, setup: &Setup) {
    let mut group = c.benchmark_group("validate_rs256");
    group.bench_function("raw_jsonwebtoken", |b| {
        b.iter(|| {
            decode::<Map<String, Value>>(&setup.token, &setup.raw_key, &setup.raw_validation)
                .unwrap()
        })
    });
    let service = service(&setup.guard);
    group.bench_function("guard_layer", |b| {
        b.to_async(rt).iter(|| {
            let service = service.clone();
            let request = request(&setup.token);
            async move {
                let response = service.oneshot(request).await.unwrap();
                assert_eq!(response.status(), 200);
            }
        })
    });
    group.finish();
}

/// p99 of single calls, measured one by one: the Layer's overhead over raw verification.
fn overhead(rt: &tokio::runtime::Runtime, setup: &Setup) {
    const CALLS: usize = 20_000;
    let percentile = |mut samples: Vec<Duration>, p: f64| {
        samples.sort();
        samples[((samples.len() as f64) * p) as usize]
    };
    let raw: Vec<Duration> = (0..CALLS)
        .map(|_| {
            let started = Instant::now();
            decode::<Map<String, Value>>(&setup.token, &setup.raw_key, &setup.raw_validation)
                .unwrap();
            started.elapsed()
        })
        .collect();
    let service = service(&setup.guard);
    let layered: Vec<Duration> = rt.block_on(async {
        let mut samples = Vec::with_capacity(CALLS);
        for _ in 0..CALLS {
            let request = request(&setup.token);
            let started = Instant::now();
            let response = service.clone().oneshot(request).await.unwrap();
            samples.push(started.elapsed());
            assert_eq!(response.status(), 200);
        }
        samples
    });
    let (raw50, raw99) = (percentile(raw.clone(), 0.5), percentile(raw, 0.99));
    let (layer50, layer99) = (percentile(layered.clone(), 0.5), percentile(layered, 0.99));
    println!(
        "single calls ({CALLS}): raw p50 {raw50:?} p99 {raw99:?}; layer p50 {layer50:?} p99 {layer99:?}; \
         overhead p50 {:?} p99 {:?}",
        layer50.saturating_sub(raw50),
        layer99.saturating_sub(raw99)
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let setup = setup(&rt);
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion, &rt, &setup);
    overhead(&rt, &setup);
    criterion.final_summary();
}
