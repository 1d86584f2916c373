//! The sandbox: the demo partner APIs behind the guard, and the X-JWT flow.
//!
//! One test binary for the crate; each module is one area.

mod sandbox;
mod x_jwt;
