//! Test harness shared by tokenbroker's crates (dev-dependency only, never published).
//!
//! Tests talk to real servers (the project's rule): these start them from the binaries on this machine
//! on ephemeral loopback ports and stop them when dropped. `.ci/run` installs the packages.

pub mod chromium;
pub mod connection;
pub mod oauth;
pub mod postgres;
pub mod redis;
pub mod round_robin;
pub mod tls;

pub use chromium::ChromeDriver;
pub use connection::closed_within;
pub use oauth::{fetch_token, introspect, request_token};
pub use postgres::Postgres;
pub use redis::RedisServer;
pub use round_robin::RoundRobinProxy;
pub use tls::{self_signed, SelfSigned};

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("an ephemeral loopback port")
}
