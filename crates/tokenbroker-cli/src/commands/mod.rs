//! One file per command; each is a thin shell over the libraries.

pub mod decode;
pub mod demo;
pub mod request;
pub mod token;
