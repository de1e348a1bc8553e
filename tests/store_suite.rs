//! The store's behaviour, as one suite every implementation must pass: SQLite, and DynamoDB
//! against moto.

mod support;

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use lightsout::aws::DynamoStore;
use lightsout::model::{Hold, Override};
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
        action: "set desired count 0".into(),
        reason: "asleep".into(),
        actor: "schedule".into(),
        outcome: "ok".into(),
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
}

#[tokio::test]
async fn sqlite_store_passes_the_suite() {
    suite(Arc::new(SqliteStore::in_memory().unwrap())).await;
}

/// The SQLite file keeps overrides and the audit trail across a restart.
#[tokio::test]
async fn sqlite_store_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    {
        let s = SqliteStore::open(&path).unwrap();
        s.put_override(wake("staging", "2026-12-02T22:00:00Z", 2, "alice"))
            .await
            .unwrap();
    }
    let s = SqliteStore::open(&path).unwrap();
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
