//! Which provider's conventions a token endpoint follows.
//!
//! The paths are the providers' own: Entur `/oauth/token` (seed 001), Telenor Norway
//! `/oauth/v2/token` (seed 003), Telenor Sweden `/openapi/oauth2/token` (seed 004). Telenor adds
//! numeric error codes to its errors, and Sweden's example response carries `expires_in` as a
//! string.

/// Which provider the server stands in for: decides the standard path's dialect and the default
/// token lifetime (Entur 24 h, seed 002; Telenor 1 h, seed 004).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// Entur / Auth0.
    #[default]
    Entur,
    /// Telenor (Norway's error codes).
    Telenor,
}

impl Profile {
    /// The dialect of the standard token path.
    pub fn dialect(self) -> Dialect {
        match self {
            Self::Entur => Dialect::Entur,
            Self::Telenor => Dialect::TelenorNorway,
        }
    }

    /// The token lifetime for clients without their own.
    pub fn default_lifetime(self) -> std::time::Duration {
        std::time::Duration::from_secs(match self {
            Self::Entur => 24 * 3600,
            Self::Telenor => 3600,
        })
    }
}

impl std::str::FromStr for Profile {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "entur" => Ok(Self::Entur),
            "telenor" => Ok(Self::Telenor),
            _ => Err(format!("profile {s:?} is unknown; use entur or telenor")),
        }
    }
}

/// The standard token path, advertised in the metadata; speaks the server profile's dialect.
pub const STANDARD_TOKEN_PATH: &str = "/oauth2/token";

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
