//! The store's behaviour, as one suite every implementation must pass: SQLite, and DynamoDB
//! against moto.

use crate::support;

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use lightsout::aws::DynamoStore;
use lightsout::model::{Action, Effect, Hold, Outcome, Override};
use lightsout::store::{AuditEvent, Put, SqliteStore, Store};

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn wake(env: &str, from: &str, hours: i64, by: &str) -> Override {
    Override {
        env: env.into(),
        hold: Hold::Awake,
        created: t(from),
        until: t(from) + TimeDelta::hours(hours),
        by: by.into(),
        reason: "test".into(),
    }
}

/// The behaviour every store must have.
async fn suite(store: Arc<dyn Store>) {
    let now = t("2026-12-02T22:00:00Z");
    // Overrides: stored, later end wins, a shorter one does not cut it, expiry, clearing.
    assert!(
        store
            .active_override("staging", now)
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        store
            .put_override(wake("staging", "2026-12-02T22:00:00Z", 2, "alice"))
            .await
            .unwrap(),
        Put::Stored(_)
    ));
    let kept = store
        .put_override(wake("staging", "2026-12-02T22:00:00Z", 1, "bob"))
        .await
        .unwrap();
    assert!(matches!(&kept, Put::KeptLater(o) if o.by == "alice"));
    let longer = store
        .put_override(wake("staging", "2026-12-02T22:00:00Z", 3, "bob"))
        .await
        .unwrap();
    assert!(matches!(&longer, Put::Stored(o) if o.by == "bob"));
    assert_eq!(
        store
            .active_override("staging", now)
            .await
            .unwrap()
            .unwrap()
            .until,
        t("2026-12-03T01:00:00Z")
    );
    assert!(
        store
            .active_override("staging", t("2026-12-03T01:00:00Z"))
            .await
            .unwrap()
            .is_none(),
        "ends at until"
    );
    assert!(
        store
            .active_override("preview", now)
            .await
            .unwrap()
            .is_none(),
        "per environment"
    );
    // An asleep request replaces an awake one whatever their ends.
    let asleep = Override {
        hold: Hold::Asleep,
        ..wake("staging", "2026-12-02T22:30:00Z", 1, "carol")
    };
    assert!(matches!(
        store.put_override(asleep).await.unwrap(),
        Put::Stored(_)
    ));
    let ended = store
        .clear_override("staging", t("2026-12-02T22:40:00Z"))
        .await
        .unwrap();
    assert_eq!(ended.map(|o| o.by), Some("carol".to_string()));
    assert!(
        store
            .active_override("staging", t("2026-12-02T22:40:00Z"))
            .await
            .unwrap()
            .is_none()
    );

    // Audit: newest first, per environment, limited.
    let ev = |i: i64, env: &str| AuditEvent {
        at: now + TimeDelta::seconds(i),
        env: env.into(),
        resource: format!("ecs:c/s{i}"),
        action: Action::Steps {
            effect: Some(Effect::Sleep),
            steps: vec!["set desired count 0".into()],
            not_made: Vec::new(),
        },
        reason: "asleep".into(),
        actor: "schedule".into(),
        outcome: Outcome::Ok,
    };
    store
        .record(vec![ev(1, "staging"), ev(2, "preview"), ev(3, "staging")])
        .await
        .unwrap();
    let got = store.audit(Some("staging"), 10).await.unwrap();
    assert_eq!(got, vec![ev(3, "staging"), ev(1, "staging")]);
    assert_eq!(store.audit(None, 2).await.unwrap().len(), 2);

    // Leases: one holder at a time, renewable by its holder, free once expired or released.
    let until = now + TimeDelta::minutes(5);
    assert!(
        store
            .acquire_lease("staging", "a", now, until)
            .await
            .unwrap()
    );
    assert!(
        !store
            .acquire_lease("staging", "b", now, until)
            .await
            .unwrap()
    );
    assert!(
        store
            .acquire_lease("staging", "a", now, until)
            .await
            .unwrap(),
        "renewal"
    );
    assert!(
        store
            .acquire_lease("staging", "b", until, until + TimeDelta::minutes(5))
            .await
            .unwrap(),
        "expired"
    );
    // Renewal: only by the holder, and only while the lease has not lapsed.
    let later = until + TimeDelta::minutes(5);
    assert!(
        store
            .renew_lease(
                "staging",
                "b",
                until + TimeDelta::minutes(1),
                later + TimeDelta::minutes(1)
            )
            .await
            .unwrap(),
        "the holder renews"
    );
    assert!(
        !store
            .renew_lease("staging", "a", until + TimeDelta::minutes(1), later)
            .await
            .unwrap(),
        "another copy cannot renew"
    );
    assert_eq!(
        store
            .lease_holder("staging", until + TimeDelta::minutes(2))
            .await
            .unwrap()
            .map(|l| l.holder)
            .as_deref(),
        Some("b")
    );
    assert!(
        !store
            .renew_lease(
                "staging",
                "b",
                later + TimeDelta::minutes(2),
                later + TimeDelta::minutes(9)
            )
            .await
            .unwrap(),
        "a lapsed lease is not renewed, even by its holder"
    );
    assert!(
        store
            .lease_holder("staging", later + TimeDelta::minutes(2))
            .await
            .unwrap()
            .is_none()
    );
    store.release_lease("staging", "a").await.unwrap();
    assert!(
        !store
            .acquire_lease("staging", "a", until, until)
            .await
            .unwrap(),
        "only the holder releases"
    );
    store.release_lease("staging", "b").await.unwrap();
    assert!(
        store
            .acquire_lease("staging", "a", until, until + TimeDelta::minutes(1))
            .await
            .unwrap()
    );

    // Every audit event since an instant, oldest first, however many: 1,200 events (more than
    // DynamoDB gives in one page of the store's reads) of two environments.
    let base = t("2026-10-01T00:00:00Z");
    let many: Vec<AuditEvent> = (0..1200)
        .map(|i| AuditEvent {
            at: base + TimeDelta::minutes(i),
            env: if i % 3 == 0 { "other" } else { "bulk" }.into(),
            resource: format!("ecs:c/s{}", i % 7),
            action: Action::Sleep {
                until: Some(base + TimeDelta::minutes(i + 30)),
                idle: None,
            },
            reason: String::new(),
            actor: "schedule".into(),
            outcome: Outcome::Ok,
        })
        .collect();
    for chunk in many.chunks(100) {
        store.record(chunk.to_vec()).await.unwrap();
    }
    let since = base + TimeDelta::minutes(150);
    let got = store.audit_since("bulk", since).await.unwrap();
    let want: Vec<&AuditEvent> = many
        .iter()
        .filter(|e| e.env == "bulk" && e.at >= since)
        .collect();
    assert_eq!(got.len(), want.len());
    assert_eq!(got.len(), 700);
    assert!(got.windows(2).all(|w| w[0].at <= w[1].at), "oldest first");
    assert_eq!(
        got[0].at,
        since + TimeDelta::minutes(1),
        "150 is the other env's"
    );
    assert!(got.iter().all(|e| e.env == "bulk"));
    assert!(store.audit_since("nobody", base).await.unwrap().is_empty());

    // Cache: expires.
    store
        .cache_put("ce:2026-12", "{\"usd\":1}", now + TimeDelta::hours(1))
        .await
        .unwrap();
    assert_eq!(
        store.cache_get("ce:2026-12", now).await.unwrap().as_deref(),
        Some("{\"usd\":1}")
    );
    assert!(
        store
            .cache_get("ce:2026-12", now + TimeDelta::hours(1))
            .await
            .unwrap()
            .is_none()
    );

    // Claims: the first one wins, a second is refused until it expires, keys are independent.
    let later = now + TimeDelta::minutes(10);
    assert!(store.claim_once("slack:v0=abc", now, later).await.unwrap());
    assert!(
        !store
            .claim_once("slack:v0=abc", now + TimeDelta::minutes(5), later)
            .await
            .unwrap(),
        "a replay inside the window is refused"
    );
    assert!(store.claim_once("slack:v0=def", now, later).await.unwrap());
    assert!(
        store
            .claim_once("slack:v0=abc", later, later + TimeDelta::minutes(10))
            .await
            .unwrap(),
        "an expired claim can be made again"
    );
    store.health().await.unwrap();
}

