//! The audit log: who did what to which client, and when.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor};

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use super::rows::RowExt;
use super::{Registry, RegistryError};
use crate::time::unix_now;

/// One audited event.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
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

/// An id that sorts in the order events were recorded: microseconds since the epoch, then a
/// process-wide sequence number for events within the same microsecond.
fn ordered_event_id() -> String {
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
