//! The HTTP endpoints, one file each.

pub mod jwks;
pub mod metadata;
pub mod token;
