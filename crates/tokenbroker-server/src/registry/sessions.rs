//! Administrators' passwords and portal sessions.
//!
//! A password is stored with Argon2id (it is chosen by a person). A session id is 256 random
//! bits handed to the browser once; the registry keeps only its keyed hash, so a database
//! leak yields no usable session. Every node of a fleet reads sessions from the registry, so a
//! login on one node is honoured by all and a logout or revocation on one ends it everywhere.
//! A session ends after [`SESSION_IDLE`] without a request or [`SESSION_LIFETIME`] after login,
//! whichever comes first (OWASP Session Management: idle and absolute timeouts).

use super::audit::actions;
use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::admins::{admin_is_live, Admin};
use super::audit::record;
use super::hashing::{argon2id_hash, argon2id_verify, generate_secret};
use super::rows::RowExt;
use super::{Registry, RegistryError};

/// A session ends after this long without a request.
pub const SESSION_IDLE: Duration = Duration::from_secs(30 * 60);

/// A session ends this long after login, however busy.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// The most sessions one administrator holds; a login past it ends the oldest.
pub const MAX_SESSIONS_PER_ADMIN: usize = 16;

/// The shortest administrator password, in characters: an administrator controls every client.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// The longest administrator password, in bytes (Argon2 hashes any length; the bound keeps a
/// login request cheap to read).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// `last_seen_at` is written at most this often per session.
const LAST_SEEN_GRANULARITY: i64 = 60;

/// A session id, handed to the browser in a cookie once. `Debug` hides it.
#[derive(Clone)]
pub struct SessionId(SecretString);

impl SessionId {
    /// The id as the browser presents it.
    pub fn new(presented: &str) -> Self {
        Self(SecretString::from(presented.to_owned()))
    }

    /// The id, to put in the cookie.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(…)")
    }
}

/// A live session: who it belongs to and its anti-forgery token.
#[derive(Debug, Clone)]
pub struct Session {
    /// The administrator logged in.
    pub admin: Admin,
    /// The token every state-changing form of this session carries (a keyed hash of the
    /// session id: nothing to store, and useless without the session cookie).
    pub csrf_token: String,
    /// When the session ends at the latest, Unix seconds.
    pub expires_at: i64,
}

impl Registry {
    /// Sets (or replaces) the portal password of the administrator named `name`; its sessions
    /// end. Audited, without the password.
    pub async fn set_admin_password(
        &self,
        name: &str,
        password: &SecretString,
        actor: &str,
    ) -> Result<(), RegistryError> {
        let hash = hash_password(password)?;
        let mut tx = self.pool.begin().await.map_err(|e| self.db_error(e))?;
        let updated = sqlx::query(
            "UPDATE admins SET password_hash = $1 WHERE name = $2 AND revoked_at IS NULL",
        )
        .bind(hash)
        .bind(name.to_owned())
        .execute(&mut *tx)
        .await
        .map_err(|e| self.db_error(e))?;
        if updated.rows_affected() == 0 {
            return Err(RegistryError::Invalid(format!(
                "no administrator named {name:?} that is not revoked"
            )));
        }
        end_sessions_of(&mut tx, name)
            .await
            .map_err(|e| self.db_error(e))?;
        record(
            &mut *tx,
            actor,
            actions::ADMIN_SET_PASSWORD,
            None,
            &format!("admin {name}"),
        )
        .await
        .map_err(|e| self.db_error(e))?;
        tx.commit().await.map_err(|e| self.db_error(e))
    }

