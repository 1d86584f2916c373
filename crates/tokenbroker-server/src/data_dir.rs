//! The server's data directory: the SQLite registry, the pepper and the signing keys.
//!
//! Everything secret in it is written with file mode 0600 (and the directory 0700), created on
//! first start and read on every later one, so a restart keeps clients, secrets and keys.
//!
//! ```text
//! DIR/registry.db    clients, secrets (hashed), admins, audit log
//! DIR/pepper         32 random bytes keying the secret hashes
//! DIR/keys/*.pem     signing keys, PKCS#8
//! DIR/keys/manifest.json   which key signs when, and when each stops being published
//! ```

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::keyring::KeyEntry;
use crate::keys::{KeyAlgorithm, SigningKey};
use crate::registry::Pepper;
use crate::time::unix_now;

/// The key schedule on disk.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    keys: Vec<ManifestEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ManifestEntry {
    file: String,
    algorithm: String,
    kid: String,
    signs_from: i64,
    signs_until: Option<i64>,
    retire_after: Option<i64>,
}

/// What a rotation did.
#[derive(Debug, Clone, Serialize)]
pub struct Rotation {
    /// The new key's id.
    pub kid: String,
    /// Its algorithm.
    pub algorithm: String,
    /// When it starts signing (Unix seconds); it is published from now.
    pub signs_from: i64,
    /// Keys that stop signing then, with when they stop being published.
    pub retiring: Vec<(String, i64)>,
    /// Keys removed because every token they signed has expired.
    pub removed: Vec<String>,
}

/// The longest `publish_ahead` or `retain` of a key rotation: a year.
pub const MAX_ROTATION_DELAY: Duration = Duration::from_secs(366 * 86_400);

/// Why the data directory could not be used: the file or directory, and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("data directory {}: {problem}", path.display())]
pub struct DataDirError {
    /// The file or directory concerned.
    pub path: PathBuf,
    /// What is wrong with it; its cause, if any, is this error's source.
    #[source]
    pub problem: DataDirProblem,
}

