//! A token cache in files, for short-lived processes such as `tokenbroker token`: five
//! invocations in a row spend one token, not five (the way `gcloud auth print-access-token`
//! and `az account get-access-token` cache on disk). Auth0, which Entur's partner login is
//! built on, counts every machine-to-machine token against a quota.
//!
//! One file per [`CacheKey`] (the token URL, client id and request parameters) *and* secret,
//! named by a hash of both, in a directory only its owner may enter (0700), each file 0600,
//! written whole and renamed into place, so a reader never sees half a token. The secret is
//! part of the name so that a wrong secret is never answered from the cache: it fetches, and
//! fails as it should. Concurrent invocations take a per-key lock file
//! before fetching: one fetches, the others wait and take its token. Like every
//! [`SharedCache`], it never makes a fetch fail: an unreadable directory, a corrupt file or a
//! lock held too long only means fetching without the cache. Refresh tokens are not stored.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::future::{BoxFuture, FutureExt};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use crate::cache_key::CacheKey;
use crate::config::ClientConfig;
use crate::error::{ConfigError, Error};
use crate::source::shared::{Acceptable, Fetch, SharedCache};
use crate::token::AccessToken;
use crate::token_record::TokenRecord;

/// The largest cache file read (a token response is a few KB).
const MAX_FILE_BYTES: u64 = 64 * 1024;

/// How long an invocation waits for another one's fetch before fetching itself.
const LOCK_WAIT: Duration = Duration::from_secs(60);

/// How often a waiting invocation looks at the lock.
const LOCK_POLL: Duration = Duration::from_millis(25);

/// Tokens cached in files under one directory (see the module docs).
pub struct FileTokenCache {
    dir: PathBuf,
    /// A hash of the client's secret: part of every file name (see the module docs).
    credential: [u8; 32],
    hits: AtomicU64,
}

/// Shows the directory, never the credential hash.
impl std::fmt::Debug for FileTokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileTokenCache")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl FileTokenCache {
    /// A cache in `dir` for `client`'s tokens, the directory created with mode 0700 if
    /// missing. A directory that other users may read or enter is refused: it would hand them
    /// working tokens.
    pub fn open(dir: impl Into<PathBuf>, client: &ClientConfig) -> Result<Self, Error> {
        let dir = dir.into();
        let problem = |problem: String| {
            Error::Config(ConfigError::TokenCacheDir {
                path: dir.display().to_string(),
                problem,
            })
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| problem(format!("cannot be created: {e}")))?;
        let mode = std::fs::metadata(&dir)
            .map_err(|e| problem(format!("cannot be read: {e}")))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(problem(format!(
                "is open to other users (mode {:o}); run `chmod 700 {}`",
                mode & 0o777,
                dir.display()
            )));
        }
        let secret = client.client_secret().expose_secret().as_bytes();
        let mut hasher = Sha256::new();
        hasher.update(b"tokenbroker file cache v1\0");
        hasher.update((secret.len() as u64).to_be_bytes());
        hasher.update(secret);
        Ok(Self {
            dir,
            credential: hasher.finalize().into(),
            hits: AtomicU64::new(0),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The files' common name for `key`: a hash of the key and the credential.
    fn stem(&self, key: &CacheKey) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.credential);
        hasher.update(key.as_str().as_bytes());
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn token_path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(format!("{}.json", self.stem(key)))
    }

    /// The cached token for `key`, if a whole, well-formed one is there.
    fn read(&self, key: &CacheKey) -> Option<AccessToken> {
        let file = File::open(self.token_path(key)).ok()?;
        let mut text = String::new();
        file.take(MAX_FILE_BYTES).read_to_string(&mut text).ok()?;
        serde_json::from_str::<TokenRecord>(&text)
            .ok()?
            .into_token()
    }

    /// Stores `token` for `key`: a fresh 0600 file renamed over the old one.
    fn write(&self, key: &CacheKey, token: &AccessToken) -> std::io::Result<()> {
        let record = TokenRecord::of(token);
        let text = serde_json::to_vec(&record).map_err(std::io::Error::other)?;
        let temporary = self.dir.join(format!(
            "{}.{}.{}.tmp",
            self.stem(key),
            std::process::id(),
            fastrand::u64(..)
        ));
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)?;
        let written = file.write_all(&text).and_then(|()| file.sync_all());
        let renamed = written.and_then(|()| std::fs::rename(&temporary, self.token_path(key)));
        if renamed.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        renamed
    }

    /// The per-key lock, waiting up to [`LOCK_WAIT`] for another invocation's fetch.
    async fn lock(&self, key: &CacheKey) -> std::io::Result<File> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(self.dir.join(format!("{}.lock", self.stem(key))))?;
        let deadline = Instant::now() + LOCK_WAIT;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(file),
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    tokio::time::sleep(LOCK_POLL).await;
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "another invocation held the lock too long",
                    ))
                }
                Err(std::fs::TryLockError::Error(error)) => return Err(error),
            }
        }
    }

    async fn obtain_inner(
        &self,
        key: &CacheKey,
        acceptable: Acceptable<'_>,
        fetch: Fetch<'_>,
    ) -> Result<AccessToken, Error> {
        let cached = |this: &Self| {
            let token = this.read(key).filter(|token| acceptable(token))?;
            this.hits.fetch_add(1, Ordering::Relaxed);
            Some(token)
        };
        if let Some(token) = cached(self) {
            return Ok(token);
        }
        let lock = match self.lock(key).await {
            Ok(lock) => Some(lock),
            Err(error) => {
                tracing::warn!(dir = %self.dir.display(), %error, "token cache lock unavailable; fetching without it");
                None
            }
        };
        // Another invocation may have fetched while this one waited.
        if let Some(token) = lock.as_ref().and_then(|_| cached(self)) {
            return Ok(token);
        }
        let token = fetch.await?;
        if let Err(error) = self.write(key, &token) {
            tracing::warn!(dir = %self.dir.display(), %error, "could not store the token in the cache");
        }
        drop(lock);
        Ok(token)
    }
}

