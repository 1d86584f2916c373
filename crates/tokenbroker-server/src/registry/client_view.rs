//! The clients a node has authenticated lately, held in memory, so that a token request costs no
//! database round trip: client authentication reads the client and its secret hashes from here.
//!
//! The view is trusted only while it is known to be current. A node's keeper task
//! ([`Registry::keep_client_view`]) reads the clients' change marker (see `changes.rs`) every
//! [`CLIENT_VIEW_POLL_INTERVAL`], and at once when PostgreSQL announces a change; when the
//! marker moved, the view is emptied. Each read that finds the marker unmoved confirms the view
//! up to when the read began. A view not confirmed within [`CLIENT_VIEW_BOUND`] is not used:
//! authentication reads the database, as it does on a node without a keeper (the CLI's one-shot
//! commands). So a client disabled, deleted or given a new secret on any node, or with the CLI,
//! is refused by every node within [`CLIENT_VIEW_BOUND`]; by the node that made the change, at
//! once, since it empties its own view when the change commits.
//!
//! A read from the database races a change: it may read the row before the change commits and
//! finish after the view was emptied for it. Every emptying moves the view's generation, and a
//! row is kept only if the generation did not move while it was read.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::changes::{ChangeWatch, Topic};
use super::clients::{ClientRecord, SecretInfo};
use super::Registry;

/// How often the keeper reads the clients' change marker: one single-row read per node.
pub const CLIENT_VIEW_POLL_INTERVAL: Duration = Duration::from_millis(250);

/// How stale the view may be: a change made anywhere is honoured by every node within this
/// bound. Past it without a confirmation (the database is unreachable, the keeper stopped),
/// authentication reads the database instead.
pub const CLIENT_VIEW_BOUND: Duration = Duration::from_secs(1);

/// The most clients held (about 1 KB each with two secrets). A full view drops an arbitrary
/// client for each new one; a dropped client costs one database read when it comes back.
pub const MAX_VIEWED_CLIENTS: usize = 100_000;

/// A client with what authenticating it needs.
#[derive(Debug)]
pub(super) struct ViewedClient {
    /// The client, with its secrets' metadata.
    pub(super) record: ClientRecord,
    /// Its secrets with their hashes.
    pub(super) secrets: Vec<StoredSecret>,
}

/// A secret's metadata and stored hash; never leaves the registry. `Debug` leaves the hash out.
pub(super) struct StoredSecret {
    /// Its metadata as read.
    pub(super) info: SecretInfo,
    /// The stored hash (see `hashing.rs`).
    pub(super) hash: String,
    /// When it last authenticated, as this node knows it: moves ahead of `info.last_used_at`
    /// when this node records a use, so the use is written once per granularity.
    last_used_at: AtomicI64,
}

/// No use recorded.
const NEVER: i64 = i64::MIN;

impl std::fmt::Debug for StoredSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSecret")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl StoredSecret {
    /// The secret as read from the database.
    pub(super) fn new(info: SecretInfo, hash: String) -> Self {
        let last_used_at = AtomicI64::new(info.last_used_at.unwrap_or(NEVER));
        Self {
            info,
            hash,
            last_used_at,
        }
    }

    /// True when a use at `at` should be written: none is recorded within `granularity`
    /// seconds. Claims the write, so concurrent requests write it once.
    pub(super) fn claim_use(&self, at: i64, granularity: i64) -> bool {
        let last = self.last_used_at.load(Ordering::Relaxed);
        if last != NEVER && at.saturating_sub(last) < granularity {
            return false;
        }
        self.last_used_at
            .compare_exchange(last, at, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    }
}

/// The view: clients by id, the generation, and when it was last confirmed current.
#[derive(Debug)]
pub(super) struct ClientView {
    clients: RwLock<HashMap<String, Arc<ViewedClient>>>,
    generation: AtomicU64,
    /// Milliseconds after `started` when the view was last confirmed current; 0 before the
    /// first confirmation.
    confirmed_at_ms: AtomicU64,
    started: Instant,
}

impl Default for ClientView {
    fn default() -> Self {
        Self {
            clients: RwLock::new(HashMap::new()),
            generation: AtomicU64::new(0),
            confirmed_at_ms: AtomicU64::new(0),
            started: Instant::now(),
        }
    }
}

impl ClientView {
    /// The held client `client_id`, if the view is current and holds it.
    pub(super) fn get(&self, client_id: &str) -> Option<Arc<ViewedClient>> {
        if !self.is_current() {
            return None;
        }
        self.read().get(client_id).cloned()
    }

    /// The generation a database read starting now belongs to.
    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Holds `client`, read during `generation`, unless the view was emptied since.
    pub(super) fn insert(&self, generation: u64, client: Arc<ViewedClient>) {
        if !self.is_current() {
            return;
        }
        let mut clients = self.write();
        // Checked under the lock that emptying takes: no emptying can slip in between.
        if self.generation() != generation {
            return;
        }
        let id = &client.record.client_id;
        if clients.len() >= MAX_VIEWED_CLIENTS && !clients.contains_key(id) {
            if let Some(victim) = clients.keys().next().cloned() {
                clients.remove(&victim);
            }
        }
        clients.insert(id.clone(), client);
    }

    /// Forgets every client: the registry's clients changed.
    pub(super) fn empty(&self) {
        let mut clients = self.write();
        self.generation.fetch_add(1, Ordering::AcqRel);
        clients.clear();
    }

