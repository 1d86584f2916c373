//! Signing JWTs with the issuer's current key, for routes merged onto the server's listener (the
//! sandbox's Telenor X-JWT).

use std::net::SocketAddr;
use std::sync::Arc;

use tokenbroker_wire::Clock;

use crate::state::AppState;

/// What routes added with [`AuthServer::start_with`](crate::AuthServer::start_with) may know
/// about the server.
#[derive(Debug)]
pub struct Bound {
    /// The bound address.
    pub addr: SocketAddr,
    /// The issuer identifier.
    pub issuer: String,
    pub(crate) state: Arc<AppState>,
}

impl Bound {
    /// Signs a JWT with the issuer's current key (e.g. Telenor's X-JWT in the sandbox).
    pub fn sign<T: serde::Serialize>(
        &self,
        header_typ: &str,
        claims: &T,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        self.signer().sign(header_typ, claims)
    }

    /// The server's clock, for guards and tokens of merged routes to keep the same time.
    pub fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(self.state.clock())
    }

    /// A signer that outlives this call, for handlers.
    pub fn signer(&self) -> Signer {
        Signer(Arc::clone(&self.state))
    }
}

/// Signs JWTs with the issuer's current key; cheap to clone into handlers.
#[derive(Clone, Debug)]
pub struct Signer(Arc<AppState>);

impl Signer {
    /// Now as an RFC 7519 NumericDate on the server's clock, to stamp `iat`/`exp` with.
    pub fn unix_now(&self) -> i64 {
        self.0.unix_now()
    }

    /// Signs `claims` with the key that signs now, header `typ` as given.
    pub fn sign<T: serde::Serialize>(
        &self,
        header_typ: &str,
        claims: &T,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let ring = self.0.keyring();
        ring.signing_key(self.0.unix_now()).sign(header_typ, claims)
    }
}
