//! `tokenbroker.toml`: finding it, reading it, and turning a profile into a client configuration.
//!
//! ```toml
//! default_profile = "entur-dev"
//!
//! [profiles.entur-dev]
//! preset = "entur"
//! environment = "dev"
//! client_id = "my-client"
//! client_secret_env = "ENTUR_CLIENT_SECRET"
//! client_name = "forsen_utvikling-infoplakat"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use tokenbroker::{
    AuthStyle, BasicEncoding, ClientConfig, ClientConfigBuilder, ClientName, EnturEnvironment,
    TelenorRegion, XJwtConfig,
};

use crate::args::ProfileArgs;
use crate::exit::{CliError, CliResult};

/// The environment variable naming a config file.
pub const CONFIG_ENV: &str = "TOKENBROKER_CONFIG";
/// The config file looked for in the current directory and the user config dir.
pub const CONFIG_FILE: &str = "tokenbroker.toml";

/// The whole config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The profile used when `--profile` is not given.
    pub default_profile: Option<String>,
    /// Profiles by name.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
    /// `tokenbroker serve` settings.
    pub server: Option<ServerSection>,
    /// `tokenbroker agent` settings (the `[agent]` table).
    pub agent: Option<tokenbroker_agent::AgentSettings>,
}

/// The `[server]` table: `tokenbroker serve` settings (flags override them).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// Address to listen on.
    pub listen: Option<std::net::SocketAddr>,
    /// Data directory.
    pub data_dir: Option<PathBuf>,
    /// Registry database URL.
    pub database_url: Option<String>,
    /// Issuer identifier.
    pub issuer: Option<String>,
    /// entur or telenor.
    pub profile: Option<String>,
    /// Token lifetime (seconds) for clients without their own.
    pub default_lifetime: Option<u64>,
    /// Allow plain HTTP on a non-loopback address.
    #[serde(default)]
    pub insecure_http: bool,
    /// Algorithm of the first signing key.
    pub algorithm: Option<String>,
    /// PEM certificate chain for HTTPS.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS.
    pub tls_key: Option<PathBuf>,
    /// Plain-HTTP listener that redirects to HTTPS.
    pub http_redirect_listen: Option<std::net::SocketAddr>,
}

/// One `[profiles.NAME]` table.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// `entur` or `telenor`: fills token URL, style and audience from the provider pages.
    pub preset: Option<String>,
    /// Entur environment: prod, staging or dev.
    pub environment: Option<String>,
    /// Telenor region: norway or sweden.
    pub region: Option<String>,
    /// Telenor base URL (Norway defaults to https://api.telenor.no).
    pub base_url: Option<String>,
    /// Token endpoint URL (overrides the preset).
    pub token_url: Option<String>,
    /// json, form or basic.
    pub auth_style: Option<String>,
    /// rfc (default) or raw.
    pub basic_encoding: Option<String>,
    /// Client id.
    pub client_id: Option<String>,
    /// Environment variable holding the secret.
    pub client_secret_env: Option<String>,
    /// File holding the secret.
    pub client_secret_file: Option<PathBuf>,
    /// The secret itself (accepted with a warning: keep secrets out of config files).
    pub client_secret: Option<String>,
    /// `audience`.
    pub audience: Option<String>,
    /// `scope`.
    pub scope: Option<String>,
    /// RFC 8707 `resource` values.
    #[serde(default)]
    pub resource: Vec<String>,
    /// Further token request parameters.
    #[serde(default)]
    pub extra_params: BTreeMap<String, String>,
    /// ET-Client-Name.
    pub client_name: Option<String>,
    /// Send a fresh X-Transaction-Id on every API request.
    #[serde(default)]
    pub transaction_id: bool,
    /// Lifetime (seconds) assumed when the server gives none.
    pub default_lifetime: Option<u64>,
    /// Token request timeout (seconds).
    pub timeout: Option<u64>,
    /// Telenor Communication: the API name for hasPermission's `service` (enables X-JWT).
    pub x_jwt_service: Option<String>,
    /// Telenor Communication `clientId`.
    pub x_jwt_client_id: Option<String>,
    /// Telenor Communication `userId`.
    pub x_jwt_user_id: Option<u64>,
    /// Environment variable holding the Communication `password`.
    pub x_jwt_password_env: Option<String>,
    /// File holding the Communication `password`.
    pub x_jwt_password_file: Option<PathBuf>,
    /// Base URL of hasPermission (default: the token URL's origin).
    pub x_jwt_base_url: Option<String>,
    /// Where to log tokens out (default for Telenor Norway token URLs: `…/oauth/v2/logout`).
    pub logout_url: Option<String>,
    /// RFC 7009 revocation endpoint, for `logout_on_shutdown` with servers that have no logout.
    pub revocation_url: Option<String>,
}

