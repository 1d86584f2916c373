//! # tokenbroker-e2e
//!
//! Test-only: the journeys that cross crates — the client library against the authorization
//! server, the guard validating the server's tokens through rotation and revocation — live in
//! `tests/`, so no library needs another as a dev-dependency and every dependency arrow points
//! down. The workspace README's examples are compiled here as doctests, because this crate sees
//! the client, the guard and the server.

/// The workspace README's examples, compiled as doctests so they cannot rot.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
