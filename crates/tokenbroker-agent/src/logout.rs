//! Ending tokens on shutdown, so a stopped agent leaves no live token behind: Telenor's logout
//! (`GET /oauth/v2/logout` with the bearer token, answering `OK!`; Telenor Norway client credentials grant) where the profile has
//! one, otherwise RFC 7009 revocation where it has a `revocation_url`.
//!
//! Skipped when the token is shared through Redis: other agents are still using it.

use std::time::Duration;

use tokenbroker::AccessToken;

use crate::profile::Profile;
use crate::state::AgentState;

pub(crate) async fn log_out_all(state: &AgentState) {
    if state.shared_cache {
        tracing::warn!("logout_on_shutdown skipped: tokens are shared with other agents through the shared cache");
        return;
    }
    for profile in state.profiles.values() {
        let Some(token) = profile.source.peek() else {
            continue;
        };
        let outcome = if profile.logout_url.is_some() {
            telenor_logout(profile, &token).await
        } else if let Some(url) = &profile.revocation_url {
            profile
                .source
                .client()
                .revoke(url, &token)
                .await
                .map_err(|e| e.to_string())
        } else {
            continue;
        };
        match outcome {
            Ok(()) => {
                tracing::info!(profile = %profile.name, token = token.fingerprint(), "token ended at shutdown")
            }
            Err(problem) => {
                tracing::warn!(profile = %profile.name, %problem, "could not end the token")
            }
        }
    }
}

async fn telenor_logout(profile: &Profile, token: &AccessToken) -> Result<(), String> {
    let Some(url) = &profile.logout_url else {
        return Ok(());
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let response = http
        .get(url.clone())
        .header(
            http::header::AUTHORIZATION,
            token.authorization_header().clone(),
        )
        .send()
        .await
        .map_err(|e| format!("logout failed: {e}"))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!(
            "logout refused with HTTP {}",
            response.status().as_u16()
        ))
    }
}