#[tokio::test]
async fn sqlite_store_passes_the_suite() {
    suite(Arc::new(SqliteStore::in_memory().unwrap())).await;
}

/// The SQLite file keeps overrides, the audit trail and claims across a restart.
#[tokio::test]
async fn sqlite_store_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    {
        let s = SqliteStore::open(&path).unwrap();
        s.put_override(wake("staging", "2026-12-02T22:00:00Z", 2, "alice"))
            .await
            .unwrap();
        assert!(
            s.claim_once(
                "slack:v0=before-the-restart",
                t("2026-12-02T22:00:00Z"),
                t("2026-12-02T22:10:00Z")
            )
            .await
            .unwrap()
        );
    }
    let s = SqliteStore::open(&path).unwrap();
    assert!(
        !s.claim_once(
            "slack:v0=before-the-restart",
            t("2026-12-02T22:01:00Z"),
            t("2026-12-02T22:10:00Z")
        )
        .await
        .unwrap(),
        "a claim made before the restart still holds"
    );
    let ov = s
        .active_override("staging", t("2026-12-02T23:00:00Z"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ov.by, "alice");
    suite(Arc::new(
        SqliteStore::open(&dir.path().join("fresh.db")).unwrap(),
    ))
    .await;
}

/// An unwritable path is a clear error, not a panic.
#[test]
fn unopenable_store_names_the_path() {
    let e = SqliteStore::open(std::path::Path::new("/nonexistent/dir/state.db"))
        .err()
        .unwrap();
    assert!(e.to_string().contains("/nonexistent/dir/state.db"), "{e}");
}

