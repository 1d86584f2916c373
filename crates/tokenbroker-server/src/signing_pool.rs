//! Where access tokens are signed, so that signing never starves the rest of the server.
//!
//! An RS256 signature holds a CPU for most of a millisecond. Signed on the async workers, a
//! saturated token endpoint queues every other request — `/healthz`, JWKS, metadata — behind
//! dozens of signatures. So RSA signatures run on tokio's blocking threads, at most one per core
//! at a time (a semaphore; waiting requests queue there without holding a thread), and the
//! workers stay free. ES256 and EdDSA sign in about 20 µs, less than handing the work to another
//! thread costs, so they sign in place. Measured with `bench/healthz_under_load.sh`.

use std::num::NonZeroUsize;
use std::sync::Arc;

use jsonwebtoken::errors::{new_error, Error, ErrorKind};
use tokio::sync::Semaphore;

use crate::claims::{sign_access_token, AccessTokenClaims};
use crate::keyring::KeyRing;
use crate::keys::KeyAlgorithm;

/// Signs access tokens: slow algorithms on a bounded set of blocking threads, fast ones in place.
#[derive(Debug)]
pub(crate) struct SigningPool {
    /// One permit per signature allowed to run at once.
    permits: Arc<Semaphore>,
}

impl Default for SigningPool {
    /// One signature at a time per core.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        Self::new(cores)
    }
}

impl SigningPool {
    /// A pool running at most `at_once` slow signatures at a time (at least one).
    pub(crate) fn new(at_once: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(at_once.max(1))),
        }
    }

    /// Signs `claims` with the key of `ring` that signs at `now`.
    pub(crate) async fn sign(
        &self,
        ring: Arc<KeyRing>,
        now: i64,
        claims: AccessTokenClaims,
    ) -> Result<String, Error> {
        if ring.signing_key(now).key_algorithm() != KeyAlgorithm::Rs256 {
            return sign_access_token(ring.signing_key(now), &claims);
        }
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| failed("the signing pool is closed"))?;
        tokio::task::spawn_blocking(move || {
            let _running = permit;
            sign_access_token(ring.signing_key(now), &claims)
        })
        .await
        .map_err(|_| failed("the signing thread stopped"))?
    }
}

fn failed(why: &str) -> Error {
    new_error(ErrorKind::Signing(why.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;

    fn claims(jti: usize) -> AccessTokenClaims {
        AccessTokenClaims {
            iss: "https://as".into(),
            sub: "c".into(),
            client_id: "c".into(),
            aud: "https://api".into(),
            scope: None,
            iat: 1_800_000_000,
            exp: 1_800_000_600,
            jti: jti.to_string(),
        }
    }

    #[tokio::test]
    async fn every_algorithm_signs_through_the_pool_and_many_wait_for_one_permit() {
        let pool = Arc::new(SigningPool::new(1));
        for algorithm in [
            KeyAlgorithm::Rs256,
            KeyAlgorithm::Es256,
            KeyAlgorithm::EdDsa,
        ] {
            let key = SigningKey::generate(algorithm).unwrap();
            let decoding = key.decoding_key().unwrap();
            let ring = Arc::new(KeyRing::single("https://as", key));
            let signing: Vec<_> = (0..8)
                .map(|jti| {
                    let (pool, ring) = (Arc::clone(&pool), Arc::clone(&ring));
                    tokio::spawn(async move { pool.sign(ring, 1_800_000_000, claims(jti)).await })
                })
                .collect();
            let mut validation = jsonwebtoken::Validation::new(algorithm.jws());
            validation.validate_aud = false;
            validation.validate_exp = false;
            for (jti, signed) in signing.into_iter().enumerate() {
                let token = signed.await.unwrap().unwrap();
                let decoded =
                    jsonwebtoken::decode::<AccessTokenClaims>(&token, &decoding, &validation);
                assert_eq!(decoded.unwrap().claims.jti, jti.to_string(), "{algorithm}");
            }
        }
    }
}
