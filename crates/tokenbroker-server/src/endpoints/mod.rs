//! The HTTP endpoints, one file each.

pub mod admin;
pub mod health;
pub mod introspection;
pub mod jwks;
pub mod metadata;
pub mod revocation;
pub mod token;
