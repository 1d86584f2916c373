//! What the portal's pages show: askama templates (in `templates/portal/`) and the plain values
//! they are filled with. Every value is escaped by the template engine; times are shown both
//! relative ("3 minutes ago") and exact (UTC).

use std::time::{Duration, SystemTime};

use askama::Template;

use crate::registry::{AuditEvent, ClientRecord, Role, SecretInfo, Session};

/// What every page's frame shows: its title, who is logged in, and a notice after an action.
#[derive(Debug, Default)]
pub(super) struct Layout {
    pub(super) title: String,
    pub(super) who: Option<Who>,
    pub(super) notice: Option<&'static str>,
}

/// The administrator shown in the header, and the anti-forgery token its log-out form carries.
#[derive(Debug)]
pub(super) struct Who {
    pub(super) name: String,
    pub(super) role: &'static str,
    pub(super) csrf: String,
}

impl Layout {
    /// The frame of a page seen by `session`.
    pub(super) fn for_session(title: impl Into<String>, session: &Session) -> Self {
        let role = if session.admin.has(Role::ClientAdmin) {
            Role::ClientAdmin
        } else {
            Role::Viewer
        };
        Self {
            title: title.into(),
            who: Some(Who {
                name: session.admin.name.clone(),
                role: role.as_str(),
                csrf: session.csrf_token.clone(),
            }),
            notice: None,
        }
    }
}

#[derive(Template)]
#[template(path = "portal/login.html")]
pub(super) struct LoginPage {
    pub(super) layout: Layout,
    pub(super) name: String,
    pub(super) problem: Option<String>,
}

#[derive(Template)]
#[template(path = "portal/clients.html")]
pub(super) struct ClientsPage {
    pub(super) layout: Layout,
    pub(super) can_change: bool,
    pub(super) rows: Vec<ClientView>,
}

/// The values of the new-client and edit forms.
#[derive(Debug, Default)]
pub(super) struct ClientFormView {
    pub(super) name: String,
    pub(super) audiences: String,
    pub(super) scopes: String,
    pub(super) lifetime: String,
    pub(super) refresh_tokens: bool,
    pub(super) default_lifetime: u64,
}

impl ClientFormView {
    /// The form filled with `client`'s settings.
    pub(super) fn of(client: &ClientRecord, default_lifetime: Duration) -> Self {
        Self {
            name: client.name.clone(),
            audiences: client.audiences.join("\n"),
            scopes: client.scopes.join(" "),
            lifetime: client
                .lifetime_seconds
                .map_or(String::new(), |s| s.to_string()),
            refresh_tokens: client.refresh_tokens,
            default_lifetime: default_lifetime.as_secs(),
        }
    }
}

#[derive(Template)]
#[template(path = "portal/new_client.html")]
pub(super) struct NewClientPage {
    pub(super) layout: Layout,
    pub(super) csrf: String,
    pub(super) form: ClientFormView,
    pub(super) problem: Option<String>,
}

#[derive(Template)]
#[template(path = "portal/secret_shown.html")]
pub(super) struct SecretShownPage {
    pub(super) layout: Layout,
    pub(super) client_id: String,
    pub(super) path_id: String,
    pub(super) client_secret: String,
    pub(super) previous_until: Option<String>,
}

#[derive(Template)]
#[template(path = "portal/client.html")]
pub(super) struct ClientPage {
    pub(super) layout: Layout,
    pub(super) csrf: String,
    pub(super) can_change: bool,
    pub(super) client: ClientView,
    pub(super) secrets: Vec<SecretView>,
    pub(super) form: ClientFormView,
    pub(super) problem: Option<String>,
    pub(super) events: Vec<EventView>,
}

#[derive(Template)]
#[template(path = "portal/confirm_delete.html")]
pub(super) struct ConfirmDeletePage {
    pub(super) layout: Layout,
    pub(super) csrf: String,
    pub(super) name: String,
    pub(super) client_id: String,
    pub(super) path_id: String,
}

/// The audit page's filter, as typed.
#[derive(Debug, Default)]
pub(super) struct FilterView {
    pub(super) client: String,
    pub(super) actor: String,
    pub(super) action: String,
    pub(super) since: String,
    pub(super) until: String,
}

#[derive(Template)]
#[template(path = "portal/audit.html")]
pub(super) struct AuditPage {
    pub(super) layout: Layout,
    pub(super) filter: FilterView,
    pub(super) actions: &'static [&'static str],
    pub(super) summary: String,
    pub(super) problem: Option<String>,
    pub(super) events: Vec<EventView>,
}

#[derive(Template)]
#[template(path = "portal/problem.html")]
pub(super) struct ProblemPage {
    pub(super) layout: Layout,
    pub(super) message: String,
}

/// One client, as a row of the list and the head of its page.
#[derive(Debug)]
pub(super) struct ClientView {
    pub(super) client_id: String,
    pub(super) path_id: String,
    pub(super) name: String,
    pub(super) audiences: String,
    pub(super) scopes: String,
    pub(super) enabled: bool,
    pub(super) state: &'static str,
    pub(super) lifetime: String,
    pub(super) refresh_tokens: bool,
    pub(super) last_used: String,
    /// Without the exact time, for the list.
    pub(super) last_used_short: String,
    pub(super) secrets: String,
}

