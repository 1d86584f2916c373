//! Where a secret comes from — an environment variable, a file, or the configuration itself — and
//! the one set of rules for reading it, whoever reads it (the library, the CLI, the agent's
//! reloads).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::wire::ClientSecret;

/// The longest secret file read; real secrets are far shorter.
const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// Where a secret is read from.
#[derive(Clone)]
pub enum SecretSource {
    /// An environment variable.
    Env(String),
    /// A file (re-read by [`load`](Self::load): files are how secrets are rotated in place).
    File(PathBuf),
    /// The value itself, from the configuration (kept out of `Debug`).
    Inline(ClientSecret),
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(var) => write!(f, "SecretSource::Env({var:?})"),
            Self::File(path) => write!(f, "SecretSource::File({path:?})"),
            Self::Inline(secret) => write!(f, "SecretSource::Inline({secret:?})"),
        }
    }
}

/// Why a secret could not be read; never contains the secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The environment variable is unset or empty.
    #[error("environment variable {0} is not set")]
    EnvUnset(String),
    /// The file cannot be read.
    #[error("cannot read {path}: {source}", path = path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than any secret.
    #[error("{path} is larger than {MAX_SECRET_FILE_BYTES} bytes; is it the right file?", path = path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The source holds an empty value.
    #[error("{0} is empty")]
    Empty(String),
}

impl SecretSource {
    /// The first source that is set, in order of preference: environment variable, file, inline.
    pub fn choose(
        env: Option<&str>,
        file: Option<&Path>,
        inline: Option<&str>,
    ) -> Option<SecretSource> {
        env.map(|var| Self::Env(var.to_owned()))
            .or_else(|| file.map(|path| Self::File(path.to_owned())))
            .or_else(|| inline.map(|value| Self::Inline(ClientSecret::new(value))))
    }

    /// Reads the secret now. The rules, the same for every reader: an unset or empty variable is
    /// an error; a file is read whole with its trailing line break removed, must not be empty
    /// and must be under 64 KiB.
    pub fn load(&self) -> Result<ClientSecret, SecretError> {
        match self {
            Self::Env(var) => match std::env::var(var) {
                Ok(value) if !value.is_empty() => Ok(ClientSecret::new(value)),
                _ => Err(SecretError::EnvUnset(var.clone())),
            },
            Self::File(path) => read_file(path),
            Self::Inline(secret) => Ok(secret.clone()),
        }
    }

    /// The configuration key that names this source, for a secret called `secret`:
    /// `client_secret_env`, `client_secret_file` or `client_secret` itself.
    pub fn setting(&self, secret: &str) -> String {
        match self {
            Self::Env(_) => format!("{secret}_env"),
            Self::File(_) => format!("{secret}_file"),
            Self::Inline(_) => secret.to_owned(),
        }
    }

    /// The file, when the secret comes from one (the agent watches it).
    pub fn file(&self) -> Option<&Path> {
        match self {
            Self::File(path) => Some(path),
            _ => None,
        }
    }
}

fn read_file(path: &Path) -> Result<ClientSecret, SecretError> {
    let error = |source| SecretError::File {
        path: path.to_owned(),
        source,
    };
    let size = std::fs::metadata(path).map_err(error)?.len();
    if size > MAX_SECRET_FILE_BYTES {
        return Err(SecretError::TooLarge {
            path: path.to_owned(),
        });
    }
    let text = std::fs::read_to_string(path).map_err(error)?;
    let value = text.trim_end_matches(['\r', '\n']);
    if value.is_empty() {
        return Err(SecretError::Empty(path.display().to_string()));
    }
    Ok(ClientSecret::new(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn files_lose_their_line_break_and_must_hold_something() {
        let dir = std::env::temp_dir().join(format!("tb-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good");
        std::fs::write(&good, "s3cr3t\r\n").unwrap();
        let secret = SecretSource::File(good).load().unwrap();
        assert_eq!(secret.expose_secret(), "s3cr3t");
        let empty = dir.join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let error = SecretSource::File(empty).load().unwrap_err().to_string();
        assert!(error.contains("is empty"), "{error}");
        let missing = SecretSource::File(dir.join("missing")).load().unwrap_err();
        assert!(std::error::Error::source(&missing).is_some());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn secret_files_are_read_up_to_64_kib_and_no_further() {
        let dir = std::env::temp_dir().join(format!("tb-secret-size-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let at_limit = dir.join("at-limit");
        std::fs::write(&at_limit, "s".repeat(MAX_SECRET_FILE_BYTES as usize)).unwrap();
        assert!(SecretSource::File(at_limit).load().is_ok());
        let over = dir.join("over");
        std::fs::write(&over, "s".repeat(MAX_SECRET_FILE_BYTES as usize + 1)).unwrap();
        let error = SecretSource::File(over).load().unwrap_err().to_string();
        assert!(error.contains("larger than 65536 bytes"), "{error}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn debug_never_shows_an_inline_secret() {
        let source = SecretSource::choose(None, None, Some("hunter2")).unwrap();
        assert!(!format!("{source:?}").contains("hunter2"));
        assert!(matches!(
            SecretSource::choose(Some("V"), Some(Path::new("f")), Some("x")),
            Some(SecretSource::Env(_))
        ));
    }
}
