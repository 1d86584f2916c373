//! Opening a server's registry from the command line, as the local operator.

use std::path::PathBuf;
use std::sync::Arc;

use secrecy::SecretString;
use tokenbroker_server::registry::{Registry, RegistryError};
use tokenbroker_server::{DataDir, Kek, KEK_BYTES};

use crate::args::{KekArgs, RegistryArgs};
use crate::exit::{CliError, CliResult};

/// Who the audit log names for changes made with the CLI.
pub(crate) const OPERATOR: &str = "operator";

/// The data directory used when none is given: the user data dir, or `./tokenbroker-data`.
pub(crate) fn default_data_dir() -> PathBuf {
    dirs::data_local_dir()
        .map(|dir| dir.join("tokenbroker"))
        .unwrap_or_else(|| PathBuf::from("tokenbroker-data"))
}

/// Opens the registry the arguments point at (creating an empty one if needed).
pub(crate) async fn open(args: &RegistryArgs) -> CliResult<Registry> {
    let data = DataDir::open(args.data_dir.clone().unwrap_or_else(default_data_dir))
        .map_err(|e| CliError::usage(e.to_string()))?;
    let url = match &args.database_url {
        Some(url) => url.clone(),
        None => data
            .registry_url()
            .map_err(|e| CliError::usage(e.to_string()))?,
    };
    let pepper = data.pepper().map_err(|e| CliError::usage(e.to_string()))?;
    Registry::open(&url, pepper).await.map_err(registry_error)
}

/// The environment variable that may hold the key-encryption key (base64).
pub(crate) const KEK_ENV: &str = "TOKENBROKER_KEK";

/// The key-encryption key the arguments name: `--kek-file`, else `$TOKENBROKER_KEK`; `None`
/// leaves the data directory's `kek` file.
pub(crate) fn kek(args: &KekArgs) -> CliResult<Option<Arc<Kek>>> {
    if let Some(path) = &args.kek_file {
        let bytes = read_kek_file(path)?;
        let kek = if bytes.len() == KEK_BYTES {
            Kek::from_bytes(&bytes)
        } else {
            Kek::from_base64(&String::from_utf8_lossy(&bytes))
        }
        .map_err(|e| CliError::usage(format!("--kek-file {}: {e}", path.display())))?;
        return Ok(Some(Arc::new(kek)));
    }
    match std::env::var(KEK_ENV) {
        Ok(text) => Kek::from_base64(&text)
            .map(|kek| Some(Arc::new(kek)))
            .map_err(|e| CliError::usage(format!("{KEK_ENV}: {e}"))),
        Err(_) => Ok(None),
    }
}

/// A KEK file: small, and not readable by others.
fn read_kek_file(path: &std::path::Path) -> CliResult<Vec<u8>> {
    use std::os::unix::fs::PermissionsExt;
    let failed = |e: std::io::Error| CliError::usage(format!("--kek-file {}: {e}", path.display()));
    let metadata = std::fs::metadata(path).map_err(failed)?;
    if metadata.permissions().mode() & 0o077 != 0 {
        return Err(CliError::usage(format!(
            "--kek-file {}: is readable by other users; run `chmod 600 {}`",
            path.display(),
            path.display()
        )));
    }
    if metadata.len() > 1024 {
        return Err(CliError::usage(format!(
            "--kek-file {}: larger than 1 KiB; is it the right file?",
            path.display()
        )));
    }
    std::fs::read(path).map_err(failed)
}

/// Exit code 2 for requests the registry refuses and a pepper it does not know, 4 when the
/// database fails.
pub(crate) fn registry_error(error: RegistryError) -> CliError {
    match error {
        RegistryError::UnknownClient(_) | RegistryError::Invalid(_) => {
            CliError::usage(error.to_string())
        }
        _ if error.is_configuration() => CliError::usage(error.to_string()),
        _ => CliError::failure(error.to_string()),
    }
}

/// The longest secret or password read from stdin, in bytes (the token endpoint takes secrets of
/// up to 1 KiB).
const MAX_STDIN_SECRET_BYTES: u64 = tokenbroker::wire::client_auth::MAX_SECRET_BYTES as u64;

/// One secret from `input` (stdin): a single line, its line ending removed, at most 1 KiB. The
/// error names `what` and never contains the secret.
pub(crate) fn read_secret_line(input: impl std::io::Read, what: &str) -> CliResult<SecretString> {
    use std::io::Read;
    let mut bytes = Vec::new();
    // One byte past the limit (and its line ending) tells "too long" from "exactly the limit".
    input
        .take(MAX_STDIN_SECRET_BYTES + 3)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::usage(format!("cannot read {what} from stdin: {e}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| CliError::usage(format!("{what} on stdin is not UTF-8")))?;
    let line = text
        .strip_suffix('\n')
        .map(|rest| rest.strip_suffix('\r').unwrap_or(rest))
        .unwrap_or(&text);
    if line.is_empty() {
        return Err(CliError::usage(format!(
            "{what} on stdin is empty; pipe it in, e.g. `printf %s \"$SECRET\" | tokenbroker …`"
        )));
    }
    if line.contains('\n') {
        return Err(CliError::usage(format!(
            "{what} on stdin has more than one line"
        )));
    }
    if line.len() as u64 > MAX_STDIN_SECRET_BYTES {
        return Err(CliError::usage(format!(
            "{what} on stdin is longer than {MAX_STDIN_SECRET_BYTES} bytes"
        )));
    }
    Ok(SecretString::from(line.to_owned()))
}

/// Prints `value` as one line of JSON.
pub(crate) fn print_json(value: &impl serde::Serialize) -> CliResult {
    let text = serde_json::to_string(value)
        .map_err(|e| CliError::failure(format!("cannot encode JSON: {e}")))?;
    println!("{text}");
    Ok(())
}
