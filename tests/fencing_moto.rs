//! Two copies of lightsout on one store (a SQLite file, and DynamoDB in moto), one environment,
//! and a proxy that holds one copy's `UpdateService` calls: the lease fences the copies, so
//! nothing is lost and nothing is done twice, even when the first copy stalls past its lease.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::future::{BoxFuture, FutureExt};
use lightsout::aws::{AwsCloud, DynamoStore};
use lightsout::clock::ManualClock;
use lightsout::config;
use lightsout::model::Config;
use lightsout::model::Override;
use lightsout::service::{LeaseTiming, Service};
use lightsout::store::{AuditEvent, LeaseHolder, Put, SqliteStore, Store, StoreError};
use support::proxy::{Fault, FaultProxy, Rule};
use support::{Moto, STAGING};

fn night() -> DateTime<Utc> {
    "2026-12-02T22:00:00Z".parse().unwrap()
}

/// A copy whose AWS calls go to `endpoint` with 1-second attempts and 3-second calls, renewing
/// its 5-minute lease every 100 ms.
async fn copy(
    endpoint: &str,
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    name: &str,
) -> Arc<Service<AwsCloud>> {
    let cfg = Config {
        environments: vec![
            config::parse_str(std::path::Path::new("staging.toml"), STAGING).unwrap(),
        ],
    };
    let sdk =
        support::sdk_config_timeouts(endpoint, 2, Duration::from_secs(1), Duration::from_secs(3))
            .await;
    let mut app = Service::new(cfg, AwsCloud::new(sdk), store, clock, name.into());
    app.lease = LeaseTiming {
        ttl: TimeDelta::minutes(5),
        renew_every: Duration::from_millis(100),
        margin: TimeDelta::seconds(10),
    };
    Arc::new(app)
}

/// A store whose lease renewals can be made to hang: a copy that is stalled (paused, cut off
/// from its store) while its other work goes on.
struct Stalling {
    inner: Arc<dyn Store>,
    stalled: AtomicBool,
}

