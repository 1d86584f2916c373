//! The providers' facts: where their token and logout endpoints are, which audiences belong to
//! which Entur environment, and how each token endpoint speaks. The client library builds URLs
//! from this table and the authorization server serves the same paths from it.
//!
//! Entur (Entur partner authentication): one authentication server per environment, each with its
//! own audience; "Your application will not get a token if the Server and Audience are not
//! comparable", so a mismatched pair is refused before any request. Telenor (Telenor Norway client
//! credentials grant; Telenor Sweden Open APIs): Basic authentication and a form body, at
//! `/oauth/v2/token` in Norway and `/openapi/oauth2/token` in Sweden.

use std::fmt;
use std::str::FromStr;

use url::Url;

use crate::WireError;

/// Entur's token endpoint path on every environment's server (`https://<SERVER>/oauth/token`).
pub const ENTUR_TOKEN_PATH: &str = "/oauth/token";

/// Telenor Norway's token endpoint path.
pub const TELENOR_NORWAY_TOKEN_PATH: &str = "/oauth/v2/token";

/// Telenor Norway's logout endpoint path (`GET` with the bearer token answers `OK!`).
pub const TELENOR_NORWAY_LOGOUT_PATH: &str = "/oauth/v2/logout";

/// Telenor Sweden's token endpoint path, below the base URL from the agreement.
pub const TELENOR_SWEDEN_TOKEN_PATH: &str = "/openapi/oauth2/token";

/// An Entur environment (the table on Entur's partner API authentication page).
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

    /// The authentication server's host.
    pub fn server_host(self) -> &'static str {
        match self {
            Self::Prod => "partner.entur.org",
            Self::Staging => "partner.staging.entur.org",
            Self::Dev => "partner.dev.entur.org",
        }
    }

    /// The authentication server's token URL.
    pub fn token_url(self) -> String {
        format!("https://{}{ENTUR_TOKEN_PATH}", self.server_host())
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
        Self::ALL
            .into_iter()
            .find(|env| env.server_host().eq_ignore_ascii_case(host))
    }

    /// The environment an audience belongs to, if it is one of Entur's.
    pub fn of_audience(audience: &str) -> Option<Self> {
        let trimmed = audience.trim_end_matches('/');
        Self::ALL.into_iter().find(|env| env.audience() == trimmed)
    }
}

impl FromStr for EnturEnvironment {
    type Err = WireError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "prod" | "production" => Ok(Self::Prod),
            "staging" => Ok(Self::Staging),
            "dev" | "development" => Ok(Self::Dev),
            _ => Err(WireError::unknown(
                "environment",
                s,
                "an Entur environment: prod, staging or dev",
            )),
        }
    }
}

impl fmt::Display for EnturEnvironment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An Entur token URL paired with another Entur environment's audience: no token would be
/// issued (Entur partner authentication).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "audience {audience} belongs to Entur {audience_environment} but the token URL is Entur \
     {server_environment}; server and audience must belong to the same environment (use audience {})",
    server_environment.audience()
)]
pub struct MismatchedEnvironment {
    /// The audience asked for.
    pub audience: String,
    /// The environment the audience belongs to.
    pub audience_environment: EnturEnvironment,
    /// The environment of the token URL's server.
    pub server_environment: EnturEnvironment,
}

/// Refuses an Entur token URL paired with another Entur environment's audience; other servers are
/// not judged.
pub fn check_entur_pairing(
    token_url: &Url,
    audience: Option<&str>,
) -> Result<(), MismatchedEnvironment> {
    let (Some(server_environment), Some(audience)) =
        (EnturEnvironment::of_token_url(token_url), audience)
    else {
        return Ok(());
    };
    match EnturEnvironment::of_audience(audience) {
        Some(audience_environment) if audience_environment != server_environment => {
            Err(MismatchedEnvironment {
                audience: audience.to_owned(),
                audience_environment,
                server_environment,
            })
        }
        _ => Ok(()),
    }
}

/// Telenor's regional token endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TelenorRegion {
    /// Telenor Norway: `POST /oauth/v2/token` (Telenor Norway client credentials grant).
    Norway,
    /// Telenor Sweden: `POST /openapi/oauth2/token` (Telenor Sweden Open APIs).
    Sweden,
}

impl TelenorRegion {
    /// The Telenor Norway public API base URL (the example invocation on its page).
    pub const NORWAY_BASE_URL: &'static str = "https://api.telenor.no";

