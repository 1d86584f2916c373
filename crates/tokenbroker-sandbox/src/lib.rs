//! # tokenbroker-sandbox
//!
//! `tokenbroker serve --dev`: the authorization server and demo partner APIs on one listener,
//! with ready-to-use development clients — a local stand-in for Entur and Telenor for teams
//! integrating with them.

pub mod communication;
pub mod partner_api;

use std::sync::Arc;
use std::time::Duration;

use tokenbroker_guard::{Guard, GuardConfig, RevocationFeed};
use tokenbroker_server::registry::{NewClient, RegistryError};
use tokenbroker_server::{AuthServer, ServeError, ServerConfig};

pub use communication::CommunicationUser;
use partner_api::{ENTUR_AUDIENCE, PROGRAMS_SCOPE, TELENOR_AUDIENCE};

/// A development client, with the secret (dev clients are recreated, so it can be shown on the
/// terminal; `Debug` still hides it, as logs are not the terminal).
#[derive(Clone)]
pub struct DevClient {
    /// Its id.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// The audience it is granted.
    pub audience: &'static str,
    /// What it is for.
    pub purpose: &'static str,
}

impl std::fmt::Debug for DevClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevClient")
            .field("client_id", &self.client_id)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

/// The running sandbox.
#[derive(Debug)]
pub struct Sandbox {
    /// The authorization server (with the demo APIs on its listener).
    pub server: AuthServer,
    /// The development clients.
    pub clients: Vec<DevClient>,
    /// The Communication user for Telenor's X-JWT flow (new password on every start).
    pub communication_user: CommunicationUser,
}

/// Sandbox settings beyond the server's.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Lifetime of X-JWTs from hasPermission (Telenor Sweden Open APIs: one hour).
    pub x_jwt_lifetime: Duration,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        Self {
            x_jwt_lifetime: Duration::from_secs(3600),
        }
    }
}

/// The sandbox's Communication user id (Telenor Sweden Open APIs's example `userId`).
pub const COMMUNICATION_USER_ID: u64 = 1_234_567;

impl Sandbox {
    /// Starts the server with the demo APIs and (re)creates the development clients.
    pub async fn start(config: ServerConfig) -> Result<Self, ServeError> {
        Self::start_with_options(config, SandboxOptions::default()).await
    }

    /// [`start`](Self::start) with sandbox settings.
    pub async fn start_with_options(
        config: ServerConfig,
        options: SandboxOptions,
    ) -> Result<Self, ServeError> {
        let user = CommunicationUser {
            user_id: COMMUNICATION_USER_ID,
            password: uuid::Uuid::new_v4().simple().to_string(),
        };
        let communication_user = user.clone();
        let server = AuthServer::start_with(config, move |bound| {
            let guard = |audience: &str, leeway: Duration| {
                let mut config = GuardConfig::new(&bound.issuer, audience);
                config.rules.leeway = leeway;
                config.clock = bound.clock();
                config.jwks_url = Some(format!("{}/.well-known/jwks.json", bound.issuer));
                config.revocations = Some(RevocationFeed {
                    url: format!("{}/revocations", bound.issuer),
                    poll_interval: Duration::from_secs(2),
                });
                Guard::spawn(config).expect("the sandbox's guard configuration is valid")
            };
            // Strict: no leeway on exp, so clients learn to refresh ahead (the client library does).
            let leeway = Duration::ZERO;
            let telenor = guard(TELENOR_AUDIENCE, leeway);
            partner_api::routes(guard(ENTUR_AUDIENCE, leeway), Arc::clone(&telenor)).merge(
                communication::routes(
                    telenor,
                    // X-JWTs expire on the second, as Telenor Sweden Open APIs's APIs answer 401 once they have.
                    guard(communication::X_JWT_AUDIENCE, Duration::ZERO),
                    bound.signer(),
                    bound.issuer.clone(),
                    user,
                    options.x_jwt_lifetime,
                ),
            )
        })
        .await?;
        let clients = recreate_dev_clients(&server).await?;
        Ok(Self {
            server,
            clients,
            communication_user,
        })
    }
}

/// Dev clients get fixed ids and fresh secrets on every start (the secret is shown each time).
async fn recreate_dev_clients(server: &AuthServer) -> Result<Vec<DevClient>, RegistryError> {
    let plans = [
        (
            "dev-entur",
            ENTUR_AUDIENCE,
            vec![PROGRAMS_SCOPE],
            "Entur-like API: GET /personalisation/v1/programs/1",
        ),
        (
            "dev-telenor",
            TELENOR_AUDIENCE,
            vec![],
            "Telenor-like API: GET /corporate/fixed-network/product-catalog/product-offers",
        ),
    ];
    let registry = server.registry();
    let mut clients = Vec::new();
    for (id, audience, scopes, purpose) in plans {
        if registry.find_client(id).await?.is_some() {
            registry.delete_client(id, "sandbox").await?;
        }
        let new = NewClient {
            name: id.into(),
            audiences: vec![audience.into()],
            scopes: scopes.into_iter().map(str::to_owned).collect(),
            client_id: Some(id.into()),
            ..NewClient::default()
        };
        let (_, issued) = registry.create_client(new, "sandbox").await?;
        clients.push(DevClient {
            client_id: id.into(),
            client_secret: issued.client_secret,
            audience,
            purpose,
        });
    }
    Ok(clients)
}
