//! The embedded store: one SQLite file (rusqlite, bundled), WAL mode, survives restarts.
//!
//! Calls are short and serialised behind one connection; they run inline on the async task,
//! which is fine at a daemon's request rates.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use futures_util::future::{BoxFuture, FutureExt};
use rusqlite::{Connection, OptionalExtension, params};

use super::{AuditEvent, LeaseHolder, Put, Store, StoreError, parse_ts, ts};
use crate::model::{Hold, Override};

/// The SQLite store.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

impl SqliteStore {
    /// Opens (creating if needed) the store file.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open(path)
            .map_err(|e| StoreError(format!("cannot open {}: {e}", path.display())))?;
        Self::init(conn)
    }

    /// A store in memory, for tests and dry runs.
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        Self::init(Connection::open_in_memory().map_err(err)?)
    }

    fn init(conn: Connection) -> Result<SqliteStore, StoreError> {
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA busy_timeout = 5000;
             CREATE TABLE IF NOT EXISTS overrides (
                 env TEXT PRIMARY KEY, hold TEXT NOT NULL, created TEXT NOT NULL,
                 until TEXT NOT NULL, by TEXT NOT NULL, reason TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS audit (
                 id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, env TEXT NOT NULL,
                 resource TEXT NOT NULL, action TEXT NOT NULL, reason TEXT NOT NULL,
                 actor TEXT NOT NULL, outcome TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS audit_env ON audit (env, id);
             CREATE TABLE IF NOT EXISTS leases (env TEXT PRIMARY KEY, holder TEXT NOT NULL, until TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS cache (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires TEXT NOT NULL);",
        )
        .map_err(err)?;
        // The typed event (JSON) beside the text columns; rows from before it have none and are
        // read by AuditEvent::from_legacy.
        let has_event: bool = conn
            .prepare("SELECT 1 FROM pragma_table_info('audit') WHERE name = 'event'")
            .and_then(|mut st| st.exists([]))
            .map_err(err)?;
        if !has_event {
            conn.execute_batch("ALTER TABLE audit ADD COLUMN event TEXT")
                .map_err(err)?;
        }
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (transactions roll
        // back on drop), so a poisoned lock is still safe to use.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn hold_str(h: Hold) -> &'static str {
    match h {
        Hold::Awake => "awake",
        Hold::Asleep => "asleep",
    }
}

fn read_override(conn: &Connection, env: &str) -> Result<Option<Override>, StoreError> {
    let row = conn
        .query_row(
            "SELECT hold, created, until, by, reason FROM overrides WHERE env = ?1",
            params![env],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            },
        )
        .optional()
        .map_err(err)?;
    let Some((hold, created, until, by, reason)) = row else {
        return Ok(None);
    };
    Ok(Some(Override {
        env: env.to_string(),
        hold: if hold == "asleep" {
            Hold::Asleep
        } else {
            Hold::Awake
        },
        created: parse_ts(&created)?,
        until: parse_ts(&until)?,
        by,
        reason,
    }))
}

impl SqliteStore {
    /// Audit events selected by `sql` (which selects at, env, resource, action, reason, actor,
    /// outcome, event), typed; rows from before the typed trail are read from their text.
    fn audit_rows(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(sql).map_err(err)?;
        type Row = (
            String,
            String,
            String,
            String,
            String,
            String,
            String,
            Option<String>,
        );
        let rows = stmt
            .query_map(params, |r| {
                Ok::<Row, rusqlite::Error>((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            })
            .map_err(err)?;
        let mut out = Vec::new();
        for row in rows {
            let (at, env, resource, action, reason, actor, outcome, event) = row.map_err(err)?;
            out.push(match event {
                Some(json) => serde_json::from_str(&json)
                    .map_err(|e| StoreError(format!("unreadable audit event: {e}")))?,
                None => AuditEvent::from_legacy(
                    parse_ts(&at)?,
                    env,
                    resource,
                    &action,
                    reason,
                    actor,
                    &outcome,
                ),
            });
        }
        Ok(out)
    }
}

impl Store for SqliteStore {
    fn active_override(
        &self,
        env: &str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<Override>, StoreError>> {
        let r = read_override(&self.conn(), env).map(|o| o.filter(|o| o.is_active(now)));
        async move { r }.boxed()
    }

    fn put_override(&self, ov: Override) -> BoxFuture<'_, Result<Put, StoreError>> {
        let r = (|| {
            let mut conn = self.conn();
            let tx = conn.transaction().map_err(err)?;
            if let Some(old) = read_override(&tx, &ov.env)?
                && old.is_active(ov.created)
                && old.hold == ov.hold
                && old.until >= ov.until
            {
                return Ok(Put::KeptLater(old));
            }
            tx.execute(
                "INSERT INTO overrides (env, hold, created, until, by, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (env) DO UPDATE SET hold = ?2, created = ?3, until = ?4, by = ?5, reason = ?6",
                params![ov.env, hold_str(ov.hold), ts(ov.created), ts(ov.until), ov.by, ov.reason],
            )
            .map_err(err)?;
            tx.commit().map_err(err)?;
            Ok(Put::Stored(ov))
        })();
        async move { r }.boxed()
    }

    fn clear_override(
        &self,
        env: &str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<Override>, StoreError>> {
        let r = (|| {
            let mut conn = self.conn();
            let tx = conn.transaction().map_err(err)?;
            let old = read_override(&tx, env)?;
            tx.execute("DELETE FROM overrides WHERE env = ?1", params![env])
                .map_err(err)?;
            tx.commit().map_err(err)?;
            Ok(old.filter(|o| o.is_active(now)))
        })();
        async move { r }.boxed()
    }

    fn record(&self, events: Vec<AuditEvent>) -> BoxFuture<'_, Result<(), StoreError>> {
        let r = (|| {
            let mut conn = self.conn();
            let tx = conn.transaction().map_err(err)?;
            for e in &events {
                let event = serde_json::to_string(e)
                    .map_err(|x| StoreError(format!("cannot encode an audit event: {x}")))?;
                tx.execute(
                    "INSERT INTO audit (at, env, resource, action, reason, actor, outcome, event) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![ts(e.at), e.env, e.resource, e.action.to_string(), e.reason, e.actor, e.outcome.to_string(), event],
                )
                .map_err(err)?;
            }
            tx.commit().map_err(err)
        })();
        async move { r }.boxed()
    }

    fn audit(
        &self,
        env: Option<&str>,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<AuditEvent>, StoreError>> {
        let r = self.audit_rows(
            "SELECT at, env, resource, action, reason, actor, outcome, event FROM audit
             WHERE ?1 IS NULL OR env = ?1 ORDER BY id DESC LIMIT ?2",
            params![env, limit as i64],
        );
        async move { r }.boxed()
    }

    fn audit_since(
        &self,
        env: &str,
        since: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Vec<AuditEvent>, StoreError>> {
        // Stored times are RFC 3339 UTC with milliseconds: text order is time order.
        let r = self.audit_rows(
            "SELECT at, env, resource, action, reason, actor, outcome, event FROM audit
             WHERE env = ?1 AND at >= ?2 ORDER BY at, id",
            params![env, ts(since)],
        );
        async move { r }.boxed()
    }

    fn acquire_lease(
        &self,
        env: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<bool, StoreError>> {
        let r = self
            .conn()
            .execute(
                "INSERT INTO leases (env, holder, until) VALUES (?1, ?2, ?3)
                 ON CONFLICT (env) DO UPDATE SET holder = ?2, until = ?3
                 WHERE leases.holder = ?2 OR leases.until <= ?4",
                params![env, holder, ts(until), ts(now)],
            )
            .map(|changed| changed == 1)
            .map_err(err);
        async move { r }.boxed()
    }

    fn renew_lease(
        &self,
        env: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<bool, StoreError>> {
        let r = self
            .conn()
            .execute(
                "UPDATE leases SET until = ?3 WHERE env = ?1 AND holder = ?2 AND until > ?4",
                params![env, holder, ts(until), ts(now)],
            )
            .map(|changed| changed == 1)
            .map_err(err);
        async move { r }.boxed()
    }

    fn lease_holder(
        &self,
        env: &str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<LeaseHolder>, StoreError>> {
        let r = (|| {
            let row: Option<(String, String)> = self
                .conn()
                .query_row(
                    "SELECT holder, until FROM leases WHERE env = ?1 AND until > ?2",
                    params![env, ts(now)],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(err)?;
            row.map(|(holder, u)| {
                Ok(LeaseHolder {
                    holder,
                    until: parse_ts(&u)?,
                })
            })
            .transpose()
        })();
        async move { r }.boxed()
    }

    fn release_lease(&self, env: &str, holder: &str) -> BoxFuture<'_, Result<(), StoreError>> {
        let r = self
            .conn()
            .execute(
                "DELETE FROM leases WHERE env = ?1 AND holder = ?2",
                params![env, holder],
            )
            .map(|_| ())
            .map_err(err);
        async move { r }.boxed()
    }

    fn cache_get(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<String>, StoreError>> {
        let r = self
            .conn()
            .query_row(
                "SELECT value FROM cache WHERE key = ?1 AND expires > ?2",
                params![key, ts(now)],
                |r| r.get(0),
            )
            .optional()
            .map_err(err);
        async move { r }.boxed()
    }

    fn cache_put(
        &self,
        key: &str,
        value: &str,
        expires: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        let r = self
            .conn()
            .execute(
                "INSERT INTO cache (key, value, expires) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET value = ?2, expires = ?3",
                params![key, value, ts(expires)],
            )
            .map(|_| ())
            .map_err(err);
        async move { r }.boxed()
    }
}
