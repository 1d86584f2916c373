//! The token cache `tokenbroker token` and `tokenbroker request` share across invocations, so a
//! script calling them in a loop spends one token, not one per call.

use std::path::PathBuf;
use std::sync::Arc;

use tokenbroker::{ClientConfig, FileTokenCache, SharedCache};

use crate::args::CacheArgs;

/// The cache the arguments ask for: none with `--no-cache`; otherwise `--cache-dir`
/// ($TOKENBROKER_CACHE_DIR), else `tokenbroker/tokens` in the user cache directory. A directory
/// that cannot be used (unwritable, or open to other users) is named in a warning and the
/// command goes on without a cache: the cache never makes a command fail.
pub(crate) fn token_cache(args: &CacheArgs, client: &ClientConfig) -> Option<Arc<dyn SharedCache>> {
    if args.no_cache {
        return None;
    }
    let dir = args.cache_dir.clone().or_else(default_dir)?;
    match FileTokenCache::open(dir, client) {
        Ok(cache) => Some(Arc::new(cache)),
        Err(error) => {
            tracing::warn!(%error, "not caching tokens between invocations");
            None
        }
    }
}

fn default_dir() -> Option<PathBuf> {
    dirs::cache_dir().map(|dir| dir.join("tokenbroker").join("tokens"))
}
