//! The clients the server knows, and checking their secrets.
//!
//! This first slice holds clients in memory (static configuration); the persistent registry comes
//! with the full authorization server. Secret comparison is constant-time.

use std::collections::HashMap;
use std::time::Duration;

/// A registered client (RFC 6749 §2).
#[derive(Clone)]
pub struct StaticClient {
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: String,
    /// Audiences (APIs) the client may get tokens for on this server.
    pub audiences: Vec<String>,
    /// Scopes the client is granted.
    pub scopes: Vec<String>,
    /// Token lifetime for this client; the server default when `None`.
    pub lifetime: Option<Duration>,
}

impl StaticClient {
    /// A client with one audience and no scopes.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        audience: impl Into<String>,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            audiences: vec![audience.into()],
            scopes: Vec::new(),
            lifetime: None,
        }
    }

    /// Grants `scopes` (space-separated).
    pub fn with_scopes(mut self, scopes: &str) -> Self {
        self.scopes = scopes.split_whitespace().map(str::to_owned).collect();
        self
    }

    /// Adds another audience.
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Sets this client's token lifetime.
    pub fn with_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = Some(lifetime);
        self
    }

    /// True when `secret` is this client's secret (constant-time).
    pub fn secret_matches(&self, secret: &str) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(
            self.client_secret.as_bytes(),
            secret.as_bytes(),
        )
        .is_ok()
    }
}

impl std::fmt::Debug for StaticClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticClient")
            .field("client_id", &self.client_id)
            .field("audiences", &self.audiences)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// Clients by id.
#[derive(Debug, Default)]
pub struct ClientRegistry {
    clients: HashMap<String, StaticClient>,
}

impl ClientRegistry {
    /// A registry holding `clients`.
    pub fn new(clients: impl IntoIterator<Item = StaticClient>) -> Self {
        Self {
            clients: clients
                .into_iter()
                .map(|c| (c.client_id.clone(), c))
                .collect(),
        }
    }

    /// The client with this id.
    pub fn get(&self, client_id: &str) -> Option<&StaticClient> {
        self.clients.get(client_id)
    }
}
