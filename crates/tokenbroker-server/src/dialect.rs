//! Which provider the server stands in for. The providers' own token paths and conventions
//! ([`Dialect`]) are the shared vocabulary's ([`tokenbroker_wire::provider`]).

pub use tokenbroker_wire::provider::Dialect;

/// Which provider the server stands in for: decides the standard path's dialect and the default
/// token lifetime (Entur 24 h, Entur partner API authentication;
/// Telenor 1 h, Telenor Sweden Open APIs).
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