    /// The token endpoint's path below the base URL.
    pub fn token_path(self) -> &'static str {
        match self {
            Self::Norway => TELENOR_NORWAY_TOKEN_PATH,
            Self::Sweden => TELENOR_SWEDEN_TOKEN_PATH,
        }
    }

    /// The logout endpoint's path, where the region has one (Norway).
    pub fn logout_path(self) -> Option<&'static str> {
        match self {
            Self::Norway => Some(TELENOR_NORWAY_LOGOUT_PATH),
            Self::Sweden => None,
        }
    }

    /// The token URL below `base_url`.
    pub fn token_url(self, base_url: &str) -> String {
        format!("{}{}", base_url.trim_end_matches('/'), self.token_path())
    }

    /// Telenor Norway's logout URL beside `token_url`, when `token_url` ends in Norway's token
    /// path (`…/oauth/v2/token` → `…/oauth/v2/logout`).
    pub fn logout_url_beside(token_url: &Url) -> Option<Url> {
        let prefix = token_url.path().strip_suffix(TELENOR_NORWAY_TOKEN_PATH)?;
        let mut url = token_url.clone();
        url.set_path(&format!("{prefix}{TELENOR_NORWAY_LOGOUT_PATH}"));
        Some(url)
    }
}

impl FromStr for TelenorRegion {
    type Err = WireError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "norway" | "no" => Ok(Self::Norway),
            "sweden" | "se" => Ok(Self::Sweden),
            _ => Err(WireError::unknown(
                "region",
                s,
                "a Telenor region: norway or sweden",
            )),
        }
    }
}

/// How a provider's token endpoint speaks: its path, whether errors carry Telenor's numeric codes,
/// and whether `expires_in` is a string.
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
    /// Every dialect.
    pub const ALL: [Dialect; 3] = [Self::Entur, Self::TelenorNorway, Self::TelenorSweden];

    /// The token endpoint path.
    pub fn token_path(self) -> &'static str {
        match self {
            Self::Entur => ENTUR_TOKEN_PATH,
            Self::TelenorNorway => TelenorRegion::Norway.token_path(),
            Self::TelenorSweden => TelenorRegion::Sweden.token_path(),
        }
    }

    /// Whether errors carry Telenor's numeric codes.
    pub fn numeric_codes(self) -> bool {
        !matches!(self, Self::Entur)
    }

    /// Whether `expires_in` is sent as a string (Telenor Sweden's example response,
    /// `"expires_in":"3599"`).
    pub fn expires_in_as_string(self) -> bool {
        matches!(self, Self::TelenorSweden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environments_pair_servers_with_audiences() {
        for env in EnturEnvironment::ALL {
            let url = Url::parse(&env.token_url()).unwrap();
            assert_eq!(url.path(), ENTUR_TOKEN_PATH);
            assert_eq!(EnturEnvironment::of_token_url(&url), Some(env));
            assert_eq!(EnturEnvironment::of_audience(env.audience()), Some(env));
            assert!(check_entur_pairing(&url, Some(env.audience())).is_ok());
        }
        assert_eq!(
            EnturEnvironment::Prod.token_url(),
            "https://partner.entur.org/oauth/token"
        );
    }

    #[test]
    fn mismatched_environment_is_refused_with_the_reason() {
        let url = Url::parse(&EnturEnvironment::Prod.token_url()).unwrap();
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
    fn telenor_paths_follow_the_pages() {
        assert_eq!(
            TelenorRegion::Norway.token_url("https://api.telenor.no/"),
            "https://api.telenor.no/oauth/v2/token"
        );
        assert_eq!(TelenorRegion::Sweden.token_path(), "/openapi/oauth2/token");
        assert!("atlantis".parse::<TelenorRegion>().is_err());
        let token = Url::parse("https://api.telenor.no/base/oauth/v2/token").unwrap();
        assert_eq!(
            TelenorRegion::logout_url_beside(&token).unwrap().as_str(),
            "https://api.telenor.no/base/oauth/v2/logout"
        );
        let sweden = Url::parse("https://se.example/openapi/oauth2/token").unwrap();
        assert_eq!(TelenorRegion::logout_url_beside(&sweden), None);
    }

    #[test]
    fn dialects_use_the_provider_paths() {
        let paths: Vec<_> = Dialect::ALL.iter().map(|d| d.token_path()).collect();
        assert_eq!(
            paths,
            ["/oauth/token", "/oauth/v2/token", "/openapi/oauth2/token"]
        );
    }
}
