//! The command line: `tokenbroker token | decode | request | demo | serve | agent | …`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// OAuth2 client-credentials tokens for partner APIs (Entur, Telenor, any RFC 6749 server).
///
/// Exit codes: 0 ok, 2 usage or configuration error, 3 rejected by the server
/// (401/403/OAuth error), 4 network or server failure.
#[derive(Debug, Parser)]
#[command(name = "tokenbroker", version, about, long_about = None)]
pub(crate) struct Cli {
    /// More logging on stderr (-v debug, -vv trace); RUST_LOG works too. `serve` and `agent`
    /// log at info by default, other commands only warnings.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Log lines as text (for a person) or json (one object per line, for a log pipeline).
    #[arg(long, global = true, value_enum, default_value_t, env = crate::logging::LOG_FORMAT_ENV)]
    pub log_format: crate::logging::LogFormat,

    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print an access token for a profile (stdout carries only the token).
    Token {
        /// Which profile, and flags that override it.
        #[command(flatten)]
        profile: ProfileArgs,
        /// The token cache shared by invocations.
        #[command(flatten)]
        cache: CacheArgs,
        /// Print {access_token, token_type, expires_in, expires_at, scope} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a JWT's header and claims (the signature is NOT verified).
    Decode {
        /// The JWT (a pasted `Bearer …` or `Authorization: Bearer …` works too); `-` or nothing
        /// reads it from stdin.
        jwt: Option<String>,
        /// Print `{"header", "claims", "signature_verified": false}` as one line of JSON.
        #[arg(long)]
        json: bool,
    },
    /// Send an authenticated request with the profile's headers; prints the response body.
    Request {
        /// The URL to call.
        url: String,
        /// HTTP method.
        #[arg(short = 'X', long = "request", default_value = "GET")]
        method: String,
        /// Extra header, `Name: value` (repeatable).
        #[arg(short = 'H', long = "header")]
        headers: Vec<String>,
        /// Request body; `@FILE` reads a file, `@-` stdin.
        #[arg(short = 'd', long = "data")]
        data: Option<String>,
        /// Which profile, and flags that override it.
        #[command(flatten)]
        profile: ProfileArgs,
        /// The token cache shared by invocations.
        #[command(flatten)]
        cache: CacheArgs,
    },
    /// Run the whole story against a local authorization server started in-process.
    Demo,
    /// Run the authorization server (token endpoints, JWKS, metadata) on a data directory.
    Serve(ServeArgs),
    /// Manage the clients in a server's registry (acts as the local operator).
    Clients(ClientsArgs),
    /// Manage the administrators of the admin API.
    Admins(AdminsArgs),
    /// List or rotate the server's signing keys.
    Keys(KeysArgs),
    /// Run the sidecar agent: authenticating reverse proxy and token endpoint ([agent] table).
    Agent(AgentArgs),
    /// Check every step to a token — config, secret, DNS, TCP, TLS, token endpoint, a token, its
    /// claims against the profile, the clock — one line each, stopping at the first failure.
    Doctor {
        /// Which profile, and flags that override it.
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// Check the config file: every problem at once (FILE:LINE), then the resolved profile.
    Config {
        /// What to do.
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Print a shell completion script, e.g. `tokenbroker completions bash >
    /// ~/.local/share/bash-completion/completions/tokenbroker`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `tokenbroker man > ~/.local/share/man/man1/tokenbroker.1`.
    Man,
}

/// `tokenbroker config`.
#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Report every problem in the config file, each with its file and line, then print the
    /// profile `token` would use (with these flags), resolved, secrets shown as fingerprints.
    Check {
        /// Which profile, and flags that override it.
        #[command(flatten)]
        profile: ProfileArgs,
    },
}

/// `tokenbroker agent`.
#[derive(Debug, Args)]
pub(crate) struct AgentArgs {
    /// tokenbroker.toml with an [agent] table and the profiles its upstreams use
    /// (default: $TOKENBROKER_CONFIG, ./tokenbroker.toml, the user config dir).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `tokenbroker keys`.
#[derive(Debug, Args)]
pub(crate) struct KeysArgs {
    /// Where the registry is (the keys live in it, sealed).
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// The key-encryption key that seals them.
    #[command(flatten)]
    pub kek: KekArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: KeysCommand,
}

/// Key management.
#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Show the keys and their schedule.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Schedule a new signing key: published now, signing after --publish-ahead; the current
    /// key stays published for --retain after that. A running server picks it up by itself.
    Rotate {
        /// Algorithm of the new key: rs256, es256 or eddsa (default: the current key's).
        #[arg(long, value_name = "ALG")]
        algorithm: Option<String>,
        /// Seconds the new key is published before it signs (default: the JWKS cache period).
        #[arg(long, value_name = "SECONDS")]
        publish_ahead: Option<u64>,
        /// Seconds the old key stays published after it stops signing (default: the longest
        /// token lifetime among the clients, at least 24 h).
        #[arg(long, value_name = "SECONDS")]
        retain: Option<u64>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `tokenbroker serve` options; each overrides the config file's `[server]` table, and each can
/// be given as a `TOKENBROKER_…` environment variable instead (shown in `--help`).
#[derive(Debug, Args, Default, Clone)]
pub(crate) struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR:PORT", env = "TOKENBROKER_LISTEN")]
    pub listen: Option<std::net::SocketAddr>,
    /// Data directory: registry, pepper and keys (default: the user data dir).
    #[arg(long, value_name = "DIR", env = "TOKENBROKER_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Registry database URL (postgres://…) instead of SQLite in the data directory.
    #[arg(
        long,
        value_name = "URL",
        env = "TOKENBROKER_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Issuer identifier (`iss`); default http://<listen address>.
    #[arg(long, value_name = "URL", env = "TOKENBROKER_ISSUER")]
    pub issuer: Option<String>,
    /// Which provider to stand in for: entur (24 h tokens) or telenor (1 h tokens).
    #[arg(long, value_name = "PROFILE", env = "TOKENBROKER_SERVER_PROFILE")]
    pub profile: Option<String>,
    /// Token lifetime in seconds for clients without their own.
    #[arg(long, value_name = "SECONDS", env = "TOKENBROKER_LIFETIME")]
    pub lifetime: Option<u64>,
    /// Allow plain HTTP on a non-loopback address (behind a TLS-terminating proxy).
    #[arg(long, env = "TOKENBROKER_INSECURE_HTTP")]
    pub insecure_http: bool,
    /// A proxy (CIDR, e.g. 10.0.0.0/8) whose Forwarded / X-Forwarded-For names the client's
    /// address; repeatable. Nobody else's is believed.
    #[arg(
        long = "trusted-proxy",
        value_name = "CIDR",
        env = "TOKENBROKER_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<String>,
    /// Algorithm of the first signing key: rs256 (default), es256 or eddsa.
    #[arg(long, value_name = "ALG", env = "TOKENBROKER_ALGORITHM")]
    pub algorithm: Option<String>,
    /// The key-encryption key that seals the signing keys in the registry.
    #[command(flatten)]
    pub kek: KekArgs,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key).
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_key",
        env = "TOKENBROKER_TLS_CERT"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_cert",
        env = "TOKENBROKER_TLS_KEY"
    )]
    pub tls_key: Option<PathBuf>,
    /// Serve the admin API and /metrics on this address instead of the public port.
    #[arg(long, value_name = "ADDR:PORT", env = "TOKENBROKER_ADMIN_LISTEN")]
    pub admin_listen: Option<std::net::SocketAddr>,
    /// Also listen for plain HTTP here: 301 to HTTPS for GET/HEAD, 405 for other methods.
    #[arg(
        long,
        value_name = "ADDR:PORT",
        env = "TOKENBROKER_HTTP_REDIRECT_LISTEN"
    )]
    pub http_redirect_listen: Option<std::net::SocketAddr>,
    /// Also serve demo partner APIs (Entur-like, Telenor-like) on the same listener and print
    /// ready-to-use development clients: a local sandbox. Without --data-dir (or a database
    /// URL) it keeps its state in a temporary directory, removed when it stops.
    #[arg(long, env = "TOKENBROKER_DEV")]
    pub dev: bool,
    /// Create these clients (fixed ids, secrets, audiences, scopes) unless they exist: a TOML
    /// file of `[[clients]]` tables, or JSON `{"clients": [...]}` when it ends in `.json`.
    #[arg(long, value_name = "FILE", env = "TOKENBROKER_SEED")]
    pub seed: Option<PathBuf>,
    /// Print one JSON object on stdout once listening (url, issuer, endpoints, data directory,
    /// dev clients with their secrets, seeded clients) instead of the text block.
    #[arg(long)]
    pub json: bool,
    /// Config file with a `[server]` table.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Where the key-encryption key comes from (the data directory's `kek` file by default).