/// A profile ready to use: the agent's [`ProfileSpec`](tokenbroker_agent::ProfileSpec), which every
/// command resolves to (the agent also needs the secret files and logout endpoints).
pub use tokenbroker_agent::ProfileSpec as ResolvedProfile;

/// Finds, reads and resolves the profile the arguments select.
pub fn resolve(args: &ProfileArgs) -> CliResult<ResolvedProfile> {
    let (path, file) = match locate(args.config.as_deref())? {
        Some(path) => {
            let file = load(&path)?;
            (Some(path), file)
        }
        None => (None, ConfigFile::default()),
    };
    let (name, mut profile) = select(&file, args, path.as_deref())?;
    apply_flags(&mut profile, args);
    let where_ = match &path {
        Some(path) => format!("profile {name} in {}", path.display()),
        None => "command-line profile".to_owned(),
    };
    build(&name, &profile, &where_)
}

/// `--config`, `$TOKENBROKER_CONFIG`, `./tokenbroker.toml`, the user config dir; the first two
/// must exist when given.
pub fn locate(explicit: Option<&Path>) -> CliResult<Option<PathBuf>> {
    if let Some(path) = explicit {
        return must_exist(path.to_path_buf(), "--config");
    }
    if let Some(path) = std::env::var_os(CONFIG_ENV).filter(|v| !v.is_empty()) {
        return must_exist(PathBuf::from(path), CONFIG_ENV);
    }
    let local = PathBuf::from(CONFIG_FILE);
    if local.is_file() {
        return Ok(Some(local));
    }
    Ok(dirs::config_dir()
        .map(|dir| dir.join("tokenbroker").join(CONFIG_FILE))
        .filter(|path| path.is_file()))
}

fn must_exist(path: PathBuf, from: &str) -> CliResult<Option<PathBuf>> {
    if path.is_file() {
        Ok(Some(path))
    } else {
        Err(CliError::usage(format!(
            "config file {} (from {from}) does not exist",
            path.display()
        )))
    }
}

/// Reads and parses a config file; errors name the file and line.
pub fn load(path: &Path) -> CliResult<ConfigFile> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("cannot read config file {}: {e}", path.display())))?;
    parse(&text)
        .map_err(|message| CliError::usage(format!("config file {}: {message}", path.display())))
}

/// Parses config text; the error is one line with the line number.
pub fn parse(text: &str) -> Result<ConfigFile, String> {
    toml::from_str(text).map_err(|error| {
        let message = error.message().trim().replace('\n', " ");
        match error.span() {
            Some(span) => {
                let line = text.as_bytes()[..span.start.min(text.len())]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count()
                    + 1;
                format!("line {line}: {message}")
            }
            None => message,
        }
    })
}

