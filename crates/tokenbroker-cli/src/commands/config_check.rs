//! `tokenbroker config check`: every problem in the config file at once, each as `FILE:LINE:`,
//! then the profile the other commands would use, resolved, without its secrets.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;
use tokenbroker::profile::{check_toml, FileProblem};
use tokenbroker::Profile;

use crate::args::ProfileArgs;
use crate::config::{self, ConfigFile};
use crate::exit::{CliError, CliResult};

/// Checks the config file (if there is one) and the selected profile; exit 2 when anything is
/// wrong, after printing every problem found.
pub(crate) fn run(args: &ProfileArgs) -> CliResult {
    if let Some(path) = config::locate(args.config.as_deref())? {
        let problems = file_problems(&path)?;
        for problem in &problems {
            println!("{}:{}: {}", path.display(), problem.line, problem.text);
        }
        if !problems.is_empty() {
            return Err(CliError::usage(format!(
                "{} problem{} in config file {}",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" },
                path.display()
            )));
        }
        println!("{}: no problems", path.display());
    }
    let (profile, place) = config::resolve_with_place(args)?;
    print!("{}", describe(&profile, &place));
    Ok(())
}

/// A problem on a line.
struct LineProblem {
    line: usize,
    text: String,
}

/// Where the tables other than the profiles are, for lines of the problems found in them.
#[derive(Deserialize)]
struct OtherSpans {
    default_profile: Option<toml::Spanned<String>>,
    agent: Option<toml::Spanned<toml::Value>>,
}

/// Every problem in the file: each profile key by key, then the other tables, then the names
/// that point at profiles (`default_profile`, the agent's upstreams).
fn file_problems(path: &Path) -> CliResult<Vec<LineProblem>> {
    let text = config::read(path)?;
    let syntax =
        |message: String| CliError::usage(format!("config file {}: {message}", path.display()));
    let mut problems: Vec<LineProblem> = check_toml(&text)
        .map_err(syntax)?
        .into_iter()
        .map(profile_problem)
        .collect();
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let reported: BTreeSet<usize> = problems.iter().map(|problem| problem.line).collect();
    match config::parse::<toml::Value>(&text) {
        Ok(file) => {
            let spans: OtherSpans = toml::from_str(&text).map_err(|e| syntax(e.to_string()))?;
            problems.extend(dangling_names(&file, &spans, line_of));
        }
        // A profile key's problem is already on its line; anything else is in another table.
        Err(message) => {
            let line = message
                .strip_prefix("line ")
                .and_then(|rest| rest.split(':').next()?.parse().ok())
                .unwrap_or(1);
            if !reported.contains(&line) {
                let text = message
                    .split_once(": ")
                    .map_or(message.as_str(), |(_, rest)| rest);
                problems.push(LineProblem {
                    line,
                    text: text.to_owned(),
                });
            }
        }
    }
    problems.sort_by_key(|problem| problem.line);
    Ok(problems)
}

fn profile_problem(problem: FileProblem) -> LineProblem {
    LineProblem {
        line: problem.line,
        text: format!("profile {}: {}", problem.profile, problem.problem),
    }
}

/// `default_profile` and the agent's profile names that name no profile.
fn dangling_names(
    file: &ConfigFile<toml::Value>,
    spans: &OtherSpans,
    line_of: impl Fn(usize) -> usize,
) -> Vec<LineProblem> {
    let known = || file.profiles.keys().cloned().collect::<Vec<_>>().join(", ");
    let mut problems = Vec::new();
    if let Some(name) = &spans.default_profile {
        if !file.profiles.contains_key(name.get_ref()) {
            problems.push(LineProblem {
                line: line_of(name.span().start),
                text: format!(
                    "default_profile {:?} names no profile (profiles: {})",
                    name.get_ref(),
                    known()
                ),
            });
        }
    }
    if let (Some(agent), Some(table)) = (&file.agent, &spans.agent) {
        for name in agent.profile_names() {
            if !file.profiles.contains_key(&name) {
                problems.push(LineProblem {
                    line: line_of(table.span().start),
                    text: format!(
                        "[agent] uses profile {name:?}, which is not defined (profiles: {})",
                        known()
                    ),
                });
            }
        }
    }
    problems
}

/// The resolved profile as `key value` lines; secrets appear only as fingerprints.
fn describe(profile: &Profile, place: &str) -> String {
    let client = &profile.client;
    let params = client.params();
    let optional = |value: Option<&str>| value.unwrap_or("-").to_owned();
    let mut lines = vec![
        ("token_url", client.token_url().to_string()),
        ("client_id", client.client_id().to_owned()),
        (
            "client_secret",
            format!("{} (fingerprint)", client.client_secret().fingerprint()),
        ),
        ("auth_style", client.auth_style().to_string()),
        ("audience", optional(params.audience.as_deref())),
        ("scope", optional(params.scope.as_deref())),
        ("resource", params.resource.join(" ")),
        (
            "client_name",
            optional(profile.client_name.as_ref().map(|name| name.as_str())),
        ),
        ("transaction_id", profile.transaction_ids.to_string()),
        (
            "x_jwt",
            optional(profile.x_jwt.as_ref().map(|x_jwt| x_jwt.url.as_str())),
        ),
        (
            "logout_url",
            optional(profile.logout_url.as_ref().map(|url| url.as_str())),
        ),
        (
            "revocation_url",
            optional(profile.revocation_url.as_ref().map(|url| url.as_str())),
        ),
        (
            "default_lifetime",
            format!("{} s", client.default_lifetime().as_secs()),
        ),
        (
            "timeout",
            format!("{} s", client.request_timeout().as_secs()),
        ),
    ];
    if let Some(file) = &profile.secret_file {
        lines.insert(3, ("client_secret_file", file.display().to_string()));
    }
    let mut out = format!("{place}: usable\n");
    for (key, value) in lines {
        out.push_str(&format!("  {key:<18} {value}\n"));
    }
    out
}
