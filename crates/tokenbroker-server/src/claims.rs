//! JWT access tokens per RFC 9068: what is in them, and signing them.

pub use tokenbroker_wire::jwt::AccessTokenClaims;
use tokenbroker_wire::jwt::ACCESS_TOKEN_TYP;

use crate::keys::SigningKey;

/// Signs `claims` with `key`: header `typ: at+jwt` (RFC 9068 §2.1) and the key's `kid`.
pub fn sign_access_token(
    key: &SigningKey,
    claims: &AccessTokenClaims,
) -> Result<String, jsonwebtoken::errors::Error> {
    key.sign(ACCESS_TOKEN_TYP, claims)
}
