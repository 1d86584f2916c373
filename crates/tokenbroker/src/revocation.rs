//! Token revocation, RFC 7009: telling the authorization server that an access token is no
//! longer needed, for example when a service shuts down, so a leaked copy stops working.
//!
//! Telenor's logout (Telenor Norway client credentials grant: `GET /oauth/v2/logout` with the bearer token) is the provider's
//! own form of the same; RFC 7009 servers (our own `tokenbroker serve` among them) take
//! `POST token=…&token_type_hint=access_token` with the client's credentials.

use url::Url;

use crate::error::Error;
use crate::exchange::TokenClient;
use crate::request::with_credentials;
use crate::token::AccessToken;
use crate::wire::client_auth::AuthStyle;
use crate::wire::https::{redact_url, require_https_allowing};

impl TokenClient {
    /// Revokes `token` at `revocation_url` (RFC 7009 §2.1), authenticating as for token requests:
    /// `Authorization: Basic` for [`AuthStyle::Basic`], otherwise `client_id`/`client_secret` in
    /// the form body (RFC 7009 has no JSON style). A 200 means revoked — or unknown, which
    /// RFC 7009 §2.2 treats the same.
    pub async fn revoke(&self, revocation_url: &Url, token: &AccessToken) -> Result<(), Error> {
        let config = self.config();
        require_https_allowing(revocation_url, config.plain_http_hosts())?;
        let params = [
            ("token", token.secret()),
            ("token_type_hint", "access_token"),
        ];
        // RFC 7009 has no JSON style: JSON clients send their credentials in the form body.
        let style = match config.auth_style() {
            AuthStyle::Basic => AuthStyle::Basic,
            AuthStyle::Form | AuthStyle::Json => AuthStyle::Form,
        };
        let request = with_credentials(
            self.http().post(revocation_url.clone()),
            &config,
            style,
            &params,
        );
        let response = request.send().await.map_err(|e| self.network_error(e))?;
        let status = response.status();
        if status.is_success() {
            tracing::info!(token = token.fingerprint(), "access token revoked");
            return Ok(());
        }
        let body = self.read_body(response).await?;
        // The refusal is parsed as the token endpoint's would be; it names the revocation URL.
        let label = redact_url(revocation_url);
        Err(match self.refusal(status, None, &body, &config) {
            Error::Rejected(mut rejection) => {
                rejection.url = label;
                Error::Rejected(rejection)
            }
            Error::Unavailable {
                status,
                retry_after,
                detail,
                ..
            } => Error::Unavailable {
                url: label,
                status,
                retry_after,
                detail,
            },
            other => other,
        })
    }
}
