//! `tokenbroker token`: print an access token.

use std::time::SystemTime;

use serde_json::json;
use tokenbroker::TokenClient;

use crate::args::ProfileArgs;
use crate::config;
use crate::exit::CliResult;

/// Fetches a token for the selected profile and prints it (or JSON with `--json`).
pub(crate) async fn run(args: &ProfileArgs, as_json: bool) -> CliResult {
    let profile = config::resolve(args)?;
    tracing::debug!(profile = %profile.name, "fetching a token");
    let token = TokenClient::new(profile.client)?.fetch().await?;
    if as_json {
        let now = SystemTime::now();
        let body = json!({
            "access_token": token.secret(),
            "token_type": "Bearer",
            "expires_in": token.remaining(now).as_secs(),
            "expires_at": humantime::format_rfc3339_seconds(token.expires_at()).to_string(),
            "scope": token.scope(),
        });
        println!("{body}");
    } else {
        println!("{}", token.secret());
    }
    Ok(())
}
