//! Refresh tokens (RFC 6749 §6) for clients configured to receive them (Telenor returns one,
//! Telenor Norway client credentials grant: "The refresh token itself will also be refreshed"). Each is single-use: redeeming it
//! deletes it and issues a new one (rotation). Only its keyed hash is stored.

use std::time::Duration;

use super::hashing::{generate_secret, SecretKind};
use super::rows::RowExt;
use super::{Registry, RegistryError};

/// What a refresh token grants again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshGrant {
    /// The client it was issued to.
    pub client_id: String,
    /// The audience of the original token.
    pub audience: String,
    /// The scope of the original token.
    pub scope: Option<String>,
}

/// A refresh token as the registry holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRefreshToken {
    /// What it grants, and to whom.
    pub grant: RefreshGrant,
    /// When it was issued (Unix seconds).
    pub issued_at: i64,
    /// When it stops being redeemable (Unix seconds).
    pub expires_at: i64,
}

impl StoredRefreshToken {
    /// True until its expiry, at `now` (Unix seconds).
    pub fn is_active(&self, now: i64) -> bool {
        now < self.expires_at
    }
}

impl Registry {
    /// Issues a refresh token for `grant`, valid for `lifetime`.
    pub async fn issue_refresh_token(
        &self,
        grant: &RefreshGrant,
        lifetime: Duration,
    ) -> Result<String, RegistryError> {
        let token = generate_secret();
        let hash = self.refresh_token_hash(&token)?;
        let at = self.clock.unix_seconds();
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, client_id, audience, scope, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(hash)
        .bind(grant.client_id.clone())
        .bind(grant.audience.clone())
        .bind(grant.scope.clone())
        .bind(at)
        .bind(at.saturating_add(i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX)))
        .execute(&self.pool)
        .await
        .map_err(|e| self.db_error(e))?;
        Ok(token)
    }

    /// A stored refresh token, expired or not; `None` when it is unknown or already used.
    pub async fn refresh_token(
        &self,
        token: &str,
    ) -> Result<Option<StoredRefreshToken>, RegistryError> {
        self.stored_refresh_token(&self.refresh_token_hash(token)?)
            .await
    }

    /// Redeems (and thereby deletes) a refresh token issued to `client_id`. `None` when it is
    /// unknown, expired, already used or another client's; another client's token is left alone
    /// (RFC 7009 §2.1, RFC 6749 §6: it is not that client's to spend).
    ///
    /// One read, then one conditional `DELETE` that decides the race: no transaction upgrades a
    /// read lock to a write lock, so concurrent redemptions on SQLite wait on the busy timeout
    /// instead of failing with "database is locked".
    pub async fn redeem_refresh_token(
        &self,
        token: &str,
        client_id: &str,
    ) -> Result<Option<RefreshGrant>, RegistryError> {
        let hash = self.refresh_token_hash(token)?;
        let stored = self.stored_refresh_token(&hash).await?;
        let Some(stored) = stored.filter(|stored| stored.grant.client_id == client_id) else {
            return Ok(None);
        };
        let deleted =
            sqlx::query("DELETE FROM refresh_tokens WHERE token_hash = $1 AND client_id = $2")
                .bind(hash)
                .bind(client_id.to_owned())
                .execute(&self.pool)
                .await
                .map_err(|e| self.db_error(e))?;
        let valid = deleted.rows_affected() == 1 && stored.is_active(self.clock.unix_seconds());
        Ok(valid.then_some(stored.grant))
    }

    /// The stored form of a refresh token: its keyed hash.
    fn refresh_token_hash(&self, token: &str) -> Result<String, RegistryError> {
        self.pepper
            .hash(token, SecretKind::Generated)
            .map_err(RegistryError::Invalid)
    }

    /// The refresh token stored under `hash`, expired or not.
    async fn stored_refresh_token(
        &self,
        hash: &str,
    ) -> Result<Option<StoredRefreshToken>, RegistryError> {
        let row = sqlx::query("SELECT * FROM refresh_tokens WHERE token_hash = $1")
            .bind(hash.to_owned())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.db_error(e))?;
        let Some(row) = row else { return Ok(None) };
        let field = |e| self.db_error(e);
        Ok(Some(StoredRefreshToken {
            grant: RefreshGrant {
                client_id: row.text("client_id").map_err(field)?,
                audience: row.text("audience").map_err(field)?,
                scope: row.opt_text("scope").map_err(field)?,
            },
            issued_at: row.int("created_at").map_err(field)?,
            expires_at: row.int("expires_at").map_err(field)?,
        }))
    }
}
