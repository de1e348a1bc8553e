//! The digest's "lightsout itself cost about $X this month" against moto: the counts the Lambda
//! recorded in the store (invocations, their duration, Cost Explorer requests) are the ones
//! priced, and a sleep still in progress (the store's progress record) is said in the digest.

use crate::support;

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use lightsout::aws::AwsCloud;
use lightsout::clock::ManualClock;
use lightsout::config::parse_str;
use lightsout::digest::running::count_run;
use lightsout::digest::{Digester, RunOptions};
use lightsout::kinds::{ResourceId, ServiceName};
use lightsout::model::{Config, Progress, Standing};
use lightsout::store::{SqliteStore, Store};
use support::Moto;

/// 08:30 in Berlin on Sunday 29 Nov 2026: the digest reports on Saturday the 28th.
fn now() -> DateTime<Utc> {
    "2026-11-29T07:30:00Z".parse().unwrap()
}

/// The month's recorded invocations are what the digest prices, and it says they were
/// recorded; an unfinished sleep reads as in progress.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_digest_prices_what_the_lambda_recorded_and_says_a_sleep_is_unfinished() {
    let moto = Moto::start();
    moto.seed();
    let env = parse_str(
        Path::new("staging.toml"),
        &format!(
            "{}\n[guard]\nrequire_tags = [\"Environment=staging\"]\n\n[digest]\nchannels = [\"stdout\"]\n",
            lightsout::digest::fixtures::STAGING_TOML
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    // 28 days of a Lambda every minute, 250 ms a pass, and 28 digests of 2 requests each.
    let at: DateTime<Utc> = "2026-11-28T23:59:00Z".parse().unwrap();
    count_run(&store, at, |t| {
        t.passes = 40_320;
        t.pass_ms = 40_320 * 250;
        t.digests = 28;
        t.digest_ms = 28 * 2_000;
        t.ce_requests = 56;
        t.memory_mb = 256;
    })
    .await;
    let ids: Vec<ResourceId> = (0..5000)
        .map(|i| ResourceId::EcsService(ServiceName::parse(&format!("c/s{i}")).unwrap()))
        .chain((0..200).map(|i| ResourceId::DbInstance(format!("db{i}"))))
        .collect();
    let progress = Progress::tally(
        false,
        true,
        at,
        ids.iter().enumerate().map(|(i, id)| {
            (
                id,
                if i < 1240 {
                    Standing::Done
                } else {
                    Standing::Left
                },
            )
        }),
    );
    store
        .cache_put(
            &Progress::store_key("staging"),
            &serde_json::to_string(&progress).unwrap(),
            now() + TimeDelta::days(1),
        )
        .await
        .unwrap();
    let d = Digester::new(
        Config {
            environments: vec![env.clone()],
        },
        Arc::new(AwsCloud::new(moto.sdk_config().await)).ports(None),
        store,
        Arc::new(ManualClock::new(now())),
    );
    let report = d
        .run(
            &env,
            RunOptions {
                dry_run: true,
                figures: true,
                day: Some(NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()),
                ..Default::default()
            },
        )
        .await;
    let figures = report.figures.expect("figures");
    let run = figures.running.as_ref().expect("a run cost");
    let line = |w: &str| run.lines.iter().find(|l| l.what == w).unwrap().clone();
    assert_eq!(line("Lambda requests").quantity, "40,348 invocations");
    assert!(line("Lambda requests").recorded);
    assert_eq!(line("Cost Explorer").quantity, "56 requests");
    assert_eq!(line("Cost Explorer").cost.to_string(), "$0.56");
    assert!(!line("DynamoDB writes").recorded);
    let text = lightsout::digest::render::plain_text(&figures);
    assert!(
        text.contains(&format!(
            "lightsout itself cost about {} this month",
            run.total
        )),
        "{text}"
    );
    assert!(
        text.contains("lightsout's own cost: invocations, their duration and Cost Explorer requests as lightsout recorded them"),
        "{text}"
    );
    assert!(
        text.contains("⏳ Still in progress: Going to sleep: 1,240 of 5,000 services done, 0 of 200 databases; continues in the next run."),
        "{text}"
    );
}
