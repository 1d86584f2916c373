//! Provider presets: the token URLs, audiences and wire styles the seed pages give.
//!
//! Entur (seeds 000–002): one authentication server per environment, each with its own audience;
//! "Your application will not get a token if the Server and Audience are not comparable", so a
//! mismatched pair is refused before any request. Telenor (seeds 003–004): Basic authentication
//! and a form body, at `/oauth/v2/token` in Norway and `/openapi/oauth2/token` in Sweden.

use std::fmt;
use std::str::FromStr;

use url::Url;

use crate::error::Error;

/// An Entur environment (seed 002's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnturEnvironment {
    /// Production: `https://partner.entur.org`, audience `https://api.entur.io`.
    Prod,
    /// Staging: `https://partner.staging.entur.org`, audience `https://api.staging.entur.io`.
    Staging,
    /// Dev: `https://partner.dev.entur.org`, audience `https://api.dev.entur.io`.
    Dev,
}

impl EnturEnvironment {
    /// Every environment, for lookups.
    pub const ALL: [EnturEnvironment; 3] = [Self::Prod, Self::Staging, Self::Dev];

    /// The authentication server's token URL (`https://<SERVER>/oauth/token`, seed 001).
    pub fn token_url(self) -> &'static str {
        match self {
            Self::Prod => "https://partner.entur.org/oauth/token",
            Self::Staging => "https://partner.staging.entur.org/oauth/token",
            Self::Dev => "https://partner.dev.entur.org/oauth/token",
        }
    }

    /// The audience that belongs to this environment.
    pub fn audience(self) -> &'static str {
        match self {
            Self::Prod => "https://api.entur.io",
            Self::Staging => "https://api.staging.entur.io",
            Self::Dev => "https://api.dev.entur.io",
        }
    }

    /// The environment's lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Prod => "prod",
            Self::Staging => "staging",
            Self::Dev => "dev",
        }
    }

    /// The environment whose authentication server hosts `url`, if any.
    pub fn of_token_url(url: &Url) -> Option<Self> {
        let host = url.host_str()?;
        Self::ALL.into_iter().find(|env| {
            Url::parse(env.token_url())
                .ok()
                .as_ref()
                .and_then(Url::host_str)
                == Some(host)
        })
    }

    /// The environment an audience belongs to, if it is one of Entur's.
    pub fn of_audience(audience: &str) -> Option<Self> {
        let trimmed = audience.trim_end_matches('/');
        Self::ALL.into_iter().find(|env| env.audience() == trimmed)
    }
}

impl FromStr for EnturEnvironment {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "prod" | "production" => Ok(Self::Prod),
            "staging" => Ok(Self::Staging),
            "dev" | "development" => Ok(Self::Dev),
            _ => Err(Error::Config(format!(
                "environment {s:?} is not an Entur environment; use prod, staging or dev"
            ))),
        }
    }
}

impl fmt::Display for EnturEnvironment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Refuses an Entur token URL paired with another Entur environment's audience (seed 001).
pub fn check_entur_pairing(token_url: &Url, audience: Option<&str>) -> Result<(), Error> {
    let (Some(server_env), Some(audience)) = (EnturEnvironment::of_token_url(token_url), audience)
    else {
        return Ok(());
    };
    match EnturEnvironment::of_audience(audience) {
        Some(audience_env) if audience_env != server_env => Err(Error::Config(format!(
            "audience {audience} belongs to Entur {audience_env} but the token URL is Entur {server_env}; \
             server and audience must belong to the same environment (use audience {})",
            server_env.audience()
        ))),
        _ => Ok(()),
    }
}

/// Telenor's regional token endpoints (seeds 003 and 004).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TelenorRegion {
    /// Telenor Norway: `POST /oauth/v2/token` (seed 003).
    Norway,
    /// Telenor Sweden: `POST /openapi/oauth2/token` (seed 004).
    Sweden,
}

impl TelenorRegion {
    /// The token endpoint's path below the base URL.
    pub fn token_path(self) -> &'static str {
        match self {
            Self::Norway => "/oauth/v2/token",
            Self::Sweden => "/openapi/oauth2/token",
        }
    }

    /// The logout endpoint's path, where the region has one (Norway, seed 003).
    pub fn logout_path(self) -> Option<&'static str> {
        match self {
            Self::Norway => Some("/oauth/v2/logout"),
            Self::Sweden => None,
        }
    }

    /// The Telenor Norway public API base URL (seed 003's example invocation).
    pub const NORWAY_BASE_URL: &'static str = "https://api.telenor.no";

    /// The token URL below `base_url`.
    pub fn token_url(self, base_url: &str) -> String {
        format!("{}{}", base_url.trim_end_matches('/'), self.token_path())
    }
}

impl FromStr for TelenorRegion {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "norway" | "no" => Ok(Self::Norway),
            "sweden" | "se" => Ok(Self::Sweden),
            _ => Err(Error::Config(format!(
                "region {s:?} is not a Telenor region; use norway or sweden"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environments_pair_servers_with_audiences() {
        for env in EnturEnvironment::ALL {
            let url = Url::parse(env.token_url()).unwrap();
            assert_eq!(EnturEnvironment::of_token_url(&url), Some(env));
            assert_eq!(EnturEnvironment::of_audience(env.audience()), Some(env));
            assert!(check_entur_pairing(&url, Some(env.audience())).is_ok());
        }
    }

    #[test]
    fn mismatched_environment_is_refused_with_the_reason() {
        let url = Url::parse(EnturEnvironment::Prod.token_url()).unwrap();
        let err = check_entur_pairing(&url, Some("https://api.dev.entur.io"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("same environment"), "{err}");
        assert!(err.contains("https://api.entur.io"), "{err}");
    }

    #[test]
    fn non_entur_servers_are_not_judged() {
        let url = Url::parse("http://127.0.0.1:1/oauth/token").unwrap();
        assert!(check_entur_pairing(&url, Some("https://api.dev.entur.io")).is_ok());
    }

    #[test]
    fn telenor_paths_follow_the_seeds() {
        assert_eq!(
            TelenorRegion::Norway.token_url("https://api.telenor.no/"),
            "https://api.telenor.no/oauth/v2/token"
        );
        assert_eq!(TelenorRegion::Sweden.token_path(), "/openapi/oauth2/token");
        assert!("atlantis".parse::<TelenorRegion>().is_err());
    }
}
