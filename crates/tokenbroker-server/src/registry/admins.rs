//! Administrators and their roles: who may manage clients through the admin API.
//!
//! Entur's authentication pages: only users with the client-administrator role ("Klientadministrator") in an
//! organisation can create clients. An administrator authenticates with a bearer token of the form
//! `tba_<id>.<secret>`: the id finds the record, the secret is checked against its keyed hash.

use super::audit::actions;
use std::fmt;
use std::str::FromStr;

use secrecy::SecretString;
use serde::Serialize;

use super::audit::record;
use super::hashing::{generate_id, generate_secret, SecretKind};
use super::rows::RowExt;
use super::sessions::{end_sessions_of, hash_password};
use super::{Registry, RegistryError};
use crate::time::unix_now;

const TOKEN_PREFIX: &str = "tba_";

/// An administrator role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// May create, rotate, disable, enable and delete clients (Entur API authentication's "Klientadministrator").
    ClientAdmin,
    /// May list and show clients and read the audit log.
    Viewer,
}

impl Role {
    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientAdmin => "client-admin",
            Self::Viewer => "viewer",
        }
    }
}

impl FromStr for Role {
    type Err = RegistryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "client-admin" => Ok(Self::ClientAdmin),
            "viewer" => Ok(Self::Viewer),
            _ => Err(RegistryError::Invalid(format!(
                "role {s:?} is unknown; use client-admin or viewer"
            ))),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An authenticated administrator.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Admin {
    /// Its id.
    pub admin_id: String,
    /// Its unique name.
    pub name: String,
    /// Its roles.
    pub roles: Vec<Role>,
}

impl Admin {
    /// True when the administrator holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Who the audit log names for this administrator's changes: `admin:<name>`.
    pub fn actor(&self) -> String {
        Self::actor_for(&self.name)
    }

    /// The audit log's name for the administrator named `name`.
    pub fn actor_for(name: &str) -> String {
        format!("admin:{name}")
    }
}

/// True while an administrator's token, password and sessions work: not revoked, and not past
/// its expiry (Unix seconds, compared with `now`).
pub(super) fn admin_is_live(revoked_at: Option<i64>, expires_at: Option<i64>, now: i64) -> bool {
    revoked_at.is_none() && expires_at.is_none_or(|at| at > now)
}

/// What a new administrator gets.
#[derive(Debug, Clone, Default)]
pub struct NewAdmin {
    /// Its unique name: 1 to 100 characters, no spaces or control characters.
    pub name: String,
    /// Its roles, at least one.
    pub roles: Vec<Role>,
    /// Its API token stops working after this long (at most [`MAX_ADMIN_TOKEN_LIFETIME`]);
    /// never when `None`.
    pub token_expires_in: Option<std::time::Duration>,
    /// A portal password, stored with Argon2id; without one it cannot log in to the portal.
    pub password: Option<SecretString>,
}

/// An administrator as the registry lists it: never its token.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AdminRecord {
    /// Its id (the `<id>` in `tba_<id>.<secret>`).
    pub admin_id: String,
    /// Its unique name.
    pub name: String,
    /// Its roles.
    pub roles: Vec<Role>,
    /// Unix seconds.
    pub created_at: i64,
    /// When its token stops working, Unix seconds; `None`: never.
    pub expires_at: Option<i64>,
    /// When it was revoked, Unix seconds.
    pub revoked_at: Option<i64>,
    /// Whether it has a portal password (never the password or its hash).
    pub has_password: bool,
}

/// The longest an administrator token may be made to last with an expiry: a year.
pub const MAX_ADMIN_TOKEN_LIFETIME: std::time::Duration =
    std::time::Duration::from_secs(366 * 86_400);

/// An administrator's bearer token, shown once. `Debug` hides it.
#[derive(Clone, Serialize)]
pub struct IssuedAdminToken {
    /// The administrator.
    pub admin: Admin,
    /// `tba_<id>.<secret>`: send as `Authorization: Bearer …` to the admin API.
    pub token: String,
}