#[tokio::test]
async fn dynamodb_store_passes_the_suite() {
    let moto = support::Moto::start();
    let client = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    DynamoStore::create_table(&client, "lightsout")
        .await
        .unwrap();
    suite(Arc::new(DynamoStore::new(client, "lightsout"))).await;
}

/// Many wakes at once through DynamoDB's conditional writes leave one override: the latest end.
#[tokio::test]
async fn dynamodb_concurrent_wakes_leave_the_latest_end() {
    let moto = support::Moto::start();
    let client = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    DynamoStore::create_table(&client, "lightsout")
        .await
        .unwrap();
    let store = Arc::new(DynamoStore::new(client, "lightsout"));
    let wakes = (1..=8).map(|h| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .put_override(wake(
                    "staging",
                    "2026-12-02T22:00:00Z",
                    h,
                    &format!("dev{h}"),
                ))
                .await
                .unwrap()
        })
    });
    for w in wakes {
        w.await.unwrap();
    }
    let ov = store
        .active_override("staging", t("2026-12-02T22:00:00Z"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (ov.by.as_str(), ov.until),
        ("dev8", t("2026-12-03T06:00:00Z"))
    );
}

/// A table that does not exist is a StoreError naming DynamoDB, not a panic.
#[tokio::test]
async fn dynamodb_missing_table_is_an_error() {
    let moto = support::Moto::start();
    let client = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    let e = DynamoStore::new(client, "absent")
        .active_override("staging", t("2026-12-02T22:00:00Z"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("DynamoDB GetItem"), "{e}");
}

/// Audit rows written before the trail was typed (text only) still read, as typed events, from
/// a SQLite file of the old schema.
#[tokio::test]
async fn sqlite_reads_audit_rows_from_before_the_typed_trail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, env TEXT NOT NULL,
                 resource TEXT NOT NULL, action TEXT NOT NULL, reason TEXT NOT NULL,
                 actor TEXT NOT NULL, outcome TEXT NOT NULL);
             INSERT INTO audit (at, env, resource, action, reason, actor, outcome) VALUES
               ('2026-11-20T19:00:00.000Z', 'staging', 'rds:db', 'tag lightsout:slept-at=x; StopDBInstance', 'asleep', 'schedule', 'ok'),
               ('2026-11-20T22:00:00.000Z', 'staging', '', 'wake for 2h', 'fix', 'alice', 'ok: awake until 2026-11-21 00:00:00 UTC');",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let got = store.audit(Some("staging"), 10).await.unwrap();
    assert_eq!(
        got[0].action,
        Action::Wake {
            asked: "2h".into(),
            until: t("2026-11-21T00:00:00Z"),
            kept: false
        }
    );
    assert_eq!(got[1].action.effect(), Some(Effect::Sleep));
    assert!(got[1].outcome.is_ok());
    // New rows are typed, beside the old ones.
    let new = AuditEvent {
        at: t("2026-11-21T07:00:00Z"),
        env: "staging".into(),
        resource: "rds:db".into(),
        action: Action::Steps {
            effect: Some(Effect::Wake),
            steps: vec!["StartDBInstance".into()],
            not_made: Vec::new(),
        },
        reason: "awake".into(),
        actor: "schedule".into(),
        outcome: Outcome::Ok,
    };
    store.record(vec![new.clone()]).await.unwrap();
    let got = store.audit(Some("staging"), 10).await.unwrap();
    assert_eq!(got.len(), 3);
    assert_eq!(got[0], new);
}

