//! Running the `tokenbroker` binary as a long-lived process (serve, agent) in tests.
#![allow(dead_code)]

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_tokenbroker");

/// Starts `tokenbroker ARGS` with `env`, waits for its documented first line
/// `listening on URL`, and returns the process (killed on drop) and the URL. Stdout keeps being
/// drained so the process never blocks on a full pipe.
pub async fn spawn_listening(args: &[&str], env: &[(&str, &str)]) -> (Child, String) {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("TOKENBROKER_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .unwrap_or_else(|_| panic!("tokenbroker {args:?} printed its address in time"))
        .unwrap()
        .expect("a first line");
    let url = first
        .strip_prefix("listening on ")
        .expect("the documented first line")
        .to_owned();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, url)
}