/// What is wrong with a file or directory of the data directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataDirProblem {
    /// It could not be created.
    #[error("cannot create it: {0}")]
    Create(#[source] std::io::Error),
    /// It could not be written.
    #[error("cannot write it: {0}")]
    Write(#[source] std::io::Error),
    /// It could not be read.
    #[error("cannot read it: {0}")]
    Read(#[source] std::io::Error),
    /// It could not be replaced atomically.
    #[error("cannot replace it: {0}")]
    Replace(#[source] std::io::Error),
    /// It exists but is not a directory.
    #[error("is not a directory")]
    NotADirectory,
    /// Others may read it, and it holds a secret.
    #[error("is readable by other users; run `chmod 600` on it")]
    ReadableByOthers,
    /// Others may read or enter it (mode shown in octal), and it holds secrets.
    #[error("is open to other users (mode {mode:o}); run `{fix}`")]
    OpenToOthers {
        /// Its permission bits.
        mode: u32,
        /// The command that fixes it.
        fix: String,
    },
    /// The pepper is too short to be one this server wrote.
    #[error("is shorter than 16 bytes; restore it from a backup")]
    ShortPepper,
    /// The key manifest does not parse.
    #[error("is not a valid key manifest: {0}")]
    Manifest(#[source] serde_json::Error),
    /// A key file is not text.
    #[error("is not PEM text")]
    NotPem,
    /// A key file holds another key than the manifest records.
    #[error("does not match the kid the manifest records for it")]
    KidMismatch,
    /// A key rotation's delay is beyond [`MAX_ROTATION_DELAY`].
    #[error("{what} may be at most a year")]
    RotationOutOfRange {
        /// Which delay.
        what: &'static str,
    },
    /// A key could not be generated or parsed.
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
}

/// A server data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// Opens `root`, creating it (mode 0700) if needed.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, DataDirError> {
        let root = root.into();
        create_private_dir(&root)?;
        create_private_dir(&root.join("keys"))?;
        Ok(Self { root })
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The SQLite registry's URL; creates `registry.db` empty with mode 0600 first (SQLite would
    /// create it with the umask's 0644, and its `-wal`/`-shm` files copy the database's mode), and
    /// refuses one that others can read.
    pub fn registry_url(&self) -> Result<String, DataDirError> {
        let path = self.root.join("registry.db");
        if !path.exists() {
            write_private(&path, b"")?;
        }
        refuse_readable_by_others(&path)?;
        Ok(format!("sqlite://{}", path.display()))
    }

    /// The pepper, generated on first use.
    pub fn pepper(&self) -> Result<Pepper, DataDirError> {
        let path = self.root.join("pepper");
        if !path.exists() {
            write_private(&path, &Pepper::generate_bytes())?;
        }
        let bytes = read_private(&path)?;
        if bytes.len() < 16 {
            return Err(error(&path, DataDirProblem::ShortPepper));
        }
        Ok(Pepper::new(&bytes))
    }

    /// The key schedule; on first use, generates a key of `first` and makes it sign from now.
    pub fn key_entries(&self, first: KeyAlgorithm) -> Result<Vec<KeyEntry>, DataDirError> {
        let mut manifest = self.manifest()?;
        if manifest.keys.is_empty() {
            let entry = self.new_key(first, 0)?;
            manifest.keys.push(entry);
            self.save_manifest(&manifest)?;
        }
        manifest
            .keys
            .iter()
            .map(|entry| self.load_entry(entry))
            .collect()
    }

    /// Schedules a new key of `algorithm`: published now, signing after `publish_ahead` (at least
    /// one JWKS cache period), while the current keys stop signing then and stay published for
    /// `retain` more (the longest token lifetime). Keys whose tokens have all expired are removed.
    pub fn rotate_keys(
        &self,
        algorithm: KeyAlgorithm,
        publish_ahead: Duration,
        retain: Duration,
    ) -> Result<Rotation, DataDirError> {
        for (what, value) in [("publish-ahead", publish_ahead), ("retain", retain)] {
            if value > MAX_ROTATION_DELAY {
                return Err(error(
                    &self.manifest_path(),
                    DataDirProblem::RotationOutOfRange { what },
                ));
            }
        }
        let now = unix_now();
        let mut manifest = self.manifest()?;
        if manifest.keys.is_empty() {
            self.key_entries(algorithm)?;
            manifest = self.manifest()?;
        }
        // Both at most a year (checked above): far inside i64.
        let signs_from = now.saturating_add(publish_ahead.as_secs() as i64);
        let retire_after = signs_from.saturating_add(retain.as_secs() as i64);
        let mut retiring = Vec::new();
        for entry in manifest.keys.iter_mut().filter(|e| e.signs_until.is_none()) {
            entry.signs_until = Some(signs_from);
            entry.retire_after = Some(retire_after);
            retiring.push((entry.kid.clone(), retire_after));
        }
        let (expired, kept): (Vec<_>, Vec<_>) = manifest
            .keys
            .into_iter()
            .partition(|e| e.retire_after.is_some_and(|retire| retire <= now));
        manifest.keys = kept;
        let entry = self.new_key(algorithm, signs_from)?;
        let rotation = Rotation {
            kid: entry.kid.clone(),
            algorithm: entry.algorithm.clone(),
            signs_from,
            retiring,
            removed: expired.iter().map(|e| e.kid.clone()).collect(),
        };
        manifest.keys.push(entry);
        self.save_manifest(&manifest)?;
        for gone in &expired {
            let _ = fs::remove_file(self.keys_dir().join(&gone.file));
        }
        Ok(rotation)
    }

    /// When the key schedule last changed, to notice rotations made by another process.
    pub fn keys_changed_at(&self) -> Option<SystemTime> {
        fs::metadata(self.manifest_path())
            .and_then(|m| m.modified())
            .ok()
    }

    fn keys_dir(&self) -> PathBuf {
        self.root.join("keys")
    }

    fn manifest_path(&self) -> PathBuf {
        self.keys_dir().join("manifest.json")
    }

    fn manifest(&self) -> Result<Manifest, DataDirError> {
        let path = self.manifest_path();
        if !path.exists() {
            return Ok(Manifest::default());
        }
        let bytes = read_private(&path)?;
        serde_json::from_slice(&bytes).map_err(|e| error(&path, DataDirProblem::Manifest(e)))
    }

    /// Writes the manifest atomically (a reader sees the old or the new one, never half).
    fn save_manifest(&self, manifest: &Manifest) -> Result<(), DataDirError> {
        let path = self.manifest_path();
        let temporary = self
            .keys_dir()
            .join(format!("manifest.json.{}.tmp", std::process::id()));
        let _ = fs::remove_file(&temporary);
        let bytes = serde_json::to_vec_pretty(manifest).expect("a manifest serialises");
        write_private(&temporary, &bytes)?;
        fs::rename(&temporary, &path).map_err(|e| error(&path, DataDirProblem::Replace(e)))
    }

    fn new_key(
        &self,
        algorithm: KeyAlgorithm,
        signs_from: i64,
    ) -> Result<ManifestEntry, DataDirError> {
        let key = SigningKey::generate(algorithm).map_err(|e| error(&self.keys_dir(), e.into()))?;
        let file = format!(
            "{:020}-{}-{}.pem",
            unix_now(),
            algorithm.name(),
            &key.kid()[..8]
        );
        write_private(&self.keys_dir().join(&file), key.private_pem().as_bytes())?;
        Ok(ManifestEntry {
            file,
            algorithm: algorithm.name().to_owned(),
            kid: key.kid().to_owned(),
            signs_from,
            signs_until: None,
            retire_after: None,
        })
    }

    fn load_entry(&self, entry: &ManifestEntry) -> Result<KeyEntry, DataDirError> {
        let path = self.keys_dir().join(&entry.file);
        let algorithm: KeyAlgorithm = entry
            .algorithm
            .parse()
            .map_err(|e: crate::keys::KeyError| error(&path, e.into()))?;
        let pem = String::from_utf8(read_private(&path)?)
            .map_err(|_| error(&path, DataDirProblem::NotPem))?;
        let key = SigningKey::from_pem(&pem, algorithm).map_err(|e| error(&path, e.into()))?;
        if key.kid() != entry.kid {
            return Err(error(&path, DataDirProblem::KidMismatch));
        }
        Ok(KeyEntry {
            key,
            signs_from: entry.signs_from,
            signs_until: entry.signs_until,
            retire_after: entry.retire_after,
        })
    }
}

fn create_private_dir(path: &Path) -> Result<(), DataDirError> {
    if !path.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
            .map_err(|e| error(path, DataDirProblem::Create(e)))?;
    }
    if !path.is_dir() {
        return Err(error(path, DataDirProblem::NotADirectory));
    }
    refuse_readable_by_others(path)
}

/// Refuses a file or directory of the data directory that users other than its owner can read:
/// it holds secrets, or their hashes.
fn refuse_readable_by_others(path: &Path) -> Result<(), DataDirError> {
    let metadata = fs::metadata(path).map_err(|e| error(path, DataDirProblem::Read(e)))?;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        let wanted = if metadata.is_dir() { "700" } else { "600" };
        return Err(error(
            path,
            DataDirProblem::OpenToOthers {
                mode,
                fix: format!("chmod {wanted} {}", path.display()),
            },
        ));
    }
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), DataDirError> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| error(path, DataDirProblem::Create(e)))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| error(path, DataDirProblem::Write(e)))
}

