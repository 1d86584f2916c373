//! The token request on the wire, in the three styles servers expect.
//!
//! - [`AuthStyle::Json`]: JSON body with the credentials (Entur partner API authentication).
//! - [`AuthStyle::Form`]: form body with the credentials, RFC 6749 §2.3.1 `client_secret_post`.
//! - [`AuthStyle::Basic`]: `Authorization: Basic`, form body without the secret, RFC 6749 §2.3.1
//!   `client_secret_basic` (Telenor Norway client credentials grant, Telenor Sweden Open APIs).
//!
//! The encoding itself is [`client_auth::encode`], shared with the server's decoder.
//!
//! All three send `grant_type=client_credentials` (RFC 6749 §4.4.2) plus the configured
//! parameters, and ask for JSON back.

use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::HeaderValue;

use crate::config::ClientConfig;
use crate::wire::client_auth::{self, AuthStyle};

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
    with_credentials(
        request,
        config,
        config.auth_style(),
        &config.params().pairs(),
    )
}

/// Adds the client's credentials in `style` and the body carrying `params`: the one encoder
/// ([`client_auth::encode`]) the server's decoder is tested against.
pub(crate) fn with_credentials(
    request: reqwest::RequestBuilder,
    config: &ClientConfig,
    style: AuthStyle,
    params: &[(&str, &str)],
) -> reqwest::RequestBuilder {
    let encoded = client_auth::encode(
        style,
        config.basic_encoding(),
        config.client_id(),
        config.client_secret(),
        params,
    );
    let request = match encoded.authorization {
        Some(authorization) => request.header(AUTHORIZATION, authorization),
        None => request,
    };
    request
        .header(CONTENT_TYPE, encoded.content_type)
        .body(encoded.body)
}
