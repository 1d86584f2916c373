//! The token request on the wire, in the three styles servers expect.
//!
//! - [`AuthStyle::Json`]: JSON body with the credentials (Entur/Auth0, seed 002) — [`json`].
//! - [`AuthStyle::Form`]: form body with the credentials, RFC 6749 §2.3.1 `client_secret_post` —
//!   [`form`].
//! - [`AuthStyle::Basic`]: `Authorization: Basic`, form body without the secret, RFC 6749 §2.3.1
//!   `client_secret_basic` (Telenor, seeds 003/004) — [`basic`].
//!
//! All three send `grant_type=client_credentials` (RFC 6749 §4.4.2) plus the configured
//! parameters, and ask for JSON back.

pub mod basic;
pub mod form;
pub mod json;

use std::fmt;
use std::str::FromStr;

use http::header::ACCEPT;
use http::HeaderValue;

use crate::config::ClientConfig;
use crate::error::Error;

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AuthStyle {
    /// Credentials in a JSON body (Entur/Auth0).
    Json,
    /// Credentials in a form body (`client_secret_post`).
    Form,
    /// Credentials in an `Authorization: Basic` header (`client_secret_basic`, Telenor).
    #[default]
    Basic,
}

impl FromStr for AuthStyle {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "json" => Ok(Self::Json),
            "form" | "post" | "client_secret_post" => Ok(Self::Form),
            "basic" | "client_secret_basic" => Ok(Self::Basic),
            _ => Err(Error::Config(format!(
                "auth_style {s:?} is unknown; use json (Entur), basic (Telenor) or form"
            ))),
        }
    }
}

impl fmt::Display for AuthStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Json => "json",
            Self::Form => "form",
            Self::Basic => "basic",
        })
    }
}

/// How the client id and secret are encoded inside the Basic header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BasicEncoding {
    /// Form-urlencode id and secret before base64, as RFC 6749 §2.3.1 requires.
    #[default]
    Rfc,
    /// Send id and secret as they are; some Apigee-style servers expect this, and a secret with
    /// special characters then fails the RFC encoding.
    Raw,
}

impl FromStr for BasicEncoding {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "rfc" | "urlencoded" => Ok(Self::Rfc),
            "raw" => Ok(Self::Raw),
            _ => Err(Error::Config(format!(
                "basic_encoding {s:?} is unknown; use rfc (the default) or raw"
            ))),
        }
    }
}

/// The request parameters besides the credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TokenParams {
    /// `audience` (Auth0/Entur): the API the token is for.
    pub audience: Option<String>,
    /// `scope` (RFC 6749 §3.3), space-separated.
    pub scope: Option<String>,
    /// `resource` (RFC 8707 §2), one entry per value.
    pub resource: Vec<String>,
    /// Any further parameters the server wants.
    pub extra: Vec<(String, String)>,
}

impl TokenParams {
    /// The parameters as name/value pairs, `grant_type` first.
    pub(crate) fn pairs(&self) -> Vec<(&str, &str)> {
        let mut pairs = vec![("grant_type", "client_credentials")];
        if let Some(audience) = &self.audience {
            pairs.push(("audience", audience));
        }
        if let Some(scope) = &self.scope {
            pairs.push(("scope", scope));
        }
        pairs.extend(self.resource.iter().map(|r| ("resource", r.as_str())));
        pairs.extend(self.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        pairs
    }
}

/// Builds the token request for `config` in its configured style.
pub(crate) fn build(http: &reqwest::Client, config: &ClientConfig) -> reqwest::RequestBuilder {
    let request = http
        .post(config.token_url().clone())
        .header(ACCEPT, HeaderValue::from_static("application/json"));
    match config.auth_style() {
        AuthStyle::Json => json::apply(request, config),
        AuthStyle::Form => form::apply(request, config),
        AuthStyle::Basic => basic::apply(request, config),
    }
}
