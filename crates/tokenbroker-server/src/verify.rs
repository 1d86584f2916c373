//! Checking tokens this server issued: signature by a published key, issuer and expiry.
//! (The denylist is the registry's; callers check it after this.)

use std::collections::HashMap;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};

use crate::claims::AccessTokenClaims;
use crate::keys::SigningKey;

/// Why a presented token is not one of ours, or no longer valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    /// Not a JWT, or unreadable.
    Malformed,
    /// Signed by a key we do not publish, or the signature does not verify.
    BadSignature,
    /// Issued by someone else.
    WrongIssuer,
    /// Past its `exp`.
    Expired,
}

impl TokenProblem {
    /// A short description for error bodies.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Malformed => "the token is not a JWT issued by this server",
            Self::BadSignature => "the token's signature does not verify with this server's keys",
            Self::WrongIssuer => "the token was issued by another server",
            Self::Expired => "the token has expired",
        }
    }
}

/// Verifies tokens signed by any of the server's published keys.
pub struct Verifier {
    issuer: String,
    keys: HashMap<String, (Algorithm, DecodingKey)>,
}

impl Verifier {
    /// A verifier for tokens of `issuer` signed by `keys`.
    pub fn new(issuer: &str, keys: &[&SigningKey]) -> Self {
        let keys = keys
            .iter()
            .filter_map(|key| {
                Some((
                    key.kid().to_owned(),
                    (key.algorithm(), key.decoding_key().ok()?),
                ))
            })
            .collect();
        Self {
            issuer: issuer.to_owned(),
            keys,
        }
    }

    /// The claims of `token` if it is ours, correctly signed and not expired.
    pub fn verify(&self, token: &str) -> Result<AccessTokenClaims, TokenProblem> {
        let header = decode_header(token).map_err(|_| TokenProblem::Malformed)?;
        let kid = header.kid.ok_or(TokenProblem::Malformed)?;
        let (algorithm, key) = self.keys.get(&kid).ok_or(TokenProblem::BadSignature)?;
        if header.alg != *algorithm {
            return Err(TokenProblem::BadSignature);
        }
        let mut validation = Validation::new(*algorithm);
        validation.set_issuer(&[&self.issuer]);
        validation.validate_aud = false;
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        decode::<AccessTokenClaims>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|error| match error.kind() {
                ErrorKind::ExpiredSignature => TokenProblem::Expired,
                ErrorKind::InvalidIssuer => TokenProblem::WrongIssuer,
                ErrorKind::InvalidSignature => TokenProblem::BadSignature,
                _ => TokenProblem::Malformed,
            })
    }
}
