//! The embedded store: one SQLite file (rusqlite, bundled), WAL mode, survives restarts.
//!
//! Calls are short and serialised behind one connection; they run inline on the async task,
//! which is fine at a daemon's request rates.
//!
//! Two things SQLite does not do by itself, done here:
//! - Every transaction that writes starts with `BEGIN IMMEDIATE`. A deferred transaction that
//!   reads, then writes, cannot wait for another writer (SQLite returns "database is locked" at
//!   once rather than risk a deadlock); an immediate one takes the write lock first and waits
//!   for it up to the busy timeout.
//! - Every call first checks that the file it opened is still the one at its path. A file removed
//!   (or replaced) while lightsout runs would otherwise keep taking writes into an unlinked inode
//!   that nobody opens again: every wake answered 202, then lost at the next restart.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::{BoxFuture, FutureExt};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::{AuditEvent, LeaseHolder, Put, Store, StoreError, parse_ts, ts};
use crate::model::{Hold, Override};

/// How long a write waits for another writer's lock before it fails.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The SQLite store.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// The file it opened, to notice it being removed or replaced (`None` in memory).
    file: Option<FileId>,
    /// Whether that was already logged (once is enough: every call says so in its error).
    lost_logged: AtomicBool,
}

/// A file's path and identity (device and inode) when it was opened.
struct FileId {
    path: PathBuf,
    id: (u64, u64),
}

fn identity(meta: &std::fs::Metadata) -> (u64, u64) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        (meta.dev(), meta.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        (0, 0)
    }
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

impl SqliteStore {
    /// Opens (creating if needed) the store file.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open(path)
            .map_err(|e| StoreError(format!("cannot open {}: {e}", path.display())))?;
        let mut store = Self::init(conn)?;
        let meta = std::fs::metadata(path)
            .map_err(|e| StoreError(format!("cannot open {}: {e}", path.display())))?;
        store.file = Some(FileId {
            path: path.to_path_buf(),
            id: identity(&meta),
        });
        Ok(store)
    }

    /// A store in memory, for tests and dry runs.
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        Self::init(Connection::open_in_memory().map_err(err)?)
    }

    fn init(conn: Connection) -> Result<SqliteStore, StoreError> {
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE IF NOT EXISTS overrides (
                 env TEXT PRIMARY KEY, hold TEXT NOT NULL, created TEXT NOT NULL,
                 until TEXT NOT NULL, by TEXT NOT NULL, reason TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS audit (
                 id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, env TEXT NOT NULL,
                 resource TEXT NOT NULL, action TEXT NOT NULL, reason TEXT NOT NULL,
                 actor TEXT NOT NULL, outcome TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS audit_env ON audit (env, id);
             CREATE TABLE IF NOT EXISTS leases (env TEXT PRIMARY KEY, holder TEXT NOT NULL, until TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS cache (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS once (key TEXT PRIMARY KEY, expires TEXT NOT NULL);",
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
            file: None,
            lost_logged: AtomicBool::new(false),
        })
    }

    /// The connection, once the file is known to still be the one it opened.
    fn conn(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.check_file()?;
        // A panic while holding the lock cannot leave SQLite half-written (transactions roll
        // back on drop), so a poisoned lock is still safe to use.
        Ok(self.conn.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Fails when the file at the store's path is gone or is another file than the one opened.
    fn check_file(&self) -> Result<(), StoreError> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let why = match std::fs::metadata(&file.path) {
            Ok(meta) if identity(&meta) == file.id => return Ok(()),
            Ok(_) => format!(
                "the store file {} was replaced by another file while lightsout was running; restart lightsout to use it",
                file.path.display()
            ),
            Err(e) => format!(
                "the store file {} was removed while lightsout was running ({e}); restore it or restart lightsout (which starts an empty store)",
                file.path.display()
            ),
        };
        if !self.lost_logged.swap(true, Ordering::Relaxed) {
            tracing::error!(store = %file.path.display(), "{why}: every request is refused until then");
        }
        Err(StoreError(why))
    }
}

/// A transaction that takes the write lock at its start, waiting up to the busy timeout for it.
fn write_tx(conn: &mut Connection) -> Result<Transaction<'_>, StoreError> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err)
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
        let conn = self.conn()?;
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
        let r = self
            .conn()
            .and_then(|c| read_override(&c, env))
            .map(|o| o.filter(|o| o.is_active(now)));
        async move { r }.boxed()
    }

    fn put_override(&self, ov: Override) -> BoxFuture<'_, Result<Put, StoreError>> {
        let r = (|| {
            let mut conn = self.conn()?;
            let tx = write_tx(&mut conn)?;
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
            let mut conn = self.conn()?;
            let tx = write_tx(&mut conn)?;
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
            let mut conn = self.conn()?;
            let tx = write_tx(&mut conn)?;
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
            .and_then(|c| {
                c.execute(
                    "INSERT INTO leases (env, holder, until) VALUES (?1, ?2, ?3)
                 ON CONFLICT (env) DO UPDATE SET holder = ?2, until = ?3
                 WHERE leases.holder = ?2 OR leases.until <= ?4",
                    params![env, holder, ts(until), ts(now)],
                )
                .map_err(err)
            })
            .map(|changed| changed == 1);
        async move { r }.boxed()
    }

    fn renew_lease(
        &self,
        env: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<bool, StoreError>> {
        let r =
            self.conn()
                .and_then(|c| {
                    c.execute(
                "UPDATE leases SET until = ?3 WHERE env = ?1 AND holder = ?2 AND until > ?4",
                params![env, holder, ts(until), ts(now)],
            ).map_err(err)
                })
                .map(|changed| changed == 1);
        async move { r }.boxed()
    }

    fn lease_holder(
        &self,
        env: &str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<LeaseHolder>, StoreError>> {
        let r = (|| {
            let row: Option<(String, String)> = self
                .conn()?
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
            .and_then(|c| {
                c.execute(
                    "DELETE FROM leases WHERE env = ?1 AND holder = ?2",
                    params![env, holder],
                )
                .map_err(err)
            })
            .map(|_| ());
        async move { r }.boxed()
    }

    fn cache_get(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<String>, StoreError>> {
        let r = self.conn().and_then(|c| {
            c.query_row(
                "SELECT value FROM cache WHERE key = ?1 AND expires > ?2",
                params![key, ts(now)],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)
        });
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
            .and_then(|c| {
                c.execute(
                    "INSERT INTO cache (key, value, expires) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET value = ?2, expires = ?3",
                    params![key, value, ts(expires)],
                )
                .map_err(err)
            })
            .map(|_| ());
        async move { r }.boxed()
    }

    fn claim_once(
        &self,
        key: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<bool, StoreError>> {
        let r = (|| {
            let mut conn = self.conn()?;
            let tx = write_tx(&mut conn)?;
            tx.execute("DELETE FROM once WHERE expires <= ?1", params![ts(now)])
                .map_err(err)?;
            let new = tx
                .execute(
                    "INSERT INTO once (key, expires) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
                    params![key, ts(expires)],
                )
                .map_err(err)?;
            tx.commit().map_err(err)?;
            Ok(new == 1)
        })();
        async move { r }.boxed()
    }

    fn health(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        let r = self.conn().and_then(|c| {
            c.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|_| ())
            .map_err(err)
        });
        async move { r }.boxed()
    }
}