impl Store for Stalling {
    fn active_override(
        &self,
        env: &str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<Override>, StoreError>> {
        self.inner.active_override(env, now)
    }
    fn put_override(&self, ov: Override) -> BoxFuture<'_, Result<Put, StoreError>> {
        self.inner.put_override(ov)
    }
    fn clear_override(
        &self,
        env: &str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<Override>, StoreError>> {
        self.inner.clear_override(env, now)
    }
    fn record(&self, events: Vec<AuditEvent>) -> BoxFuture<'_, Result<(), StoreError>> {
        self.inner.record(events)
    }
    fn audit(
        &self,
        env: Option<&str>,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<AuditEvent>, StoreError>> {
        self.inner.audit(env, limit)
    }
    fn audit_since(
        &self,
        env: &str,
        since: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Vec<AuditEvent>, StoreError>> {
        self.inner.audit_since(env, since)
    }
    fn acquire_lease(
        &self,
        env: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<bool, StoreError>> {
        self.inner.acquire_lease(env, holder, now, until)
    }
    fn renew_lease(
        &self,
        env: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<bool, StoreError>> {
        if self.stalled.load(Ordering::SeqCst) {
            return std::future::pending().boxed();
        }
        self.inner.renew_lease(env, holder, now, until)
    }
    fn lease_holder(
        &self,
        env: &str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<LeaseHolder>, StoreError>> {
        self.inner.lease_holder(env, now)
    }
    fn release_lease(&self, env: &str, holder: &str) -> BoxFuture<'_, Result<(), StoreError>> {
        self.inner.release_lease(env, holder)
    }
    fn cache_get(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<String>, StoreError>> {
        self.inner.cache_get(key, now)
    }
    fn cache_put(
        &self,
        key: &str,
        value: &str,
        expires: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        self.inner.cache_put(key, value, expires)
    }
    fn claim_once(
        &self,
        key: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<bool, StoreError>> {
        self.inner.claim_once(key, now, expires)
    }
}

/// Waits (bounded) until `f` holds.
async fn until(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..600 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not within 30 s: {what}");
}

/// The scenario of the issue: copy A has written the count tags and its `UpdateService` calls
/// are held; A stalls past its lease; copy B takes the lease, wakes staging for a developer and
/// clears the tags; then A's held calls are let go. Nothing may reach AWS from A after it lost
/// the lease: the services keep their counts, the databases run, B's wake stands.
async fn scenario(moto: &Moto, store_a: Arc<Stalling>, store_b: Arc<dyn Store>) {
    let proxy = FaultProxy::start(&moto.endpoint, 1).await;
    proxy.add(Rule::always("UpdateService", Fault::Hold));
    let clock = Arc::new(ManualClock::new(night()));
    let a = copy(&proxy.endpoint, store_a.clone(), clock.clone(), "a").await;
    let b = copy(&moto.endpoint, store_b.clone(), clock.clone(), "b").await;
    moto.start_recording();

    let a_pass = tokio::spawn({
        let a = a.clone();
        async move { a.reconcile_all().await }
    });
    until("A's UpdateService calls are held", || proxy.held() >= 2).await;

    // A stalls: it can no longer renew, and time runs past its lease.
    store_a.stalled.store(true, Ordering::SeqCst);
    clock.set(night() + TimeDelta::minutes(6));

    // B: a developer wakes staging; B takes the lapsed lease and acts on the wake.
    let env = b.config.environments[0].clone();
    b.wake(&env, "bob", "2h", "late fix").await.unwrap();
    let rb = b.reconcile_all().await;
    assert_eq!(
        rb.reports.len(),
        1,
        "B took the lapsed lease and acted: {rb:?}"
    );
    assert!(!rb.reports[0].failed(), "{:#?}", rb.reports[0]);

    // A sees its lease is gone, abandons its held calls and stops.
    let ra = tokio::time::timeout(Duration::from_secs(30), a_pass)
        .await
        .expect("A stops within 30 s of losing its lease")
        .unwrap();
    let a_report = &ra.reports[0];
    for service in [
        "ecs:app-staging-cluster/backend",
        "ecs:app-staging-cluster/frontend",
    ] {
        let item = a_report
            .items
            .iter()
            .find(|i| i.item.resource.to_string() == service)
            .unwrap();
        assert!(
            matches!(&item.outcome, Some(lightsout::engine::Outcome::Deferred(why)) if why.contains("lease lost")),
            "{service}: {item:?}"
        );
    }

    // A gave its held calls up: their connections are closed (waited for, bounded: the close
    // reaches the proxy a moment after A's pass returns, later on a loaded machine).
    until("A's held calls are abandoned (connections closed)", || {
        proxy.holding() == 0
    })
    .await;
    // Now the held calls are let go: they must not reach AWS.
    proxy.release();
    for _ in 0..20 {
        assert!(
            proxy.forwarded_after_hold().is_empty(),
            "a held call of A reached AWS after A lost its lease: {:?}",
            proxy.forwarded_after_hold()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let counts = moto.recorded_counts();
    let n = |op: &str| counts.get(op).copied().unwrap_or(0);
    assert_eq!(n("UpdateService"), 0, "{counts:?}");
    assert_eq!(n("StopDBInstance") + n("StopDBCluster"), 0, "{counts:?}");
    let sdk = moto.sdk_config().await;
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    let (backend, tags) = support::service_state(&ecs, "app-staging-cluster", "backend").await;
    assert_eq!(backend, 2, "backend keeps its count");
    let aas = aws_sdk_applicationautoscaling::Client::new(&sdk);
    assert_eq!(
        support::bounds(&aas, "service/app-staging-cluster/backend").await,
        (1, 4),
        "B restored the bounds A had set to 0/0"
    );
    assert!(
        !tags.keys().any(|k| k.starts_with("lightsout:")),
        "B cleared the records: {tags:?}"
    );
    assert_eq!(
        support::service_state(&ecs, "app-staging-cluster", "frontend")
            .await
            .0,
        1
    );
    let rds = aws_sdk_rds::Client::new(&sdk);
    assert_eq!(
        support::db_status(&rds, "app-staging-db").await,
        "available"
    );
    assert!(
        store_b
            .active_override("staging", night() + TimeDelta::minutes(7))
            .await
            .unwrap()
            .is_some(),
        "B's wake stands"
    );

    // The audit trail stamps each action with the time it was made: A's tags at 22:00, B's
    // clearing at 22:06; nothing claims A scaled anything down.
    let audit = store_b.audit(Some("staging"), 100).await.unwrap();
    let by = |actor: &str| -> Vec<&AuditEvent> {
        audit
            .iter()
            .filter(|e| e.actor.starts_with(actor) && !e.resource.is_empty())
            .collect()
    };
    for e in by("schedule (override by bob)") {
        assert_eq!(e.at, night() + TimeDelta::minutes(6), "{e:?}");
        assert!(e.outcome.is_ok(), "{e:?}");
    }
    assert!(!by("schedule (override by bob)").is_empty(), "{audit:#?}");
    for e in audit.iter().filter(|e| e.actor == "schedule") {
        assert_eq!(e.at, night(), "{e:?}");
        assert!(
            e.outcome.to_string().starts_with("partial: lease lost"),
            "{e:?}"
        );
    }
}

/// On a SQLite file shared by both copies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_copy_is_fenced_on_sqlite() {
    let moto = Moto::start();
    moto.seed();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let a = Arc::new(Stalling {
        inner: Arc::new(SqliteStore::open(&path).unwrap()),
        stalled: AtomicBool::new(false),
    });
    let b: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
    scenario(&moto, a, b).await;
}

/// On one DynamoDB table (moto).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_copy_is_fenced_on_dynamodb() {
    let moto = Moto::start();
    moto.seed();
    let client = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    DynamoStore::create_table(&client, "lightsout")
        .await
        .unwrap();
    let a = Arc::new(Stalling {
        inner: Arc::new(DynamoStore::new(client.clone(), "lightsout")),
        stalled: AtomicBool::new(false),
    });
    let b: Arc<dyn Store> = Arc::new(DynamoStore::new(client, "lightsout"));
    scenario(&moto, a, b).await;
}

/// A copy whose calls are held but which is otherwise healthy keeps renewing its lease: the
/// other copy cannot act while it runs. Its held calls time out and fail (the count tags were
/// written first, so nothing is lost); once its pass ends the other copy acts, and the calls
/// that were held never arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_with_held_calls_keeps_its_lease_and_its_calls_time_out() {
    let moto = Moto::start();
    moto.seed();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let proxy = FaultProxy::start(&moto.endpoint, 1).await;
    proxy.add(Rule::always("UpdateService", Fault::Hold));
    let clock = Arc::new(ManualClock::new(night()));
    let a = copy(
        &proxy.endpoint,
        Arc::new(SqliteStore::open(&path).unwrap()),
        clock.clone(),
        "a",
    )
    .await;
    let b = copy(
        &moto.endpoint,
        Arc::new(SqliteStore::open(&path).unwrap()),
        clock.clone(),
        "b",
    )
    .await;
    let a_pass = tokio::spawn({
        let a = a.clone();
        async move { a.reconcile_all().await }
    });
    until("A's UpdateService calls are held", || proxy.held() >= 2).await;
    let env = b.config.environments[0].clone();
    b.wake(&env, "bob", "2h", "").await.unwrap();
    let rb = b.reconcile_all().await;
    assert!(
        rb.reports.is_empty(),
        "B must not act while A holds the lease: {rb:?}"
    );
    assert_eq!(rb.skipped.len(), 1);
    let ra = tokio::time::timeout(Duration::from_secs(30), a_pass)
        .await
        .expect("A's held calls time out")
        .unwrap();
    let failed: Vec<String> = ra.reports[0]
        .items
        .iter()
        .filter_map(|i| match &i.outcome {
            Some(lightsout::engine::Outcome::Failed(e)) => Some(e.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 2, "{:#?}", ra.reports[0]);
    assert!(
        failed[0].contains("UpdateService failed") && failed[0].contains("timed out"),
        "{failed:?}"
    );
    // Now B acts: a wake.
    let rb = b.reconcile_all().await;
    assert_eq!(rb.reports.len(), 1, "{rb:?}");
    proxy.release();
    for _ in 0..20 {
        assert!(
            proxy.forwarded_after_hold().is_empty(),
            "{:?}",
            proxy.forwarded_after_hold()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sdk = moto.sdk_config().await;
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    assert_eq!(
        support::service_state(&ecs, "app-staging-cluster", "backend")
            .await
            .0,
        2
    );
}
