//! Facts about the registry that every node must agree with before it serves: the pepper's and
//! the key-encryption key's fingerprints, and the issuer. Recorded by the first node (or the
//! first start after an upgrade), and checked by every later one.

use super::rows::RowExt;
use super::{Registry, RegistryError};

/// The fact naming the pepper's fingerprint.
const PEPPER: &str = "pepper_fingerprint";

/// The fact naming the key-encryption key's fingerprint.
const KEK: &str = "kek_fingerprint";

/// The fact naming the issuer every node signs as.
const ISSUER: &str = "issuer";

impl Registry {
    /// Records the pepper's fingerprint if none is recorded, and refuses a pepper that differs
    /// from the recorded one: its node would reject every stored secret, refresh token and
    /// administrator token.
    pub(crate) async fn check_pepper(&self) -> Result<(), RegistryError> {
        let ours = self.pepper.fingerprint();
        if self.record_once(PEPPER, &ours).await? != ours {
            return Err(RegistryError::PepperMismatch {
                location: self.location.to_string(),
            });
        }
        Ok(())
    }

    /// Refuses a node whose issuer is not the one recorded: tokens signed as another issuer
    /// fail at every guard configured for the recorded one. An issuer set explicitly is recorded
    /// when none is; a default one (the node's own address) never is, so a single node may move
    /// ports until an issuer is chosen.
    pub(crate) async fn check_issuer(
        &self,
        ours: &str,
        explicit: bool,
    ) -> Result<(), RegistryError> {
        let recorded = match self.fact(ISSUER).await? {
            Some(recorded) => recorded,
            None if explicit => self.record_once(ISSUER, ours).await?,
            None => return Ok(()),
        };
        if recorded == ours {
            return Ok(());
        }
        Err(RegistryError::IssuerMismatch {
            recorded,
            ours: ours.to_owned(),
        })
    }

    /// The value of fact `name`, if recorded.
    pub(super) async fn fact(&self, name: &str) -> Result<Option<String>, RegistryError> {
        sqlx::query("SELECT value FROM registry_facts WHERE name = $1")
            .bind(name.to_owned())
            .fetch_optional(&self.pool)
            .await
            .and_then(|row| row.map(|row| row.text("value")).transpose())
            .map_err(|e| self.db_error(e))
    }

    /// True when the key-encryption key with this fingerprint is the one the registry's keys
    /// are sealed with (recorded by the first node that stored a key).
    pub(crate) async fn kek_agrees(&self, fingerprint: &str) -> Result<bool, RegistryError> {
        Ok(self.record_once(KEK, fingerprint).await? == fingerprint)
    }

    /// True once a key-encryption key's fingerprint is recorded: keys are sealed with it.
    pub(crate) async fn kek_recorded(&self) -> Result<bool, RegistryError> {
        Ok(self.fact(KEK).await?.is_some())
    }

    /// The recorded value of fact `name`, recording `value` if none is recorded yet. Two nodes
    /// recording at once agree on whichever came first.
    async fn record_once(&self, name: &str, value: &str) -> Result<String, RegistryError> {
        sqlx::query("INSERT INTO registry_facts (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name.to_owned())
            .bind(value.to_owned())
            .execute(&self.pool)
            .await
            .map_err(|e| self.db_error(e))?;
        // Present now: recorded by this call or an earlier one, and facts are never deleted.
        Ok(self.fact(name).await?.unwrap_or_default())
    }
}