fn select(
    file: &ConfigFile,
    args: &ProfileArgs,
    path: Option<&Path>,
) -> CliResult<(String, Profile)> {
    let named = args.profile.as_ref().or(file.default_profile.as_ref());
    if let Some(name) = named {
        return match file.profiles.get(name) {
            Some(profile) => Ok((name.clone(), profile.clone())),
            None => Err(CliError::usage(match path {
                Some(path) => format!(
                    "no profile {name:?} in {} (profiles: {})",
                    path.display(),
                    names(file)
                ),
                None => format!(
                    "no profile {name:?}: no config file found (use --config or {CONFIG_ENV})"
                ),
            })),
        };
    }
    if args.token_url.is_some() || args.client_id.is_some() {
        return Ok(("command line".to_owned(), Profile::default()));
    }
    match file.profiles.len() {
        1 => {
            let (name, profile) = file.profiles.iter().next().expect("one profile");
            Ok((name.clone(), profile.clone()))
        }
        0 => Err(CliError::usage(
            "no profile: pass --token-url and --client-id, or write a tokenbroker.toml (see README)",
        )),
        _ => Err(CliError::usage(format!(
            "several profiles ({}): choose one with --profile or set default_profile",
            names(file)
        ))),
    }
}

fn names(file: &ConfigFile) -> String {
    file.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
}

fn apply_flags(profile: &mut Profile, args: &ProfileArgs) {
    let set = |field: &mut Option<String>, flag: &Option<String>| {
        if flag.is_some() {
            field.clone_from(flag);
        }
    };
    set(&mut profile.token_url, &args.token_url);
    set(&mut profile.client_id, &args.client_id);
    set(&mut profile.auth_style, &args.auth_style);
    set(&mut profile.audience, &args.audience);
    set(&mut profile.scope, &args.scope);
    set(&mut profile.client_name, &args.client_name);
    if args.client_secret_env.is_some() {
        profile
            .client_secret_env
            .clone_from(&args.client_secret_env);
        profile.client_secret_file = None;
        profile.client_secret = None;
    }
}

fn build(name: &str, profile: &Profile, where_: &str) -> CliResult<ResolvedProfile> {
    let client_id = profile
        .client_id
        .clone()
        .ok_or_else(|| CliError::usage(format!("{where_}: client_id is missing")))?;
    let secret = secret(profile, where_)?;
    let mut builder = base_builder(profile, client_id, secret, where_)?;
    if let Some(style) = &profile.auth_style {
        builder = builder.auth_style(style.parse::<AuthStyle>().map_err(in_profile(where_))?);
    }
    if let Some(encoding) = &profile.basic_encoding {
        builder = builder.basic_encoding(
            encoding
                .parse::<BasicEncoding>()
                .map_err(in_profile(where_))?,
        );
    }
    if let Some(audience) = &profile.audience {
        builder = builder.audience(audience);
    }
    if let Some(scope) = &profile.scope {
        builder = builder.scope(scope);
    }
    for resource in &profile.resource {
        builder = builder.resource(resource);
    }
    for (param, value) in &profile.extra_params {
        builder = builder.extra_param(param, value);
    }
    if let Some(seconds) = profile.default_lifetime {
        builder = builder.default_lifetime(Duration::from_secs(seconds));
    }
    if let Some(seconds) = profile.timeout {
        builder = builder.request_timeout(Duration::from_secs(seconds));
    }
    let client_name = profile
        .client_name
        .as_deref()
        .map(ClientName::new)
        .transpose()
        .map_err(in_profile(where_))?;
    let client = builder.build().map_err(in_profile(where_))?;
    let x_jwt = x_jwt(profile, &client, where_)?;
    let logout_url = logout_url(profile, &client, where_)?;
    let revocation_url = profile
        .revocation_url
        .as_deref()
        .map(|raw| tokenbroker::wire::https::parse_secure_url(raw, "revocation_url"))
        .transpose()
        .map_err(in_profile(where_))?;
    Ok(ResolvedProfile {
        name: name.to_owned(),
        transaction_ids: profile.transaction_id || x_jwt.is_some(),
        client,
        client_name,
        x_jwt,
        secret_file: profile
            .client_secret_env
            .is_none()
            .then(|| profile.client_secret_file.clone())
            .flatten(),
        x_jwt_password_file: profile
            .x_jwt_password_env
            .is_none()
            .then(|| profile.x_jwt_password_file.clone())
            .flatten(),
        logout_url,
        revocation_url,
    })
}

