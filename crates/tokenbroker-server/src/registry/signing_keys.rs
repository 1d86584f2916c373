//! The key schedule: every signing key of the issuer, its private half sealed with the
//! key-encryption key (see `kek.rs`; the registry never sees it), and when it is published,
//! signs and retires. Every node of a fleet reads the same rows, so they sign and publish the
//! same keys.
//!
//! Changes happen under the schedule's change lock ([`Topic::KeySchedule`], see `changes.rs`),
//! so concurrent rotations or first starts never leave two successors or orphan keys, and every
//! node notices the new schedule by its change marker (at once on PostgreSQL).

use super::audit::actions;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

use super::audit::record;
use super::changes::Topic;
use super::rows::RowExt;
use super::{Registry, RegistryError};

/// A signing key as the registry stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    /// Its key id (the JWK thumbprint).
    pub kid: String,
    /// Its algorithm's name (`rs256`, `es256`, `eddsa`).
    pub algorithm: String,
    /// The PKCS#8 private key sealed with the key-encryption key.
    pub sealed_key: String,
    /// From when it is published (Unix seconds).
    pub publish_from: i64,
    /// From when it signs.
    pub signs_from: i64,
    /// Until when it signs (set when a successor is scheduled).
    pub signs_until: Option<i64>,
    /// From when it is no longer published.
    pub retire_after: Option<i64>,
}

/// What a rotation did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Rotation {
    /// The new key's id.
    pub kid: String,
    /// Its algorithm.
    pub algorithm: String,
    /// When it starts signing (Unix seconds); it is published from now.
    pub signs_from: i64,
    /// Keys that stop signing then, with when they stop being published.
    pub retiring: Vec<(String, i64)>,
    /// Keys removed because every token they signed has expired.
    pub removed: Vec<String>,
}

impl Registry {
    /// Every signing key, oldest first.
    pub async fn signing_keys(&self) -> Result<Vec<StoredKey>, RegistryError> {
        sqlx::query("SELECT * FROM signing_keys ORDER BY signs_from, created_at, kid")
            .fetch_all(&self.pool)
            .await
            .and_then(|rows| rows.iter().map(stored_key).collect())
            .map_err(|e| self.db_error(e))
    }

    /// Stores `keys` as the first schedule, unless the registry already has keys (another node
    /// got there first); true when they were stored. `how` is audited (a first key, an import).
    pub async fn insert_first_keys(
        &self,
        keys: &[StoredKey],
        actor: &str,
        how: &str,
    ) -> Result<bool, RegistryError> {
        let mut tx = self.begin_change(Topic::KeySchedule).await?;
        let existing = sqlx::query("SELECT COUNT(*) AS n FROM signing_keys")
            .fetch_one(&mut *tx)
            .await
            .and_then(|row| row.int("n"))
            .map_err(|e| self.db_error(e))?;
        if existing > 0 {
            return Ok(false);
        }
        for key in keys {
            self.insert_key(&mut tx, key).await?;
        }
        let kids: Vec<&str> = keys.iter().map(|k| k.kid.as_str()).collect();
        record(
            &mut *tx,
            actor,
            actions::KEYS_CREATE,
            None,
            &format!("{how}: {}", kids.join(", ")),
        )
        .await
        .map_err(|e| self.db_error(e))?;
        tx.commit().await.map_err(|e| self.db_error(e))?;
        Ok(true)
    }

    /// Schedules `next` (published now, signing from its `signs_from`): the keys signing now
    /// stop then and stay published `retain_seconds` more; keys retired by `now` are removed.
    pub async fn schedule_rotation(
        &self,
        next: &StoredKey,
        retain_seconds: i64,
        now: i64,
        actor: &str,
    ) -> Result<Rotation, RegistryError> {
        let retire_after = next.signs_from.saturating_add(retain_seconds);
        let mut tx = self.begin_change(Topic::KeySchedule).await?;
        let schedule = sqlx::query("SELECT kid, signs_until, retire_after FROM signing_keys")
            .fetch_all(&mut *tx)
            .await
            .and_then(|rows| {
                rows.iter()
                    .map(|row| {
                        // (kid, signing now, when it will stop being published)
                        let signing = row.opt_int("signs_until")?.is_none();
                        let retires = if signing {
                            Some(retire_after)
                        } else {
                            row.opt_int("retire_after")?
                        };
                        Ok((row.text("kid")?, signing, retires))
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()
            })
            .map_err(|e| self.db_error(e))?;
        let current: Vec<String> = schedule
            .iter()
            .filter(|(_, signing, _)| *signing)
            .map(|(kid, _, _)| kid.clone())
            .collect();
        let removed: Vec<String> = schedule
            .into_iter()
            .filter(|(_, _, retires)| retires.is_some_and(|at| at <= now))
            .map(|(kid, _, _)| kid)
            .collect();
        sqlx::query(
            "UPDATE signing_keys SET signs_until = $1, retire_after = $2 WHERE signs_until IS NULL",
        )
        .bind(next.signs_from)
        .bind(retire_after)
        .execute(&mut *tx)
        .await
        .map_err(|e| self.db_error(e))?;
        sqlx::query("DELETE FROM signing_keys WHERE retire_after <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db_error(e))?;
        self.insert_key(&mut tx, next).await?;
        let rotation = Rotation {
            kid: next.kid.clone(),
            algorithm: next.algorithm.clone(),
            signs_from: next.signs_from,
            retiring: current.into_iter().map(|kid| (kid, retire_after)).collect(),
            removed,
        };
        record(
            &mut *tx,
            actor,
            actions::KEYS_ROTATE,
            None,
            &describe(&rotation),
        )
        .await
        .map_err(|e| self.db_error(e))?;
        tx.commit().await.map_err(|e| self.db_error(e))?;
        Ok(rotation)
    }

    async fn insert_key(
        &self,
        tx: &mut Transaction<'static, Any>,
        key: &StoredKey,
    ) -> Result<(), RegistryError> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, algorithm, sealed_key, publish_from, signs_from, signs_until, retire_after, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(key.kid.clone())
        .bind(key.algorithm.clone())
        .bind(key.sealed_key.clone())
        .bind(key.publish_from)
        .bind(key.signs_from)
        .bind(key.signs_until)
        .bind(key.retire_after)
        .bind(self.clock.unix_seconds())
        .execute(&mut **tx)
        .await
        .map(drop)
        .map_err(|e| self.insert_error(e, format!("signing key {} already exists", key.kid)))
    }
}

/// The audit log's line for a rotation.
fn describe(rotation: &Rotation) -> String {
    let retiring: Vec<String> = rotation
        .retiring
        .iter()
        .map(|(kid, until)| format!("{kid} published until {until}"))
        .collect();
    format!(
        "new {} key {} signs from {}; retiring: [{}]; removed: [{}]",
        rotation.algorithm,
        rotation.kid,
        rotation.signs_from,
        retiring.join(", "),
        rotation.removed.join(", ")
    )
}

fn stored_key(row: &AnyRow) -> Result<StoredKey, sqlx::Error> {
    Ok(StoredKey {
        kid: row.text("kid")?,
        algorithm: row.text("algorithm")?,
        sealed_key: row.text("sealed_key")?,
        publish_from: row.int("publish_from")?,
        signs_from: row.int("signs_from")?,
        signs_until: row.opt_int("signs_until")?,
        retire_after: row.opt_int("retire_after")?,
    })
}
