//! How the nodes of a fleet learn that part of the registry changed: a change marker per topic
//! (a `registry_facts` row holding a fresh value after every change), which every node polls,
//! and on PostgreSQL an announcement (`NOTIFY`) sent when the change commits, which every node
//! listens for, so it learns at once.
//!
//! The marker is written as the changing transaction's first statement. That makes it a lock
//! (a row lock on PostgreSQL, the write lock on SQLite): changes of one topic are serialized,
//! and a node that reads a marker has every change committed before it.

use std::time::Duration;

use sqlx::{Any, Transaction};

use super::audit::ordered_event_id;
use super::{Registry, RegistryError};

/// A part of the registry whose changes other nodes must notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// The signing keys and when each publishes, signs and retires.
    KeySchedule,
    /// Clients and their secrets: what client authentication reads.
    Clients,
}

impl Topic {
    /// The `registry_facts` row holding the topic's change marker.
    fn fact(self) -> &'static str {
        match self {
            Topic::KeySchedule => "key_schedule",
            Topic::Clients => "clients_changed",
        }
    }

    /// The PostgreSQL channel a change is announced on when it commits.
    fn channel(self) -> &'static str {
        match self {
            Topic::KeySchedule => "tokenbroker_key_schedule",
            Topic::Clients => "tokenbroker_clients",
        }
    }
}

/// Announcements of changes on a shared registry (PostgreSQL `LISTEN`).
pub struct Announcements(sqlx::postgres::PgListener);

impl std::fmt::Debug for Announcements {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Announcements")
    }
}

impl Announcements {
    /// Waits for the next change (reconnecting if the connection drops; a change announced
    /// while it was down is found by polling the marker).
    pub async fn next(&mut self) -> Result<(), sqlx::Error> {
        self.0.recv().await.map(drop)
    }
}

/// Wakes a node when a topic may have changed: at each announcement (PostgreSQL) and every
/// interval in any case, so a lost listener only slows the news to the interval.
#[derive(Debug)]
pub(crate) struct ChangeWatch {
    topic: Topic,
    announcements: Option<Announcements>,
    ticker: tokio::time::Interval,
}

impl ChangeWatch {
    /// Watches `topic` of `registry`, polling every `interval`; the first wait returns at once.
    pub(crate) async fn new(registry: &Registry, topic: Topic, interval: Duration) -> Self {
        let announcements = registry.announcements(topic).await.unwrap_or_else(|error| {
            tracing::warn!(%error, ?topic, "cannot listen for changes; polling only");
            None
        });
        Self {
            topic,
            announcements,
            ticker: tokio::time::interval(interval),
        }
    }

    /// Waits until the topic may have changed.
    pub(crate) async fn wait(&mut self) {
        let announced = async {
            match &mut self.announcements {
                Some(announcements) => announcements.next().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = self.ticker.tick() => {}
            announced = announced => {
                if let Err(error) = announced {
                    let topic = self.topic;
                    tracing::warn!(%error, ?topic, "lost the change announcements; polling only");
                    self.announcements = None;
                }
            }
        }
    }
}

impl Registry {
    /// The change marker of `topic`: it changes whenever the topic does. `None` before the
    /// first change.
    pub async fn change_marker(&self, topic: Topic) -> Result<Option<String>, RegistryError> {
        self.fact(topic.fact()).await
    }

    /// Announcements of `topic`'s changes, on a shared (PostgreSQL) registry; `None` elsewhere,
    /// where polling [`change_marker`](Self::change_marker) is the only way.
    pub async fn announcements(
        &self,
        topic: Topic,
    ) -> Result<Option<Announcements>, RegistryError> {
        if !self.is_shared() {
            return Ok(None);
        }
        let mut listener = sqlx::postgres::PgListener::connect(&self.url)
            .await
            .map_err(|e| self.db_error(e))?;
        listener
            .listen(topic.channel())
            .await
            .map_err(|e| self.db_error(e))?;
        Ok(Some(Announcements(listener)))
    }

    /// Begins a transaction that changes `topic`: its first statement takes the topic's lock
    /// and stores a fresh marker, which commits or rolls back with the change.
    pub(super) async fn begin_change(
        &self,
        topic: Topic,
    ) -> Result<Transaction<'static, Any>, RegistryError> {
        let mut tx = self.pool.begin().await.map_err(|e| self.db_error(e))?;
        let marker = ordered_event_id();
        sqlx::query(
            "INSERT INTO registry_facts (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(topic.fact())
        .bind(marker.clone())
        .execute(&mut *tx)
        .await
        .map_err(|e| self.db_error(e))?;
        if self.is_shared() {
            // Delivered to every listening node when (and only if) the change commits.
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(topic.channel())
                .bind(marker)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.db_error(e))?;
        }
        Ok(tx)
    }
}
