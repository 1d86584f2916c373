//! What a client needs to ask for a token: where, who, how, and for what.

use std::time::Duration;

use url::Url;

use crate::cache_key::CacheKey;
use crate::error::{ConfigError, Error};
use crate::request::TokenParams;
use crate::wire::client_auth::{AuthStyle, BasicEncoding};
use crate::wire::https::{parse_secure_url_allowing, PlainHttpHosts};
use crate::wire::provider::{check_entur_pairing, EnturEnvironment, TelenorRegion};
use crate::wire::ClientSecret;
use secrecy::ExposeSecret;

/// Token request parameters the client sets itself ([RFC 6749 §4.4.2](https://www.rfc-editor.org/rfc/rfc6749#section-4.4.2),
/// [§2.3.1](https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1)); an extra parameter may not
/// repeat them.
pub(crate) const RESERVED_PARAMETERS: [&str; 3] = ["grant_type", "client_id", "client_secret"];

/// Lifetime assumed when the server sends neither `expires_in` nor a JWT `exp`.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

/// How long one token request may take before it counts as a network failure.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A validated client-credentials configuration (RFC 6749 §4.4).
///
/// Built with [`ClientConfig::builder`], or a preset ([`ClientConfig::entur`],
/// [`ClientConfig::telenor`]). `Debug` shows the secret's fingerprint only.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    token_url: Url,
    client_id: String,
    client_secret: ClientSecret,
    auth_style: AuthStyle,
    basic_encoding: BasicEncoding,
    params: TokenParams,
    default_lifetime: Duration,
    request_timeout: Duration,
    plain_http_hosts: PlainHttpHosts,
}

impl ClientConfig {
    /// Starts a configuration for the token endpoint at `token_url`.
    pub fn builder(
        token_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<ClientSecret>,
    ) -> ClientConfigBuilder {
        ClientConfigBuilder {
            token_url: token_url.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            auth_style: AuthStyle::default(),
            basic_encoding: BasicEncoding::default(),
            params: TokenParams::default(),
            default_lifetime: DEFAULT_LIFETIME,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            plain_http_hosts: PlainHttpHosts::default(),
        }
    }

    /// Entur preset (Entur partner API authentication): the environment's token URL and audience, JSON style.
    pub fn entur(
        environment: EnturEnvironment,
        client_id: impl Into<String>,
        client_secret: impl Into<ClientSecret>,
    ) -> ClientConfigBuilder {
        Self::builder(environment.token_url(), client_id, client_secret)
            .auth_style(AuthStyle::Json)
            .audience(environment.audience())
    }

    /// Telenor preset (Telenor's authentication pages): Basic authentication and a form body at the region's path
    /// below `base_url`.
    pub fn telenor(
        base_url: &str,
        region: TelenorRegion,
        client_id: impl Into<String>,
        client_secret: impl Into<ClientSecret>,
    ) -> ClientConfigBuilder {
        Self::builder(region.token_url(base_url), client_id, client_secret)
            .auth_style(AuthStyle::Basic)
    }

    /// Hosts besides loopback this client may reach over plain HTTP.
    pub fn plain_http_hosts(&self) -> &PlainHttpHosts {
        &self.plain_http_hosts
    }

    /// The token endpoint.
    pub fn token_url(&self) -> &Url {
        &self.token_url
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The client secret (shown as a fingerprint by `Debug`).
    pub fn client_secret(&self) -> &ClientSecret {
        &self.client_secret
    }

    /// How the client authenticates.
    pub fn auth_style(&self) -> AuthStyle {
        self.auth_style
    }

    /// How id and secret are encoded in a Basic header.
    pub fn basic_encoding(&self) -> BasicEncoding {
        self.basic_encoding
    }

    /// Audience, scope, resources and extra parameters.
    pub fn params(&self) -> &TokenParams {
        &self.params
    }

    /// Lifetime assumed when the server gives none.
    pub fn default_lifetime(&self) -> Duration {
        self.default_lifetime
    }

    /// Timeout of one token request.
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// The same configuration with another secret (a rotated or reloaded one).
    pub fn with_secret(mut self, secret: ClientSecret) -> Self {
        self.client_secret = secret;
        self
    }

    /// The identity of the tokens this configuration obtains; equal keys may share a token.
    pub fn cache_key(&self) -> CacheKey {
        CacheKey::new(&self.token_url, &self.client_id, &self.params)
    }
}

/// Builder for [`ClientConfig`]; [`build`](ClientConfigBuilder::build) validates everything.
#[derive(Debug)]
#[must_use]
pub struct ClientConfigBuilder {
    token_url: String,
    client_id: String,
    client_secret: ClientSecret,
    auth_style: AuthStyle,
    basic_encoding: BasicEncoding,
    params: TokenParams,
    default_lifetime: Duration,
    request_timeout: Duration,
    plain_http_hosts: PlainHttpHosts,
}

impl ClientConfigBuilder {
    /// Replaces the token URL; e.g. to point a preset's style at a local server.
    pub fn token_url(mut self, token_url: impl Into<String>) -> Self {
        self.token_url = token_url.into();
        self
    }

    /// Sets how the client authenticates (default: Basic).
    pub fn auth_style(mut self, style: AuthStyle) -> Self {
        self.auth_style = style;
        self
    }

