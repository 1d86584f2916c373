//! The identity of a token: which requests may share one.
//!
//! Two configurations with the same token URL, client id, audience, scope, resources and extra
//! parameters get interchangeable tokens, so they may share one cached token. The secret is not
//! part of the key: a rotated secret still yields the same kind of token.

use std::fmt;

use sha2::{Digest, Sha256};
use url::Url;

use crate::request::TokenParams;

/// A stable hash of everything that determines what token a request yields.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CacheKey(String);

impl CacheKey {
    /// The key for a client at a token endpoint asking with `params`.
    pub fn new(token_url: &Url, client_id: &str, params: &TokenParams) -> Self {
        let mut hasher = Sha256::new();
        let mut field = |name: &str, value: &str| {
            // Length-prefixed, so no two different field lists hash the same input.
            for part in [name, value] {
                hasher.update((part.len() as u64).to_be_bytes());
                hasher.update(part.as_bytes());
            }
        };
        field("token_url", token_url.as_str());
        field("client_id", client_id);
        field("audience", params.audience.as_deref().unwrap_or(""));
        field("scope", &normalized_scope(params.scope.as_deref()));
        let mut resources = params.resource.clone();
        resources.sort();
        for resource in &resources {
            field("resource", resource);
        }
        let mut extra = params.extra.clone();
        extra.sort();
        for (name, value) in &extra {
            field(name, value);
        }
        let digest = hasher.finalize();
        Self(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// The key as lowercase hex.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Scope is a set (RFC 6749 §3.3): order and repeated spaces do not change it.
fn normalized_scope(scope: Option<&str>) -> String {
    let mut scopes: Vec<&str> = scope.unwrap_or("").split_whitespace().collect();
    scopes.sort_unstable();
    scopes.dedup();
    scopes.join(" ")
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CacheKey({})", &self.0[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(client: &str, audience: Option<&str>, scope: Option<&str>) -> CacheKey {
        let url = Url::parse("https://as.example/token").unwrap();
        let params = TokenParams {
            audience: audience.map(str::to_owned),
            scope: scope.map(str::to_owned),
            ..TokenParams::default()
        };
        CacheKey::new(&url, client, &params)
    }

    #[test]
    fn every_field_matters_but_scope_order_does_not() {
        let base = key("a", Some("aud"), Some("read write"));
        assert_eq!(base, key("a", Some("aud"), Some("write  read")));
        assert_ne!(base, key("b", Some("aud"), Some("read write")));
        assert_ne!(base, key("a", Some("aud2"), Some("read write")));
        assert_ne!(base, key("a", Some("aud"), Some("read")));
        assert_eq!(base.as_str().len(), 64);
    }
}
