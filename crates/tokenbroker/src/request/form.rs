//! The form token request with the credentials in the body: RFC 6749 §2.3.1 `client_secret_post`.

use crate::config::ClientConfig;

/// Puts the credentials and parameters in an `application/x-www-form-urlencoded` body.
pub(crate) fn apply(
    request: reqwest::RequestBuilder,
    config: &ClientConfig,
) -> reqwest::RequestBuilder {
    let mut pairs = config.params().pairs();
    pairs.push(("client_id", config.client_id()));
    pairs.push(("client_secret", config.client_secret().expose()));
    request.form(&pairs)
}
