//! The guard in front of an API, validating tokens the real authorization server issues: the
//! layer's answers, the revocation feed, key rotation on a running server, and a fleet behind
//! a proxy.

mod fleet;
mod layer;
mod revocation_feed;
mod rotation;
