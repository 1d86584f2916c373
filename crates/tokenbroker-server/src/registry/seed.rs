//! Seeding: clients with fixed ids and secrets, for a CI sandbox (`serve --dev --seed FILE`) or a
//! server's first start. A seed creates what is missing and never overwrites: a client that
//! already exists is left as it is (its secret may have been rotated since), and reported so.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{NewClient, Registry, RegistryError};

/// Most clients one seed may create: a seed is a fixture, not a migration.
pub const MAX_SEED_CLIENTS: usize = 1_000;

/// One client of a seed file.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedClient {
    /// Its fixed id.
    pub id: String,
    /// A human name (default: the id).
    pub name: Option<String>,
    /// Its fixed secret (8 to 1024 bytes, stored with Argon2id).
    pub secret: String,
    /// Audiences it may get tokens for, at least one.
    pub audiences: Vec<String>,
    /// Granted scopes, space-separated.
    #[serde(default)]
    pub scope: String,
    /// Token lifetime in seconds (default: the server's).
    pub lifetime: Option<u64>,
    /// Whether token responses include a refresh token.
    #[serde(default)]
    pub refresh_token: bool,
    /// Whether it may introspect other clients' tokens.
    #[serde(default)]
    pub introspect: bool,
}

impl std::fmt::Debug for SeedClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeedClient")
            .field("id", &self.id)
            .field("audiences", &self.audiences)
            .finish_non_exhaustive()
    }
}

/// What seeding did with one client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Seeded {
    /// The client's id.
    pub client_id: String,
    /// True when the seed created it; false when it already existed and was left alone.
    pub created: bool,
}

impl Registry {
    /// Creates each client of `seed` that does not exist yet, as `actor` (audited). Stops at the
    /// first invalid entry, naming it; the ones before it stay created, and a second run with
    /// the entry fixed creates the rest.
    pub async fn seed(
        &self,
        seed: &[SeedClient],
        actor: &str,
    ) -> Result<Vec<Seeded>, RegistryError> {
        if seed.len() > MAX_SEED_CLIENTS {
            return Err(RegistryError::Invalid(format!(
                "a seed may hold at most {MAX_SEED_CLIENTS} clients, this one has {}",
                seed.len()
            )));
        }
        let mut outcome = Vec::with_capacity(seed.len());
        for (index, client) in seed.iter().enumerate() {
            let created = if self.find_client(&client.id).await?.is_some() {
                false
            } else {
                let new = client.to_new_client();
                self.create_client(new, actor)
                    .await
                    .map_err(|error| match error {
                        RegistryError::Invalid(why) => RegistryError::Invalid(format!(
                            "seed client {} ({:?}): {why}",
                            index + 1,
                            client.id
                        )),
                        other => other,
                    })?;
                true
            };
            outcome.push(Seeded {
                client_id: client.id.clone(),
                created,
            });
        }
        Ok(outcome)
    }
}

impl SeedClient {
    fn to_new_client(&self) -> NewClient {
        NewClient {
            name: self.name.clone().unwrap_or_else(|| self.id.clone()),
            audiences: self.audiences.clone(),
            scopes: self.scope.split_whitespace().map(str::to_owned).collect(),
            lifetime: self.lifetime.map(Duration::from_secs),
            refresh_tokens: self.refresh_token,
            introspect: self.introspect,
            client_id: Some(self.id.clone()),
            secret: Some(self.secret.clone()),
        }
    }
}
