//! Every problem in a profile's settings at once, each tied to the key it is about, for
//! `tokenbroker config check`. [`Profile::from_settings`](super::Profile::from_settings) stops
//! at the first problem; a person fixing a file wants them all.
//!
//! Each key is checked on its own with the same parser that [`resolve`](super::resolve) uses,
//! so the two cannot disagree; what only shows when keys meet (a preset without its
//! environment, an Entur audience on the wrong environment) comes from `resolve` itself, once
//! every key passed on its own.

use std::fmt;

use super::{resolve, ProfileProblem, ProfileSettings, SecretSource};
use crate::wire::client_auth::{AuthStyle, BasicEncoding};
use crate::wire::https::{parse_secure_url_allowing, PlainHttpHosts};
use crate::wire::provider::{EnturEnvironment, TelenorRegion};
use crate::wire::{ClientName, WireError};

/// One problem with a profile's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingProblem {
    /// The key it is about; `None` when it is about keys together, or a key that is missing.
    pub key: Option<String>,
    /// What is wrong, one line; never a secret.
    pub message: String,
}

impl SettingProblem {
    fn at(key: &str, message: impl fmt::Display) -> Self {
        Self {
            key: Some(key.to_owned()),
            message: message.to_string(),
        }
    }
}

impl fmt::Display for SettingProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(key) => write!(f, "{key}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The presets a profile can start from.
const PRESETS: [&str; 2] = ["entur", "telenor"];

impl ProfileSettings {
    /// Every problem with these settings: each key checked on its own first, then — when they
    /// all pass — the keys together, by resolving the profile (which reads its secrets; they are
    /// never part of a problem). Empty when the profile is usable.
    pub fn problems(&self, name: &str) -> Vec<SettingProblem> {
        let problems = self.key_problems();
        if !problems.is_empty() {
            return problems;
        }
        match resolve(name, self) {
            Ok(_) => Vec::new(),
            Err(problem) => vec![self.attribute(problem)],
        }
    }

    /// The problems each key has on its own.
    pub fn key_problems(&self) -> Vec<SettingProblem> {
        let mut problems = Vec::new();
        let hosts = match PlainHttpHosts::new(&self.allow_insecure_http) {
            Ok(hosts) => hosts,
            Err(error) => {
                problems.push(SettingProblem::at("allow_insecure_http", error));
                PlainHttpHosts::default()
            }
        };
        let urls = [
            ("token_url", &self.token_url),
            ("base_url", &self.base_url),
            ("logout_url", &self.logout_url),
            ("revocation_url", &self.revocation_url),
            ("x_jwt_base_url", &self.x_jwt_base_url),
        ];
        for (key, url) in urls {
            if let Some(Err(error)) = url
                .as_deref()
                .map(|raw| parse_secure_url_allowing(raw, key, &hosts))
            {
                problems.push(SettingProblem::at(key, crate::Error::from(error).detail()));
            }
        }
        let mut check = |key: &str, outcome: Result<(), String>| {
            if let Err(message) = outcome {
                problems.push(SettingProblem::at(key, message));
            }
        };
        check("preset", self.check_preset());
        check("environment", parsed::<EnturEnvironment>(&self.environment));
        check("region", parsed::<TelenorRegion>(&self.region));
        check("auth_style", parsed::<AuthStyle>(&self.auth_style));
        check(
            "basic_encoding",
            parsed::<BasicEncoding>(&self.basic_encoding),
        );
        check(
            "client_name",
            self.client_name
                .as_deref()
                .map_or(Ok(()), |name| ClientName::new(name).map(drop))
                .map_err(|error| crate::Error::from(error).detail().to_string()),
        );
        check("default_lifetime", positive(self.default_lifetime));
        check("timeout", positive(self.timeout));
        check("extra_params", self.check_extra_params());
        self.check_secret(&mut problems);
        problems
    }

    fn check_preset(&self) -> Result<(), String> {
        match self.preset.as_deref() {
            Some(preset) if !PRESETS.contains(&preset) => Err(format!(
                "preset {preset:?} is unknown; use {}",
                PRESETS.join(" or ")
            )),
            _ => Ok(()),
        }
    }

    fn check_extra_params(&self) -> Result<(), String> {
        let reserved = crate::config::RESERVED_PARAMETERS;
        match self
            .extra_params
            .keys()
            .find(|name| reserved.contains(&name.as_str()))
        {
            Some(name) => Err(format!(
                "{name} is set by the client itself and cannot be an extra parameter"
            )),
            None => Ok(()),
        }
    }

    /// The client secret's and the X-JWT password's sources, read as `resolve` reads them.
    fn check_secret(&self, problems: &mut Vec<SettingProblem>) {
        let client_secret = SecretSource::choose(
            self.client_secret_env.as_deref(),
            self.client_secret_file.as_deref(),
            self.client_secret.as_deref(),
        );
        if let Some(source) = client_secret {
            if let Err(error) = source.load() {
                problems.push(SettingProblem::at(&source.setting("client_secret"), error));
            }
        }
        if let Some(source) = super::x_jwt_password_source(self) {
            if let Err(error) = source.load() {
                problems.push(SettingProblem::at(&source.setting("x_jwt_password"), error));
            }
        }
    }

    /// The key a problem found by `resolve` is about, when it names one.
    fn attribute(&self, problem: ProfileProblem) -> SettingProblem {
        let key = match &problem {
            ProfileProblem::Secret { key, .. } => Some((*key).to_owned()),
            _ => None,
        };
        SettingProblem {
            key,
            message: match problem {
                ProfileProblem::Secret { source, .. } => source.to_string(),
                other => other.to_string(),
            },
        }
    }
}

/// `Ok` when `value` is unset or parses as `T`.
fn parsed<T: std::str::FromStr<Err = WireError>>(value: &Option<String>) -> Result<(), String> {
    match value.as_deref().map(str::parse::<T>) {
        Some(Err(error)) => Err(crate::Error::from(error).detail().to_string()),
        _ => Ok(()),
    }
}

fn positive(seconds: Option<u64>) -> Result<(), String> {
    match seconds {
        Some(0) => Err("must be at least 1 second".to_owned()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::tests::settings;

    #[test]
    fn a_usable_profile_has_no_problems() {
        assert_eq!(settings().problems("p"), Vec::new());
    }

    #[test]
    fn every_bad_key_is_reported_in_one_pass() {
        let bad = ProfileSettings {
            environment: Some("prd".into()),
            auth_style: Some("jsn".into()),
            token_url: Some("http://as.example/token".into()),
            client_name: Some("Acme App".into()),
            timeout: Some(0),
            client_secret: None,
            client_secret_env: Some("TOKENBROKER_TEST_CHECK_UNSET".into()),
            ..settings()
        };
        let keys: Vec<_> = bad
            .problems("p")
            .into_iter()
            .map(|problem| problem.key.unwrap())
            .collect();
        assert_eq!(
            keys,
            [
                "token_url",
                "environment",
                "auth_style",
                "client_name",
                "timeout",
                "client_secret_env"
            ]
        );
    }

    #[test]
    fn keys_that_do_not_go_together_come_from_resolving() {
        let settings = ProfileSettings {
            preset: Some("entur".into()),
            token_url: None,
            ..settings()
        };
        let problems = settings.problems("p");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].key, None);
        assert!(
            problems[0].message.contains("needs environment"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_problem_never_holds_the_secret() {
        let settings = ProfileSettings {
            client_secret: Some("hunter2-very-secret".into()),
            client_id: Some(" ".into()),
            ..settings()
        };
        let text = format!("{:?}", settings.problems("p"));
        assert!(text.contains("client_id"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}
