//! Clients with fixed ids and secrets, for seeding a local server in tests, demos and development.

use std::time::Duration;

use crate::registry::NewClient;

/// A client to register with a known id and secret (RFC 6749 §2); the secret is stored like an
/// imported one (Argon2id).
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
    /// Whether token responses include a refresh token.
    pub refresh_tokens: bool,
    /// A resource server: may introspect other clients' tokens.
    pub introspect: bool,
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
            refresh_tokens: false,
            introspect: false,
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

    /// Issues refresh tokens to this client.
    pub fn with_refresh_tokens(mut self) -> Self {
        self.refresh_tokens = true;
        self
    }

    /// Makes this client a resource server, which may introspect other clients' tokens.
    pub fn resource_server(mut self) -> Self {
        self.introspect = true;
        self
    }

    /// The registry request that creates this client.
    pub fn to_new_client(&self) -> NewClient {
        NewClient {
            name: self.client_id.clone(),
            audiences: self.audiences.clone(),
            scopes: self.scopes.clone(),
            lifetime: self.lifetime,
            refresh_tokens: self.refresh_tokens,
            introspect: self.introspect,
            client_id: Some(self.client_id.clone()),
            secret: Some(self.client_secret.clone()),
        }
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