    /// Checks `name` and `password`; on success starts a session and returns its id (for the
    /// cookie) and the session. `Ok(None)`: refused (unknown name, no password set, wrong
    /// password, revoked or expired administrator), which the caller counts and audits.
    pub async fn log_in(
        &self,
        name: &str,
        password: &SecretString,
        from: &str,
    ) -> Result<Option<(SessionId, Session)>, RegistryError> {
        let row = sqlx::query("SELECT * FROM admins WHERE name = $1")
            .bind(name.to_owned())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.db_error(e))?;
        let now = self.now();
        let stored = match &row {
            Some(row) => row
                .opt_text("password_hash")
                .map_err(|e| self.db_error(e))?,
            None => None,
        };
        // The same Argon2id work whether or not the name exists, so timing tells nothing.
        let matches = verify_password(password, stored.as_deref());
        let Some(row) = row.filter(|_| matches) else {
            return Ok(None);
        };
        let revoked = row.opt_int("revoked_at").map_err(|e| self.db_error(e))?;
        let expires = row.opt_int("expires_at").map_err(|e| self.db_error(e))?;
        if !admin_is_live(revoked, expires, now) {
            return Ok(None);
        }
        let admin_id = row.text("admin_id").map_err(|e| self.db_error(e))?;
        let id = SessionId(SecretString::from(generate_secret()));
        let expires_at = now.saturating_add(SESSION_LIFETIME.as_secs() as i64);
        let mut tx = self.pool.begin().await.map_err(|e| self.db_error(e))?;
        sqlx::query(
            "INSERT INTO admin_sessions (session_hash, admin_id, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $3, $4)",
        )
        .bind(self.session_hash(&id))
        .bind(admin_id.clone())
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| self.db_error(e))?;
        // Bounded per administrator, and ended sessions swept: the table cannot grow without
        // limit however often anyone logs in.
        sqlx::query(
            "DELETE FROM admin_sessions WHERE admin_id = $1 AND session_hash NOT IN \
             (SELECT session_hash FROM admin_sessions WHERE admin_id = $1 \
              ORDER BY created_at DESC, session_hash LIMIT $2)",
        )
        .bind(admin_id.clone())
        .bind(MAX_SESSIONS_PER_ADMIN as i64)
        .execute(&mut *tx)
        .await
        .map_err(|e| self.db_error(e))?;
        sqlx::query("DELETE FROM admin_sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
            .bind(now)
            .bind(now.saturating_sub(SESSION_IDLE.as_secs() as i64))
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db_error(e))?;
        record(
            &mut *tx,
            &Admin::actor_for(name),
            actions::ADMIN_LOGIN,
            None,
            &format!("from {from}"),
        )
        .await
        .map_err(|e| self.db_error(e))?;
        tx.commit().await.map_err(|e| self.db_error(e))?;
        let admin = Admin {
            roles: self.roles_of(&admin_id).await?,
            admin_id,
            name: name.to_owned(),
        };
        let session = Session {
            csrf_token: self.csrf_token(&id),
            admin,
            expires_at,
        };
        Ok(Some((id, session)))
    }

    /// The live session `id` names, if any; keeps it from going idle.
    pub async fn session(&self, id: &SessionId) -> Result<Option<Session>, RegistryError> {
        let hash = self.session_hash(id);
        let row = sqlx::query(
            "SELECT s.admin_id, s.last_seen_at, s.expires_at, a.name, a.revoked_at, a.expires_at AS admin_expires_at \
             FROM admin_sessions s JOIN admins a ON a.admin_id = s.admin_id WHERE s.session_hash = $1",
        )
        .bind(hash.clone())
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.db_error(e))?;
        let Some(row) = row else { return Ok(None) };
        let now = self.now();
        let field = |name: &str| row.int(name).map_err(|e| self.db_error(e));
        let (last_seen, expires_at) = (field("last_seen_at")?, field("expires_at")?);
        let revoked = row.opt_int("revoked_at").map_err(|e| self.db_error(e))?;
        let admin_expires = row
            .opt_int("admin_expires_at")
            .map_err(|e| self.db_error(e))?;
        let idle = now.saturating_sub(last_seen) >= SESSION_IDLE.as_secs() as i64;
        if idle || expires_at <= now || !admin_is_live(revoked, admin_expires, now) {
            return Ok(None);
        }
        if now.saturating_sub(last_seen) >= LAST_SEEN_GRANULARITY {
            sqlx::query("UPDATE admin_sessions SET last_seen_at = $1 WHERE session_hash = $2")
                .bind(now)
                .bind(hash)
                .execute(&self.pool)
                .await
                .map_err(|e| self.db_error(e))?;
        }
        let admin_id = row.text("admin_id").map_err(|e| self.db_error(e))?;
        let admin = Admin {
            roles: self.roles_of(&admin_id).await?,
            admin_id,
            name: row.text("name").map_err(|e| self.db_error(e))?,
        };
        Ok(Some(Session {
            csrf_token: self.csrf_token(id),
            admin,
            expires_at,
        }))
    }

    /// Ends the session `id` names (logout). Audited when there was one.
    pub async fn end_session(&self, id: &SessionId, actor: &str) -> Result<(), RegistryError> {
        let mut tx = self.pool.begin().await.map_err(|e| self.db_error(e))?;
        let deleted = sqlx::query("DELETE FROM admin_sessions WHERE session_hash = $1")
            .bind(self.session_hash(id))
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db_error(e))?;
        if deleted.rows_affected() > 0 {
            record(&mut *tx, actor, actions::ADMIN_LOGOUT, None, "")
                .await
                .map_err(|e| self.db_error(e))?;
        }
        tx.commit().await.map_err(|e| self.db_error(e))
    }

    /// Records a refused portal login (the caller rate-limits them). The name is as typed:
    /// quoted, so no character of it can forge a line.
    pub async fn record_refused_login(&self, name: &str, from: &str) -> Result<(), RegistryError> {
        let name: String = name.chars().take(100).collect();
        self.record_event(
            "anonymous",
            actions::ADMIN_LOGIN_REFUSED,
            None,
            &format!("portal login as {name:?} from {from}"),
        )
        .await
    }

    fn session_hash(&self, id: &SessionId) -> String {
        self.pepper
            .fingerprint_of(&format!("session {}", id.expose()))
    }

    fn csrf_token(&self, id: &SessionId) -> String {
        self.pepper.fingerprint_of(&format!("csrf {}", id.expose()))
    }
}

/// Ends every portal session of the administrator named `name`, inside the caller's transaction.
pub(super) async fn end_sessions_of(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    name: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM admin_sessions WHERE admin_id IN (SELECT admin_id FROM admins WHERE name = $1)",
    )
    .bind(name.to_owned())
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Checks a password's length and hashes it with Argon2id.
pub(crate) fn hash_password(password: &SecretString) -> Result<String, RegistryError> {
    let text = password.expose_secret();
    if text.chars().count() < MIN_PASSWORD_CHARS || text.len() > MAX_PASSWORD_BYTES {
        return Err(RegistryError::Invalid(format!(
            "an administrator password must be {MIN_PASSWORD_CHARS} characters to {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    argon2id_hash(text.as_bytes()).map_err(RegistryError::Invalid)
}

/// True when `password` matches `stored`. With nothing stored it still does one Argon2id
/// verification (against a fixed hash no password matches), so an unknown name costs the
/// same time as a wrong password.
fn verify_password(password: &SecretString, stored: Option<&str>) -> bool {
    // Argon2id of a random 32-byte value nobody knows, with the default parameters.
    const DECOY: &str = "$argon2id$v=19$m=19456,t=2,p=1$dG9rZW5icm9rZXJkZWNveQ$hGrMu8u9Q0NzeHaQbs6q3QFN0r8YMEy+DyJc1tH9Dk0";
    let presented = password.expose_secret().as_bytes();
    if presented.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    match stored {
        Some(hash) => argon2id_verify(presented, hash),
        None => {
            argon2id_verify(presented, DECOY);
            false
        }
    }
}
