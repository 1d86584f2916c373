//! The authorization server over real HTTP: token lifecycle, admin API, error paths, registry backends, fleets, TLS, operations, and the one-verifier verdicts.
//!
//! One test binary for the crate; each module is one area.

mod admin_api;
mod error_paths;
mod fleet;
mod hostile;
mod one_verifier;
mod operations;
mod portal;
mod registry;
mod tls;
mod token_lifecycle;
