//! `tokenbroker.toml` for the CLI: finding it, the `[server]` and `[agent]` tables, and the flags
//! that stand in for profile keys. The profiles themselves are the client library's
//! ([`tokenbroker::profile`]).
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

use serde::Deserialize;
use tokenbroker::profile::{parse_toml, read_config, ProfileSettings};
use tokenbroker::Profile;

use crate::args::ProfileArgs;
use crate::exit::{CliError, CliResult};

/// The environment variable naming a config file.
pub(crate) const CONFIG_ENV: &str = "TOKENBROKER_CONFIG";
/// The config file looked for in the current directory and the user config dir.
pub(crate) const CONFIG_FILE: &str = "tokenbroker.toml";

/// The name of the profile that flags form by themselves.
const COMMAND_LINE: &str = "command line";

/// The whole config file. `config check` reads it with the profiles left as TOML (`P =
/// toml::Value`) to check the other tables, and checks each profile key by key itself.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigFile<P = ProfileSettings> {
    /// The profile used when `--profile` is not given.
    pub default_profile: Option<String>,
    /// Profiles by name.
    #[serde(default = "BTreeMap::new")]
    pub profiles: BTreeMap<String, P>,
    /// `tokenbroker serve` settings.
    pub server: Option<ServerSection>,
    /// `tokenbroker agent` settings (the `[agent]` table).
    pub agent: Option<tokenbroker_agent::AgentSettings>,
}

/// The `[server]` table: `tokenbroker serve` settings (flags override them).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServerSection {
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
    /// File holding the key-encryption key.
    pub kek_file: Option<PathBuf>,
    /// PEM certificate chain for HTTPS.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS.
    pub tls_key: Option<PathBuf>,
    /// Plain-HTTP listener that redirects to HTTPS.
    pub http_redirect_listen: Option<std::net::SocketAddr>,
    /// Admin API and metrics listener.
    pub admin_listen: Option<std::net::SocketAddr>,
    /// Proxies (CIDRs) whose forwarded client addresses are believed.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
}

/// Finds, reads and resolves the profile the arguments select.
pub(crate) fn resolve(args: &ProfileArgs) -> CliResult<Profile> {
    resolve_with_place(args).map(|(profile, _)| profile)
}

/// [`resolve`], also saying where the profile came from (`profile NAME in FILE`).
pub(crate) fn resolve_with_place(args: &ProfileArgs) -> CliResult<(Profile, String)> {
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
        Some(path) if name != COMMAND_LINE => format!("profile {name} in {}", path.display()),
        _ => "command-line profile".to_owned(),
    };
    Ok((build(&name, &profile, &where_)?, where_))
}

fn build(name: &str, settings: &ProfileSettings, where_: &str) -> CliResult<Profile> {
    Profile::from_settings(name, settings, where_).map_err(|e| CliError::usage(e.to_string()))
}

/// `--config`, `$TOKENBROKER_CONFIG`, `./tokenbroker.toml`, the user config dir; the first two
/// must exist when given.
pub(crate) fn locate(explicit: Option<&Path>) -> CliResult<Option<PathBuf>> {
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
pub(crate) fn load(path: &Path) -> CliResult<ConfigFile> {
    let text = read(path)?;
    parse(&text)
        .map_err(|message| CliError::usage(format!("config file {}: {message}", path.display())))
}

/// Reads a config file whole (at most 1 MiB, as the library reads one).
pub(crate) fn read(path: &Path) -> CliResult<String> {
    read_config(path).map_err(|e| CliError::usage(e.to_string()))
}

/// Parses config text; the error is one line with the line number.
pub(crate) fn parse<P: serde::de::DeserializeOwned>(text: &str) -> Result<ConfigFile<P>, String> {
    parse_toml(text)
}

fn select(
    file: &ConfigFile,
    args: &ProfileArgs,
    path: Option<&Path>,
) -> CliResult<(String, ProfileSettings)> {
    // Flags that define a client form their own profile rather than change one nobody named.
    if args.profile.is_none() && args.defines_a_client() {
        return Ok((COMMAND_LINE.to_owned(), ProfileSettings::default()));
    }
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

fn names<P>(file: &ConfigFile<P>) -> String {
    file.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
}

fn apply_flags(profile: &mut ProfileSettings, args: &ProfileArgs) {
    let set = |field: &mut Option<String>, flag: &Option<String>| {
        if flag.is_some() {
            field.clone_from(flag);
        }
    };
    set(&mut profile.preset, &args.preset);
    set(&mut profile.environment, &args.environment);
    set(&mut profile.region, &args.region);
    set(&mut profile.base_url, &args.base_url);
    set(&mut profile.token_url, &args.token_url);
    set(&mut profile.client_id, &args.client_id);
    set(&mut profile.auth_style, &args.auth_style);
    set(&mut profile.basic_encoding, &args.basic_encoding);
    set(&mut profile.audience, &args.audience);
    set(&mut profile.scope, &args.scope);
    set(&mut profile.client_name, &args.client_name);
    // A secret flag replaces whatever secret source the profile had.
    if args.client_secret_env.is_some() || args.client_secret_file.is_some() {
        profile
            .client_secret_env
            .clone_from(&args.client_secret_env);
        profile
            .client_secret_file
            .clone_from(&args.client_secret_file);
        profile.client_secret = None;
    }
    if !args.resources.is_empty() {
        profile.resource.clone_from(&args.resources);
    }
    profile
        .extra_params
        .extend(args.extra_params.iter().cloned());
    profile.transaction_id |= args.transaction_id;
    if args.default_lifetime.is_some() {
        profile.default_lifetime = args.default_lifetime;
    }
    if args.timeout.is_some() {
        profile.timeout = args.timeout;
    }
    profile
        .allow_insecure_http
        .extend(args.allow_insecure_http.iter().cloned());
}

/// The profile named `name` in an already loaded file (the agent resolves several).
pub(crate) fn resolve_named(file: &ConfigFile, name: &str, path: &Path) -> CliResult<Profile> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_name_the_line() {
        let err = parse::<ProfileSettings>("[profiles.a]\nclient_id = \"x\"\naudiance = \"y\"\n")
            .unwrap_err();
        assert!(err.starts_with("line 3:"), "{err}");
        assert!(err.contains("audiance"), "{err}");
        assert!(!err.contains('\n'));
    }
}
