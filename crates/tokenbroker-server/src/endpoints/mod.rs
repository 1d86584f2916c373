//! The HTTP endpoints, one file each.

pub(crate) mod admin;
pub(crate) mod health;
pub(crate) mod introspection;
pub(crate) mod jwks;
pub(crate) mod metadata;
pub(crate) mod revocation;
pub(crate) mod token;
