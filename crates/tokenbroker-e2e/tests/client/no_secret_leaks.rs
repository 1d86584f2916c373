//! Secrets and tokens never reach logs, Debug output or error messages — checked with TRACE on.

use std::cell::RefCell;
use std::io::Write;
use std::sync::{Arc, Mutex, Once};

use super::common::api::{Api, ApiState};
use super::common::*;
use reqwest_middleware::ClientBuilder;
use tokenbroker::{AuthMiddleware, AuthStyle, ClientConfig, TokenClient};
use tokenbroker_server::Dialect;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

thread_local! {
    /// Where this thread's log lines go while it captures.
    static SINK: RefCell<Option<Captured>> = const { RefCell::new(None) };
}

/// Installs, once per test binary, a global TRACE subscriber that writes only the lines of
/// threads that capture. (A thread-local `set_default` misses events whose callsites other tests
/// of the binary registered first, with no subscriber; the rebuild of the interest cache covers
/// callsites registered while the global one was being installed.)
fn capture_this_thread(captured: &Captured) {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Dynamic: asked on every event, never cached per callsite (a plain `filter_fn` would
        // cache the answer of whichever thread first reached the callsite).
        let capturing = tracing_subscriber::filter::dynamic_filter_fn(|_, _| {
            SINK.with(|sink| sink.borrow().is_some())
        });
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(|| ThreadSink)
            .with_filter(tracing_subscriber::filter::LevelFilter::TRACE)
            .with_filter(capturing);
        tracing_subscriber::registry().with(layer).init();
    });
    tracing::callsite::rebuild_interest_cache();
    SINK.with(|sink| *sink.borrow_mut() = Some(captured.clone()));
}

/// Writes to the current thread's capture, if any.
struct ThreadSink;

impl Write for ThreadSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        SINK.with(|sink| match sink.borrow_mut().as_mut() {
            Some(captured) => captured.write(buf),
            None => Ok(buf.len()),
        })
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

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
    capture_this_thread(&captured);

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
        "TRACE logging was captured: {} bytes: {}",
        captured.len(),
        captured.chars().take(1500).collect::<String>()
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

/// The portal with TRACE on: neither the administrator's password, nor the session id, nor a
/// client secret it shows once reaches a log line or a Debug output.
#[tokio::test]
async fn the_portal_never_logs_passwords_sessions_or_secrets() {
    use secrecy::SecretString;
    use tokenbroker_server::registry::{NewAdmin, Role, SessionId};
    let captured = Captured::default();
    capture_this_thread(&captured);

    let server =
        tokenbroker_server::AuthServer::start(tokenbroker_server::ServerConfig::in_memory([]))
            .await
            .unwrap();
    let password = "the administrator's password";
    let admin = NewAdmin {
        name: "alice".into(),
        roles: vec![Role::ClientAdmin],
        token_expires_in: None,
        password: Some(SecretString::from(password)),
    };
    let mut outputs = vec![format!("{admin:?}")];
    server.registry().add_admin(&admin, "test").await.unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = |path: &str| format!("{}{path}", server.url());
    let wrong = http
        .post(url("/portal/login"))
        .form(&[("name", "alice"), ("password", "a wrong password guess")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let login = http
        .post(url("/portal/login"))
        .form(&[("name", "alice"), ("password", password)])
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let session_id = cookie.split_once('=').unwrap().1.to_owned();
    outputs.push(format!("{:?}", SessionId::new(&session_id)));
    let session = server
        .registry()
        .session(&SessionId::new(&session_id))
        .await
        .unwrap()
        .unwrap();
    outputs.push(format!("{session:?}"));
    let form_page = http
        .get(url("/portal/clients/new"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = between(&form_page, "name=\"csrf\" value=\"", "\"");
    let created = http
        .post(url("/portal/clients/new"))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "leak check"),
            ("audiences", "https://api.dev.entur.io"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let secret = between(&created, "aria-label=\"Client secret\">", "<");
    assert!(secret.len() >= 43);

    let captured = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        captured.contains("authorization server listening"),
        "the server's logging was captured: {}",
        captured.chars().take(500).collect::<String>()
    );
    let everything = format!("{captured}\n{}", outputs.join("\n"));
    for (what, value) in [
        ("password", password),
        ("wrong password", "a wrong password guess"),
        ("session id", session_id.as_str()),
        ("client secret", secret.as_str()),
    ] {
        assert!(!everything.contains(value), "the {what} leaked");
    }
}

/// The text between the first `start` in `text` and the next `end`.
fn between(text: &str, start: &str, end: &str) -> String {
    let rest = text.split_once(start).expect("the start marker").1;
    rest.split_once(end).expect("the end marker").0.to_owned()
}
