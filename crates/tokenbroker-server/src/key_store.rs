//! The issuer's signing keys, kept in the registry: sealed with the key-encryption key on the
//! way in, opened and parsed on the way out. Every node of a fleet loads the same schedule, so
//! they sign and publish the same keys; a rotation made anywhere (`tokenbroker keys rotate`) is
//! picked up by every node within [`KEY_RELOAD_INTERVAL`](crate::KEY_RELOAD_INTERVAL).
//!
//! Keys from before keys moved into the registry (`keys/*.pem` and `keys/manifest.json` in the
//! data directory) are imported, with their schedule, by the first start that finds the
//! registry without keys.

use std::sync::Arc;
use std::time::Duration;

use crate::data_dir::{DataDir, DataDirError};
use crate::kek::{Kek, KekError};
use crate::keyring::{KeyEntry, KeyRing};
use crate::keys::{KeyAlgorithm, KeyError, SigningKey};
use crate::registry::{Registry, RegistryError, Rotation, StoredKey};

/// The longest `publish_ahead` or `retain` of a key rotation: a year.
pub const MAX_ROTATION_DELAY: Duration = Duration::from_secs(366 * 86_400);

/// Why the keys could not be loaded or changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyStoreError {
    /// The registry failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The key-encryption key is not the one the registry's keys are sealed with.
    #[error(
        "registry {location} keeps its signing keys sealed with another key-encryption key: \
         restore this node's kek file from a backup, or copy it from a node that works"
    )]
    KekMismatch {
        /// Which database (URL without credentials).
        location: String,
    },
    /// The data directory has no key-encryption key, but the registry's keys are sealed with one.
    #[error(
        "{} is missing, but registry {location} keeps signing keys sealed with a key-encryption \
         key: restore the kek file from a backup, or copy it from a node that works (a new one \
         could not open them)",
        path.display()
    )]
    KekMissing {
        /// Where the KEK was looked for.
        path: std::path::PathBuf,
        /// Which database (URL without credentials).
        location: String,
    },
    /// A key could not be sealed or opened.
    #[error(transparent)]
    Kek(#[from] KekError),
    /// A new key could not be generated.
    #[error(transparent)]
    NewKey(#[from] KeyError),
    /// A stored key does not parse.
    #[error("signing key {kid}: {source}")]
    Key {
        /// Which key.
        kid: String,
        /// Why.
        #[source]
        source: KeyError,
    },
    /// The data directory's old key files could not be read for the import.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// A rotation's delay is beyond [`MAX_ROTATION_DELAY`].
    #[error("{what} may be at most a year")]
    RotationOutOfRange {
        /// Which delay.
        what: &'static str,
    },
    /// Key generation or parsing (run off the async workers) did not finish.
    #[error("{what} did not finish: {source}")]
    Task {
        /// What was running.
        what: &'static str,
        /// Why it stopped.
        #[source]
        source: tokio::task::JoinError,
    },
}

impl KeyStoreError {
    /// True for errors an operator fixes in configuration (a wrong KEK, a bad delay).
    pub fn is_configuration(&self) -> bool {
        matches!(
            self,
            Self::KekMismatch { .. } | Self::KekMissing { .. } | Self::RotationOutOfRange { .. }
        ) || matches!(self, Self::Registry(registry) if registry.is_configuration())
    }
}

/// The signing keys of one registry, opened with one key-encryption key.
#[derive(Debug, Clone)]
pub struct KeyStore {
    registry: Registry,
    kek: Arc<Kek>,
}

impl KeyStore {
    /// The keys of `registry`, sealed with `kek`; refuses a KEK other than the one the
    /// registry's keys are sealed with.
    pub async fn open(registry: Registry, kek: Arc<Kek>) -> Result<Self, KeyStoreError> {
        if !registry.kek_agrees(&kek.fingerprint()).await? {
            return Err(KeyStoreError::KekMismatch {
                location: registry.location().to_owned(),
            });
        }
        Ok(Self { registry, kek })
    }

    /// The key store of a data directory: its registry (or the one at `database_url`), its
    /// pepper and its key-encryption key (or `kek`).
    pub async fn for_data_dir(
        data: &DataDir,
        database_url: Option<&str>,
        kek: Option<Arc<Kek>>,
    ) -> Result<Self, KeyStoreError> {
        let url = match database_url {
            Some(url) => url.to_owned(),
            None => data.registry_url()?,
        };
        let registry = Registry::open(&url, data.pepper()?).await?;
        Self::open_with_data_dir_kek(registry, data, kek).await
    }

    /// The key store of `registry` with `kek`, or the data directory's KEK when `None`: the
    /// one in its `kek` file, or a new one when the registry has none recorded yet. A missing
    /// KEK is never replaced once keys are sealed with it.
    pub(crate) async fn open_with_data_dir_kek(
        registry: Registry,
        data: &DataDir,
        kek: Option<Arc<Kek>>,
    ) -> Result<Self, KeyStoreError> {
        let kek = match kek {
            Some(kek) => kek,
            None => match data.existing_kek()? {
                Some(kek) => Arc::new(kek),
                None if registry.kek_recorded().await? => {
                    return Err(KeyStoreError::KekMissing {
                        path: data.kek_path(),
                        location: registry.location().to_owned(),
                    })
                }
                None => Arc::new(data.create_kek()?),
            },
        };
        Self::open(registry, kek).await
    }

    /// The registry the keys live in.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Makes sure the registry has keys: imports the data directory's old key files if it has
    /// any, or creates a first key of `first` signing from now. Safe to run on every node at
    /// once: one of them stores the keys, the others find them.
    pub async fn ensure_keys(
        &self,
        first: KeyAlgorithm,
        legacy: Option<&DataDir>,
    ) -> Result<(), KeyStoreError> {
        if !self.registry.signing_keys().await?.is_empty() {
            return Ok(());
        }
        let imported = match legacy {
            Some(data) => {
                let data = data.clone();
                blocking("reading the old key files", move || data.legacy_keys()).await??
            }
            None => Vec::new(),
        };
        let (entries, how) = if imported.is_empty() {
            let key = blocking("generating a key", move || SigningKey::generate(first)).await??;
            let entry = KeyEntry {
                key,
                publish_from: 0,
                signs_from: 0,
                signs_until: None,
                retire_after: None,
            };
            (vec![entry], "first key")
        } else {
            (imported, "imported from the data directory's key files")
        };
        let rows = entries
            .iter()
            .map(|entry| self.seal(entry))
            .collect::<Result<Vec<_>, _>>()?;
        if self
            .registry
            .insert_first_keys(&rows, "server", how)
            .await?
        {
            let kids: Vec<&str> = rows.iter().map(|r| r.kid.as_str()).collect();
            match legacy {
                Some(data) if how != "first key" => tracing::info!(
                    ?kids,
                    keys = %data.path().join("keys").display(),
                    "imported the signing keys into the registry; the key files are no longer read (keep them as a backup or delete them)"
                ),
                _ => tracing::info!(?kids, "created the first signing key"),
            }
        }
        Ok(())
    }

    /// The key ring for `issuer`, every stored key opened and parsed.
    pub async fn ring(&self, issuer: &str) -> Result<KeyRing, KeyStoreError> {
        let entries = self.entries().await?;
        if entries.is_empty() {
            return Err(KeyStoreError::Registry(RegistryError::Invalid(
                "the registry has no signing keys yet".into(),
            )));
        }
        Ok(KeyRing::new(issuer, entries))
    }

    /// Every stored key, opened and parsed (CPU work: run off the async workers).
    pub async fn entries(&self) -> Result<Vec<KeyEntry>, KeyStoreError> {
        let rows = self.registry.signing_keys().await?;
        let kek = Arc::clone(&self.kek);
        blocking("opening the signing keys", move || {
            rows.iter().map(|row| open_row(&kek, row)).collect()
        })
        .await?
    }

    /// Schedules a new key of `algorithm`: published now, signing after `publish_ahead` (at
    /// least one JWKS cache period, so every verifier has it by then), while the current keys
    /// stop signing then and stay published for `retain` more (the longest token lifetime).
    /// Keys whose tokens have all expired are removed. Audited as `actor`.
    pub async fn rotate(
        &self,
        algorithm: KeyAlgorithm,
        publish_ahead: Duration,
        retain: Duration,
        actor: &str,
    ) -> Result<Rotation, KeyStoreError> {
        for (what, value) in [("publish-ahead", publish_ahead), ("retain", retain)] {
            if value > MAX_ROTATION_DELAY {
                return Err(KeyStoreError::RotationOutOfRange { what });
            }
        }
        let now = self.registry.now();
        // Both at most a year (checked above): far inside i64.
        let signs_from = now.saturating_add(publish_ahead.as_secs() as i64);
        let key = blocking("generating a key", move || SigningKey::generate(algorithm)).await??;
        let next = self.seal(&KeyEntry {
            key,
            publish_from: now,
            signs_from,
            signs_until: None,
            retire_after: None,
        })?;
        Ok(self
            .registry
            .schedule_rotation(&next, retain.as_secs() as i64, now, actor)
            .await?)
    }

    fn seal(&self, entry: &KeyEntry) -> Result<StoredKey, KeyStoreError> {
        Ok(StoredKey {
            kid: entry.key.kid().to_owned(),
            algorithm: entry.key.key_algorithm().name().to_owned(),
            sealed_key: self
                .kek
                .seal(entry.key.kid(), entry.key.private_pem().as_bytes())?,
            publish_from: entry.publish_from,
            signs_from: entry.signs_from,
            signs_until: entry.signs_until,
            retire_after: entry.retire_after,
        })
    }
}

fn open_row(kek: &Kek, row: &StoredKey) -> Result<KeyEntry, KeyStoreError> {
    let failed = |source| KeyStoreError::Key {
        kid: row.kid.clone(),
        source,
    };
    let algorithm: KeyAlgorithm = row.algorithm.parse().map_err(failed)?;
    let pem = kek.open(&row.kid, &row.sealed_key)?;
    let pem = String::from_utf8(pem).map_err(|_| KekError::Open {
        kid: row.kid.clone(),
    })?;
    let key = SigningKey::from_pem(&pem, algorithm).map_err(failed)?;
    if key.kid() != row.kid {
        return Err(KekError::Open {
            kid: row.kid.clone(),
        }
        .into());
    }
    Ok(KeyEntry {
        key,
        publish_from: row.publish_from,
        signs_from: row.signs_from,
        signs_until: row.signs_until,
        retire_after: row.retire_after,
    })
}

/// Runs CPU work (RSA generation takes tens of milliseconds) off the async workers.
async fn blocking<T: Send + 'static>(
    what: &'static str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, KeyStoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|source| KeyStoreError::Task { what, source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Pepper;

    fn kek() -> Arc<Kek> {
        Arc::new(Kek::from_bytes(&Kek::generate_bytes().unwrap()).unwrap())
    }

    async fn registry(url: &str) -> Registry {
        Registry::open(url, Pepper::new(b"key store test pepper"))
            .await
            .unwrap()
    }

    async fn memory_store() -> KeyStore {
        KeyStore::open(registry("sqlite::memory:").await, kek())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn rotation_publishes_ahead_retains_and_prunes() {
        let store = memory_store().await;
        store.ensure_keys(KeyAlgorithm::Rs256, None).await.unwrap();
        let first = store.entries().await.unwrap().remove(0);
        let rotation = store
            .rotate(
                KeyAlgorithm::Es256,
                Duration::from_secs(300),
                Duration::from_secs(3600),
                "test",
            )
            .await
            .unwrap();
        let now = store.registry().now();
        assert!(rotation.signs_from >= now + 299);
        assert_eq!(
            rotation.retiring,
            vec![(first.key.kid().to_owned(), rotation.signs_from + 3600)]
        );
        let entries = store.entries().await.unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].key.key_algorithm(), KeyAlgorithm::Es256);
        // Retiring with no retention removes a key at the next rotation; the first key keeps
        // its own retention (its tokens are still out there).
        let quick = store
            .rotate(KeyAlgorithm::EdDsa, Duration::ZERO, Duration::ZERO, "test")
            .await
            .unwrap();
        assert_eq!(quick.removed, vec![rotation.kid.clone()]);
        let last = store
            .rotate(KeyAlgorithm::EdDsa, Duration::ZERO, Duration::ZERO, "test")
            .await
            .unwrap();
        assert_eq!(last.removed, vec![quick.kid.clone()]);
        let kids: Vec<String> = store
            .entries()
            .await
            .unwrap()
            .iter()
            .map(|e| e.key.kid().to_owned())
            .collect();
        assert_eq!(kids, vec![first.key.kid().to_owned(), last.kid.clone()]);
        let audit = store.registry().audit_log(None).await.unwrap();
        let rotations = audit
            .iter()
            .filter(|e| e.action == crate::registry::audit::actions::KEYS_ROTATE)
            .count();
        assert_eq!(rotations, 3, "every rotation is audited: {audit:?}");
    }

    /// A huge `--retain` used to wrap around and unpublish the old key at once.
    #[tokio::test]
    async fn rotation_delays_past_a_year_are_refused() {
        let store = memory_store().await;
        store.ensure_keys(KeyAlgorithm::Es256, None).await.unwrap();
        let huge = Duration::from_secs(u64::MAX);
        let error = store
            .rotate(KeyAlgorithm::Es256, Duration::ZERO, huge, "test")
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("retain may be at most a year"),
            "{error}"
        );
        assert!(store
            .rotate(KeyAlgorithm::Es256, huge, Duration::ZERO, "test")
            .await
            .is_err());
        assert_eq!(store.entries().await.unwrap().len(), 1);
    }

    /// Nodes starting together on one registry agree on one first key, and a later start keeps
    /// it; the private key is stored sealed, never in the clear.
    #[tokio::test]
    async fn concurrent_first_starts_store_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("registry.db").display());
        let kek = kek();
        registry(&url).await.close().await;
        let mut starts = tokio::task::JoinSet::new();
        for _ in 0..4 {
            let (url, kek) = (url.clone(), Arc::clone(&kek));
            starts.spawn(async move {
                let store = KeyStore::open(registry(&url).await, kek).await.unwrap();
                store.ensure_keys(KeyAlgorithm::Es256, None).await.unwrap();
            });
        }
        while let Some(start) = starts.join_next().await {
            start.unwrap();
        }
        let store = KeyStore::open(registry(&url).await, kek).await.unwrap();
        let rows = store.registry().signing_keys().await.unwrap();
        assert_eq!(rows.len(), 1, "{rows:?}");
        let entries = store.entries().await.unwrap();
        assert!(!rows[0].sealed_key.contains("PRIVATE KEY"));
        assert!(entries[0].key.private_pem().contains("PRIVATE KEY"));
    }

    /// Rotations made at once by several nodes are serialised: the schedule ends with exactly
    /// one key that will go on signing, every other one retiring.
    #[tokio::test]
    async fn concurrent_rotations_leave_one_successor() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("registry.db").display());
        let kek = kek();
        let store = KeyStore::open(registry(&url).await, Arc::clone(&kek))
            .await
            .unwrap();
        store.ensure_keys(KeyAlgorithm::Es256, None).await.unwrap();
        let mut rotations = tokio::task::JoinSet::new();
        for _ in 0..4 {
            let (url, kek) = (url.clone(), Arc::clone(&kek));
            rotations.spawn(async move {
                let store = KeyStore::open(registry(&url).await, kek).await.unwrap();
                store
                    .rotate(
                        KeyAlgorithm::EdDsa,
                        Duration::from_secs(300),
                        Duration::from_secs(600),
                        "test",
                    )
                    .await
                    .unwrap()
            });
        }
        while let Some(rotation) = rotations.join_next().await {
            rotation.unwrap();
        }
        let rows = store.registry().signing_keys().await.unwrap();
        assert_eq!(rows.len(), 5, "{rows:?}");
        let successors: Vec<_> = rows.iter().filter(|r| r.signs_until.is_none()).collect();
        assert_eq!(successors.len(), 1, "{rows:?}");
    }

    /// A node with another key-encryption key is refused, saying what to restore.
    #[tokio::test]
    async fn another_kek_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("registry.db").display());
        let store = KeyStore::open(registry(&url).await, kek()).await.unwrap();
        store.ensure_keys(KeyAlgorithm::Es256, None).await.unwrap();
        let error = KeyStore::open(registry(&url).await, kek())
            .await
            .unwrap_err();
        assert!(matches!(error, KeyStoreError::KekMismatch { .. }));
        assert!(error.is_configuration());
        let message = error.to_string();
        assert!(
            message.contains("restore this node's kek file"),
            "{message}"
        );
    }

    /// A KEK file that went missing after keys were sealed with it is an error naming the
    /// file, never replaced by a new one.
    #[tokio::test]
    async fn a_missing_kek_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path().join("data")).unwrap();
        let store = KeyStore::for_data_dir(&data, None, None).await.unwrap();
        store.ensure_keys(KeyAlgorithm::Es256, None).await.unwrap();
        store.registry().close().await;
        std::fs::remove_file(data.kek_path()).unwrap();
        let error = KeyStore::for_data_dir(&data, None, None).await.unwrap_err();
        assert!(matches!(error, KeyStoreError::KekMissing { .. }), "{error}");
        assert!(
            error.to_string().contains("restore the kek file"),
            "{error}"
        );
        assert!(!data.kek_path().exists(), "no new KEK was written");
    }

    /// Keys from a data directory of the old layout are imported with their ids and schedule,
    /// once; a second start finds them in the registry.
    #[tokio::test]
    async fn old_key_files_are_imported_once() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path().join("data")).unwrap();
        let old = crate::data_dir::write_legacy_key(
            &data,
            KeyAlgorithm::Rs256,
            0,
            Some(100),
            Some(9_999_999_999),
        );
        let current =
            crate::data_dir::write_legacy_key(&data, KeyAlgorithm::Es256, 100, None, None);
        let store = KeyStore::for_data_dir(&data, None, None).await.unwrap();
        store
            .ensure_keys(KeyAlgorithm::EdDsa, Some(&data))
            .await
            .unwrap();
        let entries = store.entries().await.unwrap();
        let kids: Vec<&str> = entries.iter().map(|e| e.key.kid()).collect();
        assert_eq!(kids, [old.kid(), current.kid()]);
        assert_eq!(entries[0].signs_until, Some(100));
        assert_eq!(entries[1].signs_from, 100);
        let ring = store.ring("iss").await.unwrap();
        assert_eq!(ring.signing_key(1_000).kid(), current.kid());
        store
            .ensure_keys(KeyAlgorithm::EdDsa, Some(&data))
            .await
            .unwrap();
        assert_eq!(store.entries().await.unwrap().len(), 2, "imported once");
        let audit = store.registry().audit_log(None).await.unwrap();
        assert!(audit
            .iter()
            .any(|e| e.action == crate::registry::audit::actions::KEYS_CREATE
                && e.detail.contains("imported")));
    }
}
