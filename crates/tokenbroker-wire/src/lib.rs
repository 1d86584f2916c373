//! # tokenbroker-wire
//!
//! The vocabulary both sides of the wire share, so that each protocol fact has exactly one home:
//! the client library encodes with it, the authorization server decodes with it, and the guard
//! and the agent name headers with it. Nothing here does I/O.
//!
//! - [`ClientSecret`]: a secret that shows only a fingerprint.
//! - [`https`]: the HTTPS rule (plain HTTP only to this machine).
//! - [`headers`]: header names (`ET-Client-Name`, `X-JWT`, `X-Transaction-Id`), bearer parsing,
//!   `Cache-Control: no-store`.
//! - [`ClientName`]: Entur's `<company>-<application>` rule.
//! - [`provider`]: Entur environments and audiences, Telenor regions, token and logout paths.
//! - [`client_auth`]: client authentication at the token endpoint, encoded **and** decoded
//!   ([RFC 6749 §2.3.1](https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1), Entur's JSON body).
//! - [`oauth_error`]: [RFC 6749 §5.2](https://www.rfc-editor.org/rfc/rfc6749#section-5.2) error
//!   bodies and Telenor's numeric codes.
//! - [`jwt`]: reading a JWT without verifying it, and the
//!   [RFC 9068](https://www.rfc-editor.org/rfc/rfc9068) access-token claims.
//! - [`read_limited`]: a response or request body, refused past a size limit. It polls a body
//!   it is given, so whatever owns the connection owns the I/O.
//! - [`trace_context`]: W3C `traceparent`, and (feature `otel`) its bridge to OpenTelemetry
//!   spans.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod body;
pub mod client_auth;
mod client_name;
mod clock;
mod error;
pub mod headers;
pub mod https;
pub mod jwt;
pub mod oauth_error;
pub mod provider;
mod secret;
pub mod trace_context;

pub use body::{read_limited, LimitedBodyError};
pub use client_name::ClientName;
pub use clock::{system_clock, Clock, ManualClock, SystemClock};
pub use error::WireError;
pub use secret::{fingerprint, ClientSecret};
