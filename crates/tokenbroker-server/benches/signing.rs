//! The raw signing rate of one process: an RFC 9068 access token signed with the same kind of key
//! the server uses, without HTTP or the registry. The server's tokens/s (see `bench/`) is compared
//! against this ceiling.
//!
//! Run: `cargo bench -p tokenbroker-server --bench signing`.

use criterion::{criterion_group, criterion_main, Criterion};
use tokenbroker_server::{sign_access_token, AccessTokenClaims};
use tokenbroker_server::{KeyAlgorithm, SigningKey};

fn claims() -> AccessTokenClaims {
    AccessTokenClaims {
        iss: "http://127.0.0.1:8080".into(),
        sub: "bench-client".into(),
        client_id: "bench-client".into(),
        aud: "https://api.dev.entur.io".into(),
        scope: Some("personalisation:read".into()),
        iat: 1_800_000_000,
        exp: 1_800_086_400,
        jti: "6f1c2f0e-7d6e-4c3f-9a4b-2b8e7c9d0a11".into(),
    }
}

fn signing(c: &mut Criterion) {
    let claims = claims();
    let mut group = c.benchmark_group("sign_access_token");
    for algorithm in [
        KeyAlgorithm::Rs256,
        KeyAlgorithm::Es256,
        KeyAlgorithm::EdDsa,
    ] {
        let key = SigningKey::generate(algorithm).unwrap();
        // What the server does: the key pair parsed once, when it was loaded.
        group.bench_function(format!("{}/held_key", algorithm.name()), |b| {
            b.iter(|| sign_access_token(&key, &claims).unwrap())
        });
        // jsonwebtoken::encode, which parses the key from DER on every call.
        let mut header = jsonwebtoken::Header::new(algorithm.jws());
        header.typ = Some("at+jwt".into());
        header.kid = Some(key.kid().to_owned());
        group.bench_function(format!("{}/jsonwebtoken_encode", algorithm.name()), |b| {
            b.iter(|| jsonwebtoken::encode(&header, &claims, key.encoding_key()).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, signing);
criterion_main!(benches);
