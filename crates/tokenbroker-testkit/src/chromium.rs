//! A headless Chromium driven over WebDriver: `chromedriver` on an ephemeral loopback port,
//! and browser sessions that reach nothing but loopback.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::free_port;

/// Chromium's own binary (Debian's package `chromium`).
const CHROMIUM: &str = "/usr/bin/chromium";

/// A running `chromedriver`; killed, with every browser it started, when dropped.
pub struct ChromeDriver {
    child: Child,
    port: u16,
    profiles: tempfile::TempDir,
}

impl std::fmt::Debug for ChromeDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChromeDriver")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl ChromeDriver {
    /// Starts `chromedriver` and waits until it accepts sessions.
    pub async fn start() -> ChromeDriver {
        let port = free_port();
        // Its own process group, so dropping it ends the browsers it started too, even when a
        // test panics before closing its session.
        let child = Command::new("chromedriver")
            .process_group(0)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "chromedriver is not installed: `apt-get install -y chromium chromium-driver` \
                 (.ci/run does this) — the portal's browser tests need it",
            );
        let driver = ChromeDriver {
            child,
            port,
            profiles: tempfile::tempdir().expect("a temporary directory"),
        };
        driver.wait_until_ready().await;
        driver
    }

    /// `http://127.0.0.1:PORT`, the WebDriver endpoint.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A new headless browser with an empty profile of its own, sized `width`×`height`.
    pub async fn browser(&self, width: u32, height: u32) -> fantoccini::Client {
        let profile = tempfile::tempdir_in(self.profiles.path()).expect("a profile directory");
        // As root in a container Chromium needs --no-sandbox; the rest keep it from calling
        // out (this machine has no network beyond loopback, and each refused call is noise).
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-extensions".to_owned(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.keep().display()),
        ];
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("built as an object above")
        };
        fantoccini::ClientBuilder::rustls()
            .expect("rustls with the platform's roots")
            .capabilities(capabilities)
            .connect(&self.url())
            .await
            .expect("chromedriver starts a headless Chromium")
    }

    async fn wait_until_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = format!("{}/status", self.url());
        loop {
            let ready = async {
                let body: serde_json::Value =
                    reqwest::get(&status).await.ok()?.json().await.ok()?;
                body["value"]["ready"].as_bool()
            };
            if ready.await == Some(true) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready on port {} within 20 s",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // The whole group: chromedriver and every Chromium process under it.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
