//! Which provider's conventions a token endpoint follows.
//!
//! The paths are the providers' own: Entur `/oauth/token` (seed 001), Telenor Norway
//! `/oauth/v2/token` (seed 003), Telenor Sweden `/openapi/oauth2/token` (seed 004). Telenor adds
//! numeric error codes to its errors, and Sweden's example response carries `expires_in` as a
//! string.

/// A provider's token-endpoint conventions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Entur (Auth0-style): JSON bodies, RFC 6749 errors.
    Entur,
    /// Telenor Norway (Apigee-style): Basic + form, numeric error codes.
    TelenorNorway,
    /// Telenor Sweden: Basic + form, `expires_in` as a string.
    TelenorSweden,
}

impl Dialect {
    /// The token endpoint path.
    pub fn token_path(self) -> &'static str {
        match self {
            Self::Entur => "/oauth/token",
            Self::TelenorNorway => "/oauth/v2/token",
            Self::TelenorSweden => "/openapi/oauth2/token",
        }
    }

    /// Whether errors carry Telenor's numeric codes.
    pub fn numeric_codes(self) -> bool {
        !matches!(self, Self::Entur)
    }

    /// Whether `expires_in` is sent as a string by default (seed 004's example response).
    pub fn expires_in_as_string(self) -> bool {
        matches!(self, Self::TelenorSweden)
    }
}
