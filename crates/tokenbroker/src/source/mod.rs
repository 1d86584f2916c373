//! Where callers get tokens: the [`TokenSource`] trait and its cached implementation.

mod backoff;
mod budget;
mod cached;
mod policy;
pub(crate) mod shared;

pub use backoff::Backoff;
pub use budget::{BudgetLeft, FetchBudget};
pub use cached::{CachedTokenSource, CachedTokenSourceBuilder, SourceHealth, SourceStats};
pub use policy::RefreshPolicy;
pub use shared::SharedCache;

use std::future::Future;

use crate::error::Error;
use crate::token::AccessToken;

/// Something that hands out valid access tokens.
///
/// Implementations decide when to fetch; callers only ask. The contract:
/// - [`token`](TokenSource::token) returns a token with enough lifetime left to be used now.
/// - [`invalidate`](TokenSource::invalidate) reports that the API rejected `token` (HTTP 401); the
///   source drops it only if it is still the current one, so many callers reporting the same
///   stale token cause one new fetch, not many.
pub trait TokenSource: Send + Sync + 'static {
    /// A token that is valid now.
    fn token(&self) -> impl Future<Output = Result<AccessToken, Error>> + Send;

    /// The API rejected `token`; returns true if this call dropped it.
    fn invalidate(&self, token: &AccessToken) -> bool;
}
