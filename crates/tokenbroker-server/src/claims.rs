//! JWT access tokens per RFC 9068: what is in them, and signing them.

use jsonwebtoken::{encode, Header};
use serde::{Deserialize, Serialize};

use crate::keys::SigningKey;

/// The claims of an RFC 9068 access token (§2.2).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessTokenClaims {
    /// Issuer: this server's identifier.
    pub iss: String,
    /// Subject: for client credentials, the client itself (RFC 9068 §2.2).
    pub sub: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// The API the token is for.
    pub aud: String,
    /// Granted scopes, space-separated (omitted when none).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scope: Option<String>,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Expires at (seconds since the epoch).
    pub exp: u64,
    /// Unique token id, for revocation.
    pub jti: String,
}

/// Signs `claims` with `key`: header `typ: at+jwt` (RFC 9068 §2.1) and the key's `kid`.
pub fn sign(
    key: &SigningKey,
    claims: &AccessTokenClaims,
) -> Result<String, jsonwebtoken::errors::Error> {
    let mut header = Header::new(key.algorithm());
    header.typ = Some("at+jwt".into());
    header.kid = Some(key.kid().to_owned());
    encode(&header, claims, key.encoding_key())
}
