//! Journeys across crates, one test binary: the client library against a real authorization
//! server over loopback (`client`), the guard validating that server's tokens (`guard`), and
//! the partner portal in a real headless Chromium (`portal`).

mod client;
mod guard;
mod portal;