#[derive(Debug, Args, Default, Clone)]
pub(crate) struct KekArgs {
    /// File holding the key-encryption key (32 bytes, raw or base64); every node of a fleet
    /// needs the same one. Default: $TOKENBROKER_KEK (base64) if set, else `kek` in the data
    /// directory, created on first start.
    #[arg(long, value_name = "FILE", env = "TOKENBROKER_KEK_FILE")]
    pub kek_file: Option<PathBuf>,
}

/// The token cache `token` and `request` share across invocations.
#[derive(Debug, Args, Default, Clone)]
pub(crate) struct CacheArgs {
    /// Fetch a new token instead of reusing one cached by an earlier invocation (the new one
    /// is not cached either).
    #[arg(long)]
    pub no_cache: bool,
    /// Where tokens are cached between invocations (mode 0700). Default: $TOKENBROKER_CACHE_DIR,
    /// else `tokenbroker/tokens` in the user cache directory.
    #[arg(long, value_name = "DIR", env = "TOKENBROKER_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
}

/// Where the registry is.
#[derive(Debug, Args, Default, Clone)]
pub(crate) struct RegistryArgs {
    /// The server's data directory (default: the user data dir).
    #[arg(long, value_name = "DIR", env = "TOKENBROKER_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Registry database URL (postgres://…) instead of SQLite in the data directory.
    #[arg(
        long,
        value_name = "URL",
        env = "TOKENBROKER_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
}

