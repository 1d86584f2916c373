//! One file per command; each is a thin shell over the libraries.

pub mod admins;
pub mod agent;
pub mod clients;
pub mod decode;
pub mod demo;
pub mod keys;
pub mod registry;
pub mod request;
pub mod serve;
pub mod token;
