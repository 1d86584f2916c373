//! Where access tokens are signed, so that signing never starves the rest of the server.
//!
//! An RS256 signature holds a CPU for most of a millisecond. Signed on the async workers, a
//! saturated token endpoint queues every other request — `/healthz`, JWKS, metadata — behind
//! dozens of signatures. So RSA signatures run on signing threads of their own, one per core,
//! and the workers stay free. ES256 and EdDSA sign in about 20 µs, less than handing the work to
//! another thread costs, so they sign in place. Measured with `bench/healthz_under_load.sh`.
//!
//! The queue is on the threads' side: a thread that finishes a signature takes the next job at
//! once. The first design (tokio's blocking pool behind a semaphore) handed each permit back
//! through the async scheduler, and a signing slot stayed idle until the next waiting request's
//! task was woken and had spawned its job: 0.78× the RS256 tokens/s of signing in place
//! (`bench/ab_tokens.sh`).

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, PoisonError};

use jsonwebtoken::errors::{new_error, Error, ErrorKind};
use tokio::sync::{mpsc, oneshot};

use crate::claims::{sign_access_token, AccessTokenClaims};
use crate::keyring::KeyRing;
use crate::keys::KeyAlgorithm;

/// The most signatures waiting for a signing thread; a request past it waits to be queued
/// (holding no thread).
const MAX_QUEUED: usize = 1024;

/// Signs access tokens: slow algorithms on the signing threads, fast ones in place.
#[derive(Debug)]
pub(crate) struct SigningPool {
    /// The signing threads' queue; `None` when no thread could be started (then everything
    /// signs in place). The threads end when it is dropped.
    jobs: Option<mpsc::Sender<Job>>,
}

/// One signature to make, and where its result goes.
struct Job {
    ring: Arc<KeyRing>,
    now: i64,
    claims: AccessTokenClaims,
    done: oneshot::Sender<Result<String, Error>>,
}

impl Default for SigningPool {
    /// One signing thread per core.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        Self::new(cores)
    }
}

impl SigningPool {
    /// A pool of `threads` signing threads (at least one).
    pub(crate) fn new(threads: usize) -> Self {
        let (jobs, queue) = mpsc::channel(MAX_QUEUED);
        let queue = Arc::new(Mutex::new(queue));
        let mut started = 0;
        for n in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            let spawned = std::thread::Builder::new()
                .name(format!("tokenbroker-signer-{n}"))
                .spawn(move || sign_until_closed(&queue));
            match spawned {
                Ok(_) => started += 1,
                Err(error) => tracing::error!(%error, "cannot start a signing thread"),
            }
        }
        Self {
            jobs: (started > 0).then_some(jobs),
        }
    }

    /// Signs `claims` with the key of `ring` that signs at `now`.
    pub(crate) async fn sign(
        &self,
        ring: Arc<KeyRing>,
        now: i64,
        claims: AccessTokenClaims,
    ) -> Result<String, Error> {
        let Some(jobs) = self
            .jobs
            .as_ref()
            .filter(|_| ring.signing_key(now).key_algorithm() == KeyAlgorithm::Rs256)
        else {
            return sign_access_token(ring.signing_key(now), &claims);
        };
        let (done, signed) = oneshot::channel();
        let job = Job {
            ring,
            now,
            claims,
            done,
        };
        jobs.send(job)
            .await
            .map_err(|_| failed("the signing threads stopped"))?;
        signed
            .await
            .map_err(|_| failed("the signing thread stopped"))?
    }
}

/// A signing thread: takes the next job as soon as it is free, until the pool is dropped.
fn sign_until_closed(queue: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        // One thread waits in the queue while the others wait for the lock; a job goes to the
        // one in the queue, which lets the next one in.
        let job = queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .blocking_recv();
        let Some(job) = job else { return };
        // A request that has gone (its client hung up) is not worth a signature.
        if job.done.is_closed() {
            continue;
        }
        let signed = sign_access_token(job.ring.signing_key(job.now), &job.claims);
        let _ = job.done.send(signed);
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
    async fn every_algorithm_signs_through_the_pool_and_many_wait_for_one_thread() {
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

    #[tokio::test]
    async fn requests_past_the_queue_bound_wait_and_are_all_signed() {
        let pool = Arc::new(SigningPool::new(1));
        let ring = Arc::new(KeyRing::single(
            "https://as",
            SigningKey::generate(KeyAlgorithm::Rs256).unwrap(),
        ));
        let waiting = MAX_QUEUED + 64;
        let signing: Vec<_> = (0..waiting)
            .map(|jti| {
                let (pool, ring) = (Arc::clone(&pool), Arc::clone(&ring));
                tokio::spawn(async move { pool.sign(ring, 1_800_000_000, claims(jti)).await })
            })
            .collect();
        let mut signed = 0;
        for task in signing {
            task.await.unwrap().expect("signed, not refused");
            signed += 1;
        }
        assert_eq!(signed, waiting);
    }
}
