//! `serve --seed FILE`: the clients a sandbox or a first start creates, read from TOML
//! (`[[clients]]` tables) or JSON (`{"clients": [...]}`, when the name ends in `.json`).
//!
//! ```toml
//! [[clients]]
//! id = "ci-app"
//! secret = "ci-secret-not-for-production"
//! audiences = ["https://api.dev.entur.io"]
//! scope = "read write"
//! ```

use std::io::Read;
use std::path::Path;

use serde::Deserialize;
use tokenbroker_server::registry::{SeedClient, MAX_SEED_CLIENTS};

use crate::exit::{CliError, CliResult};

/// The longest seed file read (a thousand clients fit in a fraction of it).
const MAX_SEED_FILE_BYTES: u64 = 1024 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedFile {
    clients: Vec<SeedClient>,
}

/// The clients in the seed file at `path`; errors name the file and, for syntax, the line.
pub(crate) fn load(path: &Path) -> CliResult<Vec<SeedClient>> {
    let place = format!("seed file {}", path.display());
    let text = read_bounded(path).map_err(|e| CliError::usage(format!("{place}: {e}")))?;
    let parsed = if path.extension().is_some_and(|ext| ext == "json") {
        serde_json::from_str::<SeedFile>(&text).map_err(|e| {
            format!(
                "line {}: {}",
                e.line(),
                e.to_string().split(" at line ").next().unwrap_or_default()
            )
        })
    } else {
        tokenbroker::profile::parse_toml::<SeedFile>(&text)
    };
    let file = parsed.map_err(|message| CliError::usage(format!("{place}: {message}")))?;
    if file.clients.len() > MAX_SEED_CLIENTS {
        return Err(CliError::usage(format!(
            "{place}: at most {MAX_SEED_CLIENTS} clients, it has {}",
            file.clients.len()
        )));
    }
    Ok(file.clients)
}

fn read_bounded(path: &Path) -> std::io::Result<String> {
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(MAX_SEED_FILE_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_SEED_FILE_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {MAX_SEED_FILE_BYTES} bytes"
        )));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn toml_and_json_seeds_read_alike() {
        let (_d, toml) = write(
            "seed.toml",
            "[[clients]]\nid = \"a\"\nsecret = \"secret-one\"\naudiences = [\"x\"]\nscope = \"r w\"\n",
        );
        let (_e, json) = write(
            "seed.json",
            r#"{"clients": [{"id": "a", "secret": "secret-one", "audiences": ["x"], "scope": "r w"}]}"#,
        );
        for path in [toml, json] {
            let clients = load(&path).unwrap();
            assert_eq!(clients.len(), 1);
            assert_eq!(clients[0].id, "a");
            assert_eq!(clients[0].scope, "r w");
        }
    }

    #[test]
    fn errors_name_the_file_and_line_and_never_the_secret() {
        let (_d, path) = write(
            "seed.toml",
            "[[clients]]\nid = \"a\"\nsecret = \"hunter2-hunter2\"\naudience = [\"x\"]\n",
        );
        let message = load(&path).unwrap_err().to_string();
        assert!(message.contains("seed.toml"), "{message}");
        assert!(message.contains("line 4"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
        let (_e, json) = write("seed.json", "{\"clients\": [\n{\"id\": 1}]}");
        let message = load(&json).unwrap_err().to_string();
        assert!(message.contains("line 2"), "{message}");
    }
}
