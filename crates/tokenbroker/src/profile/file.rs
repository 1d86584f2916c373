//! Reading `tokenbroker.toml`: its `default_profile` and `[profiles.NAME]` tables (the tables of
//! other tools — `[server]`, `[agent]` — are theirs to read). Errors name the file and the line.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::{Profile, ProfileError, ProfileProblem, ProfileSettings};

/// The longest configuration file read.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The profiles of a `tokenbroker.toml`.
#[derive(Debug, Default, Deserialize)]
pub struct ProfilesFile {
    /// The profile used when none is named.
    pub default_profile: Option<String>,
    /// Profiles by name.
    #[serde(default)]
    pub profiles: BTreeMap<String, ProfileSettings>,
    /// Where it was read from, for messages.
    #[serde(skip)]
    path: Option<std::path::PathBuf>,
}

impl ProfilesFile {
    /// Reads and parses the file at `path`.
    pub fn load(path: &Path) -> Result<Self, ProfileError> {
        let place = || format!("config file {}", path.display());
        let fail = |problem| ProfileError {
            place: place(),
            problem,
        };
        let size = std::fs::metadata(path)
            .map_err(|e| fail(ProfileProblem::Read(e)))?
            .len();
        if size > MAX_FILE_BYTES {
            return Err(fail(ProfileProblem::Parse(format!(
                "larger than {MAX_FILE_BYTES} bytes; is it the right file?"
            ))));
        }
        let text = std::fs::read_to_string(path).map_err(|e| fail(ProfileProblem::Read(e)))?;
        let mut file: Self =
            parse(&text).map_err(|message| fail(ProfileProblem::Parse(message)))?;
        file.path = Some(path.to_owned());
        Ok(file)
    }

    /// The names of its profiles, comma-separated.
    pub fn names(&self) -> String {
        self.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
    }

    /// Profile `name`, checked and with its secrets read.
    pub fn profile(&self, name: &str) -> Result<Profile, ProfileError> {
        let place = match &self.path {
            Some(path) => format!("profile {name} in {}", path.display()),
            None => format!("profile {name}"),
        };
        match self.profiles.get(name) {
            Some(settings) => Profile::from_settings(name, settings, &place),
            None => Err(ProfileError {
                place,
                problem: ProfileProblem::Unknown(self.names()),
            }),
        }
    }
}

/// Parses TOML text into `T`; the error is one line naming the line number.
pub fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    toml::from_str(text).map_err(|error| {
        let message = error.message().trim().replace('\n', " ");
        match error.span() {
            Some(span) => {
                let line = text.as_bytes()[..span.start.min(text.len())]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count()
                    + 1;
                format!("line {line}: {message}")
            }
            None => message,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Any text is a profiles file or a one-line error naming where; never a panic.
        #[test]
        fn any_text_parses_or_names_the_line(text in "[\\[\\]a-z_=\" \n.0-9{}]{0,200}") {
            if let Err(message) = parse::<ProfilesFile>(&text) {
                proptest::prop_assert!(!message.contains('\n'), "{}", message);
            }
        }
    }

    #[test]
    fn parse_errors_name_the_line() {
        let err = parse::<ProfilesFile>("[profiles.a]\nclient_id = \"x\"\naudiance = \"y\"\n")
            .unwrap_err();
        assert!(err.starts_with("line 3:"), "{err}");
        assert!(err.contains("audiance"), "{err}");
        assert!(!err.contains('\n'));
    }

    #[test]
    fn files_are_read_up_to_1_mib_and_no_further() {
        let dir = std::env::temp_dir().join(format!("tb-profiles-size-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let content = "[profiles.a]\nclient_id = \"x\"\n";
        // A comment pads the file to exactly the limit.
        let padding = "#".repeat(MAX_FILE_BYTES as usize - content.len() - 1) + "\n";
        let at_limit = dir.join("at-limit.toml");
        std::fs::write(&at_limit, format!("{padding}{content}")).unwrap();
        assert_eq!(std::fs::metadata(&at_limit).unwrap().len(), MAX_FILE_BYTES);
        assert_eq!(ProfilesFile::load(&at_limit).unwrap().names(), "a");
        let over = dir.join("over.toml");
        std::fs::write(&over, format!("#{padding}{content}")).unwrap();
        let error = ProfilesFile::load(&over).unwrap_err().to_string();
        assert!(error.contains("larger than 1048576 bytes"), "{error}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn other_tools_tables_are_left_alone() {
        let file: ProfilesFile =
            parse("default_profile = \"a\"\n[server]\nlisten = \"127.0.0.1:1\"\n[profiles.a]\nclient_id = \"x\"\n")
                .unwrap();
        assert_eq!(file.names(), "a");
        let error = file.profile("b").unwrap_err().to_string();
        assert_eq!(error, "profile b: no such profile (profiles: a)");
    }
}
