//! Journeys across crates, one test binary: the client library against a real authorization
//! server over loopback (`client`), and the guard validating that server's tokens (`guard`).

mod client;
mod guard;