/// Likewise for DynamoDB items without the typed `event` attribute.
#[tokio::test]
async fn dynamodb_reads_audit_items_from_before_the_typed_trail() {
    use aws_sdk_dynamodb::types::AttributeValue::S;
    let moto = support::Moto::start();
    let client = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    DynamoStore::create_table(&client, "lightsout")
        .await
        .unwrap();
    client
        .put_item()
        .table_name("lightsout")
        .item("pk", S("audit#staging".into()))
        .item("sk", S("2026-11-20T19:00:00.000Z#staging#00000000".into()))
        .item("at", S("2026-11-20T19:00:00.000Z".into()))
        .item("env", S("staging".into()))
        .item("resource", S("ecs:app/backend".into()))
        .item(
            "action",
            S("tag lightsout:desired-count=2; set desired count 0".into()),
        )
        .item("reason", S("asleep".into()))
        .item("actor", S("schedule".into()))
        .item(
            "outcome",
            S("failed: UpdateService failed: ThrottlingException: slow down".into()),
        )
        .send()
        .await
        .unwrap();
    let store = DynamoStore::new(client, "lightsout");
    let got = store.audit(Some("staging"), 10).await.unwrap();
    assert_eq!(got[0].action.effect(), Some(Effect::Sleep));
    assert_eq!(
        got[0].outcome,
        Outcome::Failed("UpdateService failed: ThrottlingException: slow down".into())
    );
}

/// Another process writing to the same SQLite file every 100 ms (holding its write lock 30 ms
/// each time) makes no wake fail: writes wait for the lock (the busy timeout) instead of failing
/// with "database is locked".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writes_wait_for_another_writer_instead_of_failing() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let store = SqliteStore::open(&path).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let other = {
        let (path, stop) = (path.clone(), stop.clone());
        std::thread::spawn(move || {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.busy_timeout(std::time::Duration::from_secs(5))
                .unwrap();
            let mut writes = 0;
            while !stop.load(Ordering::Relaxed) {
                conn.execute_batch(
                    "BEGIN IMMEDIATE; INSERT INTO cache (key, value, expires) VALUES ('other', 'x', 'z')
                     ON CONFLICT (key) DO UPDATE SET value = value || 'x';",
                )
                .unwrap();
                // The write lock is held for 30 ms of every 100.
                std::thread::sleep(std::time::Duration::from_millis(30));
                conn.execute_batch("COMMIT").unwrap();
                writes += 1;
                std::thread::sleep(std::time::Duration::from_millis(70));
            }
            writes
        })
    };
    let mut failures = Vec::new();
    for i in 0..200i64 {
        let from = t("2026-12-02T22:00:00Z") + TimeDelta::seconds(i);
        let ov = Override {
            created: from,
            until: from + TimeDelta::hours(1),
            ..wake("staging", "2026-12-02T22:00:00Z", 1, "alice")
        };
        if let Err(e) = store.put_override(ov).await {
            failures.push(format!("put_override {i}: {e}"));
        }
        let ev = AuditEvent {
            at: from,
            env: "staging".into(),
            resource: String::new(),
            action: Action::Wake {
                asked: "1h".into(),
                until: from + TimeDelta::hours(1),
                kept: false,
            },
            reason: "contention".into(),
            actor: "alice".into(),
            outcome: Outcome::Ok,
        };
        if let Err(e) = store.record(vec![ev]).await {
            failures.push(format!("record {i}: {e}"));
        }
        // Paced like a busy day's requests, so the 200 wakes meet some 20 of the other
        // writer's locks.
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    stop.store(true, Ordering::Relaxed);
    let writes = other.join().unwrap();
    assert!(writes > 0, "the other writer wrote");
    assert!(
        failures.is_empty(),
        "{} failures: {failures:#?}",
        failures.len()
    );
    assert_eq!(store.audit(Some("staging"), 1000).await.unwrap().len(), 200);
}

/// The SQLite file removed (or replaced) while lightsout runs: every call fails loudly, naming
/// the file, instead of writing to a file nobody will ever open again.
#[tokio::test]
async fn sqlite_store_notices_its_file_was_removed_or_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let store = SqliteStore::open(&path).unwrap();
    store
        .put_override(wake("staging", "2026-12-02T22:00:00Z", 2, "alice"))
        .await
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    let e = store
        .put_override(wake("staging", "2026-12-02T22:00:00Z", 3, "bob"))
        .await
        .expect_err("a write to a removed store file must fail");
    assert!(e.to_string().contains("state.db"), "{e}");
    assert!(e.to_string().contains("removed"), "{e}");
    assert!(store.health().await.is_err(), "health says so too");
    assert!(
        store
            .active_override("staging", t("2026-12-02T22:00:00Z"))
            .await
            .is_err()
    );

    // Replaced by another file at the same path: also refused.
    let replaced = dir.path().join("other.db");
    let other = SqliteStore::open(&replaced).unwrap();
    let store = SqliteStore::open(&dir.path().join("again.db")).unwrap();
    drop(other);
    std::fs::rename(&replaced, dir.path().join("again.db")).unwrap();
    let e = store
        .record(Vec::new())
        .await
        .expect_err("a store whose file was replaced must refuse");
    assert!(e.to_string().contains("replaced"), "{e}");
}
