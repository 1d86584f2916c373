//! The audit log: who did what to which client, and when.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor};

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use super::rows::RowExt;
use super::{Registry, RegistryError};
use crate::time::unix_now;

/// What the audit log records, one name per kind of event: the `action` of an [`AuditEvent`].
pub mod actions {
    /// An administrator was created.
    pub const ADMIN_CREATE: &str = "admin.create";
    /// An administrator logged in to the portal.
    pub const ADMIN_LOGIN: &str = "admin.login";
    /// A login or administrator token was refused.
    pub const ADMIN_LOGIN_REFUSED: &str = "admin.login-refused";
    /// An administrator logged out of the portal.
    pub const ADMIN_LOGOUT: &str = "admin.logout";
    /// An administrator was revoked.
    pub const ADMIN_REVOKE: &str = "admin.revoke";
    /// An administrator's portal password was set.
    pub const ADMIN_SET_PASSWORD: &str = "admin.set-password";
    /// A client was created.
    pub const CLIENT_CREATE: &str = "client.create";
    /// A client was deleted.
    pub const CLIENT_DELETE: &str = "client.delete";
    /// A client was disabled.
    pub const CLIENT_DISABLE: &str = "client.disable";
    /// A client was enabled.
    pub const CLIENT_ENABLE: &str = "client.enable";
    /// A client's settings changed.
    pub const CLIENT_UPDATE: &str = "client.update";
    /// The first signing key was made or imported.
    pub const KEYS_CREATE: &str = "keys.create";
    /// A signing-key rotation was scheduled.
    pub const KEYS_ROTATE: &str = "keys.rotate";
    /// A refresh token was revoked.
    pub const REFRESH_TOKEN_REVOKE: &str = "refresh-token.revoke";
    /// A client's secret was rotated.
    pub const SECRET_ROTATE: &str = "secret.rotate";
    /// An access token was revoked.
    pub const TOKEN_REVOKE: &str = "token.revoke";

    /// Every action, for filters.
    pub const ALL: &[&str] = &[
        ADMIN_CREATE,
        ADMIN_LOGIN,
        ADMIN_LOGIN_REFUSED,
        ADMIN_LOGOUT,
        ADMIN_REVOKE,
        ADMIN_SET_PASSWORD,
        CLIENT_CREATE,
        CLIENT_DELETE,
        CLIENT_DISABLE,
        CLIENT_ENABLE,
        CLIENT_UPDATE,
        KEYS_CREATE,
        KEYS_ROTATE,
        REFRESH_TOKEN_REVOKE,
        SECRET_ROTATE,
        TOKEN_REVOKE,
    ];
}

/// One audited event.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq, Eq)]
pub struct AuditEvent {
    /// Unix seconds.
    pub at: i64,
    /// Who: `operator` for the local CLI, `admin:<name>` for the admin API.
    pub actor: String,
    /// What: `client.create`, `secret.rotate`, `client.disable`, …
    pub action: String,
    /// Which client, when the event concerns one.
    pub client_id: Option<String>,
    /// Extra detail; never a secret.
    pub detail: String,
}

/// Records an event inside the caller's transaction (or on the pool).
pub(crate) async fn record<'e, E>(
    executor: E,
    actor: &str,
    action: &str,
    client_id: Option<&str>,
    detail: &str,
) -> Result<(), sqlx::Error>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query("INSERT INTO audit_log (event_id, at, actor, action, client_id, detail) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(ordered_event_id())
        .bind(unix_now())
        .bind(actor.to_owned())
        .bind(action.to_owned())
        .bind(client_id.map(str::to_owned))
        .bind(detail.to_owned())
        .execute(executor)
        .await?;
    Ok(())
}

impl Registry {
    /// Records an event that happened outside the registry's own changes (a refresh token
    /// revoked by spending it).
    pub async fn record_event(
        &self,
        actor: &str,
        action: &str,
        client_id: Option<&str>,
        detail: &str,
    ) -> Result<(), RegistryError> {
        record(&self.pool, actor, action, client_id, detail)
            .await
            .map_err(|e| self.db_error(e))
    }

