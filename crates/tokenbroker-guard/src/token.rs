//! A token that passed every check, as handlers see it.

use std::time::SystemTime;

use axum::extract::FromRequestParts;
use http::request::Parts;
use http::StatusCode;
use serde_json::{Map, Value};
use tokenbroker_wire::jwt::whole_numeric_date;

/// The verified claims of the request's access token (RFC 9068 §2.2).
///
/// Put into the request's extensions by the guard layer; handlers take it as an extractor.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    claims: Map<String, Value>,
    scopes: Vec<String>,
    expires_at: SystemTime,
    not_before: Option<SystemTime>,
}

impl VerifiedToken {
    /// The token of verified `claims`; `None` when `exp` is not a whole number of seconds up to
    /// [`MAX_NUMERIC_DATE`](tokenbroker_wire::jwt::MAX_NUMERIC_DATE), or `nbf` is present and
    /// not one.
    pub(crate) fn new(claims: Map<String, Value>) -> Option<Self> {
        // RFC 9068 §2.2.3: `scope` is space-separated; some issuers send an `scp` array.
        let scopes = match (claims.get("scope"), claims.get("scp")) {
            (Some(Value::String(scope)), _) => {
                scope.split_whitespace().map(str::to_owned).collect()
            }
            (_, Some(Value::Array(items))) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        let expires_at = claims.get("exp").and_then(whole_numeric_date)?;
        let not_before = match claims.get("nbf") {
            None => None,
            Some(nbf) => Some(whole_numeric_date(nbf)?),
        };
        Some(Self {
            expires_at,
            not_before,
            claims,
            scopes,
        })
    }

    /// The `client_id` claim (or `azp`, or `sub`): who is calling.
    pub fn client_id(&self) -> Option<&str> {
        ["client_id", "azp", "sub"]
            .iter()
            .find_map(|name| self.claims.get(*name).and_then(Value::as_str))
    }

    /// The `sub` claim.
    pub fn subject(&self) -> Option<&str> {
        self.claims.get("sub").and_then(Value::as_str)
    }

    /// The granted scopes.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// True when `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// When the token expires.
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// When the token becomes valid (`nbf`), if it says.
    pub fn not_before(&self) -> Option<SystemTime> {
        self.not_before
    }

    /// Every claim.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// Every claim, owned (to read them into a typed claim set).
    pub fn into_claims(self) -> Map<String, Value> {
        self.claims
    }

    /// The `jti` claim.
    pub fn jti(&self) -> Option<&str> {
        self.claims.get("jti").and_then(Value::as_str)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for VerifiedToken {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<VerifiedToken>().cloned().ok_or((
            StatusCode::INTERNAL_SERVER_ERROR,
            "no verified token: the route is not behind a GuardLayer",
        ))
    }
}
