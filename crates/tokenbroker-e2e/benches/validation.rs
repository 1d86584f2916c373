//! Validations/s of the same token, per algorithm (RS256, ES256), side by side in one run:
//! - `raw_held_key`: the floor, aws-lc-rs checking the signature with a public key parsed
//!   once (the signature already decoded);
//! - `guard_verify`: the guard's whole check ([`Guard::verify`]: header, key lookup,
//!   signature, claims, time, revocation);
//! - `guard_layer`: the same through the tower Layer, with a scope check and a response;
//! - `jsonwebtoken_decode`: `jsonwebtoken::decode`, which rebuilds the public key every call.
//!
//! Then the p99 per-request overhead of the Layer over the floor, from single calls, and the
//! guard against the floor in paired turns (the ratio the report states).
//!
//! Run: `cargo bench -p tokenbroker-e2e --bench validation`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents};
use axum::body::Body;
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use criterion::Criterion;
use futures::FutureExt;
use http::Request;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use jsonwebtoken::{decode, decode_header, DecodingKey, Validation};
use serde_json::{Map, Value};
use tokenbroker_guard::{Guard, GuardConfig, GuardLayer};
use tokenbroker_server::{AuthServer, KeyAlgorithm, ServerConfig, StaticClient};
use tower::{Layer, Service, ServiceExt};

const AUDIENCE: &str = "https://api.dev.entur.io";

struct Setup {
    _issuer: AuthServer,
    token: String,
    /// The floor's inputs: the key parsed once, the signing input and the decoded signature.
    held_key: ParsedPublicKey,
    signing_input: Vec<u8>,
    signature: Vec<u8>,
    raw_key: DecodingKey,
    raw_validation: Validation,
    guard: Arc<Guard>,
}

fn setup(rt: &tokio::runtime::Runtime, algorithm: KeyAlgorithm) -> Setup {
    rt.block_on(async {
        let client = StaticClient::new("bench", "bench-secret", AUDIENCE)
            .with_scopes("personalisation:read");
        let mut config = ServerConfig::in_memory([client]);
        config.algorithm = algorithm;
        let issuer = AuthServer::start(config).await.unwrap();
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
        let header = decode_header(&token).unwrap();
        let jwk = jwks.find(&header.kid.unwrap()).unwrap();
        let (signing_input, signature) = token.rsplit_once('.').unwrap();
        let raw_key = DecodingKey::from_jwk(jwk).unwrap();
        let mut raw_validation = Validation::new(header.alg);
        raw_validation.set_issuer(&[issuer.issuer()]);
        raw_validation.set_audience(&[AUDIENCE]);
        let guard = Guard::start(GuardConfig::new(issuer.issuer(), AUDIENCE))
            .await
            .unwrap();
        Setup {
            held_key: held_key(jwk),
            signing_input: signing_input.as_bytes().to_vec(),
            signature: URL_SAFE_NO_PAD.decode(signature).unwrap(),
            _issuer: issuer,
            token,
            raw_key,
            raw_validation,
            guard,
        }
    })
}

/// The JWK's public key parsed for RS256 or ES256, written here from aws-lc-rs's API (not the
/// guard's code), so the floor is independent of what it measures.
fn held_key(jwk: &Jwk) -> ParsedPublicKey {
    let bytes = |text: &str| URL_SAFE_NO_PAD.decode(text).unwrap();
    match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) => RsaPublicKeyComponents {
            n: bytes(&rsa.n),
            e: bytes(&rsa.e),
        }
        .to_parsed_public_key(&signature::RSA_PKCS1_2048_8192_SHA256)
        .unwrap(),
        AlgorithmParameters::EllipticCurve(ec) => {
            let point = [vec![4], bytes(&ec.x), bytes(&ec.y)].concat();
            ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).unwrap()
        }
        other => panic!("no floor for {other:?}"),
    }
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

fn bench(c: &mut Criterion, rt: &tokio::runtime::Runtime, name: &str, setup: &Setup) {
    let mut group = c.benchmark_group(format!("validate_{name}"));
    group.bench_function("raw_held_key", |b| {
        b.iter(|| {
            setup
                .held_key
                .verify_sig(&setup.signing_input, &setup.signature)
                .unwrap()
        })
    });
    // Polled once, with no runtime around it: the keys are cached, so the check never waits,
    // and a runtime's block_on per iteration would add its own wake-ups to what is measured.
    group.bench_function("guard_verify", |b| {
        b.iter(|| {
            setup
                .guard
                .verify(&setup.token)
                .now_or_never()
                .expect("the keys are cached")
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
    group.bench_function("jsonwebtoken_decode", |b| {
        b.iter(|| {
            decode::<Map<String, Value>>(&setup.token, &setup.raw_key, &setup.raw_validation)
                .unwrap()
        })
    });
    group.finish();
}

/// The guard against the floor, paired: the two run in turns, call by call, so the drift of a
/// shared machine hits both alike; the medians' ratio is the guard's share of the floor's rate.
/// Printed as `paired ALG floor_ns=… guard_ns=…` for `bench/report.sh`.
fn paired(name: &str, setup: &Setup) {
    const CALLS: usize = 20_000;
    let (mut floor, mut guard) = (Vec::with_capacity(CALLS), Vec::with_capacity(CALLS));
    for _ in 0..CALLS {
        let started = Instant::now();
        setup
            .held_key
            .verify_sig(&setup.signing_input, &setup.signature)
            .unwrap();
        floor.push(started.elapsed());
        let started = Instant::now();
        setup
            .guard
            .verify(&setup.token)
            .now_or_never()
            .expect("the keys are cached")
            .unwrap();
        guard.push(started.elapsed());
    }
    floor.sort();
    guard.sort();
    let (floor, guard) = (floor[CALLS / 2], guard[CALLS / 2]);
    println!(
        "paired {name} floor_ns={} guard_ns={} guard/floor rate {:.2}x",
        floor.as_nanos(),
        guard.as_nanos(),
        floor.as_secs_f64() / guard.as_secs_f64()
    );
}

/// p99 of single calls, measured one by one: the Layer's overhead over the floor.
fn overhead(rt: &tokio::runtime::Runtime, name: &str, setup: &Setup) {
    const CALLS: usize = 20_000;
    let percentile = |mut samples: Vec<Duration>, p: f64| {
        samples.sort();
        samples[((samples.len() as f64) * p) as usize]
    };
    let raw: Vec<Duration> = (0..CALLS)
        .map(|_| {
            let started = Instant::now();
            setup
                .held_key
                .verify_sig(&setup.signing_input, &setup.signature)
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
        "{name} single calls ({CALLS}): held key p50 {raw50:?} p99 {raw99:?}; layer p50 {layer50:?} \
         p99 {layer99:?}; overhead p50 {:?} p99 {:?}",
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
    let mut criterion = Criterion::default().configure_from_args();
    for (name, algorithm) in [
        ("rs256", KeyAlgorithm::Rs256),
        ("es256", KeyAlgorithm::Es256),
    ] {
        let setup = setup(&rt, algorithm);
        bench(&mut criterion, &rt, name, &setup);
        overhead(&rt, name, &setup);
        paired(name, &setup);
    }
    criterion.final_summary();
}
