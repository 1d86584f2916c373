//! Running the `tokenbroker` binary as a long-lived process (serve, agent) in tests.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::ops::{Deref, DerefMut};
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The binary under test.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_tokenbroker");

/// A `tokenbroker` process started by [`spawn_listening`], killed on drop. Its stderr is kept
/// (the last [`KEPT_LINES`] lines) and printed if it is dropped while the test panics, so a
/// failure shows what the server or agent said about it.
pub(crate) struct Process {
    child: Child,
    stderr: Arc<Mutex<VecDeque<String>>>,
}

/// Lines of a process's stderr kept for a failure report.
pub(crate) const KEPT_LINES: usize = 200;

impl Deref for Process {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.child
    }
}

impl DerefMut for Process {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.child
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let lines = self.stderr.lock().unwrap_or_else(PoisonError::into_inner);
            let said: Vec<&str> = lines.iter().map(String::as_str).collect();
            eprintln!(
                "--- stderr of tokenbroker (pid {:?}) ---\n{}",
                self.child.id(),
                said.join("\n")
            );
        }
    }
}

/// Starts `tokenbroker ARGS` with `env`, waits for its documented first line
/// `listening on URL`, and returns the process and the URL. Stdout and stderr keep being
/// drained so the process never blocks on a full pipe.
pub(crate) async fn spawn_listening(args: &[&str], env: &[(&str, &str)]) -> (Process, String) {
    let (process, first) = spawn_first_line(args, env).await;
    let url = first
        .strip_prefix("listening on ")
        .expect("the documented first line")
        .to_owned();
    (process, url)
}

/// Starts `tokenbroker ARGS` with `env` and returns it with the first line it printed on stdout
/// (the rest of stdout is drained, stderr kept for [`Process::stderr_lines`]).
pub(crate) async fn spawn_first_line(args: &[&str], env: &[(&str, &str)]) -> (Process, String) {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("TOKENBROKER_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .unwrap_or_else(|_| panic!("tokenbroker {args:?} printed its first line in time"))
        .unwrap()
        .expect("a first line");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let stderr = Arc::new(Mutex::new(VecDeque::new()));
    let kept = Arc::clone(&stderr);
    let mut said = BufReader::new(child.stderr.take().unwrap()).lines();
    tokio::spawn(async move {
        while let Ok(Some(line)) = said.next_line().await {
            let mut kept = kept.lock().unwrap_or_else(PoisonError::into_inner);
            if kept.len() == KEPT_LINES {
                kept.pop_front();
            }
            kept.push_back(line);
        }
    });
    (Process { child, stderr }, first)
}

impl Process {
    /// The last [`KEPT_LINES`] lines it wrote to stderr so far.
    pub(crate) fn stderr_lines(&self) -> Vec<String> {
        let kept = self.stderr.lock().unwrap_or_else(PoisonError::into_inner);
        kept.iter().cloned().collect()
    }

    /// Sends SIGTERM and waits (at most 30 s) for a clean exit.
    pub(crate) async fn terminate(&mut self) {
        let pid = self.child.id().expect("still running").to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .unwrap();
        assert!(sent.success());
        let exit = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("it stops within 30 s of SIGTERM")
            .unwrap();
        assert!(exit.success(), "a graceful stop exits 0, got {exit:?}");
    }
}

/// An OTLP/HTTP collector on loopback that keeps every span posted to `/v1/traces` as JSON
/// (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`), with the `service.name` of the process that sent it.
pub(crate) struct Collector {
    endpoint: String,
    spans: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
}

impl Collector {
    pub(crate) async fn start() -> Self {
        let spans = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&spans);
        let receive = move |body: axum::body::Bytes| {
            let kept = Arc::clone(&kept);
            async move {
                let export: serde_json::Value =
                    serde_json::from_slice(&body).expect("an OTLP/JSON export request");
                let mut kept = kept.lock().unwrap_or_else(PoisonError::into_inner);
                kept.extend(spans_of(&export));
                axum::Json(serde_json::json!({}))
            }
        };
        let router = axum::Router::new().route("/v1/traces", axum::routing::post(receive));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self { endpoint, spans }
    }

    /// The environment that points a `tokenbroker` process here, sending every 100 ms.
    pub(crate) fn env(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT", self.endpoint.as_str()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ]
    }

    /// Every span received so far, with its service name.
    pub(crate) fn spans(&self) -> Vec<(String, serde_json::Value)> {
        self.spans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits (at most 20 s) for a span for which `found(service, span)` holds.
    pub(crate) async fn await_span(
        &self,
        what: &str,
        found: impl Fn(&str, &serde_json::Value) -> bool,
    ) -> serde_json::Value {
        for _ in 0..400 {
            if let Some((_, span)) = self.spans().into_iter().find(|(s, span)| found(s, span)) {
                return span;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{what} never reached the collector: {:?}", self.spans());
    }
}

/// The spans of one export request, each with its resource's `service.name`.
fn spans_of(export: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
    let list = |value: &serde_json::Value| value.as_array().cloned().unwrap_or_default();
    let mut spans = Vec::new();
    for resource in list(&export["resourceSpans"]) {
        let service = list(&resource["resource"]["attributes"])
            .into_iter()
            .find(|attribute| attribute["key"] == "service.name")
            .and_then(|attribute| {
                attribute["value"]["stringValue"]
                    .as_str()
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        for scope in list(&resource["scopeSpans"]) {
            spans.extend(
                list(&scope["spans"])
                    .into_iter()
                    .map(|s| (service.clone(), s)),
            );
        }
    }
    spans
}
