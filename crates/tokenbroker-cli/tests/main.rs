//! The `tokenbroker` binary as a user runs it: the CLI, `serve` and `agent`.
//!
//! One test binary for the crate; each module is one area.

mod common;

mod agent;
mod cli;
mod serve;