    /// Records that the view held every change committed before `read_began`.
    fn confirm(&self, read_began: Instant) {
        // At least 1: 0 means never confirmed.
        let at = read_began.duration_since(self.started).as_millis().max(1);
        self.confirmed_at_ms
            .fetch_max(u64::try_from(at).unwrap_or(u64::MAX), Ordering::AcqRel);
    }

    fn is_current(&self) -> bool {
        let confirmed = self.confirmed_at_ms.load(Ordering::Acquire);
        if confirmed == 0 {
            return false;
        }
        let now = self.started.elapsed().as_millis();
        now.saturating_sub(u128::from(confirmed)) < CLIENT_VIEW_BOUND.as_millis()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<ViewedClient>>> {
        // A panic while holding the lock leaves the map whole (every change is one call).
        self.clients.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<ViewedClient>>> {
        self.clients.write().unwrap_or_else(|p| p.into_inner())
    }
}

impl Registry {
    /// Keeps this registry's client view current, so client authentication is served from
    /// memory; runs until dropped with its task. Without it, authentication reads the database.
    pub async fn keep_client_view(self) {
        let mut watch = ChangeWatch::new(&self, Topic::Clients, CLIENT_VIEW_POLL_INTERVAL).await;
        let mut seen = None;
        loop {
            watch.wait().await;
            let read_began = Instant::now();
            match self.change_marker(Topic::Clients).await {
                Ok(marker) => {
                    // The first read has nothing to compare with: start empty.
                    if seen.as_ref() != Some(&marker) {
                        self.view.empty();
                        seen = Some(marker);
                    }
                    self.view.confirm(read_began);
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot read the clients' change marker; authenticating from the database")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(id: &str) -> Arc<ViewedClient> {
        Arc::new(ViewedClient {
            record: ClientRecord {
                client_id: id.to_owned(),
                name: "app".into(),
                audiences: vec!["https://api.test".into()],
                scopes: Vec::new(),
                lifetime_seconds: None,
                refresh_tokens: false,
                introspect: false,
                enabled: true,
                created_at: 0,
                updated_at: 0,
                secrets: Vec::new(),
            },
            secrets: Vec::new(),
        })
    }

    #[test]
    fn an_unconfirmed_view_holds_nothing() {
        let view = ClientView::default();
        view.insert(view.generation(), client("a"));
        view.confirm(Instant::now());
        assert!(view.get("a").is_none(), "kept while not known current");
        view.insert(view.generation(), client("a"));
        assert!(view.get("a").is_some());
    }

    #[test]
    fn a_view_not_confirmed_within_the_bound_is_not_used() {
        let view = ClientView::default();
        view.confirm(Instant::now());
        view.insert(view.generation(), client("a"));
        // Confirmed long ago: as if the keeper had stopped.
        view.confirmed_at_ms.store(1, Ordering::Release);
        let view = ClientView {
            started: Instant::now() - CLIENT_VIEW_BOUND - Duration::from_millis(10),
            ..view
        };
        assert!(view.get("a").is_none());
    }

    #[test]
    fn a_full_view_makes_room_for_a_new_client_and_not_for_a_held_one() {
        let view = ClientView::default();
        view.confirm(Instant::now());
        for n in 0..MAX_VIEWED_CLIENTS {
            view.insert(view.generation(), client(&n.to_string()));
        }
        assert_eq!(view.read().len(), MAX_VIEWED_CLIENTS);
        let held: Vec<String> = view.read().keys().cloned().collect();
        view.insert(view.generation(), client(&held[0]));
        assert_eq!(
            view.read().len(),
            MAX_VIEWED_CLIENTS,
            "a held client replaced"
        );
        assert!(
            held.iter().all(|id| view.get(id).is_some()),
            "nothing evicted"
        );
        view.insert(view.generation(), client("newcomer"));
        assert_eq!(
            view.read().len(),
            MAX_VIEWED_CLIENTS,
            "one evicted for one held"
        );
        assert!(view.get("newcomer").is_some());
    }

    #[test]
    fn a_read_that_raced_a_change_is_not_kept() {
        let view = ClientView::default();
        view.confirm(Instant::now());
        let read_during = view.generation();
        view.empty();
        view.insert(read_during, client("a"));
        assert!(
            view.get("a").is_none(),
            "read before the change, kept after it"
        );
        view.insert(view.generation(), client("a"));
        view.empty();
        assert!(view.get("a").is_none(), "emptying forgets held clients");
    }

    #[test]
    fn debug_output_leaves_the_stored_hash_out() {
        let info = SecretInfo {
            secret_id: "s".into(),
            kind: "hmac-sha256".into(),
            created_at: 0,
            expires_at: None,
            last_used_at: None,
        };
        let secret = StoredSecret::new(info, "hash-that-must-not-show".into());
        let view = ClientView::default();
        view.confirm(Instant::now());
        let mut held = Arc::try_unwrap(client("a")).unwrap();
        held.secrets.push(secret);
        view.insert(view.generation(), Arc::new(held));
        assert!(!format!("{view:?}").contains("hash-that-must-not-show"));
    }

    #[test]
    fn a_use_is_claimed_once_per_granularity() {
        let secret = StoredSecret::new(
            SecretInfo {
                secret_id: "s".into(),
                kind: "hmac-sha256".into(),
                created_at: 0,
                expires_at: None,
                last_used_at: Some(1_000),
            },
            String::new(),
        );
        assert!(!secret.claim_use(1_059, 60));
        assert!(secret.claim_use(1_060, 60));
        assert!(!secret.claim_use(1_061, 60), "claimed already");
        assert!(secret.claim_use(1_120, 60));
    }
}
