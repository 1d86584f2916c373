//! `tokenbroker token`: print an access token.

use std::time::SystemTime;

use serde_json::json;

use crate::args::{CacheArgs, ProfileArgs};
use crate::commands::token_cache::token_cache;
use crate::config;
use crate::exit::CliResult;

/// Prints a token for the selected profile (or JSON with `--json`): the one an earlier
/// invocation cached while it is not yet due for refresh, else a new one.
pub(crate) async fn run(args: &ProfileArgs, cache: &CacheArgs, as_json: bool) -> CliResult {
    let profile = config::resolve(args)?;
    tracing::debug!(profile = %profile.name, "getting a token");
    let token = profile
        .token_source_sharing(token_cache(cache, &profile.client))?
        .token()
        .await?;
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
