//! The X-JWT source against a hasPermission endpoint that refuses: one call per cooldown, not one
//! per API request; a replaced password is tried at once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::common::*;
use axum::routing::post;
use tokenbroker::{ClientSecret, XJwtConfig, XJwtSource};

#[tokio::test]
async fn a_refused_password_is_not_retried_on_every_request() {
    let server = server().await;
    let calls = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&calls);
    let refusing = axum::Router::new().route(
        "/b2b/corporate/auth/right/v2/hasPermission/corporate/",
        post(move || {
            counted.fetch_add(1, Ordering::Relaxed);
            async {
                (
                    http::StatusCode::FORBIDDEN,
                    "{\"message\":\"wrong password\"}",
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, refusing).await.unwrap() });

    let bearer = source(entur(&server));
    let config =
        XJwtConfig::new(&format!("http://{addr}"), "Some API", "client", 1, "wrong").unwrap();
    let x_jwt = XJwtSource::new(bearer, config);
    for _ in 0..10 {
        let error = x_jwt.credentials().await.unwrap_err().to_string();
        assert!(error.contains("403"), "{error}");
    }
    assert_eq!(
        calls.load(Ordering::Relaxed),
        1,
        "one hasPermission call within the cooldown"
    );
    assert!(x_jwt.replace_password(ClientSecret::new("another")));
    assert!(x_jwt.credentials().await.is_err());
    assert_eq!(
        calls.load(Ordering::Relaxed),
        2,
        "a new password is tried at once"
    );
}
