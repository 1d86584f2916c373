//! Profiles: a named client configuration — who to ask for tokens, how, and which headers go on
//! API requests — as the CLI, the agent and a Rust service all use it.
//!
//! A Rust service loads the same `tokenbroker.toml` profile the CLI uses (feature `config-file`):
//!
//! ```no_run
//! # #[cfg(feature = "config-file")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let profile = tokenbroker::Profile::load("tokenbroker.toml", "entur-dev")?;
//! let api = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(profile.middleware()?)
//!     .build();
//! let programs = api.get("https://api.dev.entur.io/personalisation/v1/programs/1").send().await?;
//! # Ok(()) }
//! ```

mod check;
#[cfg(feature = "config-file")]
mod file;
mod secret_source;
mod settings;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

pub use check::SettingProblem;
#[cfg(feature = "config-file")]
pub use file::FileProblem;
#[cfg(feature = "config-file")]
pub use file::{check as check_toml, parse as parse_toml, read as read_config, ProfilesFile};
pub use secret_source::{SecretError, SecretSource};
pub use settings::ProfileSettings;

use crate::error::Error;
use crate::exchange::TokenClient;
use crate::middleware::AuthMiddleware;
use crate::source::{CachedTokenSource, SharedCache};
use crate::wire::https::{parse_secure_url_allowing, PlainHttpHosts};
use crate::wire::provider::{EnturEnvironment, TelenorRegion};
use crate::wire::ClientName;
use crate::x_jwt::{XJwtConfig, XJwtSource};
use crate::{ClientConfig, ClientConfigBuilder};

/// A usable profile: a validated client configuration and the headers its API requests carry.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The profile's name, used in paths (the agent's `/v1/token/NAME`), errors and metrics.
    pub name: String,
    /// The validated client configuration.
    pub client: ClientConfig,
    /// `ET-Client-Name` to send (Entur API authentication).
    pub client_name: Option<ClientName>,
    /// Send a fresh `X-Transaction-Id` on every request (Telenor Sweden Open APIs).
    pub transaction_ids: bool,
    /// Telenor Communication X-JWT settings (Telenor Sweden Open APIs).
    pub x_jwt: Option<XJwtConfig>,
    /// The file the client secret was read from: the agent re-reads it when it changes.
    pub secret_file: Option<PathBuf>,
    /// The file the X-JWT password was read from: re-read likewise.
    pub x_jwt_password_file: Option<PathBuf>,
    /// Where to log the token out (Telenor Norway client credentials grant: `GET /oauth/v2/logout`).
    pub logout_url: Option<Url>,
    /// Where to revoke the token ([RFC 7009](https://www.rfc-editor.org/rfc/rfc7009)), for
    /// servers without a logout.
    pub revocation_url: Option<Url>,
}

/// Why a profile cannot be used: where (the profile, and its file when there is one) and what.
#[derive(Debug, thiserror::Error)]
#[error("{place}: {problem}")]
pub struct ProfileError {
    /// `profile NAME in FILE`, or `profile NAME`.
    pub place: String,
    /// What is wrong.
    #[source]
    pub problem: ProfileProblem,
}

