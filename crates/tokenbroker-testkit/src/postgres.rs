//! A throwaway PostgreSQL server on an ephemeral loopback port, from the binaries on this machine
//! (`initdb`/`postgres` on PATH or under /usr/lib/postgresql/*/bin). `.ci/run` installs them.
//!
//! PostgreSQL refuses to run as root; when the tests run as root, the server runs as the
//! `postgres` user (created by Debian's package) through `runuser`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

/// A running PostgreSQL server; stopped when dropped.
pub struct Postgres {
    _dir: tempfile::TempDir,
    data: PathBuf,
    bin: PathBuf,
    child: Child,
    as_postgres_user: bool,
    /// `postgres://tokenbroker@127.0.0.1:PORT/postgres`.
    pub url: String,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Postgres {
    /// Creates a cluster in a temporary directory and starts it.
    pub fn start() -> Postgres {
        let bin = find_bin_dir().expect(
            "PostgreSQL is not installed: `apt-get install -y postgresql` (.ci/run does this) — \
             the registry tests need initdb and postgres",
        );
        let as_postgres_user = running_as_root();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let data = dir.path().join("data");
        if as_postgres_user {
            let status = Command::new("chown")
                .arg("postgres:postgres")
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success(), "chown to the postgres user failed");
        }
        let initdb = run(
            as_postgres_user,
            &bin.join("initdb"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "tokenbroker",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )
        .output()
        .expect("initdb runs");
        assert!(
            initdb.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&initdb.stderr)
        );
        let port = free_port();
        let child = run(
            as_postgres_user,
            &bin.join("postgres"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-p",
                &port.to_string(),
                "-k",
                dir.path().to_str().unwrap(),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("postgres starts");
        let server = Postgres {
            _dir: dir,
            data,
            bin,
            child,
            as_postgres_user,
            url: format!("postgres://tokenbroker@127.0.0.1:{port}/postgres"),
        };
        server.wait_until_ready(port);
        server
    }

    fn wait_until_ready(&self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port.to_string(),
                    "-U",
                    "tokenbroker",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ready {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("postgres did not become ready within 30 s");
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // pg_ctl stops the server itself; killing `runuser` alone would orphan it.
        let _ = run(
            self.as_postgres_user,
            &self.bin.join("pg_ctl"),
            &[
                "stop",
                "-D",
                self.data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(as_postgres_user: bool, program: &Path, args: &[&str]) -> Command {
    if as_postgres_user {
        let mut command = Command::new("runuser");
        command
            .args(["-u", "postgres", "--"])
            .arg(program)
            .args(args);
        command
    } else {
        let mut command = Command::new(program);
        command.args(args);
        command
    }
}

fn find_bin_dir() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>());
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"));
    // Debian's /usr/lib/postgresql/N/bin has pg_ctl and pg_isready beside initdb; prefer it.
    debian.chain(on_path).find(|dir| {
        dir.join("initdb").is_file()
            && dir.join("pg_ctl").is_file()
            && dir.join("pg_isready").is_file()
    })
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}
