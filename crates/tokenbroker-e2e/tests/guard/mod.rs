//! The guard in front of an API, validating tokens the real authorization server issues: the
//! layer's answers, and key rotation on a running server.

mod layer;
mod rotation;
