//! The `jti` denylist: revoked access tokens, kept until they would have expired anyway.
//!
//! JWT access tokens are self-contained, so most servers cannot revoke them at all; keeping the
//! ids of revoked tokens (until their `exp`) lets introspection, logout and the guards' revocation
//! feed reject them. It lives in the registry, so nodes sharing PostgreSQL share it.

use super::audit::actions;
use serde::Serialize;

use super::audit::record;
use super::rows::RowExt;
use super::{Registry, RegistryError};
use crate::time::unix_now;

/// One revoked token, as the revocation feed publishes it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Revocation {
    /// The token's `jti`.
    pub jti: String,
    /// The token's `exp`: after it, the entry no longer matters.
    pub exp: i64,
    /// When it was revoked (Unix seconds).
    pub revoked_at: i64,
}

/// The most revocations of one client kept at once: each stays until its token's `exp`, and
/// every guard holds them all, so a client minting and revoking tokens in a loop must not grow
/// the feed without bound. Past it, revocation is refused until some expire.
pub const MAX_OUTSTANDING_REVOCATIONS: i64 = 10_000;

impl Registry {
    /// Adds a token to the denylist (idempotent; the first time is audited) and drops entries
    /// whose tokens expired; refused
    /// when the client already has [`MAX_OUTSTANDING_REVOCATIONS`] outstanding.
    pub async fn revoke_token(
        &self,
        jti: &str,
        client_id: &str,
        exp: i64,
    ) -> Result<(), RegistryError> {
        let at = unix_now();
        let mut tx = self.pool.begin().await.map_err(|e| self.db_error(e))?;
        sqlx::query("DELETE FROM revoked_tokens WHERE exp < $1")
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db_error(e))?;
        let exists = sqlx::query("SELECT jti FROM revoked_tokens WHERE jti = $1")
            .bind(jti.to_owned())
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| self.db_error(e))?;
        if exists.is_none() {
            let outstanding =
                sqlx::query("SELECT COUNT(*) AS n FROM revoked_tokens WHERE client_id = $1")
                    .bind(client_id.to_owned())
                    .fetch_one(&mut *tx)
                    .await
                    .and_then(|row| row.int("n"))
                    .map_err(|e| self.db_error(e))?;
            if outstanding >= MAX_OUTSTANDING_REVOCATIONS {
                return Err(RegistryError::Invalid(format!(
                    "client {client_id} already has {MAX_OUTSTANDING_REVOCATIONS} revoked tokens that have not expired; \
                     revoke again once some have"
                )));
            }
            sqlx::query("INSERT INTO revoked_tokens (jti, client_id, exp, revoked_at) VALUES ($1, $2, $3, $4)")
                .bind(jti.to_owned())
                .bind(client_id.to_owned())
                .bind(exp)
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.db_error(e))?;
            record(
                &mut *tx,
                &format!("client:{client_id}"),
                actions::TOKEN_REVOKE,
                Some(client_id),
                &format!("jti {jti}, expires {exp}"),
            )
            .await
            .map_err(|e| self.db_error(e))?;
        }
        tx.commit().await.map_err(|e| self.db_error(e))
    }

    /// True when the token with this `jti` was revoked.
    pub async fn is_revoked(&self, jti: &str) -> Result<bool, RegistryError> {
        sqlx::query("SELECT jti FROM revoked_tokens WHERE jti = $1")
            .bind(jti.to_owned())
            .fetch_optional(&self.pool)
            .await
            .map(|row| row.is_some())
            .map_err(|e| self.db_error(e))
    }

    /// Up to `limit` tokens revoked at or after `since` (Unix seconds) that have not expired yet,
    /// in (`revoked_at`, `jti`) order; with `after`, only those past (`since`, `after`) in that
    /// order — the cursor of the page before.
    pub async fn revocations_page(
        &self,
        since: i64,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Revocation>, RegistryError> {
        // Without a cursor, `after` is "" and every jti (never empty) is past it: the first page.
        let rows = sqlx::query(
            "SELECT jti, exp, revoked_at FROM revoked_tokens \
             WHERE (revoked_at > $1 OR (revoked_at = $1 AND jti > $2)) AND exp >= $3 \
             ORDER BY revoked_at, jti LIMIT $4",
        )
        .bind(since)
        .bind(after.unwrap_or("").to_owned())
        .bind(unix_now())
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db_error(e))?;
        rows.iter()
            .map(|row| {
                Ok(Revocation {
                    jti: row.text("jti")?,
                    exp: row.int("exp")?,
                    revoked_at: row.int("revoked_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(|e| self.db_error(e))
    }
}
