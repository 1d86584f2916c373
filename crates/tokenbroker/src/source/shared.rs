//! A cache shared by many processes, consulted before the token endpoint.
//!
//! A fleet of N instances of one service needs one token, not N: Auth0 (Entur's partner login)
//! counts every machine-to-machine token against a quota, and Entur tokens live 24 h. A
//! [`SharedCache`] sits between a [`CachedTokenSource`](crate::CachedTokenSource) and its
//! [`TokenClient`](crate::TokenClient): when the local token is due, the source asks the shared
//! cache, which either has a fresh enough token from another instance or lets exactly one
//! instance fetch while the others wait for its result.
//!
//! The contract that keeps requests safe: a shared cache may make a fetch slower by a bounded
//! amount, but never makes it fail. If the cache is down or slow, it calls `fetch` itself.

use futures::future::BoxFuture;

use crate::cache_key::CacheKey;
use crate::error::Error;
use crate::token::AccessToken;

/// The fetch to run when no shared token will do: the source's own request to the AS.
pub type Fetch<'a> = BoxFuture<'a, Result<AccessToken, Error>>;

/// Decides whether a token found in the shared cache may replace the local one.
pub type Acceptable<'a> = &'a (dyn Fn(&AccessToken) -> bool + Send + Sync);

/// A token cache shared across processes (see the module docs for the contract).
pub trait SharedCache: Send + Sync + 'static {
    /// A token for `key`: a shared one that `acceptable` approves, or the result of `fetch`
    /// (run by this instance, or by another one whose result this one waited for).
    fn obtain<'a>(
        &'a self,
        key: &'a CacheKey,
        acceptable: Acceptable<'a>,
        fetch: Fetch<'a>,
    ) -> BoxFuture<'a, Result<AccessToken, Error>>;

    /// How many tokens were taken from the shared cache instead of the token endpoint.
    fn hits(&self) -> u64;
}
