//! One file per command; each is a thin shell over the libraries.

pub(crate) mod admins;
pub(crate) mod agent;
pub(crate) mod clients;
pub(crate) mod config_check;
pub(crate) mod decode;
pub(crate) mod demo;
pub(crate) mod doctor;
pub(crate) mod keys;
pub(crate) mod registry;
pub(crate) mod request;
pub(crate) mod serve;
pub(crate) mod shell_docs;
pub(crate) mod token;
pub(crate) mod token_cache;