/// What is wrong with a profile.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileProblem {
    /// A required key is missing, or keys do not go together; the text says which and what to set.
    #[error("{0}")]
    Settings(String),
    /// A secret cannot be read.
    #[error("{key}: {source}")]
    Secret {
        /// The setting that names the secret (`client_secret`, `x_jwt_password`).
        key: &'static str,
        /// Why it cannot be read.
        #[source]
        source: SecretError,
    },
    /// A value the client library refuses.
    #[error("{}", .0.detail())]
    Invalid(#[source] Error),
    /// The configuration file cannot be read.
    #[error("cannot read the file: {0}")]
    Read(#[source] std::io::Error),
    /// The configuration file does not parse (the message names the line).
    #[error("{0}")]
    Parse(String),
    /// No profile of that name.
    #[error("no such profile (profiles: {0})")]
    Unknown(String),
}

impl From<Error> for ProfileProblem {
    fn from(error: Error) -> Self {
        Self::Invalid(error)
    }
}

impl From<crate::wire::WireError> for ProfileProblem {
    fn from(error: crate::wire::WireError) -> Self {
        Self::Invalid(error.into())
    }
}

impl Profile {
    /// A profile that sends only the bearer token: no `ET-Client-Name`, transaction ids or
    /// X-JWT, no secret files, nothing to end on shutdown. Set the other fields with struct
    /// update syntax: `Profile { client_name: Some(name), ..Profile::new(n, c) }`.
    pub fn new(name: impl Into<String>, client: ClientConfig) -> Self {
        Self {
            name: name.into(),
            client,
            client_name: None,
            transaction_ids: false,
            x_jwt: None,
            secret_file: None,
            x_jwt_password_file: None,
            logout_url: None,
            revocation_url: None,
        }
    }

    /// Loads profile `name` from the `tokenbroker.toml` at `path` and reads its secrets.
    #[cfg(feature = "config-file")]
    pub fn load(path: impl AsRef<std::path::Path>, name: &str) -> Result<Self, ProfileError> {
        ProfilesFile::load(path.as_ref())?.profile(name)
    }

    /// Checks `settings` and reads their secrets; `place` names the profile in errors.
    pub fn from_settings(
        name: &str,
        settings: &ProfileSettings,
        place: &str,
    ) -> Result<Self, ProfileError> {
        resolve(name, settings).map_err(|problem| ProfileError {
            place: place.to_owned(),
            problem,
        })
    }

    /// A cached, refresh-ahead token source for this profile.
    pub fn token_source(&self) -> Result<Arc<CachedTokenSource>, Error> {
        self.token_source_sharing(None)
    }

    /// A cached, refresh-ahead token source for this profile that consults `shared` (a
    /// [`FileTokenCache`](crate::FileTokenCache) across invocations, a Redis cache across a
    /// fleet) before the token endpoint.
    pub fn token_source_sharing(
        &self,
        shared: Option<Arc<dyn SharedCache>>,
    ) -> Result<Arc<CachedTokenSource>, Error> {
        let mut builder = CachedTokenSource::builder(TokenClient::new(self.client.clone())?);
        if let Some(shared) = shared {
            builder = builder.shared_cache(shared);
        }
        Ok(Arc::new(builder.build()))
    }

    /// Middleware that puts this profile's headers on every request: the bearer token, and as
    /// configured `ET-Client-Name`, `X-Transaction-Id` and `X-JWT`.
    pub fn middleware(&self) -> Result<AuthMiddleware<CachedTokenSource>, Error> {
        self.middleware_sharing(None)
    }

    /// [`middleware`](Self::middleware) whose token source consults `shared` first.
    pub fn middleware_sharing(
        &self,
        shared: Option<Arc<dyn SharedCache>>,
    ) -> Result<AuthMiddleware<CachedTokenSource>, Error> {
        let source = self.token_source_sharing(shared)?;
        let mut middleware = AuthMiddleware::new(Arc::clone(&source))
            .transaction_ids(self.transaction_ids)
            .allow_insecure_http(self.client.plain_http_hosts().clone());
        if let Some(name) = &self.client_name {
            middleware = middleware.client_name(name.clone());
        }
        if let Some(x_jwt) = &self.x_jwt {
            middleware = middleware.x_jwt(Arc::new(XJwtSource::new(source, x_jwt.clone())));
        }
        Ok(middleware)
    }
}

fn settings_error(text: impl Into<String>) -> ProfileProblem {
    ProfileProblem::Settings(text.into())
}

fn resolve(name: &str, settings: &ProfileSettings) -> Result<Profile, ProfileProblem> {
    let client_id = settings
        .client_id
        .clone()
        .ok_or_else(|| settings_error("client_id is missing"))?;
    let secret_source = SecretSource::choose(
        settings.client_secret_env.as_deref(),
        settings.client_secret_file.as_deref(),
        settings.client_secret.as_deref(),
    )
    .ok_or_else(|| settings_error("no secret: set client_secret_env or client_secret_file"))?;
    if matches!(secret_source, SecretSource::Inline(_)) {
        tracing::warn!(
            profile = name,
            "inline client_secret; prefer an environment variable or a file"
        );
    }
    let secret = secret_source
        .load()
        .map_err(|source| ProfileProblem::Secret {
            key: "client_secret",
            source,
        })?;
    let plain_http_hosts = PlainHttpHosts::new(&settings.allow_insecure_http)?;
    let mut builder =
        preset_builder(settings, client_id, secret)?.allow_insecure_http(plain_http_hosts.clone());
    if let Some(style) = &settings.auth_style {
        builder = builder.auth_style(style.parse()?);
    }
    if let Some(encoding) = &settings.basic_encoding {
        builder = builder.basic_encoding(encoding.parse()?);
    }
    if let Some(audience) = &settings.audience {
        builder = builder.audience(audience);
    }
    if let Some(scope) = &settings.scope {
        builder = builder.scope(scope);
    }
    for resource in &settings.resource {
        builder = builder.resource(resource);
    }
    for (param, value) in &settings.extra_params {
        builder = builder.extra_param(param, value);
    }
    if let Some(seconds) = settings.default_lifetime {
        builder = builder.default_lifetime(Duration::from_secs(seconds));
    }
    if let Some(seconds) = settings.timeout {
        builder = builder.request_timeout(Duration::from_secs(seconds));
    }
    let client_name = settings
        .client_name
        .as_deref()
        .map(ClientName::new)
        .transpose()?;
    let client = builder.build()?;
    let x_jwt = x_jwt(settings, &client)?;
    let logout_url = match &settings.logout_url {
        Some(raw) => Some(parse_secure_url_allowing(
            raw,
            "logout_url",
            &plain_http_hosts,
        )?),
        None => TelenorRegion::logout_url_beside(client.token_url()),
    };
    let revocation_url = settings
        .revocation_url
        .as_deref()
        .map(|raw| parse_secure_url_allowing(raw, "revocation_url", &plain_http_hosts))
        .transpose()?;
    Ok(Profile {
        name: name.to_owned(),
        transaction_ids: settings.transaction_id || x_jwt.is_some(),
        client,
        client_name,
        x_jwt,
        secret_file: secret_source.file().map(ToOwned::to_owned),
        x_jwt_password_file: x_jwt_password_source(settings)
            .and_then(|source| source.file().map(ToOwned::to_owned)),
        logout_url,
        revocation_url,
    })
}

/// The builder a preset starts from; a `token_url` next to a preset points the preset's style at
/// another server (e.g. a local authorization server).
fn preset_builder(
    settings: &ProfileSettings,
    client_id: String,
    secret: crate::ClientSecret,
) -> Result<ClientConfigBuilder, ProfileProblem> {
    let builder = match settings.preset.as_deref() {
        Some("entur") => {
            let environment: EnturEnvironment = settings
                .environment
                .as_deref()
                .ok_or_else(|| {
                    settings_error("preset entur needs environment = prod, staging or dev")
                })?
                .parse()?;
            ClientConfig::entur(environment, client_id, secret)
        }
        Some("telenor") => {
            let region: TelenorRegion = settings.region.as_deref().unwrap_or("norway").parse()?;
            let base_url = match (&settings.base_url, region) {
                (Some(url), _) => url.clone(),
                (None, TelenorRegion::Norway) => TelenorRegion::NORWAY_BASE_URL.to_owned(),
                (None, TelenorRegion::Sweden) => {
                    return Err(settings_error(
                        "preset telenor with region sweden needs base_url (from your Telenor agreement)",
                    ))
                }
            };
            ClientConfig::telenor(&base_url, region, client_id, secret)
        }
        Some(other) => {
            return Err(settings_error(format!(
                "preset {other:?} is unknown; use entur or telenor"
            )))
        }
        None => {
            let token_url = settings.token_url.clone().ok_or_else(|| {
                settings_error("token_url is missing (or set preset = entur|telenor)")
            })?;
            return Ok(ClientConfig::builder(token_url, client_id, secret));
        }
    };
    Ok(match &settings.token_url {
        Some(url) => builder.token_url(url),
        None => builder,
    })
}

fn x_jwt_password_source(settings: &ProfileSettings) -> Option<SecretSource> {
    SecretSource::choose(
        settings.x_jwt_password_env.as_deref(),
        settings.x_jwt_password_file.as_deref(),
        None,
    )
}

/// The X-JWT settings when `x_jwt_service` is set; every other x_jwt key is then required.
fn x_jwt(
    settings: &ProfileSettings,
    client: &ClientConfig,
) -> Result<Option<XJwtConfig>, ProfileProblem> {
    let Some(service) = &settings.x_jwt_service else {
        return Ok(None);
    };
    let missing = |key: &str| settings_error(format!("x_jwt_service is set, so {key} is required"));
    let client_id = settings
        .x_jwt_client_id
        .clone()
        .ok_or_else(|| missing("x_jwt_client_id"))?;
    let user_id = settings
        .x_jwt_user_id
        .ok_or_else(|| missing("x_jwt_user_id"))?;
    let password = x_jwt_password_source(settings)
        .ok_or_else(|| missing("x_jwt_password_env or x_jwt_password_file"))?
        .load()
        .map_err(|source| ProfileProblem::Secret {
            key: "x_jwt_password",
            source,
        })?;
    let base_url = match &settings.x_jwt_base_url {
        Some(url) => url.clone(),
        None => client.token_url().origin().ascii_serialization(),
    };
    Ok(Some(XJwtConfig::new_allowing(
        &base_url,
        service,
        client_id,
        user_id,
        password,
        client.plain_http_hosts().clone(),
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A usable profile: a token URL, a client id and a secret.
    pub(crate) fn settings() -> ProfileSettings {
        ProfileSettings {
            token_url: Some("https://as.example/token".into()),
            client_id: Some("c".into()),
            client_secret: Some("s".into()),
            ..ProfileSettings::default()
        }
    }

    #[test]
    fn entur_preset_fills_the_token_url() {
        let settings = ProfileSettings {
            preset: Some("entur".into()),
            environment: Some("dev".into()),
            token_url: None,
            client_name: Some("acme-app".into()),
            ..settings()
        };
        let profile = Profile::from_settings("dev", &settings, "profile dev").unwrap();
        assert_eq!(
            profile.client.token_url().as_str(),
            "https://partner.dev.entur.org/oauth/token"
        );
        assert_eq!(profile.client_name.unwrap().as_str(), "acme-app");
    }

    #[test]
    fn errors_name_the_profile_and_keep_the_rule_and_cause() {
        let settings = ProfileSettings {
            client_name: Some("Acme App".into()),
            ..settings()
        };
        let error = Profile::from_settings("p", &settings, "profile p").unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with("profile p: client_name"), "{text}");
        assert!(text.contains("<company>-<application>"), "{text}");
        assert!(!text.contains("invalid configuration"), "{text}");
        assert!(matches!(
            error.problem,
            ProfileProblem::Invalid(Error::Value(_))
        ));
    }

    #[test]
    fn a_missing_secret_says_how_to_set_it() {
        let settings = ProfileSettings {
            client_secret: None,
            client_secret_env: Some("TOKENBROKER_TEST_UNSET_VARIABLE".into()),
            ..settings()
        };
        let text = Profile::from_settings("p", &settings, "profile p")
            .unwrap_err()
            .to_string();
        assert_eq!(
            text,
            "profile p: client_secret: environment variable TOKENBROKER_TEST_UNSET_VARIABLE is not set"
        );
    }
}
