//! State that must survive a restart: overrides, the audit trail, leases, and a small cache.
//!
//! One interface, [`Store`]; [`SqliteStore`] is the embedded default for the daemon. Every
//! method fails loudly ([`StoreError`]): a request whose override cannot be written is refused,
//! never silently dropped — also when the SQLite file was removed under a running daemon.

mod sqlite;

use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::future::BoxFuture;
use serde::Serialize;

pub use sqlite::SqliteStore;

pub use crate::model::AuditEvent;
use crate::model::Override;

/// The store could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[error("state store unavailable: {0}")]
pub struct StoreError(pub String);

/// Who holds an environment's lease, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeaseHolder {
    /// The copy's instance name.
    pub holder: String,
    /// When the lease runs out unless renewed.
    pub until: DateTime<Utc>,
}

/// What [`Store::put_override`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Put {
    /// The new override is now in force.
    Stored(Override),
    /// An override holding the same way and ending later was already in force; it stays.
    KeptLater(Override),
}

impl Put {
    /// The override in force after the call.
    pub fn current(&self) -> &Override {
        match self {
            Put::Stored(o) | Put::KeptLater(o) => o,
        }
    }
}

/// Persistent state, shared by every copy of lightsout that uses the same store.
pub trait Store: Send + Sync {
    /// The override of `env` active at `now`, if any.
    fn active_override(
        &self,
        env: &str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<Override>, StoreError>>;

    /// Puts an override in force, atomically: when an active override of the same hold ends
    /// later, that one stays (two wakes at once give one override, the later end).
    fn put_override(&self, ov: Override) -> BoxFuture<'_, Result<Put, StoreError>>;

    /// Ends the override of `env`; returns the one that was active at `now`.
    fn clear_override(
        &self,
        env: &str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<Override>, StoreError>>;

    /// Appends to the audit trail.
    fn record(&self, events: Vec<AuditEvent>) -> BoxFuture<'_, Result<(), StoreError>>;

    /// The newest audit events (of one environment, or all), newest first, at most `limit`.
    fn audit(
        &self,
        env: Option<&str>,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<AuditEvent>, StoreError>>;

    /// Every audit event of `env` at or after `since`, oldest first: all of them, however many
    /// (the store reads every page).
    fn audit_since(
        &self,
        env: &str,
        since: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Vec<AuditEvent>, StoreError>>;

    /// Takes (or renews) the lease on `env` for `holder` until `until`; `false` when another
    /// holder's lease has not expired at `now`.
    fn acquire_lease(
        &self,
        env: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<bool, StoreError>>;

    /// Extends the lease on `env` to `until` only if `holder` still holds it and it has not
    /// expired at `now`; `false` otherwise. Unlike [`Store::acquire_lease`], never takes back a
    /// lease that lapsed: another holder may have come and gone in between.
    fn renew_lease(
        &self,
        env: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<bool, StoreError>>;

    /// Who holds the lease on `env` at `now`, and until when (`None`: nobody).
    fn lease_holder(
        &self,
        env: &str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<LeaseHolder>, StoreError>>;

    /// Gives the lease back, if `holder` has it.
    fn release_lease(&self, env: &str, holder: &str) -> BoxFuture<'_, Result<(), StoreError>>;

    /// A cached value that has not expired at `now`.
    fn cache_get(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<String>, StoreError>>;

    /// Caches a value until `expires`.
    fn cache_put(
        &self,
        key: &str,
        value: &str,
        expires: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<(), StoreError>>;

    /// Remembers `key` until `expires`, atomically for every copy sharing the store: `true` the
    /// first time, `false` while an earlier claim of it has not expired at `now` (a replay).
    /// Refuses replayed Slack requests across restarts, copies and Lambda containers.
    fn claim_once(
        &self,
        key: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<bool, StoreError>>;

    /// Whether the store can be used now, checked without a network call (`/healthz` asks it
    /// on every probe): the SQLite file is still the one opened and readable. A store that
    /// cannot check cheaply answers `Ok`; its failures show as 503s on the requests that use it.
    fn health(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }
}

/// Instants as stored: RFC 3339 UTC with milliseconds, so text order is time order.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Reads an instant written by [`ts`].
pub(crate) fn parse_ts(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError(format!("bad instant {s:?} in the store: {e}")))
}
