//! The server's data directory: the SQLite registry, the pepper and the key-encryption key.
//!
//! Everything secret in it is written with file mode 0600 (and the directory 0700), created on
//! first start and read on every later one, so a restart keeps clients, secrets and keys.
//!
//! ```text
//! DIR/registry.db    clients, secrets (hashed), admins, audit log, signing keys (sealed)
//! DIR/pepper         32 random bytes keying the secret hashes
//! DIR/kek            32 random bytes sealing the signing keys in the registry
//! DIR/keys/          only in data directories from before keys moved into the registry:
//!                    *.pem and manifest.json, imported once and no longer read
//! ```

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::kek::Kek;
use crate::keyring::KeyEntry;
use crate::keys::{KeyAlgorithm, SigningKey};
use crate::registry::Pepper;

/// The key schedule on disk, before keys moved into the registry.
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
    /// The pepper is missing while the registry next to it has been used.
    #[error(
        "is missing, but {} has been used: restore the pepper from a backup (a new one would \
         make every stored secret, refresh token and administrator token invalid)",
        registry.display()
    )]
    MissingPepper {
        /// The registry whose secrets it keyed.
        registry: PathBuf,
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
    /// A key could not be generated or parsed.
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
    /// The key-encryption key is not 32 bytes.
    #[error(transparent)]
    Kek(#[from] crate::kek::KekError),
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

    /// The pepper, generated on first use. A missing pepper next to a SQLite registry that has
    /// been used is an error, never replaced: a new one would invalidate every stored secret.
    /// (A registry elsewhere checks the pepper's fingerprint itself when it opens.)
    pub fn pepper(&self) -> Result<Pepper, DataDirError> {
        let path = self.root.join("pepper");
        if !path.exists() {
            let registry = self.root.join("registry.db");
            if fs::metadata(&registry).is_ok_and(|m| m.len() > 0) {
                return Err(error(&path, DataDirProblem::MissingPepper { registry }));
            }
            write_private(&path, &Pepper::generate_bytes())?;
        }
        let bytes = read_private(&path)?;
        if bytes.len() < 16 {
            return Err(error(&path, DataDirProblem::ShortPepper));
        }
        Ok(Pepper::new(&bytes))
    }

    /// The key-encryption key in the data directory's `kek` file, if there is one.
    pub fn existing_kek(&self) -> Result<Option<Kek>, DataDirError> {
        let path = self.kek_path();
        if !path.exists() {
            return Ok(None);
        }
        let bytes = read_private(&path)?;
        let kek = Kek::from_bytes(&bytes).map_err(|e| error(&path, e.into()))?;
        Ok(Some(kek))
    }

    /// A new key-encryption key, written to the `kek` file (mode 0600); refused if one exists.
    pub fn create_kek(&self) -> Result<Kek, DataDirError> {
        let path = self.kek_path();
        let bytes = Kek::generate_bytes().map_err(|e| error(&path, e.into()))?;
        write_private(&path, &bytes)?;
        Kek::from_bytes(&bytes).map_err(|e| error(&path, e.into()))
    }

    /// Where the key-encryption key is kept.
    pub fn kek_path(&self) -> PathBuf {
        self.root.join("kek")
    }

    /// The keys of a data directory from before keys moved into the registry (`keys/*.pem` and
    /// `keys/manifest.json`), with their schedule; empty when there are none.
    pub fn legacy_keys(&self) -> Result<Vec<KeyEntry>, DataDirError> {
        self.manifest()?
            .keys
            .iter()
            .map(|entry| self.load_entry(entry))
            .collect()
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
            publish_from: 0,
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

/// Writes a key the way data directories did before keys moved into the registry, and returns it.
#[cfg(any(test, feature = "testing"))]
#[doc(hidden)]
pub fn write_legacy_key(
    data: &DataDir,
    algorithm: KeyAlgorithm,
    signs_from: i64,
    signs_until: Option<i64>,
    retire_after: Option<i64>,
) -> SigningKey {
    create_private_dir(&data.keys_dir()).expect("the keys directory");
    let key = SigningKey::generate(algorithm).expect("a key");
    let file = format!("{}-{}.pem", algorithm.name(), &key.kid()[..8]);
    write_private(&data.keys_dir().join(&file), key.private_pem().as_bytes()).expect("a key file");
    let mut manifest = data.manifest().expect("a readable manifest");
    manifest.keys.push(ManifestEntry {
        file,
        algorithm: algorithm.name().to_owned(),
        kid: key.kid().to_owned(),
        signs_from,
        signs_until,
        retire_after,
    });
    let _ = fs::remove_file(data.manifest_path());
    let bytes = serde_json::to_vec(&manifest).expect("a manifest serialises");
    write_private(&data.manifest_path(), &bytes).expect("a manifest file");
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_created_once_with_mode_0600_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path().join("data")).unwrap();
        assert!(data.existing_kek().unwrap().is_none());
        let first = data.create_kek().unwrap();
        assert!(
            data.create_kek().is_err(),
            "an existing KEK is never replaced"
        );
        data.pepper().unwrap();
        let again = DataDir::open(dir.path().join("data"))
            .unwrap()
            .existing_kek()
            .unwrap()
            .unwrap();
        assert_eq!(first.fingerprint(), again.fingerprint(), "the KEK is kept");
        for name in ["pepper", "kek"] {
            let path = data.path().join(name);
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600,
                "{name}"
            );
        }
        assert_eq!(
            fs::metadata(data.path()).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let pepper = data.path().join("pepper");
        fs::set_permissions(&pepper, fs::Permissions::from_mode(0o644)).unwrap();
        let err = data.pepper().err().unwrap().to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }

    /// Old key files are read with their schedule, and only read: nothing is generated.
    #[test]
    fn legacy_keys_are_read_with_their_schedule() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path().join("data")).unwrap();
        assert!(data.legacy_keys().unwrap().is_empty());
        let written = write_legacy_key(&data, KeyAlgorithm::Es256, 0, Some(100), Some(200));
        let keys = data.legacy_keys().unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].key.kid(), written.kid());
        assert_eq!(
            (keys[0].signs_until, keys[0].retire_after),
            (Some(100), Some(200))
        );
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
        create_private_dir(&data.keys_dir()).unwrap();
        fs::write(data.manifest_path(), "{ not json").unwrap();
        fs::set_permissions(data.manifest_path(), fs::Permissions::from_mode(0o600)).unwrap();
        let error = data.legacy_keys().unwrap_err();
        assert!(error.to_string().contains("manifest.json"), "{error}");
        let cause = error.source().and_then(|problem| problem.source()).unwrap();
        assert!(cause.is::<serde_json::Error>(), "{cause:?}");

        fs::set_permissions(data.manifest_path(), fs::Permissions::from_mode(0o644)).unwrap();
        let error = data.legacy_keys().unwrap_err();
        assert!(matches!(error.problem, DataDirProblem::ReadableByOthers));

        fs::write(data.path().join("kek"), [0u8; 7]).unwrap();
        fs::set_permissions(data.path().join("kek"), fs::Permissions::from_mode(0o600)).unwrap();
        let error = data.existing_kek().unwrap_err();
        assert!(error.to_string().contains("32 bytes, not 7"), "{error}");
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