/// `tokenbroker clients`.
#[derive(Debug, Args)]
pub(crate) struct ClientsArgs {
    /// Where the registry is.
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: ClientsCommand,
}

/// Client administration.
#[derive(Debug, Subcommand)]
pub(crate) enum ClientsCommand {
    /// Create a client; its secret is printed once.
    Create {
        /// Human name.
        #[arg(long)]
        name: String,
        /// Audience the client may get tokens for (repeatable, at least one).
        #[arg(long = "audience", required = true)]
        audiences: Vec<String>,
        /// Granted scopes, space-separated.
        #[arg(long)]
        scope: Option<String>,
        /// Token lifetime in seconds (default: the server's).
        #[arg(long, value_name = "SECONDS")]
        lifetime: Option<u64>,
        /// Also issue refresh tokens.
        #[arg(long)]
        refresh_token: bool,
        /// A resource server: may introspect tokens issued to other clients.
        #[arg(long)]
        introspect: bool,
        /// Import an existing secret read from stdin (one line, 8 to 1024 bytes; stored with
        /// Argon2id) instead of generating one.
        #[arg(long)]
        secret_stdin: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Change a client's settings; what is not given stays as it is.
    Update {
        /// Client id.
        #[arg(allow_hyphen_values = true)]
        id: String,
        /// New human name.
        #[arg(long)]
        name: Option<String>,
        /// New audiences, replacing all of them (repeatable).
        #[arg(long = "audience")]
        audiences: Vec<String>,
        /// New scopes, space-separated, replacing all of them (`""` removes every scope).
        #[arg(long)]
        scope: Option<String>,
        /// New token lifetime in seconds, or `default` for the server's.
        #[arg(long, value_name = "SECONDS|default")]
        lifetime: Option<LifetimeArg>,
        /// Whether token responses include a refresh token.
        #[arg(long, value_name = "true|false")]
        refresh_token: Option<bool>,
        /// Whether the client may introspect tokens issued to other clients.
        #[arg(long, value_name = "true|false")]
        introspect: Option<bool>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List clients.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one client with its secrets' metadata and audit log.
    Show {
        /// Client id.
        #[arg(allow_hyphen_values = true)]
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Issue a new secret; the old ones stay valid for the overlap window.
    RotateSecret {
        /// Client id.
        #[arg(allow_hyphen_values = true)]
        id: String,
        /// Seconds the previous secrets stay valid (default one day).
        #[arg(long, default_value_t = 86_400, value_name = "SECONDS")]
        overlap: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stop a client from getting tokens.
    Disable {
        /// Client id.
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
    /// Allow a disabled client again.
    Enable {
        /// Client id.
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
    /// Delete a client and its secrets.
    Delete {
        /// Client id.
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
}

/// A token lifetime on the command line: seconds, or `default` for the server's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LifetimeArg {
    /// The server's default lifetime.
    Default,
    /// This many seconds.
    Seconds(u64),
}

impl std::str::FromStr for LifetimeArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "default" {
            return Ok(Self::Default);
        }
        text.parse()
            .map(Self::Seconds)
            .map_err(|_| format!("{text:?} is neither a whole number of seconds nor `default`"))
    }
}

/// `tokenbroker admins`.
#[derive(Debug, Args)]
pub(crate) struct AdminsArgs {
    /// Where the registry is.
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: AdminsCommand,
}

/// Administrator management.
#[derive(Debug, Subcommand)]
pub(crate) enum AdminsCommand {
    /// Create an administrator; its API token is printed once.
    Create {
        /// Unique name.
        #[arg(long)]
        name: String,
        /// Role: client-admin (may create, rotate, disable clients) or viewer (repeatable).
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// The token stops working after this many seconds (at most a year; default: never).
        #[arg(long, value_name = "SECONDS")]
        expires_in: Option<u64>,
        /// Also read a portal password from stdin (one line, at least 12 characters), so the
        /// administrator can log in to /portal.
        #[arg(long)]
        password_stdin: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Set or replace an administrator's portal password, read from stdin; its portal sessions
    /// end.
    SetPassword {
        /// The administrator's name.
        name: String,
        /// Read the password from stdin (one line, at least 12 characters). Required: a
        /// password is never taken from the command line, where `ps` would show it.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List administrators, their roles and whether their tokens still work.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke an administrator's token: it stops working at once.
    Revoke {
        /// The administrator's name.
        name: String,
    },
}

/// Profile selection and per-field overrides; every field also works without a config file, and
/// each can be given as a `TOKENBROKER_…` environment variable instead (shown in `--help`).
///
/// Flags that define a client (`--token-url`, `--client-id`, `--preset`) never merge into a
/// profile you did not name: without `--profile` they form a profile of their own. The other
/// flags override the chosen profile's keys.
#[derive(Debug, Args, Default, Clone)]
pub(crate) struct ProfileArgs {
    /// Config file (default: $TOKENBROKER_CONFIG, ./tokenbroker.toml, then the user config dir).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Profile name from `[profiles.NAME]`.
    #[arg(long, short = 'p', value_name = "NAME", env = "TOKENBROKER_PROFILE")]
    pub profile: Option<String>,
    /// Provider preset: entur or telenor (fills token URL, style and audience).
    #[arg(long, value_name = "PRESET", env = "TOKENBROKER_PRESET")]
    pub preset: Option<String>,
    /// Entur environment: prod, staging or dev.
    #[arg(long, value_name = "ENV", env = "TOKENBROKER_ENVIRONMENT")]
    pub environment: Option<String>,
    /// Telenor region: norway or sweden.
    #[arg(long, value_name = "REGION", env = "TOKENBROKER_REGION")]
    pub region: Option<String>,
    /// Telenor base URL.
    #[arg(long, value_name = "URL", env = "TOKENBROKER_BASE_URL")]
    pub base_url: Option<String>,
    /// Token endpoint URL.
    #[arg(long, value_name = "URL", env = "TOKENBROKER_TOKEN_URL")]
    pub token_url: Option<String>,
    /// Client id. May start with `-`, as ids from other servers (or older tokenbroker versions)
    /// can.
    #[arg(
        long,
        value_name = "ID",
        allow_hyphen_values = true,
        env = "TOKENBROKER_CLIENT_ID"
    )]
    pub client_id: Option<String>,
    /// Name of the environment variable holding the client secret.
    #[arg(
        long,
        value_name = "VAR",
        env = "TOKENBROKER_CLIENT_SECRET_ENV",
        conflicts_with = "client_secret_file"
    )]
    pub client_secret_env: Option<String>,
    /// File holding the client secret (at most 64 KiB; one trailing newline is dropped).
    #[arg(long, value_name = "FILE", env = "TOKENBROKER_CLIENT_SECRET_FILE")]
    pub client_secret_file: Option<PathBuf>,
    /// json (Entur), basic (Telenor) or form (client_secret_post).
    #[arg(long, value_name = "STYLE", env = "TOKENBROKER_AUTH_STYLE")]
    pub auth_style: Option<String>,
    /// How a Basic header encodes id and secret: rfc (default) or raw.
    #[arg(long, value_name = "ENCODING", env = "TOKENBROKER_BASIC_ENCODING")]
    pub basic_encoding: Option<String>,
    /// The `audience` parameter.
    #[arg(long, env = "TOKENBROKER_AUDIENCE")]
    pub audience: Option<String>,
    /// The `scope` parameter (space-separated).
    #[arg(long, env = "TOKENBROKER_SCOPE")]
    pub scope: Option<String>,
    /// An RFC 8707 `resource` parameter (repeatable; replaces the profile's).
    #[arg(
        long = "resource",
        value_name = "URI",
        env = "TOKENBROKER_RESOURCE",
        value_delimiter = ','
    )]
    pub resources: Vec<String>,
    /// Another token request parameter, `NAME=VALUE` (repeatable; added to the profile's).
    #[arg(long = "extra-param", value_name = "NAME=VALUE", value_parser = parse_param)]
    pub extra_params: Vec<(String, String)>,
    /// ET-Client-Name to send: `<company>-<application>`, lowercase, no spaces.
    #[arg(long, value_name = "NAME", env = "TOKENBROKER_CLIENT_NAME")]
    pub client_name: Option<String>,
    /// Send a fresh X-Transaction-Id on every API request.
    #[arg(long, env = "TOKENBROKER_TRANSACTION_ID")]
    pub transaction_id: bool,
    /// Seconds a token lives when the server does not say.
    #[arg(long, value_name = "SECONDS", env = "TOKENBROKER_DEFAULT_LIFETIME")]
    pub default_lifetime: Option<u64>,
    /// Seconds a token request may take.
    #[arg(long, value_name = "SECONDS", env = "TOKENBROKER_TIMEOUT")]
    pub timeout: Option<u64>,
    /// A host this profile may reach over plain HTTP (`mock-as`, `*.svc.cluster.local`);
    /// repeatable, added to the profile's `allow_insecure_http`.
    #[arg(
        long = "allow-insecure-http",
        value_name = "HOST",
        env = "TOKENBROKER_ALLOW_INSECURE_HTTP",
        value_delimiter = ','
    )]
    pub allow_insecure_http: Vec<String>,
}

impl ProfileArgs {
    /// True when a flag names a client of its own: it then never merges into an unnamed profile.
    pub(crate) fn defines_a_client(&self) -> bool {
        self.token_url.is_some() || self.client_id.is_some() || self.preset.is_some()
    }
}

/// `NAME=VALUE` for `--extra-param`.
fn parse_param(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("{text:?} is not NAME=VALUE")),
    }
}
