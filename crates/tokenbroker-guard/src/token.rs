//! A token that passed every check, as handlers see it.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use axum::extract::FromRequestParts;
use http::request::Parts;
use http::StatusCode;
use serde_json::{Map, Value};
use tokenbroker_wire::jwt::whole_seconds_date;

use crate::claims::Claims;
use crate::json_value::JsonValue;

/// The verified claims of the request's access token (RFC 9068 §2.2).
///
/// Put into the request's extensions by the guard layer; handlers take it as an extractor.
/// What every request needs (scopes, times, `jti`) is read during verification; the full claim
/// map is built from the signed payload the first time [`claims`](Self::claims) or a claim
/// accessor asks for it.
#[derive(Clone)]
pub struct VerifiedToken {
    /// The payload's JSON, as signed.
    json: Arc<[u8]>,
    claims: OnceLock<Map<String, Value>>,
    scopes: Vec<String>,
    expires_at: SystemTime,
    not_before: Option<SystemTime>,
    jti: Option<Box<str>>,
}

impl fmt::Debug for VerifiedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedToken")
            .field("claims", self.claims())
            .field("scopes", &self.scopes)
            .field("expires_at", &self.expires_at)
            .field("not_before", &self.not_before)
            .finish()
    }
}

impl VerifiedToken {
    /// The token of a payload `json` whose `claims` were read from it; `None` when `exp` is not
    /// a whole number of seconds up to
    /// [`MAX_NUMERIC_DATE`](tokenbroker_wire::jwt::MAX_NUMERIC_DATE), or `nbf` is present and
    /// not one.
    pub(crate) fn new(json: &[u8], claims: &Claims) -> Option<Self> {
        // RFC 9068 §2.2.3: `scope` is space-separated; some issuers send an `scp` array.
        let scopes = match (&claims.scope, &claims.scp) {
            (JsonValue::Text(scope), _) => scope.split_whitespace().map(str::to_owned).collect(),
            (_, JsonValue::Array(items)) => items.iter().map(|item| item.to_string()).collect(),
            _ => Vec::new(),
        };
        let expires_at = numeric_date(&claims.exp)?;
        let not_before = match &claims.nbf {
            JsonValue::Absent => None,
            nbf => Some(numeric_date(nbf)?),
        };
        Some(Self {
            json: json.into(),
            claims: OnceLock::new(),
            scopes,
            expires_at,
            not_before,
            jti: claims.jti.text().map(Box::from),
        })
    }

    /// The `client_id` claim (or `azp`, or `sub`): who is calling.
    pub fn client_id(&self) -> Option<&str> {
        ["client_id", "azp", "sub"]
            .iter()
            .find_map(|name| self.claims().get(*name).and_then(Value::as_str))
    }

    /// The `sub` claim.
    pub fn subject(&self) -> Option<&str> {
        self.claims().get("sub").and_then(Value::as_str)
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
        self.claims.get_or_init(|| {
            // Verification read this payload through the same serde_json paths (`claims.rs`),
            // so it reads as a map; the empty map is for a failure that cannot happen.
            serde_json::from_slice(&self.json).unwrap_or_default()
        })
    }

    /// Every claim, owned (to read them into a typed claim set).
    pub fn into_claims(self) -> Map<String, Value> {
        self.claims();
        self.claims.into_inner().unwrap_or_default()
    }

    /// The `jti` claim.
    pub fn jti(&self) -> Option<&str> {
        self.jti.as_deref()
    }
}

/// A NumericDate the verifier accepts for `exp` and `nbf`: whole seconds.
fn numeric_date(value: &JsonValue) -> Option<SystemTime> {
    match value {
        JsonValue::Whole(seconds) => whole_seconds_date(*seconds),
        _ => None,
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
