//! Checking tokens this server issued, with the guard's verifier — the same answer to "is this
//! token valid" that every API behind a guard gets. The server's rules: its own issuer, any
//! audience, `typ: at+jwt`, no leeway; its keys come from the key ring instead of a JWKS fetch.
//! (The denylist is the registry's; callers check it after this.)

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::Value;
use tokenbroker_guard::{default_algorithms, KeyLookup, KeySource, TokenRules};
use tokenbroker_guard::{Rejection, Verifier, VerifyingKey};
use tokenbroker_wire::jwt::{AccessTokenClaims, ACCESS_TOKEN_TYP};

use crate::keys::SigningKey;

/// The longest token the server reads (its own are well under 2 KiB).
const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The ring's public keys by `kid`.
#[derive(Debug)]
pub(crate) struct RingKeys(HashMap<String, Arc<VerifyingKey>>);

impl KeySource for RingKeys {
    async fn key(&self, kid: &str) -> Result<Arc<VerifyingKey>, KeyLookup> {
        self.0.get(kid).cloned().ok_or(KeyLookup::Unknown)
    }
}

/// Verifies tokens signed by any of the server's keys.
#[derive(Debug)]
pub struct OwnTokens(Verifier<RingKeys>);

impl OwnTokens {
    /// A verifier for tokens of `issuer` signed by `keys`.
    pub fn new(issuer: &str, keys: &[&SigningKey]) -> Self {
        let keys = keys
            .iter()
            .filter_map(|key| {
                let verifying = VerifyingKey::from_jwk(key.public_jwk()).ok()?;
                Some((key.kid().to_owned(), Arc::new(verifying)))
            })
            .collect();
        let rules = TokenRules {
            issuer: issuer.to_owned(),
            audience: None,
            algorithms: default_algorithms(),
            leeway: std::time::Duration::ZERO,
            max_token_bytes: MAX_TOKEN_BYTES,
            required_typ: Some(ACCESS_TOKEN_TYP.to_owned()),
        };
        Self(Verifier::new(rules, RingKeys(keys)).expect("the default algorithms are asymmetric"))
    }

    /// The claims of `token` if it is ours, correctly signed and valid at `now`.
    pub async fn verify(
        &self,
        token: &str,
        now: SystemTime,
    ) -> Result<AccessTokenClaims, Rejection> {
        let verified = self.0.verify(token, now).await?;
        serde_json::from_value(Value::Object(verified.into_claims()))
            .map_err(|_| Rejection::Malformed)
    }
}