impl ClientView {
    /// `client` as of `now` (Unix seconds).
    pub(super) fn of(client: &ClientRecord, now: i64) -> Self {
        let live = client
            .secrets
            .iter()
            .filter(|secret| secret.expires_at.is_none_or(|at| at > now))
            .collect::<Vec<_>>();
        let next_expiry = live.iter().filter_map(|secret| secret.expires_at).min();
        let secrets = match (live.len(), next_expiry) {
            (0, _) => "none valid".to_owned(),
            (n, None) => n.to_string(),
            (n, Some(at)) => format!("{n}, one ends {}", in_words(at, now)),
        };
        let last_used = client
            .secrets
            .iter()
            .filter_map(|secret| secret.last_used_at)
            .max();
        Self {
            client_id: client.client_id.clone(),
            path_id: path_segment(&client.client_id),
            name: client.name.clone(),
            audiences: client.audiences.join(" "),
            scopes: if client.scopes.is_empty() {
                "none".to_owned()
            } else {
                client.scopes.join(" ")
            },
            enabled: client.enabled,
            state: if client.enabled {
                "enabled"
            } else {
                "disabled"
            },
            lifetime: client
                .lifetime_seconds
                .map_or("default".to_owned(), |s| format!("{s} s")),
            refresh_tokens: client.refresh_tokens,
            last_used: last_used.map_or("never".to_owned(), |at| relative(at, now)),
            last_used_short: last_used.map_or("never".to_owned(), |at| in_words(at, now)),
            secrets,
        }
    }
}

/// One secret's metadata.
#[derive(Debug)]
pub(super) struct SecretView {
    pub(super) id: String,
    pub(super) kind: &'static str,
    pub(super) created: String,
    pub(super) expires: String,
    pub(super) last_used: String,
}

impl SecretView {
    /// `secret` as of `now` (Unix seconds).
    pub(super) fn of(secret: &SecretInfo, now: i64) -> Self {
        Self {
            id: secret.secret_id.clone(),
            kind: if secret.kind == "argon2id" {
                "imported (Argon2id)"
            } else {
                "generated (keyed hash)"
            },
            created: relative(secret.created_at, now),
            expires: secret.expires_at.map_or("never".to_owned(), |at| {
                if at <= now {
                    format!("expired {}", relative(at, now))
                } else {
                    relative(at, now)
                }
            }),
            last_used: secret
                .last_used_at
                .map_or("never".to_owned(), |at| relative(at, now)),
        }
    }
}

/// One audit event.
#[derive(Debug)]
pub(super) struct EventView {
    pub(super) at_iso: String,
    pub(super) actor: String,
    pub(super) action: String,
    pub(super) client_id: Option<String>,
    pub(super) detail: String,
}

impl EventView {
    pub(super) fn of(event: &AuditEvent) -> Self {
        Self {
            at_iso: iso(event.at),
            actor: event.actor.clone(),
            action: event.action.clone(),
            client_id: event.client_id.clone(),
            detail: event.detail.clone(),
        }
    }
}

/// `at` relative to `now` in words, with the exact UTC time: "3 minutes ago (2026-12-03T18:22:54Z)".
pub(super) fn relative(at: i64, now: i64) -> String {
    format!("{} ({})", in_words(at, now), iso(at))
}

/// `at` relative to `now` in words: "just now", "3 minutes ago", "in 2 days".
pub(super) fn in_words(at: i64, now: i64) -> String {
    let (amount, suffix) = if at <= now {
        (now - at, " ago")
    } else {
        (at - now, "")
    };
    match amount {
        0..=59 if suffix.is_empty() => "in under a minute".to_owned(),
        0..=59 => "just now".to_owned(),
        _ => {
            let (count, unit) = match amount {
                60..=3_599 => (amount / 60, "minute"),
                3_600..=86_399 => (amount / 3_600, "hour"),
                _ => (amount / 86_400, "day"),
            };
            let plural = if count == 1 { "" } else { "s" };
            let prefix = if suffix.is_empty() { "in " } else { "" };
            format!("{prefix}{count} {unit}{plural}{suffix}")
        }
    }
}

/// Unix seconds as RFC 3339 UTC.
pub(super) fn iso(at: i64) -> String {
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(at.max(0).unsigned_abs());
    humantime::format_rfc3339_seconds(time).to_string()
}

/// A client id as one URL path segment (ids may hold `/`, `?`, `#` or `%`).
pub(super) fn path_segment(id: &str) -> String {
    form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_people_say_them() {
        let now = 1_800_000_000;
        assert!(relative(now, now).starts_with("just now ("));
        assert!(relative(now - 180, now).starts_with("3 minutes ago"));
        assert!(relative(now - 3_600, now).starts_with("1 hour ago"));
        assert!(relative(now - 3 * 86_400, now).starts_with("3 days ago"));
        assert!(relative(now + 7_200, now).starts_with("in 2 hours"));
        assert!(relative(now + 30, now).starts_with("in under a minute"));
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn client_ids_become_one_path_segment() {
        assert_eq!(path_segment("a/b?c#d%e"), "a%2Fb%3Fc%23d%25e");
        assert_eq!(path_segment("Abc-_9"), "Abc-_9");
    }
}
