//! The sidecar agent over real HTTP: proxying and operations.
//!
//! One test binary for the crate; each module is one area.

mod common;

mod operations;
mod proxy;