/// The profile named `name` in an already loaded file (the agent resolves several).
pub fn resolve_named(file: &ConfigFile, name: &str, path: &Path) -> CliResult<ResolvedProfile> {
    let profile = file.profiles.get(name).ok_or_else(|| {
        CliError::usage(format!(
            "config file {}: no profile {name:?} (profiles: {})",
            path.display(),
            names(file)
        ))
    })?;
    build(
        name,
        profile,
        &format!("profile {name} in {}", path.display()),
    )
}

/// `logout_url`, or Telenor Norway's logout URL beside its token URL.
fn logout_url(
    profile: &Profile,
    client: &ClientConfig,
    where_: &str,
) -> CliResult<Option<url::Url>> {
    if let Some(raw) = &profile.logout_url {
        return tokenbroker::wire::https::parse_secure_url(raw, "logout_url")
            .map(Some)
            .map_err(|e| CliError::usage(format!("{where_}: {e}")));
    }
    Ok(TelenorRegion::logout_url_beside(client.token_url()))
}

fn base_builder(
    profile: &Profile,
    client_id: String,
    secret: String,
    where_: &str,
) -> CliResult<ClientConfigBuilder> {
    let builder = match profile.preset.as_deref() {
        Some("entur") => {
            let environment = profile.environment.as_deref().ok_or_else(|| {
                CliError::usage(format!(
                    "{where_}: preset entur needs environment = prod, staging or dev"
                ))
            })?;
            let environment: EnturEnvironment = environment.parse().map_err(in_profile(where_))?;
            ClientConfig::entur(environment, client_id, secret)
        }
        Some("telenor") => {
            let region: TelenorRegion = profile
                .region
                .as_deref()
                .unwrap_or("norway")
                .parse()
                .map_err(in_profile(where_))?;
            let base_url = match (&profile.base_url, region) {
                (Some(url), _) => url.clone(),
                (None, TelenorRegion::Norway) => TelenorRegion::NORWAY_BASE_URL.to_owned(),
                (None, TelenorRegion::Sweden) => {
                    return Err(CliError::usage(format!(
                        "{where_}: preset telenor with region sweden needs base_url (from your Telenor agreement)"
                    )))
                }
            };
            ClientConfig::telenor(&base_url, region, client_id, secret)
        }
        Some(other) => {
            return Err(CliError::usage(format!(
                "{where_}: preset {other:?} is unknown; use entur or telenor"
            )))
        }
        None => {
            let token_url = profile.token_url.clone().ok_or_else(|| {
                CliError::usage(format!(
                    "{where_}: token_url is missing (or set preset = entur|telenor)"
                ))
            })?;
            return Ok(ClientConfig::builder(token_url, client_id, secret));
        }
    };
    // A token_url next to a preset points the preset's style at another server (e.g. a local AS).
    Ok(match &profile.token_url {
        Some(url) => builder.token_url(url),
        None => builder,
    })
}

/// The X-JWT settings when `x_jwt_service` is set; every other x_jwt key is then required.
fn x_jwt(profile: &Profile, client: &ClientConfig, where_: &str) -> CliResult<Option<XJwtConfig>> {
    let Some(service) = &profile.x_jwt_service else {
        return Ok(None);
    };
    let missing = |key: &str| {
        CliError::usage(format!(
            "{where_}: x_jwt_service is set, so {key} is required"
        ))
    };
    let client_id = profile
        .x_jwt_client_id
        .clone()
        .ok_or_else(|| missing("x_jwt_client_id"))?;
    let user_id = profile
        .x_jwt_user_id
        .ok_or_else(|| missing("x_jwt_user_id"))?;
    let password = read_secret(
        profile.x_jwt_password_env.as_deref(),
        profile.x_jwt_password_file.as_deref(),
        None,
        &format!("{where_} (x_jwt_password)"),
        "set x_jwt_password_env or x_jwt_password_file",
    )?;
    let base_url = match &profile.x_jwt_base_url {
        Some(url) => url.clone(),
        None => client.token_url().origin().ascii_serialization(),
    };
    XJwtConfig::new(&base_url, service, client_id, user_id, password)
        .map(Some)
        .map_err(|e| CliError::usage(format!("{where_}: {}", strip_prefix(&e))))
}

