//! The `[profiles.NAME]` table of `tokenbroker.toml`: what a user writes, before anything is
//! checked. [`Profile::from_settings`](super::Profile::from_settings) turns it into a usable
//! profile.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

/// One `[profiles.NAME]` table.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSettings {
    /// `entur` or `telenor`: fills token URL, style and audience from the provider pages.
    pub preset: Option<String>,
    /// Entur environment: prod, staging or dev.
    pub environment: Option<String>,
    /// Telenor region: norway or sweden.
    pub region: Option<String>,
    /// Telenor base URL (Norway defaults to <https://api.telenor.no>).
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
    /// Hosts besides loopback this profile may reach over plain HTTP (token, API, X-JWT,
    /// logout and revocation URLs): names like `mock-as`, or `*.svc.cluster.local`.
    #[serde(default)]
    pub allow_insecure_http: Vec<String>,
}
