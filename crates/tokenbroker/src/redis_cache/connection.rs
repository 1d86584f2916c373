//! One multiplexed Redis connection, opened lazily, reopened after failures, never waited on
//! for long.
//!
//! Every command is bounded by the operation timeout. After a failure the connection is dropped
//! and Redis is left alone for [`RETRY_AFTER_FAILURE`]: while it is down, callers skip it at no
//! cost instead of each paying a connect timeout. The outage is logged once when it starts and
//! once when it ends, not per request.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, Cmd, FromRedisValue, Script};

/// How long Redis is skipped after a failure.
pub(crate) const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(2);

/// Redis could not be used (the reason is logged once per outage, never returned to callers).
#[derive(Debug)]
pub(crate) struct Unavailable;

pub(crate) struct Connection {
    client: Client,
    /// The URL without its password, for logs.
    label: String,
    timeout: Duration,
    current: Mutex<Option<MultiplexedConnection>>,
    skip_until: Mutex<Option<Instant>>,
    down: AtomicBool,
}

impl Connection {
    pub(crate) fn new(client: Client, label: String, timeout: Duration) -> Self {
        Self {
            client,
            label,
            timeout,
            current: Mutex::new(None),
            skip_until: Mutex::new(None),
            down: AtomicBool::new(false),
        }
    }

    pub(crate) fn label(&self) -> &str {
        &self.label
    }

    /// Runs `cmd`, bounded by the timeout.
    pub(crate) async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, Unavailable> {
        let mut connection = self.connection().await?;
        let outcome = tokio::time::timeout(self.timeout, cmd.query_async(&mut connection)).await;
        self.settle(outcome)
    }

    /// Runs `script` with `keys` and `args`, bounded by the timeout.
    pub(crate) async fn invoke<T: FromRedisValue>(
        &self,
        script: &Script,
        keys: &[&str],
        args: &[&str],
    ) -> Result<T, Unavailable> {
        let mut connection = self.connection().await?;
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(*key);
        }
        for arg in args {
            invocation.arg(*arg);
        }
        let outcome =
            tokio::time::timeout(self.timeout, invocation.invoke_async(&mut connection)).await;
        self.settle(outcome)
    }

    fn settle<T>(
        &self,
        outcome: Result<redis::RedisResult<T>, tokio::time::error::Elapsed>,
    ) -> Result<T, Unavailable> {
        match outcome {
            Ok(Ok(value)) => {
                self.mark_up();
                Ok(value)
            }
            Ok(Err(error)) => Err(self.mark_down(redis_reason(&error))),
            Err(_) => {
                Err(self.mark_down(format!("no answer within {} ms", self.timeout.as_millis())))
            }
        }
    }

    async fn connection(&self) -> Result<MultiplexedConnection, Unavailable> {
        if let Some(connection) = lock(&self.current).clone() {
            return Ok(connection);
        }
        if lock(&self.skip_until).is_some_and(|until| Instant::now() < until) {
            return Err(Unavailable);
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        let opened = tokio::time::timeout(
            self.timeout,
            self.client
                .get_multiplexed_async_connection_with_config(&config),
        )
        .await;
        match opened {
            Ok(Ok(connection)) => {
                *lock(&self.current) = Some(connection.clone());
                Ok(connection)
            }
            Ok(Err(error)) => Err(self.mark_down(redis_reason(&error))),
            Err(_) => Err(self.mark_down(format!(
                "could not connect within {} ms",
                self.timeout.as_millis()
            ))),
        }
    }

    fn mark_down(&self, reason: String) -> Unavailable {
        *lock(&self.current) = None;
        *lock(&self.skip_until) = Some(Instant::now() + RETRY_AFTER_FAILURE);
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                redis = %self.label,
                %reason,
                "shared token cache unavailable; using the local cache and the token endpoint until it is back"
            );
        }
        Unavailable
    }

    fn mark_up(&self) {
        if self.down.swap(false, Ordering::Relaxed) {
            // At the outage's level, so whoever saw it begin sees it end.
            tracing::warn!(redis = %self.label, "shared token cache is back");
        }
    }
}

/// The error's kind and detail; Redis errors never contain our values (tokens are sealed anyway).
fn redis_reason(error: &redis::RedisError) -> String {
    error.to_string().replace('\n', " ")
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
