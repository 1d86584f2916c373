//! Clients and their secrets: create, list, show, rotate, enable/disable, delete, authenticate.

use super::audit::actions;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokenbroker_wire::client_auth::{MAX_CLIENT_ID_BYTES, MAX_SECRET_BYTES};

use serde::Serialize;
use sqlx::any::AnyRow;

use super::audit::record;
use super::changes::Topic;
use super::client_view::{StoredSecret, ViewedClient};
use super::hashing::{generate_id, generate_secret, SecretKind};
use super::rows::{split, RowExt};
use super::{Registry, RegistryError};
use crate::time::unix_now;

/// `last_used_at` is written at most this often per secret, so authentication stays read-mostly.
const LAST_USED_GRANULARITY: i64 = 60;

/// A client as the registry knows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq, Eq)]
pub struct ClientRecord {
    /// The client id (RFC 6749 §2.2).
    pub client_id: String,
    /// A human name.
    pub name: String,
    /// Audiences (APIs) this client may get tokens for on this issuer.
    pub audiences: Vec<String>,
    /// Scopes granted.
    pub scopes: Vec<String>,
    /// Token lifetime in seconds; the issuer's default when `None`.
    pub lifetime_seconds: Option<u64>,
    /// Whether token responses include a refresh token.
    pub refresh_tokens: bool,
    /// A resource server: may introspect tokens issued to other clients (RFC 7662 §4).
    pub introspect: bool,
    /// Disabled clients cannot get tokens.
    pub enabled: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
    /// The client's secrets (metadata only, never the secret).
    pub secrets: Vec<SecretInfo>,
}

impl ClientRecord {
    /// The token lifetime, if the client has its own.
    pub fn lifetime(&self) -> Option<Duration> {
        self.lifetime_seconds.map(Duration::from_secs)
    }
}

/// Metadata of one secret.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq, Eq)]
pub struct SecretInfo {
    /// Its id.
    pub secret_id: String,
    /// `hmac-sha256` (generated) or `argon2id` (imported).
    pub kind: String,
    /// Unix seconds.
    pub created_at: i64,
    /// When it stops being accepted (set when rotated out), Unix seconds.
    pub expires_at: Option<i64>,
    /// When it last authenticated a request (to the minute), Unix seconds.
    pub last_used_at: Option<i64>,
}

/// What a new client gets.
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    /// A human name (required).
    pub name: String,
    /// Audiences, at least one.
    pub audiences: Vec<String>,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Own token lifetime.
    pub lifetime: Option<Duration>,
    /// Issue refresh tokens.
    pub refresh_tokens: bool,
    /// A resource server: may introspect other clients' tokens.
    pub introspect: bool,
    /// Use this id instead of a generated one (imports, fixed dev clients).
    pub client_id: Option<String>,
    /// Import this secret (stored with Argon2id) instead of generating one.
    pub secret: Option<String>,
}

/// Changes to a client's settings; each `None` leaves that setting as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientChanges {
    /// A new human name.
    pub name: Option<String>,
    /// New audiences (replacing all of them), at least one.
    pub audiences: Option<Vec<String>>,
    /// New scopes (replacing all of them).
    pub scopes: Option<Vec<String>>,
    /// A new token lifetime; `Some(None)` returns to the issuer's default.
    pub lifetime: Option<Option<Duration>>,
    /// Whether token responses include a refresh token.
    pub refresh_tokens: Option<bool>,
    /// Whether the client may introspect other clients' tokens.
    pub introspect: Option<bool>,
}