impl SharedCache for FileTokenCache {
    fn obtain<'a>(
        &'a self,
        key: &'a CacheKey,
        acceptable: Acceptable<'a>,
        fetch: Fetch<'a>,
    ) -> BoxFuture<'a, Result<AccessToken, Error>> {
        self.obtain_inner(key, acceptable, fetch).boxed()
    }

    fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::TokenParams;
    use std::time::SystemTime;

    fn key() -> CacheKey {
        let url = url::Url::parse("https://partner.dev.entur.org/oauth/token").unwrap();
        CacheKey::new(&url, "client", &TokenParams::default())
    }

    fn client(secret: &str) -> ClientConfig {
        ClientConfig::builder(
            "https://partner.dev.entur.org/oauth/token",
            "client",
            secret,
        )
        .build()
        .unwrap()
    }

    fn token(lifetime: u64) -> AccessToken {
        let now = SystemTime::now();
        AccessToken::new(
            "eyJ.a.b",
            now,
            now + Duration::from_secs(lifetime),
            Some("s".into()),
            None,
        )
    }

    #[tokio::test]
    async fn a_stored_token_is_reused_and_only_by_its_owner() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FileTokenCache::open(dir.path().join("cache"), &client("s1")).unwrap();
        let mode = std::fs::metadata(cache.dir()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        let always = |_: &AccessToken| true;
        let first = cache
            .obtain(&key(), &always, async { Ok(token(3600)) }.boxed())
            .await
            .unwrap();
        let file = cache.token_path(&key());
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let again = cache
            .obtain(&key(), &always, async { panic!("no second fetch") }.boxed())
            .await
            .unwrap();
        assert_eq!(again.secret(), first.secret());
        // Stored to the millisecond.
        let drift = first
            .expires_at()
            .duration_since(again.expires_at())
            .unwrap();
        assert!(drift < Duration::from_millis(1), "{drift:?}");
        assert_eq!(cache.hits(), 1);

        // Not acceptable (due for refresh): fetched again and replaced.
        let never = |_: &AccessToken| false;
        let replaced = cache
            .obtain(
                &key(),
                &never,
                async {
                    Ok(AccessToken::new(
                        "eyJ.c.d",
                        SystemTime::now(),
                        SystemTime::now() + Duration::from_secs(60),
                        None,
                        None,
                    ))
                }
                .boxed(),
            )
            .await
            .unwrap();
        assert_eq!(replaced.secret(), "eyJ.c.d");
        assert_eq!(cache.read(&key()).unwrap().secret(), "eyJ.c.d");

        // Another secret for the same client never gets that token.
        let other = FileTokenCache::open(dir.path().join("cache"), &client("s2")).unwrap();
        assert!(other.read(&key()).is_none());
        assert!(!format!("{other:?}").contains("s2"));
    }

    #[tokio::test]
    async fn corrupt_or_hostile_files_are_ignored_and_open_directories_refused() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FileTokenCache::open(dir.path().join("cache"), &client("s1")).unwrap();
        for bad in [
            "not json".to_owned(),
            r#"{"access_token":"a\r\nX-Injected: 1","obtained_at_ms":1,"expires_at_ms":2,"scope":null}"#.to_owned(),
            r#"{"access_token":"eyJ.a.b","obtained_at_ms":5,"expires_at_ms":5,"scope":null}"#.to_owned(),
            format!(r#"{{"access_token":"{}","obtained_at_ms":1,"expires_at_ms":2,"scope":null}}"#, "a".repeat(70_000)),
        ] {
            std::fs::write(cache.token_path(&key()), bad).unwrap();
            assert!(cache.read(&key()).is_none());
        }
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        let refused = FileTokenCache::open(&open, &client("s1"))
            .unwrap_err()
            .to_string();
        assert!(refused.contains("chmod 700"), "{refused}");
    }
}