/// Reads a secret file, refusing one that others can read.
fn read_private(path: &Path) -> Result<Vec<u8>, DataDirError> {
    let metadata = fs::metadata(path).map_err(|e| error(path, DataDirProblem::Read(e)))?;
    if metadata.permissions().mode() & 0o077 != 0 {
        return Err(error(path, DataDirProblem::ReadableByOthers));
    }
    fs::read(path).map_err(|e| error(path, DataDirProblem::Read(e)))
}

fn error(path: &Path, problem: DataDirProblem) -> DataDirError {
    DataDirError {
        path: path.to_path_buf(),
        problem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_publishes_ahead_retains_and_prunes() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path().join("data")).unwrap();
        let first = data.key_entries(KeyAlgorithm::Rs256).unwrap().remove(0);
        let rotation = data
            .rotate_keys(
                KeyAlgorithm::Es256,
                Duration::from_secs(300),
                Duration::from_secs(3600),
            )
            .unwrap();
        let now = unix_now();
        assert!(rotation.signs_from >= now + 299);
        assert_eq!(
            rotation.retiring,
            vec![(first.key.kid().to_owned(), rotation.signs_from + 3600)]
        );
        let entries = data.key_entries(KeyAlgorithm::Rs256).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].key.key_algorithm(), KeyAlgorithm::Es256);
        // Retiring with no retention removes a key at the next rotation; the first key keeps
        // its own retention (its tokens are still out there).
        let quick = data
            .rotate_keys(KeyAlgorithm::EdDsa, Duration::ZERO, Duration::ZERO)
            .unwrap();
        assert_eq!(quick.removed, vec![rotation.kid.clone()]);
        let last = data
            .rotate_keys(KeyAlgorithm::EdDsa, Duration::ZERO, Duration::ZERO)
            .unwrap();
        assert_eq!(last.removed, vec![quick.kid.clone()]);
        let kids: Vec<String> = data
            .key_entries(KeyAlgorithm::Rs256)
            .unwrap()
            .iter()
            .map(|e| e.key.kid().to_owned())
            .collect();
        assert_eq!(kids, vec![first.key.kid().to_owned(), last.kid.clone()]);
        let pems = fs::read_dir(data.path().join("keys"))
            .unwrap()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "pem"))
            .count();
        assert_eq!(pems, data.key_entries(KeyAlgorithm::Rs256).unwrap().len());
    }

    #[test]
    fn secrets_are_created_once_with_mode_0600_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path().join("data")).unwrap();
        let first = data.key_entries(KeyAlgorithm::Rs256).unwrap();
        data.pepper().unwrap();
        let again = DataDir::open(dir.path().join("data"))
            .unwrap()
            .key_entries(KeyAlgorithm::Es256)
            .unwrap();
        assert_eq!(
            first[0].key.kid(),
            again[0].key.kid(),
            "the existing key is kept"
        );
        for entry in fs::read_dir(data.path().join("keys")).unwrap().flatten() {
            assert_eq!(
                entry.metadata().unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let pepper = data.path().join("pepper");
        assert_eq!(
            fs::metadata(&pepper).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::metadata(data.path()).unwrap().permissions().mode() & 0o777,
            0o700
        );
        fs::set_permissions(&pepper, fs::Permissions::from_mode(0o644)).unwrap();
        let err = data.pepper().err().unwrap().to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }

    /// Each refusal names the file and keeps its cause (the I/O or JSON error) as the source.
    #[test]
    fn refusals_name_the_file_and_keep_the_cause() {
        use std::error::Error as _;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        fs::write(&file, "x").unwrap();
        let error = DataDir::open(&file).unwrap_err();
        assert!(matches!(error.problem, DataDirProblem::NotADirectory));
        assert_eq!(error.path, file);

        let data = DataDir::open(dir.path().join("data")).unwrap();
        fs::write(data.manifest_path(), "{ not json").unwrap();
        fs::set_permissions(data.manifest_path(), fs::Permissions::from_mode(0o600)).unwrap();
        let error = data.key_entries(KeyAlgorithm::Es256).unwrap_err();
        assert!(error.to_string().contains("manifest.json"), "{error}");
        let cause = error.source().and_then(|problem| problem.source()).unwrap();
        assert!(cause.is::<serde_json::Error>(), "{cause:?}");

        fs::set_permissions(data.manifest_path(), fs::Permissions::from_mode(0o644)).unwrap();
        let error = data.key_entries(KeyAlgorithm::Es256).unwrap_err();
        assert!(matches!(error.problem, DataDirProblem::ReadableByOthers));
    }

    /// A huge `--retain` used to wrap around and unpublish the old key at once.
    #[test]
    fn rotation_delays_past_a_year_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path().join("data")).unwrap();
        let huge = Duration::from_secs(u64::MAX);
        let error = data
            .rotate_keys(KeyAlgorithm::Es256, Duration::ZERO, huge)
            .unwrap_err();
        assert!(
            error.to_string().contains("retain may be at most a year"),
            "{error}"
        );
        assert!(data
            .rotate_keys(KeyAlgorithm::Es256, huge, Duration::ZERO)
            .is_err());
    }

    /// The registry file is created 0600 before SQLite would create it 0644; a data directory
    /// or registry others can read is refused with the chmod that fixes it.
    #[test]
    fn the_registry_and_the_directory_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path().join("data")).unwrap();
        let url = data.registry_url().unwrap();
        let registry = data.path().join("registry.db");
        assert!(url.ends_with("registry.db"), "{url}");
        assert_eq!(
            fs::metadata(&registry).unwrap().permissions().mode() & 0o777,
            0o600
        );
        fs::set_permissions(&registry, fs::Permissions::from_mode(0o666)).unwrap();
        let error = data.registry_url().unwrap_err();
        assert!(error.to_string().contains("chmod 600"), "{error}");

        fs::set_permissions(data.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let error = DataDir::open(data.path()).unwrap_err();
        assert!(
            matches!(
                error.problem,
                DataDirProblem::OpenToOthers { mode: 0o755, .. }
            ),
            "{error}"
        );
        assert!(error.to_string().contains("chmod 700"), "{error}");
    }
}