impl ClientChanges {
    /// True when nothing would change.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The audit line: each changed setting with its new value (never a secret).
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(name) = &self.name {
            parts.push(format!("name={name}"));
        }
        if let Some(audiences) = &self.audiences {
            parts.push(format!("audiences={}", audiences.join(",")));
        }
        if let Some(scopes) = &self.scopes {
            parts.push(format!("scopes={}", scopes.join(",")));
        }
        if let Some(lifetime) = self.lifetime {
            parts.push(match lifetime {
                Some(lifetime) => format!("lifetime={}s", lifetime.as_secs()),
                None => "lifetime=default".to_owned(),
            });
        }
        if let Some(refresh_tokens) = self.refresh_tokens {
            parts.push(format!("refresh_tokens={refresh_tokens}"));
        }
        if let Some(introspect) = self.introspect {
            parts.push(format!("introspect={introspect}"));
        }
        parts.join(" ")
    }

    /// `client`'s settings with these changes applied, as a new client would have them.
    fn applied_to(&self, client: &ClientRecord) -> NewClient {
        NewClient {
            name: self.name.clone().unwrap_or_else(|| client.name.clone()),
            audiences: self
                .audiences
                .clone()
                .unwrap_or_else(|| client.audiences.clone()),
            scopes: self.scopes.clone().unwrap_or_else(|| client.scopes.clone()),
            lifetime: self.lifetime.unwrap_or_else(|| client.lifetime()),
            refresh_tokens: self.refresh_tokens.unwrap_or(client.refresh_tokens),
            introspect: self.introspect.unwrap_or(client.introspect),
            client_id: None,
            secret: None,
        }
    }
}

/// A secret shown once, right after creation or rotation. `Debug` hides the secret.
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct IssuedSecret {
    /// The client.
    pub client_id: String,
    /// The secret's id.
    pub secret_id: String,
    /// The secret itself: store it now, it cannot be shown again.
    pub client_secret: String,
    /// When the previous secret stops being accepted (rotation only), Unix seconds.
    pub previous_expires_at: Option<i64>,
}

impl fmt::Debug for IssuedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedSecret")
            .field("client_id", &self.client_id)
            .field("secret_id", &self.secret_id)
            .finish_non_exhaustive()
    }
}

/// Why authentication failed (RFC 6749 §5.2 `invalid_client`; Telenor codes 1 and 22).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No such client id.
    UnknownClient,
    /// The secret matches none of the client's valid secrets.
    WrongSecret,
    /// The client exists but is disabled.
    Disabled,
}