fn secret(profile: &Profile, where_: &str) -> CliResult<String> {
    read_secret(
        profile.client_secret_env.as_deref(),
        profile.client_secret_file.as_deref(),
        profile.client_secret.as_deref(),
        where_,
        "set client_secret_env or client_secret_file (or --client-secret-env)",
    )
}

/// A secret from an environment variable, a file, or (with a warning) inline.
fn read_secret(
    env: Option<&str>,
    file: Option<&Path>,
    inline: Option<&str>,
    where_: &str,
    how_to_set: &str,
) -> CliResult<String> {
    if let Some(var) = env {
        return match std::env::var(var) {
            Ok(value) if !value.is_empty() => Ok(value),
            _ => Err(CliError::usage(format!(
                "{where_}: environment variable {var} is not set"
            ))),
        };
    }
    if let Some(path) = file {
        let value = std::fs::read_to_string(path).map_err(|e| {
            CliError::usage(format!("{where_}: cannot read {}: {e}", path.display()))
        })?;
        return Ok(value.trim_end_matches(['\r', '\n']).to_owned());
    }
    if let Some(value) = inline {
        tracing::warn!("{where_} has an inline secret; prefer an environment variable or a file");
        return Ok(value.to_owned());
    }
    Err(CliError::usage(format!(
        "{where_}: no secret: {how_to_set}"
    )))
}

/// A usage error naming the profile, for any library error.
fn in_profile<E: Into<tokenbroker::Error>>(where_: &str) -> impl Fn(E) -> CliError + '_ {
    move |e| CliError::usage(format!("{where_}: {}", strip_prefix(&e.into())))
}

/// The library's "invalid configuration: " prefix is noise after "profile X in FILE: ".
fn strip_prefix(error: &tokenbroker::Error) -> String {
    let text = error.to_string();
    text.strip_prefix("invalid configuration: ")
        .map(str::to_owned)
        .unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_name_the_line() {
        let err = parse("[profiles.a]\nclient_id = \"x\"\naudiance = \"y\"\n").unwrap_err();
        assert!(err.starts_with("line 3:"), "{err}");
        assert!(err.contains("audiance"), "{err}");
        assert!(!err.contains('\n'));
    }

    #[test]
    fn entur_profile_builds_with_the_preset() {
        let file = parse(
            "[profiles.dev]\npreset = \"entur\"\nenvironment = \"dev\"\nclient_id = \"c\"\nclient_secret = \"s\"\nclient_name = \"acme-app\"\n",
        )
        .unwrap();
        let resolved = build("dev", &file.profiles["dev"], "profile dev").unwrap();
        assert_eq!(
            resolved.client.token_url().as_str(),
            "https://partner.dev.entur.org/oauth/token"
        );
        assert_eq!(resolved.client_name.unwrap().as_str(), "acme-app");
    }

    #[test]
    fn bad_client_name_is_a_config_error_with_the_rule() {
        let profile = Profile {
            token_url: Some("https://as.example/token".into()),
            client_id: Some("c".into()),
            client_secret: Some("s".into()),
            client_name: Some("Acme App".into()),
            ..Profile::default()
        };
        let err = build("p", &profile, "profile p").unwrap_err();
        assert_eq!(err.code, 2);
        assert!(
            err.message.contains("<company>-<application>"),
            "{}",
            err.message
        );
    }
}
