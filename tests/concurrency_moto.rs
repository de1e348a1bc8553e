//! Two copies of lightsout on one DynamoDB store (moto) and one environment: the lease lets one
//! act at a time, every action happens once, nothing flaps; simultaneous wakes and a sleep leave
//! one consistent override.

use crate::support;

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use lightsout::api::auth::Tokens;
use lightsout::aws::{AwsCloud, DynamoStore};
use lightsout::clock::ManualClock;
use lightsout::config;
use lightsout::model::Config;
use lightsout::model::Hold;
use lightsout::store::Store;
use support::{Moto, STAGING, is_write};

async fn copy(
    moto: &Moto,
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    name: &str,
) -> Arc<lightsout::api::ApiState<AwsCloud>> {
    let cfg = Config {
        environments: vec![
            config::parse_str(std::path::Path::new("staging.toml"), STAGING).unwrap(),
        ],
    };
    let mut app = lightsout::api::ApiState::new(
        Arc::new(lightsout::service::Service::new(
            cfg,
            AwsCloud::new(moto.sdk_config().await),
            store,
            clock,
            name.into(),
        )),
        Tokens::parse("alice alice-token-0123456789").unwrap(),
    );
    // 30 requests from one identity in this test: the limiter is not what it is about.
    app.limiter = lightsout::api::auth::RateLimiter::new(100, 1000);
    Arc::new(app)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_copies_on_one_store_act_once_and_do_not_flap() {
    let moto = Moto::start();
    moto.seed();
    let sdk = moto.sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    DynamoStore::create_table(&client, "lightsout")
        .await
        .unwrap();
    let store: Arc<dyn Store> = Arc::new(DynamoStore::new(client, "lightsout"));
    let night: DateTime<Utc> = "2026-12-02T22:00:00Z".parse().unwrap();
    let clock = Arc::new(ManualClock::new(night));
    let (a, b) = (
        copy(&moto, store.clone(), clock.clone(), "a").await,
        copy(&moto, store.clone(), clock.clone(), "b").await,
    );

    moto.start_recording();
    let mut reconciled = [0usize; 2];
    for round in 0..12 {
        // Night for six rounds, then morning.
        if round == 6 {
            clock.set("2026-12-03T06:05:00Z".parse().unwrap());
        }
        let (ra, rb) = tokio::join!(a.reconcile_all(), b.reconcile_all());
        reconciled[0] += ra.reports.len();
        reconciled[1] += rb.reports.len();
    }
    let writes: Vec<String> = moto
        .recorded_operations()
        .into_iter()
        .filter(|o| is_write(o))
        .collect();
    let count = |op: &str| writes.iter().filter(|o| o.as_str() == op).count();
    // One sleep and one wake of each resource, whichever copy did it.
    assert_eq!(count("UpdateService"), 4, "{writes:?}");
    assert_eq!(count("StopDBInstance"), 1, "{writes:?}");
    assert_eq!(count("StartDBInstance"), 1, "{writes:?}");
    assert_eq!(count("StopDBCluster"), 1, "{writes:?}");
    assert_eq!(count("StartDBCluster"), 1, "{writes:?}");
    assert_eq!(count("TagResource"), 2, "{writes:?}");
    assert_eq!(count("UntagResource"), 2, "{writes:?}");
    let audit = store.audit(Some("staging"), 1000).await.unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for e in &audit {
        assert!(e.outcome.is_ok(), "{e:?}");
        assert!(
            seen.insert((e.resource.clone(), e.action.to_string())),
            "action recorded twice: {e:?}"
        );
    }
    assert_eq!(audit.len(), 8, "{audit:#?}");
    println!(
        "passes reconciled by copy a: {}, by copy b: {} (the rest found the lease taken)",
        reconciled[0], reconciled[1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_wakes_and_a_sleep_leave_one_consistent_override() {
    let moto = Moto::start();
    let client = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    DynamoStore::create_table(&client, "lightsout")
        .await
        .unwrap();
    let store: Arc<dyn Store> = Arc::new(DynamoStore::new(client, "lightsout"));
    let night: DateTime<Utc> = "2026-12-02T22:00:00Z".parse().unwrap();
    let app = copy(
        &moto,
        store.clone(),
        Arc::new(ManualClock::new(night)),
        "api",
    )
    .await;
    let router = lightsout::api::router(app.clone());
    let post = |path: &'static str, body: &'static str| {
        let router = router.clone();
        async move {
            use tower::ServiceExt;
            let req = axum::http::Request::post(path)
                .header("authorization", "Bearer alice-token-0123456789")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body))
                .unwrap();
            router.oneshot(req).await.unwrap().status().as_u16()
        }
    };
    for _ in 0..10 {
        let (w1, w2, s) = tokio::join!(
            post("/v1/environments/staging/wake", r#"{"for": "2h"}"#),
            post("/v1/environments/staging/wake", r#"{"for": "3h"}"#),
            post("/v1/environments/staging/sleep", "")
        );
        assert_eq!((w1, w2, s), (202, 202, 202));
        // One override or none: never two, never a shorter one after a longer one was kept.
        if let Some(ov) = store.active_override("staging", night).await.unwrap() {
            assert_eq!(ov.hold, Hold::Awake);
            assert!(
                ov.until == night + TimeDelta::hours(2) || ov.until == night + TimeDelta::hours(3),
                "{ov:?}"
            );
        }
        store.clear_override("staging", night).await.unwrap();
    }
}
