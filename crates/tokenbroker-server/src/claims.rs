//! JWT access tokens per RFC 9068: what is in them, and signing them.

use jsonwebtoken::{encode, Header};
pub use tokenbroker_wire::jwt::AccessTokenClaims;
use tokenbroker_wire::jwt::ACCESS_TOKEN_TYP;

use crate::keys::SigningKey;

/// Signs `claims` with `key`: header `typ: at+jwt` (RFC 9068 §2.1) and the key's `kid`.
pub fn sign_access_token(
    key: &SigningKey,
    claims: &AccessTokenClaims,
) -> Result<String, jsonwebtoken::errors::Error> {
    let mut header = Header::new(key.algorithm());
    header.typ = Some(ACCESS_TOKEN_TYP.into());
    header.kid = Some(key.kid().to_owned());
    encode(&header, claims, key.encoding_key())
}