impl fmt::Debug for IssuedAdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedAdminToken")
            .field("admin", &self.admin)
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// Creates an administrator with `roles` whose token never expires; the token is shown once.
    pub async fn create_admin(
        &self,
        name: &str,
        roles: &[Role],
        actor: &str,
    ) -> Result<IssuedAdminToken, RegistryError> {
        self.create_admin_expiring(name, roles, None, actor).await
    }

    /// Creates an administrator with `roles` whose token stops working after `expires_in`
    /// (at most [`MAX_ADMIN_TOKEN_LIFETIME`]); the token is shown once.
    pub async fn create_admin_expiring(
        &self,
        name: &str,
        roles: &[Role],
        expires_in: Option<std::time::Duration>,
        actor: &str,
    ) -> Result<IssuedAdminToken, RegistryError> {
        let new = NewAdmin {
            name: name.to_owned(),
            roles: roles.to_vec(),
            token_expires_in: expires_in,
            password: None,
        };
        self.add_admin(&new, actor).await
    }

    /// Creates an administrator; its API token is shown once. With a password it may also log
    /// in to the portal.
    pub async fn add_admin(
        &self,
        new: &NewAdmin,
        actor: &str,
    ) -> Result<IssuedAdminToken, RegistryError> {
        let (name, roles, expires_in) = (new.name.as_str(), &new.roles[..], new.token_expires_in);
        if name.trim().is_empty()
            || name.chars().count() > 100
            || name.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(RegistryError::Invalid(
                "an administrator name must be 1 to 100 characters, without spaces or control characters"
                    .into(),
            ));
        }
        if expires_in.is_some_and(|d| d.is_zero() || d > MAX_ADMIN_TOKEN_LIFETIME) {
            return Err(RegistryError::Invalid(
                "an administrator token may expire in 1 s to a year".into(),
            ));
        }
        let now = self.clock.unix_seconds();
        let expires_at = expires_in.map(|d| now.saturating_add(d.as_secs() as i64));
        if roles.is_empty() {
            return Err(RegistryError::Invalid(
                "an administrator needs at least one role".into(),
            ));
        }
        let password_hash = new.password.as_ref().map(hash_password).transpose()?;
        let admin_id = generate_id();
        let secret = generate_secret();
        let hash = self
            .pepper
            .hash(&secret, SecretKind::Generated)
            .map_err(RegistryError::Invalid)?;
        let mut tx = self.pool.begin().await.map_err(|e| self.db_error(e))?;
        let inserted = sqlx::query(
            "INSERT INTO admins (admin_id, name, token_hash, created_at, expires_at, password_hash) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(admin_id.clone())
        .bind(name.to_owned())
        .bind(hash)
        .bind(now)
        .bind(expires_at)
        .bind(password_hash.clone())
        .execute(&mut *tx)
        .await;
        if let Err(error) = inserted {
            return Err(self.insert_error(
                error,
                format!("an administrator named {name:?} already exists"),
            ));
        }
        for role in roles {
            sqlx::query("INSERT INTO admin_roles (admin_id, role) VALUES ($1, $2)")
                .bind(admin_id.clone())
                .bind(role.as_str().to_owned())
                .execute(&mut *tx)
                .await
                .map_err(|e| self.db_error(e))?;
        }
        let detail = format!(
            "admin {name} roles {}{}{}",
            roles
                .iter()
                .map(|role| role.as_str())
                .collect::<Vec<_>>()
                .join(","),
            expires_at.map_or(String::new(), |at| format!(" expires_at {at}")),
            if password_hash.is_some() {
                " with a portal password"
            } else {
                ""
            }
        );
        record(&mut *tx, actor, actions::ADMIN_CREATE, None, &detail)
            .await
            .map_err(|e| self.db_error(e))?;
        tx.commit().await.map_err(|e| self.db_error(e))?;
        Ok(IssuedAdminToken {
            token: format!("{TOKEN_PREFIX}{admin_id}.{secret}"),
            admin: Admin {
                admin_id,
                name: name.to_owned(),
                roles: roles.to_vec(),
            },
        })
    }

    /// The administrator a bearer token belongs to, if the token is valid.
    pub async fn authenticate_admin(&self, token: &str) -> Result<Option<Admin>, RegistryError> {
        let Some((admin_id, secret)) = token
            .strip_prefix(TOKEN_PREFIX)
            .and_then(|rest| rest.split_once('.'))
        else {
            return Ok(None);
        };
        let row = sqlx::query("SELECT * FROM admins WHERE admin_id = $1")
            .bind(admin_id.to_owned())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.db_error(e))?;
        let Some(row) = row else { return Ok(None) };
        // A revoked or expired token is refused at once, on every node (checked per request).
        let revoked = row.opt_int("revoked_at").map_err(|e| self.db_error(e))?;
        let expires_at = row.opt_int("expires_at").map_err(|e| self.db_error(e))?;
        if !admin_is_live(revoked, expires_at, self.now()) {
            return Ok(None);
        }
        let hash = row.text("token_hash").map_err(|e| self.db_error(e))?;
        if !self
            .pepper
            .verify(admin_id, secret, SecretKind::Generated, &hash)
        {
            return Ok(None);
        }
        let roles = self.roles_of(admin_id).await?;
        Ok(Some(Admin {
            admin_id: admin_id.to_owned(),
            name: row.text("name").map_err(|e| self.db_error(e))?,
            roles,
        }))
    }

    /// Every administrator, by name, with its roles and token state.
    pub async fn list_admins(&self) -> Result<Vec<AdminRecord>, RegistryError> {
        let rows = sqlx::query("SELECT * FROM admins ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.db_error(e))?;
        let mut admins = Vec::with_capacity(rows.len());
        for row in rows {
            let admin_id = row.text("admin_id").map_err(|e| self.db_error(e))?;
            let roles = self.roles_of(&admin_id).await?;
            admins.push(AdminRecord {
                name: row.text("name").map_err(|e| self.db_error(e))?,
                roles,
                created_at: row.int("created_at").map_err(|e| self.db_error(e))?,
                expires_at: row.opt_int("expires_at").map_err(|e| self.db_error(e))?,
                revoked_at: row.opt_int("revoked_at").map_err(|e| self.db_error(e))?,
                has_password: row
                    .opt_text("password_hash")
                    .map_err(|e| self.db_error(e))?
                    .is_some(),
                admin_id,
            });
        }
        Ok(admins)
    }

    /// Revokes the administrator named `name`: its token stops working at once. Audited.
    pub async fn revoke_admin(&self, name: &str, actor: &str) -> Result<(), RegistryError> {
        let mut tx = self.pool.begin().await.map_err(|e| self.db_error(e))?;
        let updated =
            sqlx::query("UPDATE admins SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL")
                .bind(unix_now())
                .bind(name.to_owned())
                .execute(&mut *tx)
                .await
                .map_err(|e| self.db_error(e))?;
        if updated.rows_affected() == 0 {
            return Err(RegistryError::Invalid(format!(
                "no administrator named {name:?} with a valid token"
            )));
        }
        // Its portal sessions end with it (they are refused anyway; this frees the rows).
        end_sessions_of(&mut tx, name)
            .await
            .map_err(|e| self.db_error(e))?;
        record(
            &mut *tx,
            actor,
            actions::ADMIN_REVOKE,
            None,
            &format!("admin {name}"),
        )
        .await
        .map_err(|e| self.db_error(e))?;
        tx.commit().await.map_err(|e| self.db_error(e))
    }

    /// Records a refused administrator login in the audit log (the caller rate-limits them).
    pub async fn record_refused_admin_login(&self, from: &str) -> Result<(), RegistryError> {
        self.record_event(
            "anonymous",
            actions::ADMIN_LOGIN_REFUSED,
            None,
            &format!("from {from}"),
        )
        .await
    }

    pub(super) async fn roles_of(&self, admin_id: &str) -> Result<Vec<Role>, RegistryError> {
        Ok(
            sqlx::query("SELECT role FROM admin_roles WHERE admin_id = $1 ORDER BY role")
                .bind(admin_id.to_owned())
                .fetch_all(&self.pool)
                .await
                .map_err(|e| self.db_error(e))?
                .iter()
                .filter_map(|r| r.text("role").ok().and_then(|role| role.parse().ok()))
                .collect(),
        )
    }
}