    /// Sets how id and secret are encoded in a Basic header (default: RFC form-urlencoding).
    pub fn basic_encoding(mut self, encoding: BasicEncoding) -> Self {
        self.basic_encoding = encoding;
        self
    }

    /// Sets the `audience` parameter.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.params.audience = Some(audience.into());
        self
    }

    /// Sets the `scope` parameter (space-separated scopes).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.params.scope = Some(scope.into());
        self
    }

    /// Adds an RFC 8707 `resource` parameter.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.params.resource.push(resource.into());
        self
    }

    /// Adds any other request parameter.
    pub fn extra_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.extra.push((name.into(), value.into()));
        self
    }

    /// Sets the lifetime assumed when the server gives none (default 300 s).
    pub fn default_lifetime(mut self, lifetime: Duration) -> Self {
        self.default_lifetime = lifetime;
        self
    }

    /// Sets the timeout of one token request (default 10 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Also allows plain HTTP to these hosts (besides loopback), for the token URL and whatever
    /// else uses this configuration (revocation): a mock server in CI, or a service mesh that
    /// encrypts outside the process. Nothing is allowed by default.
    pub fn allow_insecure_http(mut self, hosts: PlainHttpHosts) -> Self {
        self.plain_http_hosts = hosts;
        self
    }

    /// Validates the configuration: HTTPS rule, credentials present, Entur environment pairing.
    pub fn build(self) -> Result<ClientConfig, Error> {
        let token_url =
            parse_secure_url_allowing(&self.token_url, "token_url", &self.plain_http_hosts)?;
        if self.client_id.trim().is_empty() {
            return Err(ConfigError::EmptyClientId.into());
        }
        if self.client_id.chars().any(char::is_control) {
            return Err(ConfigError::ClientIdControlCharacters.into());
        }
        if self.client_secret.expose_secret().is_empty() {
            return Err(ConfigError::EmptyClientSecret.into());
        }
        for (name, _) in &self.params.extra {
            if RESERVED_PARAMETERS.contains(&name.as_str()) {
                return Err(ConfigError::ReservedParameter(name.clone()).into());
            }
        }
        if self.default_lifetime.is_zero() {
            return Err(ConfigError::ZeroDefaultLifetime.into());
        }
        check_entur_pairing(&token_url, self.params.audience.as_deref())?;
        Ok(ClientConfig {
            token_url,
            client_id: self.client_id,
            client_secret: self.client_secret,
            auth_style: self.auth_style,
            basic_encoding: self.basic_encoding,
            params: self.params,
            default_lifetime: self.default_lifetime,
            request_timeout: self.request_timeout,
            plain_http_hosts: self.plain_http_hosts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refused setting is a typed [`ConfigError`], reachable as the error's source.
    #[test]
    fn refusals_are_typed_and_kept_as_the_source() {
        use std::error::Error as _;
        let error = ClientConfig::entur(EnturEnvironment::Dev, " ", "secret")
            .build()
            .unwrap_err();
        let cause = error.source().unwrap().downcast_ref::<ConfigError>();
        assert!(
            matches!(cause, Some(ConfigError::EmptyClientId)),
            "{error:?}"
        );
        assert_eq!(error.detail().to_string(), "client_id is empty");
        let error = ClientConfig::entur(EnturEnvironment::Dev, "id", "secret")
            .extra_param("grant_type", "password")
            .build()
            .unwrap_err();
        assert!(
            matches!(error, Error::Config(ConfigError::ReservedParameter(ref name)) if name == "grant_type"),
            "{error:?}"
        );
    }

    #[test]
    fn entur_preset_fills_url_audience_and_style() {
        let config = ClientConfig::entur(EnturEnvironment::Dev, "id", "secret")
            .build()
            .unwrap();
        assert_eq!(
            config.token_url().as_str(),
            "https://partner.dev.entur.org/oauth/token"
        );
        assert_eq!(
            config.params().audience.as_deref(),
            Some("https://api.dev.entur.io")
        );
        assert_eq!(config.auth_style(), AuthStyle::Json);
    }

    #[test]
    fn entur_preset_refuses_another_environments_audience() {
        let err = ClientConfig::entur(EnturEnvironment::Prod, "id", "secret")
            .audience("https://api.staging.entur.io")
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains("same environment"), "{err}");
    }

    #[test]
    fn telenor_preset_is_basic_at_the_region_path() {
        let config =
            ClientConfig::telenor("https://api.telenor.no", TelenorRegion::Norway, "id", "s")
                .build()
                .unwrap();
        assert_eq!(config.token_url().path(), "/oauth/v2/token");
        assert_eq!(config.auth_style(), AuthStyle::Basic);
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let config = ClientConfig::builder("https://as.example/token", "id", "top-secret-value")
            .build()
            .unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("top-secret-value"), "{shown}");
    }

    #[test]
    fn bad_configs_name_the_problem() {
        let err = |b: ClientConfigBuilder| b.build().unwrap_err().to_string();
        assert!(err(ClientConfig::builder("http://as.example/t", "id", "s")).contains("https://"));
        assert!(err(ClientConfig::builder("https://as.example/t", " ", "s")).contains("client_id"));
        assert!(
            err(ClientConfig::builder("https://as.example/t", "id", "")).contains("client_secret")
        );
        assert!(err(
            ClientConfig::builder("https://as.example/t", "id", "s").extra_param("grant_type", "x")
        )
        .contains("grant_type"));
    }
}