impl AuthFailure {
    /// The more informative of two failures (disabled > wrong secret > unknown client).
    pub fn max_by_relevance(self, other: AuthFailure) -> AuthFailure {
        let rank = |f: AuthFailure| match f {
            AuthFailure::UnknownClient => 0,
            AuthFailure::WrongSecret => 1,
            AuthFailure::Disabled => 2,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

impl Registry {
    /// Creates a client with a generated (or imported) secret, shown once in the result.
    pub async fn create_client(
        &self,
        new: NewClient,
        actor: &str,
    ) -> Result<(ClientRecord, IssuedSecret), RegistryError> {
        validate(&new)?;
        let client_id = new.client_id.clone().unwrap_or_else(generate_id);
        let (secret, kind) = match &new.secret {
            Some(imported) => (imported.clone(), SecretKind::Imported),
            None => (generate_secret(), SecretKind::Generated),
        };
        let hash = self
            .pepper
            .hash(&secret, kind)
            .map_err(RegistryError::Invalid)?;
        let secret_id = generate_id();
        let at = unix_now();
        let mut tx = self.begin_change(Topic::Clients).await?;
        let inserted = sqlx::query(
            "INSERT INTO clients (client_id, name, audiences, scopes, lifetime_seconds, refresh_tokens, introspect, enabled, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8)",
        )
        .bind(client_id.clone())
        .bind(new.name.clone())
        .bind(new.audiences.join(" "))
        .bind(new.scopes.join(" "))
        .bind(new.lifetime.map(|d| d.as_secs() as i64))
        .bind(i64::from(new.refresh_tokens))
        .bind(i64::from(new.introspect))
        .bind(at)
        .execute(&mut *tx)
        .await;
        if let Err(error) = inserted {
            return Err(self.insert_error(
                error,
                format!("a client with id {client_id:?} already exists"),
            ));
        }
        insert_secret(&mut tx, &secret_id, &client_id, kind, &hash, at)
            .await
            .map_err(|e| self.db_error(e))?;
        let detail = format!(
            "name={} audiences={} scopes={}",
            new.name,
            new.audiences.join(","),
            new.scopes.join(",")
        );
        record(
            &mut *tx,
            actor,
            actions::CLIENT_CREATE,
            Some(&client_id),
            &detail,
        )
        .await
        .map_err(|e| self.db_error(e))?;
        self.commit_client_change(tx).await?;
        let client = self.client(&client_id).await?;
        Ok((
            client,
            IssuedSecret {
                client_id,
                secret_id,
                client_secret: secret,
                previous_expires_at: None,
            },
        ))
    }

    /// The client with `client_id`.
    pub async fn client(&self, client_id: &str) -> Result<ClientRecord, RegistryError> {
        self.find_client(client_id)
            .await?
            .ok_or_else(|| RegistryError::UnknownClient(client_id.to_owned()))
    }

    /// The client with `client_id`, if any.
    pub async fn find_client(
        &self,
        client_id: &str,
    ) -> Result<Option<ClientRecord>, RegistryError> {
        Ok(self
            .read_client(client_id)
            .await?
            .map(|client| client.record))
    }

    /// The client with its secrets, from the database.
    async fn read_client(&self, client_id: &str) -> Result<Option<ViewedClient>, RegistryError> {
        let row = sqlx::query("SELECT * FROM clients WHERE client_id = $1")
            .bind(client_id.to_owned())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.db_error(e))?;
        let Some(row) = row else { return Ok(None) };
        let secrets = self.stored_secrets(client_id).await?;
        let infos = secrets.iter().map(|s| s.info.clone()).collect();
        let record = client_from_row(&row, infos).map_err(|e| self.db_error(e))?;
        Ok(Some(ViewedClient { record, secrets }))
    }

    /// How many clients there are: one counting query, whatever the count.
    pub async fn count_clients(&self) -> Result<u64, RegistryError> {
        sqlx::query("SELECT COUNT(*) AS n FROM clients")
            .fetch_one(&self.pool)
            .await
            .and_then(|row| row.int("n"))
            .map(|n| n.max(0).unsigned_abs())
            .map_err(|e| self.db_error(e))
    }

    /// The longest token lifetime any client has of its own, if one has: one query.
    pub async fn longest_client_lifetime(&self) -> Result<Option<Duration>, RegistryError> {
        sqlx::query("SELECT MAX(lifetime_seconds) AS n FROM clients")
            .fetch_one(&self.pool)
            .await
            .and_then(|row| row.opt_int("n"))
            .map(|n| n.map(|n| Duration::from_secs(n.max(0).unsigned_abs())))
            .map_err(|e| self.db_error(e))
    }

    /// Every client, by id, with its secrets' metadata: two queries whatever the count (the
    /// portal lists a thousand clients per page view).
    pub async fn list_clients(&self) -> Result<Vec<ClientRecord>, RegistryError> {
        let rows = sqlx::query("SELECT * FROM clients ORDER BY client_id")
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.db_error(e))?;
        let secret_rows = sqlx::query(
            "SELECT secret_id, client_id, kind, created_at, expires_at, last_used_at \
             FROM client_secrets ORDER BY client_id, created_at, secret_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db_error(e))?;
        let mut secrets: HashMap<String, Vec<SecretInfo>> = HashMap::new();
        for row in &secret_rows {
            let client_id = row.text("client_id").map_err(|e| self.db_error(e))?;
            let info = secret_from_row(row).map_err(|e| self.db_error(e))?;
            secrets.entry(client_id).or_default().push(info);
        }
        rows.iter()
            .map(|row| {
                let id = row.text("client_id")?;
                client_from_row(row, secrets.remove(&id).unwrap_or_default())
            })
            .collect::<Result<_, _>>()
            .map_err(|e| self.db_error(e))
    }

    /// Enables or disables a client.
    pub async fn set_enabled(
        &self,
        client_id: &str,
        enabled: bool,
        actor: &str,
    ) -> Result<(), RegistryError> {
        let mut tx = self.begin_change(Topic::Clients).await?;
        let updated =
            sqlx::query("UPDATE clients SET enabled = $1, updated_at = $2 WHERE client_id = $3")
                .bind(i64::from(enabled))
                .bind(unix_now())
                .bind(client_id.to_owned())
                .execute(&mut *tx)
                .await
                .map_err(|e| self.db_error(e))?;
        if updated.rows_affected() == 0 {
            return Err(RegistryError::UnknownClient(client_id.to_owned()));
        }
        let action = if enabled {
            actions::CLIENT_ENABLE
        } else {
            actions::CLIENT_DISABLE
        };
        record(&mut *tx, actor, action, Some(client_id), "")
            .await
            .map_err(|e| self.db_error(e))?;
        self.commit_client_change(tx).await
    }

    /// Changes a client's settings (name, audiences, scopes, lifetime, refresh tokens,
    /// introspection); its secrets stay as they are. Tokens already issued keep their claims;
    /// the next token carries the new ones. Audited with the new values.
    pub async fn update_client(
        &self,
        client_id: &str,
        changes: &ClientChanges,
        actor: &str,
    ) -> Result<ClientRecord, RegistryError> {
        if changes.is_empty() {
            return Err(RegistryError::Invalid(
                "nothing to change: give at least one setting".into(),
            ));
        }
        let at = unix_now();
        let mut tx = self.begin_change(Topic::Clients).await?;
        self.touch_client(&mut tx, client_id, at).await?;
        let row = sqlx::query("SELECT * FROM clients WHERE client_id = $1")
            .bind(client_id.to_owned())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| self.db_error(e))?;
        let current = client_from_row(&row, Vec::new()).map_err(|e| self.db_error(e))?;
        let updated = changes.applied_to(&current);
        validate(&updated)?;
        sqlx::query(
            "UPDATE clients SET name = $1, audiences = $2, scopes = $3, lifetime_seconds = $4, \
             refresh_tokens = $5, introspect = $6 WHERE client_id = $7",
        )
        .bind(updated.name)
        .bind(updated.audiences.join(" "))
        .bind(updated.scopes.join(" "))
        .bind(updated.lifetime.map(|d| d.as_secs() as i64))
        .bind(i64::from(updated.refresh_tokens))
        .bind(i64::from(updated.introspect))
        .bind(client_id.to_owned())
        .execute(&mut *tx)
        .await
        .map_err(|e| self.db_error(e))?;
        record(
            &mut *tx,
            actor,
            actions::CLIENT_UPDATE,
            Some(client_id),
            &changes.describe(),
        )
        .await
        .map_err(|e| self.db_error(e))?;
        self.commit_client_change(tx).await?;
        self.client(client_id).await
    }

    /// Deletes a client and its secrets (the audit log keeps its history).
    pub async fn delete_client(&self, client_id: &str, actor: &str) -> Result<(), RegistryError> {
        let secrets = self.secrets(client_id).await?;
        let mut tx = self.begin_change(Topic::Clients).await?;
        sqlx::query("DELETE FROM client_secrets WHERE client_id = $1")
            .bind(client_id.to_owned())
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db_error(e))?;
        let deleted = sqlx::query("DELETE FROM clients WHERE client_id = $1")
            .bind(client_id.to_owned())
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db_error(e))?;
        if deleted.rows_affected() == 0 {
            return Err(RegistryError::UnknownClient(client_id.to_owned()));
        }
        record(&mut *tx, actor, actions::CLIENT_DELETE, Some(client_id), "")
            .await
            .map_err(|e| self.db_error(e))?;
        self.commit_client_change(tx).await?;
        for secret in secrets {
            self.pepper.forget(&secret.secret_id);
        }
        Ok(())
    }

    /// Issues a new secret; the current ones stay valid for `overlap`, then stop.
    pub async fn rotate_secret(
        &self,
        client_id: &str,
        overlap: Duration,
        actor: &str,
    ) -> Result<IssuedSecret, RegistryError> {
        if overlap > MAX_SECRET_OVERLAP {
            return Err(RegistryError::Invalid(format!(
                "the overlap may be at most {} days",
                MAX_SECRET_OVERLAP.as_secs() / 86_400
            )));
        }
        let at = unix_now();
        // Bounded above: at most 90 days past now, far inside i64.
        let previous_expires_at = at.saturating_add(overlap.as_secs() as i64);
        let secret = generate_secret();
        let hash = self
            .pepper
            .hash(&secret, SecretKind::Generated)
            .map_err(RegistryError::Invalid)?;
        let secret_id = generate_id();
        let mut tx = self.begin_change(Topic::Clients).await?;
        self.touch_client(&mut tx, client_id, at).await?;
        // Shorten, never lengthen: a secret already on its way out keeps its earlier end.
        sqlx::query(
            "UPDATE client_secrets SET expires_at = $1 WHERE client_id = $2 AND (expires_at IS NULL OR expires_at > $1)",
        )
        .bind(previous_expires_at)
        .bind(client_id.to_owned())
        .execute(&mut *tx)
        .await
        .map_err(|e| self.db_error(e))?;
        insert_secret(
            &mut tx,
            &secret_id,
            client_id,
            SecretKind::Generated,
            &hash,
            at,
        )
        .await
        .map_err(|e| self.db_error(e))?;
        let detail = format!(
            "new secret {secret_id}; previous secrets valid for {} s",
            overlap.as_secs()
        );
        record(
            &mut *tx,
            actor,
            actions::SECRET_ROTATE,
            Some(client_id),
            &detail,
        )
        .await
        .map_err(|e| self.db_error(e))?;
        self.commit_client_change(tx).await?;
        Ok(IssuedSecret {
            client_id: client_id.to_owned(),
            secret_id,
            client_secret: secret,
            previous_expires_at: Some(previous_expires_at),
        })
    }

    /// Checks a client's credentials (RFC 6749 §2.3.1); on success returns the client.
    ///
    /// `Ok(Err(_))` is a refusal; `Err(_)` a database failure. Served from the client view when
    /// a keeper keeps it current ([`Registry::keep_client_view`]); a use is written at most
    /// once a minute per secret.
    pub async fn authenticate(
        &self,
        client_id: &str,
        secret: &str,
    ) -> Result<Result<ClientRecord, AuthFailure>, RegistryError> {
        let held = self.view.get(client_id);
        let from_view = held.is_some();
        let mut client = match held {
            Some(held) => held,
            None => match self.load_client(client_id).await? {
                Some(client) => client,
                None => return Ok(Err(AuthFailure::UnknownClient)),
            },
        };
        let at = unix_now();
        // A refusal is never served from memory: a secret issued or a client enabled in the
        // last second (on another node, or with the CLI) may not be in the view yet, so the
        // registry decides. What the view may serve stale, for at most CLIENT_VIEW_BOUND, is an
        // acceptance. (Wrong secrets cost the read; the failure limiter bounds them.)
        let mut read_from_registry = !from_view;
        loop {
            match self.verdict(&client, secret, at) {
                Ok(matching) => {
                    if matching.claim_use(at, LAST_USED_GRANULARITY) {
                        // Bookkeeping: a failed write is not a reason to refuse the client.
                        if let Err(error) = self.touch(&matching.info.secret_id, at).await {
                            tracing::warn!(%error, "cannot record when a client secret was last used");
                        }
                    }
                    return Ok(Ok(client.record.clone()));
                }
                Err(failure) if read_from_registry => return Ok(Err(failure)),
                Err(_) => {
                    client = match self.load_client(client_id).await? {
                        Some(client) => client,
                        None => return Ok(Err(AuthFailure::UnknownClient)),
                    };
                    read_from_registry = true;
                }
            }
        }
    }

    /// The secret of `client` that `secret` matches, valid at `at`, if the client may get tokens.
    fn verdict<'c>(
        &self,
        client: &'c ViewedClient,
        secret: &str,
        at: i64,
    ) -> Result<&'c StoredSecret, AuthFailure> {
        let matching = self
            .matching_secret(client, secret, at)
            .ok_or(AuthFailure::WrongSecret)?;
        if client.record.enabled {
            Ok(matching)
        } else {
            Err(AuthFailure::Disabled)
        }
    }

    /// The secret of `client` that `secret` matches and that is valid at `at`.
    fn matching_secret<'c>(
        &self,
        client: &'c ViewedClient,
        secret: &str,
        at: i64,
    ) -> Option<&'c StoredSecret> {
        client.secrets.iter().find(|candidate| {
            let valid = candidate.info.expires_at.is_none_or(|end| end > at);
            valid && self.matches(candidate, secret)
        })
    }

    /// The client with its secrets from the database, then held in the view.
    async fn load_client(
        &self,
        client_id: &str,
    ) -> Result<Option<Arc<ViewedClient>>, RegistryError> {
        let generation = self.view.generation();
        let Some(client) = self.read_client(client_id).await? else {
            return Ok(None);
        };
        let client = Arc::new(client);
        self.view.insert(generation, Arc::clone(&client));
        Ok(Some(client))
    }

    /// Commits a change to clients, and forgets them here at once (other nodes notice the
    /// change marker within [`CLIENT_VIEW_BOUND`](super::CLIENT_VIEW_BOUND)).
    async fn commit_client_change(
        &self,
        tx: sqlx::Transaction<'static, sqlx::Any>,
    ) -> Result<(), RegistryError> {
        let committed = tx.commit().await.map_err(|e| self.db_error(e));
        self.view.empty();
        committed
    }

    /// Marks the client changed at `at`, as the transaction's first statement, or says it does
    /// not exist. A write first: on SQLite a transaction that reads and then writes cannot wait
    /// for another writer (its snapshot is stale) and fails with "database is locked"; one that
    /// writes first waits its turn on the busy timeout.
    async fn touch_client(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        client_id: &str,
        at: i64,
    ) -> Result<(), RegistryError> {
        let touched = sqlx::query("UPDATE clients SET updated_at = $1 WHERE client_id = $2")
            .bind(at)
            .bind(client_id.to_owned())
            .execute(&mut **tx)
            .await
            .map_err(|e| self.db_error(e))?;
        if touched.rows_affected() == 0 {
            return Err(RegistryError::UnknownClient(client_id.to_owned()));
        }
        Ok(())
    }

    fn matches(&self, stored: &StoredSecret, secret: &str) -> bool {
        SecretKind::parse(&stored.info.kind).is_some_and(|kind| {
            self.pepper
                .verify(&stored.info.secret_id, secret, kind, &stored.hash)
        })
    }

    async fn touch(&self, secret_id: &str, at: i64) -> Result<(), RegistryError> {
        sqlx::query("UPDATE client_secrets SET last_used_at = $1 WHERE secret_id = $2")
            .bind(at)
            .bind(secret_id.to_owned())
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(|e| self.db_error(e))
    }

    async fn secrets(&self, client_id: &str) -> Result<Vec<SecretInfo>, RegistryError> {
        Ok(self
            .stored_secrets(client_id)
            .await?
            .into_iter()
            .map(|s| s.info)
            .collect())
    }

    async fn stored_secrets(&self, client_id: &str) -> Result<Vec<StoredSecret>, RegistryError> {
        let rows = sqlx::query(
            "SELECT * FROM client_secrets WHERE client_id = $1 ORDER BY created_at, secret_id",
        )
        .bind(client_id.to_owned())
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db_error(e))?;
        rows.iter()
            .map(|row| Ok(StoredSecret::new(secret_from_row(row)?, row.text("hash")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(|e| self.db_error(e))
    }
}

async fn insert_secret(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    secret_id: &str,
    client_id: &str,
    kind: SecretKind,
    hash: &str,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO client_secrets (secret_id, client_id, kind, hash, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(secret_id.to_owned())
        .bind(client_id.to_owned())
        .bind(kind.as_str().to_owned())
        .bind(hash.to_owned())
        .bind(at)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// The longest token lifetime a client may have: 30 days (Entur's tokens live 24 h, Telenor's 1 h).
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 86_400);

/// The longest a rotated-out secret may stay valid: 90 days.
pub const MAX_SECRET_OVERLAP: Duration = Duration::from_secs(90 * 86_400);

/// The shortest secret that may be imported, in bytes (NIST SP 800-63B's minimum for
/// memorised secrets; generated ones carry 256 bits).
pub const MIN_IMPORTED_SECRET_BYTES: usize = 8;

/// The longest client name, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// The longest audience or scope, in bytes.
pub const MAX_WORD_BYTES: usize = 255;

/// The most audiences, and the most scopes, a client may have.
pub const MAX_WORDS: usize = 64;

fn validate(new: &NewClient) -> Result<(), RegistryError> {
    let invalid = |m: String| Err(RegistryError::Invalid(m));
    // Names are printed by `clients list` and written to the audit log: no control characters
    // (newlines would forge lines, escapes would drive the terminal).
    if new.name.trim().is_empty()
        || new.name.chars().count() > MAX_NAME_CHARS
        || new.name.chars().any(char::is_control)
    {
        return invalid(format!(
            "the client needs a name of at most {MAX_NAME_CHARS} characters, without control characters"
        ));
    }
    if new.audiences.is_empty() {
        return invalid("the client needs at least one audience".into());
    }
    if new.audiences.len() > MAX_WORDS || new.scopes.len() > MAX_WORDS {
        return invalid(format!(
            "at most {MAX_WORDS} audiences and {MAX_WORDS} scopes"
        ));
    }
    let words = new.audiences.iter().chain(&new.scopes);
    if words.clone().any(|w| {
        w.is_empty()
            || w.len() > MAX_WORD_BYTES
            || w.chars().any(|c| c.is_whitespace() || c.is_control())
    }) {
        return invalid(format!(
            "audiences and scopes must be 1 to {MAX_WORD_BYTES} bytes, without spaces or control characters"
        ));
    }
    if let Some(id) = &new.client_id {
        if id.is_empty()
            || id.len() > MAX_CLIENT_ID_BYTES
            || id.contains(':')
            || id.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return invalid(format!(
                "a client id must be 1 to {MAX_CLIENT_ID_BYTES} bytes, without spaces, control characters or ':'"
            ));
        }
    }
    if let Some(secret) = &new.secret {
        // It must fit what the token endpoint accepts (RFC 6749 §2.3.1 puts it in a Basic
        // header or a form field) and should not be trivially guessable.
        if secret.len() < MIN_IMPORTED_SECRET_BYTES
            || secret.len() > MAX_SECRET_BYTES
            || secret.chars().any(char::is_control)
        {
            return invalid(format!(
                "an imported secret must be {MIN_IMPORTED_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes, without control characters"
            ));
        }
    }
    match new.lifetime {
        Some(lifetime) if lifetime.is_zero() || lifetime > MAX_TOKEN_LIFETIME => invalid(format!(
            "the token lifetime must be 1 s to {} days",
            MAX_TOKEN_LIFETIME.as_secs() / 86_400
        )),
        _ => Ok(()),
    }
}

fn client_from_row(row: &AnyRow, secrets: Vec<SecretInfo>) -> Result<ClientRecord, sqlx::Error> {
    Ok(ClientRecord {
        client_id: row.text("client_id")?,
        name: row.text("name")?,
        audiences: split(&row.text("audiences")?),
        scopes: split(&row.text("scopes")?),
        lifetime_seconds: row.opt_int("lifetime_seconds")?.map(|s| s.max(0) as u64),
        refresh_tokens: row.int("refresh_tokens")? != 0,
        introspect: row.int("introspect")? != 0,
        enabled: row.int("enabled")? != 0,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
        secrets,
    })
}

fn secret_from_row(row: &AnyRow) -> Result<SecretInfo, sqlx::Error> {
    Ok(SecretInfo {
        secret_id: row.text("secret_id")?,
        kind: row.text("kind")?,
        created_at: row.int("created_at")?,
        expires_at: row.opt_int("expires_at")?,
        last_used_at: row.opt_int("last_used_at")?,
    })
}
