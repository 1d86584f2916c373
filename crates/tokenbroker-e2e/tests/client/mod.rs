//! The client library against the real authorization server: wire styles, caching and refresh
//! ahead, errors, the middleware, X-JWT, the Redis-shared cache, interoperability with the
//! `oauth2` crate, and no secret in any log line.

mod common;

mod cache;
mod errors;
mod interop;
mod middleware;
mod no_secret_leaks;
mod profile;
mod shared_cache;
mod wire_styles;
mod x_jwt;