    /// The audit log, oldest first; only one client's events when `client_id` is given.
    pub async fn audit_log(
        &self,
        client_id: Option<&str>,
    ) -> Result<Vec<AuditEvent>, RegistryError> {
        let rows = match client_id {
            Some(id) => {
                sqlx::query("SELECT * FROM audit_log WHERE client_id = $1 ORDER BY event_id")
                    .bind(id.to_owned())
                    .fetch_all(&self.pool)
                    .await
            }
            None => {
                sqlx::query("SELECT * FROM audit_log ORDER BY event_id")
                    .fetch_all(&self.pool)
                    .await
            }
        }
        .map_err(|e| self.db_error(e))?;
        rows.iter()
            .map(event)
            .collect::<Result<_, _>>()
            .map_err(|e| self.db_error(e))
    }
}

/// Which audit events to read; every field given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Events about this client.
    pub client_id: Option<String>,
    /// Events by this actor (`admin:<name>`, `operator`, …).
    pub actor: Option<String>,
    /// Events of this kind (one of [`actions::ALL`]).
    pub action: Option<String>,
    /// Events at or after this time, Unix seconds.
    pub since: Option<i64>,
    /// Events before this time, Unix seconds.
    pub until: Option<i64>,
}

/// The most events one filtered read returns.
pub const MAX_AUDIT_PAGE: usize = 1_000;

impl Registry {
    /// The newest `limit` (at most [`MAX_AUDIT_PAGE`]) events matching `filter`, newest first,
    /// and whether older ones also match.
    pub async fn audit_events(
        &self,
        filter: &AuditFilter,
        limit: usize,
    ) -> Result<(Vec<AuditEvent>, bool), RegistryError> {
        let limit = limit.clamp(1, MAX_AUDIT_PAGE);
        let mut conditions = Vec::new();
        let mut texts = Vec::new();
        let mut times = Vec::new();
        // Texts are bound first ($1…), then times: the placeholders are numbered to match.
        for (column, value) in [
            ("client_id", &filter.client_id),
            ("actor", &filter.actor),
            ("action", &filter.action),
        ] {
            if let Some(value) = value {
                texts.push(value.clone());
                conditions.push(format!("{column} = ${}", texts.len()));
            }
        }
        for (comparison, value) in [(">=", filter.since), ("<", filter.until)] {
            if let Some(value) = value {
                times.push(value);
                conditions.push(format!("at {comparison} ${}", texts.len() + times.len()));
            }
        }
        let mut sql = String::from("SELECT * FROM audit_log");
        if !conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conditions.join(" AND "));
        }
        sql.push_str(&format!(
            " ORDER BY event_id DESC LIMIT {}",
            limit.saturating_add(1)
        ));
        // Built only from the fixed column names and operators above and placeholder numbers;
        // every value the caller gave is bound, never spliced in.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for text in texts {
            query = query.bind(text);
        }
        for time in times {
            query = query.bind(time);
        }
        let rows = query
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.db_error(e))?;
        let more = rows.len() > limit;
        let events = rows
            .iter()
            .take(limit)
            .map(event)
            .collect::<Result<_, _>>()
            .map_err(|e| self.db_error(e))?;
        Ok((events, more))
    }
}

/// An id that sorts in the order events were recorded: microseconds since the epoch, then a
/// process-wide sequence number for events within the same microsecond.
pub(crate) fn ordered_event_id() -> String {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let micros = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0);
    let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed) % 1_000_000;
    format!(
        "{micros:020}-{sequence:06}-{}",
        super::hashing::generate_id()
    )
}

fn event(row: &AnyRow) -> Result<AuditEvent, sqlx::Error> {
    Ok(AuditEvent {
        at: row.int("at")?,
        actor: row.text("actor")?,
        action: row.text("action")?,
        client_id: row.opt_text("client_id")?,
        detail: row.text("detail")?,
    })
}
