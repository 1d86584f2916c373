//! Logging tokens out on shutdown (Telenor `GET /oauth/v2/logout` with the bearer token, which
//! answers `OK!`; seed 003), so a stopped agent leaves no live token behind.
//!
//! Skipped when the token is shared through Redis: other agents are still using it.

use std::time::Duration;

use crate::state::AgentState;

pub(crate) async fn log_out_all(state: &AgentState) {
    if state.shared_cache {
        tracing::warn!("logout_on_shutdown skipped: tokens are shared with other agents through the shared cache");
        return;
    }
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(http) => http,
        Err(_) => return,
    };
    for profile in state.profiles.values() {
        let (Some(url), Some(token)) = (&profile.logout_url, profile.source.peek()) else {
            continue;
        };
        let outcome = http
            .get(url.clone())
            .header(
                http::header::AUTHORIZATION,
                token.authorization_header().clone(),
            )
            .send()
            .await;
        match outcome {
            Ok(response) if response.status().is_success() => {
                tracing::info!(profile = %profile.name, token = token.fingerprint(), "token logged out");
            }
            Ok(response) => tracing::warn!(
                profile = %profile.name,
                status = response.status().as_u16(),
                "logout refused"
            ),
            Err(error) => tracing::warn!(profile = %profile.name, %error, "logout failed"),
        }
    }
}
