//! Reading `tokenbroker.toml`: its `default_profile` and `[profiles.NAME]` tables (the tables of
//! other tools — `[server]`, `[agent]` — are theirs to read). Errors name the file and the line.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::{Profile, ProfileError, ProfileProblem, ProfileSettings, SettingProblem};

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
        let text = read(path)?;
        let mut file: Self = parse(&text).map_err(|message| ProfileError {
            place: format!("config file {}", path.display()),
            problem: ProfileProblem::Parse(message),
        })?;
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

/// Reads a configuration file whole, refusing one over 1 MiB (no real one comes near).
pub fn read(path: &Path) -> Result<String, ProfileError> {
    let fail = |problem| ProfileError {
        place: format!("config file {}", path.display()),
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
    std::fs::read_to_string(path).map_err(|e| fail(ProfileProblem::Read(e)))
}

/// Parses TOML text into `T`; the error is one line naming the line number.
pub fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    toml::from_str(text).map_err(|error| {
        let message = one_line(error.message());
        match error.span() {
            Some(span) => format!("line {}: {message}", line_of(text, span.start)),
            None => message,
        }
    })
}

fn one_line(message: &str) -> String {
    message.trim().replace('\n', " ")
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// One problem in a configuration file's profile, with its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    /// The 1-based line of the key, or of the profile's table when no key is to blame.
    pub line: usize,
    /// The profile's name.
    pub profile: String,
    /// The key and what is wrong with it.
    pub problem: SettingProblem,
}

/// The `[profiles.NAME]` tables, with where each value is.
#[derive(Deserialize)]
struct ProfileSpans {
    #[serde(default)]
    profiles: BTreeMap<String, Spanned<BTreeMap<String, Spanned<toml::Value>>>>,
}

/// Every problem in every profile of a `tokenbroker.toml` text, ordered by line: unknown keys,
/// values of the wrong type, values the library refuses, secrets that cannot be read, keys that
/// do not go together. `Err` when the text is not TOML at all (one line, naming the line).
pub fn check(text: &str) -> Result<Vec<FileProblem>, String> {
    let spans: ProfileSpans = parse(text)?;
    let mut problems = Vec::new();
    for (name, table) in spans.profiles {
        let table_line = line_of(text, table.span().start);
        let mut known = toml::Table::new();
        let mut lines = BTreeMap::new();
        let mut mistyped = false;
        for (key, value) in table.into_inner() {
            let line = line_of(text, value.span().start);
            let value = value.into_inner();
            // Each key alone through the real deserializer: unknown names and wrong types are
            // found for every key, not only the first.
            let alone = toml::Table::from_iter([(key.clone(), value.clone())]);
            match toml::Value::Table(alone).try_into::<ProfileSettings>() {
                Ok(_) => {
                    known.insert(key.clone(), value);
                    lines.insert(key, line);
                }
                Err(error) => {
                    mistyped = true;
                    problems.push(FileProblem {
                        line,
                        profile: name.clone(),
                        problem: SettingProblem {
                            key: Some(key),
                            message: one_line(error.message()),
                        },
                    });
                }
            }
        }
        let settings: ProfileSettings = toml::Value::Table(known)
            .try_into()
            .map_err(|error| format!("profile {name}: {}", one_line(error.message())))?;
        // Keys left out for their type would be reported again as missing: check them alone.
        let found = if mistyped {
            settings.key_problems()
        } else {
            settings.problems(&name)
        };
        problems.extend(found.into_iter().map(|problem| {
            FileProblem {
                line: problem
                    .key
                    .as_ref()
                    .and_then(|key| lines.get(key))
                    .copied()
                    .unwrap_or(table_line),
                profile: name.clone(),
                problem,
            }
        }));
    }
    problems.sort_by_key(|problem| problem.line);
    Ok(problems)
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
    fn check_reports_every_problem_with_its_line() {
        let text = "default_profile = \"a\"\n\
            [profiles.a]\n\
            token_url = \"https://as.example/token\"\n\
            client_id = \"x\"\n\
            client_secret = \"s\"\n\
            auth_style = \"jsn\"\n\
            audiance = \"y\"\n\
            timeout = \"ten\"\n\
            [profiles.b]\n\
            preset = \"entur\"\n\
            client_id = \"x\"\n\
            client_secret = \"s\"\n\
            [profiles.c]\n\
            token_url = \"https://as.example/token\"\n\
            client_id = \"x\"\n\
            client_secret = \"s\"\n";
        let found: Vec<_> = check(text)
            .unwrap()
            .into_iter()
            .map(|p| (p.line, p.profile, p.problem.key))
            .collect();
        let key = |k: &str| Some(k.to_owned());
        assert_eq!(
            found,
            [
                (6, "a".into(), key("auth_style")),
                (7, "a".into(), key("audiance")),
                (8, "a".into(), key("timeout")),
                // entur without an environment: about the table, so its header's line.
                (9, "b".into(), None),
            ]
        );
        let error = check("[profiles.a\n").unwrap_err();
        assert!(error.starts_with("line 1:"), "{error}");
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
