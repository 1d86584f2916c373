//! The rows behind the fleet-wide failed-authentication limits (see `shared_limits.rs`): failure
//! counts in fixed windows, keys past their limit, and trusted (client, address) pairs. Keys are
//! keyed hashes made by the caller; nothing here knows a client id or an address.

use super::rows::RowExt;
use super::{Registry, RegistryError};

/// The most blocked keys read in one poll.
pub const MAX_BLOCKS_READ: i64 = 100_000;

impl Registry {
    /// Counts one failure of `key` in the window that began at `window_start` or later, starting
    /// a new window at `now` once the old one ended; the failures in the current window, and
    /// when it began.
    pub async fn count_failure(
        &self,
        key: &str,
        now: i64,
        window_seconds: i64,
    ) -> Result<(i64, i64), RegistryError> {
        let expired = now.saturating_sub(window_seconds);
        sqlx::query(
            "INSERT INTO auth_failures (key, window_start, failures) VALUES ($1, $2, 1) \
             ON CONFLICT (key) DO UPDATE SET \
               failures = CASE WHEN auth_failures.window_start <= $3 THEN 1 ELSE auth_failures.failures + 1 END, \
               window_start = CASE WHEN auth_failures.window_start <= $3 THEN $2 ELSE auth_failures.window_start END \
             RETURNING failures, window_start",
        )
        .bind(key.to_owned())
        .bind(now)
        .bind(expired)
        .fetch_one(&self.pool)
        .await
        .and_then(|row| Ok((row.int("failures")?, row.int("window_start")?)))
        .map_err(|e| self.db_error(e))
    }

    /// Blocks `key` until `until` (Unix seconds), or longer if it already is.
    pub async fn block(&self, key: &str, until: i64) -> Result<(), RegistryError> {
        sqlx::query(
            "INSERT INTO auth_blocks (key, until) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET until = CASE WHEN auth_blocks.until > excluded.until \
             THEN auth_blocks.until ELSE excluded.until END",
        )
        .bind(key.to_owned())
        .bind(until)
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(|e| self.db_error(e))
    }

    /// The keys blocked after `now`, with until when (at most [`MAX_BLOCKS_READ`]).
    pub async fn blocks(&self, now: i64) -> Result<Vec<(String, i64)>, RegistryError> {
        sqlx::query(
            "SELECT key, until FROM auth_blocks WHERE until > $1 ORDER BY until DESC LIMIT $2",
        )
        .bind(now)
        .bind(MAX_BLOCKS_READ)
        .fetch_all(&self.pool)
        .await
        .and_then(|rows| {
            rows.iter()
                .map(|row| Ok((row.text("key")?, row.int("until")?)))
                .collect()
        })
        .map_err(|e| self.db_error(e))
    }

    /// Records that the pair `key` authenticated at `now`.
    pub async fn trust(&self, key: &str, now: i64) -> Result<(), RegistryError> {
        sqlx::query(
            "INSERT INTO auth_trusted (key, at) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET at = excluded.at",
        )
        .bind(key.to_owned())
        .bind(now)
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(|e| self.db_error(e))
    }

    /// True when the pair `key` authenticated after `since`.
    pub async fn is_trusted(&self, key: &str, since: i64) -> Result<bool, RegistryError> {
        sqlx::query("SELECT at FROM auth_trusted WHERE key = $1 AND at > $2")
            .bind(key.to_owned())
            .bind(since)
            .fetch_optional(&self.pool)
            .await
            .map(|row| row.is_some())
            .map_err(|e| self.db_error(e))
    }

    /// Drops counts, blocks and trust that no longer matter: windows begun before
    /// `windows_before`, blocks that ended by `now`, trust recorded before `trust_before`.
    pub async fn sweep_limits(
        &self,
        now: i64,
        windows_before: i64,
        trust_before: i64,
    ) -> Result<(), RegistryError> {
        for (sql, bound) in [
            (
                "DELETE FROM auth_failures WHERE window_start < $1",
                windows_before,
            ),
            ("DELETE FROM auth_blocks WHERE until <= $1", now),
            ("DELETE FROM auth_trusted WHERE at < $1", trust_before),
        ] {
            sqlx::query(sql)
                .bind(bound)
                .execute(&self.pool)
                .await
                .map_err(|e| self.db_error(e))?;
        }
        Ok(())
    }

    /// A keyed hash of `label` under the pepper, shared by every node with the same pepper: the
    /// fleet-wide limits' keys. Never equal to a stored secret's hash (its own prefix).
    pub(crate) fn limit_key(&self, label: &str) -> String {
        self.pepper.fingerprint_of(&format!("limit:{label}"))
    }

    /// True when the registry is one a fleet shares (PostgreSQL), where limits must be too.
    pub fn is_shared(&self) -> bool {
        self.location.starts_with("postgres")
    }
}
