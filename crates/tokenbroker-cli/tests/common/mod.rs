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
