//! The command line: `tokenbroker token | decode | request | demo`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// OAuth2 client-credentials tokens for partner APIs (Entur, Telenor, any RFC 6749 server).
///
/// Exit codes: 0 ok, 2 usage or configuration error, 3 rejected by the server
/// (401/403/OAuth error), 4 network or server failure.
#[derive(Debug, Parser)]
#[command(name = "tokenbroker", version, about, long_about = None)]
pub struct Cli {
    /// Log to stderr (-v debug, -vv trace); RUST_LOG works too.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print an access token for a profile (stdout carries only the token).
    Token {
        /// Which profile, and flags that override it.
        #[command(flatten)]
        profile: ProfileArgs,
        /// Print {access_token, token_type, expires_in, expires_at, scope} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a JWT's header and claims (the signature is NOT verified).
    Decode {
        /// The JWT; `-` or nothing reads it from stdin.
        jwt: Option<String>,
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
    },
    /// Run the whole story against a local authorization server started in-process.
    Demo,
}

/// Profile selection and per-field overrides; every field also works without a config file.
#[derive(Debug, Args, Default, Clone)]
pub struct ProfileArgs {
    /// Config file (default: $TOKENBROKER_CONFIG, ./tokenbroker.toml, then the user config dir).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Profile name from `[profiles.NAME]`.
    #[arg(long, short = 'p', value_name = "NAME")]
    pub profile: Option<String>,
    /// Token endpoint URL.
    #[arg(long, value_name = "URL")]
    pub token_url: Option<String>,
    /// Client id.
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// Name of the environment variable holding the client secret.
    #[arg(long, value_name = "VAR")]
    pub client_secret_env: Option<String>,
    /// json (Entur), basic (Telenor) or form (client_secret_post).
    #[arg(long, value_name = "STYLE")]
    pub auth_style: Option<String>,
    /// The `audience` parameter.
    #[arg(long)]
    pub audience: Option<String>,
    /// The `scope` parameter (space-separated).
    #[arg(long)]
    pub scope: Option<String>,
    /// ET-Client-Name to send: `<company>-<application>`, lowercase, no spaces.
    #[arg(long, value_name = "NAME")]
    pub client_name: Option<String>,
}
