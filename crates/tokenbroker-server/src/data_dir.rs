//! The server's data directory: the SQLite registry, the pepper and the signing keys.
//!
//! Everything secret in it is written with file mode 0600 (and the directory 0700), created on
//! first start and read on every later one, so a restart keeps clients, secrets and keys.
//!
//! ```text
//! DIR/registry.db    clients, secrets (hashed), admins, audit log
//! DIR/pepper         32 random bytes keying the secret hashes
//! DIR/keys/*.pem     signing keys, PKCS#8; the newest signs
//! ```

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::keys::SigningKey;
use crate::registry::Pepper;

/// Why the data directory could not be used.
#[derive(Debug, thiserror::Error)]
#[error("data directory {path}: {message}")]
pub struct DataDirError {
    /// The file or directory concerned.
    pub path: String,
    /// What went wrong.
    pub message: String,
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

    /// The SQLite registry's URL.
    pub fn registry_url(&self) -> String {
        format!("sqlite://{}", self.root.join("registry.db").display())
    }

    /// The pepper, generated on first use.
    pub fn pepper(&self) -> Result<Pepper, DataDirError> {
        let path = self.root.join("pepper");
        if !path.exists() {
            write_private(&path, &Pepper::generate_bytes())?;
        }
        let bytes = read_private(&path)?;
        if bytes.len() < 16 {
            return Err(error(
                &path,
                "is shorter than 16 bytes; restore it from a backup",
            ));
        }
        Ok(Pepper::new(&bytes))
    }

    /// The signing keys, oldest first; generates an RS256 key when there is none.
    pub fn signing_keys(&self) -> Result<Vec<SigningKey>, DataDirError> {
        let keys_dir = self.root.join("keys");
        let mut paths: Vec<PathBuf> = fs::read_dir(&keys_dir)
            .map_err(|e| error(&keys_dir, &e.to_string()))?
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "pem"))
            .collect();
        paths.sort();
        if paths.is_empty() {
            let key = SigningKey::generate_rs256().map_err(|e| error(&keys_dir, &e.to_string()))?;
            let path = keys_dir.join(format!("{:020}-rs256.pem", unix_now()));
            write_private(&path, key.private_pem().as_bytes())?;
            return Ok(vec![key]);
        }
        paths
            .iter()
            .map(|path| {
                let pem = String::from_utf8(read_private(path)?)
                    .map_err(|_| error(path, "is not PEM text"))?;
                SigningKey::from_rsa_pem(&pem).map_err(|e| error(path, &e.to_string()))
            })
            .collect()
    }
}

fn create_private_dir(path: &Path) -> Result<(), DataDirError> {
    if !path.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
            .map_err(|e| error(path, &format!("cannot create it: {e}")))?;
    }
    if !path.is_dir() {
        return Err(error(path, "is not a directory"));
    }
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), DataDirError> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| error(path, &format!("cannot create it: {e}")))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| error(path, &format!("cannot write it: {e}")))
}

/// Reads a secret file, refusing one that others can read.
fn read_private(path: &Path) -> Result<Vec<u8>, DataDirError> {
    let metadata = fs::metadata(path).map_err(|e| error(path, &e.to_string()))?;
    if metadata.permissions().mode() & 0o077 != 0 {
        return Err(error(
            path,
            "is readable by other users; run `chmod 600` on it",
        ));
    }
    fs::read(path).map_err(|e| error(path, &e.to_string()))
}

fn error(path: &Path, message: &str) -> DataDirError {
    DataDirError {
        path: path.display().to_string(),
        message: message.to_owned(),
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_created_once_with_mode_0600_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path().join("data")).unwrap();
        let first = data.signing_keys().unwrap();
        data.pepper().unwrap();
        let again = DataDir::open(dir.path().join("data"))
            .unwrap()
            .signing_keys()
            .unwrap();
        assert_eq!(first[0].kid(), again[0].kid());
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
}
