//! Refresh tokens (RFC 6749 §6) for clients configured to receive them (Telenor returns one,
//! Telenor Norway client credentials grant: "The refresh token itself will also be refreshed"). Each is single-use: redeeming it
//! deletes it and issues a new one (rotation). Only its keyed hash is stored.

use std::time::Duration;

use super::hashing::{generate_secret, SecretKind};
use super::rows::RowExt;
use super::{Registry, RegistryError};
use crate::time::unix_now;

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

impl Registry {
    /// Issues a refresh token for `grant`, valid for `lifetime`.
    pub async fn issue_refresh_token(
        &self,
        grant: &RefreshGrant,
        lifetime: Duration,
    ) -> Result<String, RegistryError> {
        let token = generate_secret();
        let hash = self
            .pepper
            .hash(&token, SecretKind::Generated)
            .map_err(RegistryError::Invalid)?;
        let at = unix_now();
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, client_id, audience, scope, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(hash)
        .bind(grant.client_id.clone())
        .bind(grant.audience.clone())
        .bind(grant.scope.clone())
        .bind(at)
        .bind(at + lifetime.as_secs() as i64)
        .execute(&self.pool)
        .await
        .map_err(|e| self.db_error(e))?;
        Ok(token)
    }

    /// The client a refresh token was issued to, if it is known (expired or not).
    pub async fn refresh_token_owner(&self, token: &str) -> Result<Option<String>, RegistryError> {
        let hash = self
            .pepper
            .hash(token, SecretKind::Generated)
            .map_err(RegistryError::Invalid)?;
        let row = sqlx::query("SELECT client_id FROM refresh_tokens WHERE token_hash = $1")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.db_error(e))?;
        row.map(|row| row.text("client_id").map_err(|e| self.db_error(e)))
            .transpose()
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
        let hash = self
            .pepper
            .hash(token, SecretKind::Generated)
            .map_err(RegistryError::Invalid)?;
        let row =
            sqlx::query("SELECT * FROM refresh_tokens WHERE token_hash = $1 AND client_id = $2")
                .bind(hash.clone())
                .bind(client_id.to_owned())
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| self.db_error(e))?;
        let Some(row) = row else { return Ok(None) };
        let deleted =
            sqlx::query("DELETE FROM refresh_tokens WHERE token_hash = $1 AND client_id = $2")
                .bind(hash)
                .bind(client_id.to_owned())
                .execute(&self.pool)
                .await
                .map_err(|e| self.db_error(e))?;
        let grant = RefreshGrant {
            client_id: row.text("client_id").map_err(|e| self.db_error(e))?,
            audience: row.text("audience").map_err(|e| self.db_error(e))?,
            scope: row.opt_text("scope").map_err(|e| self.db_error(e))?,
        };
        let expires_at = row.int("expires_at").map_err(|e| self.db_error(e))?;
        let valid = deleted.rows_affected() == 1 && expires_at > unix_now();
        Ok(valid.then_some(grant))
    }
}
