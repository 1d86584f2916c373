//! Secrets and tokens never reach logs, Debug output or error messages — checked with TRACE on.

use std::io::Write;
use std::sync::{Arc, Mutex};

use super::common::api::{Api, ApiState};
use super::common::*;
use reqwest_middleware::ClientBuilder;
use tokenbroker::{AuthMiddleware, AuthStyle, ClientConfig, TokenClient};
use tokenbroker_server::Dialect;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn trace_logs_debug_output_and_errors_never_show_secrets_or_tokens() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = server().await;
    let api = Api::start(ApiState {
        reject_first_token: true,
        ..ApiState::default()
    })
    .await;
    let mut outputs = Vec::new();
    let mut tokens = Vec::new();

    // A fetch in every wire style, through the cache and the middleware (with a 401 retry).
    for config in [
        entur(&server),
        entur(&server).auth_style(AuthStyle::Form),
        telenor(&server, Dialect::TelenorNorway),
    ] {
        let config = config.build().unwrap();
        outputs.push(format!("{config:?}"));
        let source = Arc::new(tokenbroker::CachedTokenSource::new(
            TokenClient::new(config).unwrap(),
        ));
        let client = ClientBuilder::new(reqwest::Client::new())
            .with(AuthMiddleware::new(Arc::clone(&source)))
            .build();
        let response = client.get(api.url("/x")).send().await.unwrap();
        outputs.push(format!("{response:?}"));
        let token = source.peek().unwrap();
        outputs.push(format!("{token:?} {source:?}"));
        tokens.push(token.secret().to_owned());
    }

    // A failure: the error for a wrong secret (scrubbing of echoed secrets is unit-tested in response.rs).
    let wrong = ClientConfig::builder(
        server.token_url(Dialect::Entur),
        ENTUR_ID,
        "wrong-secret-value",
    )
    .auth_style(AuthStyle::Json)
    .build()
    .unwrap();
    let error = TokenClient::new(wrong).unwrap().fetch().await.unwrap_err();
    outputs.push(format!("{error} {error:?}"));

    let captured = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        captured.contains("requesting an access token"),
        "TRACE logging was captured"
    );
    let everything = format!("{captured}\n{}", outputs.join("\n"));
    for secret in [SECRET, "wrong-secret-value"] {
        assert!(!everything.contains(secret), "the secret {secret:?} leaked");
    }
    assert_eq!(tokens.len(), 3);
    for token in &tokens {
        assert!(!everything.contains(token.as_str()), "a token leaked");
        // Also no large fragment of it (e.g. the signature part).
        let signature = token.rsplit('.').next().unwrap();
        assert!(!everything.contains(signature));
    }
}
