//! A sleep too big for one Lambda invocation, driven through the Lambda handler against moto:
//! each invocation stops starting actions before its deadline and leaves the rest to the next,
//! which observes, re-plans and continues. Nothing done is made again (done resources are
//! observed as done and produce no write), the databases go only once every service is down,
//! and until then the answer, the store's progress record and `status` say the transition is
//! still in progress.

use crate::support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use lambda_runtime::{Context, LambdaEvent};
use lightsout::api::{ApiState, auth::Tokens, router};
use lightsout::aws::AwsCloud;
use lightsout::cli::table::StatusRow;
use lightsout::clock::{Clock, ManualClock, SystemClock};
use lightsout::config;
use lightsout::lambda::handle;
use lightsout::model::Config;
use lightsout::service::Service;
use lightsout::store::SqliteStore;
use serde_json::{Value, json};
use support::Moto;
use support::proxy::{Fault, FaultProxy, Rule};

/// Twelve staging services (the reference backend and frontend and ten more) and one database,
/// acted on one at a time.
const BIG: &str = r#"
name = "staging"
region = "eu-west-1"
timezone = "Europe/Berlin"
awake = ["Mon-Fri 07:00-20:00"]
concurrency = 1

[[ecs.select]]
clusters = ["app-staging-cluster"]
tags = { Environment = "staging" }

[rds]
instances = ["app-staging-db"]
"#;

const SERVICES: usize = 12;

/// Writes made between two recordings, by operation.
fn writes(
    before: &BTreeMap<String, usize>,
    after: &BTreeMap<String, usize>,
) -> BTreeMap<String, usize> {
    after
        .iter()
        .filter(|(op, _)| support::is_write(op))
        .filter_map(|(op, n)| {
            let d = n - before.get(op).copied().unwrap_or(0);
            (d > 0).then(|| (op.clone(), d))
        })
        .collect()
}

async fn invoke(api: &Arc<ApiState<AwsCloud>>, budget: Option<Duration>) -> Value {
    let mut context = Context::default();
    if let Some(b) = budget {
        // The handler keeps 3 s back from the deadline: `b` is what it may act in.
        let now_ms = SystemClock.now().timestamp_millis() as u64;
        context.deadline = now_ms + 3_000 + b.as_millis() as u64;
    }
    handle(
        api.as_ref(),
        router(api.clone()),
        LambdaEvent::new(json!({"action": "reconcile"}), context),
    )
    .await
    .unwrap()
}

/// Services down (desired 0) of the twelve.
async fn services_down(ecs: &aws_sdk_ecs::Client) -> usize {
    let mut down = 0;
    let arns = ecs
        .list_services()
        .cluster("app-staging-cluster")
        .max_results(100)
        .send()
        .await
        .unwrap()
        .service_arns
        .unwrap_or_default();
    for chunk in arns.chunks(10) {
        let out = ecs
            .describe_services()
            .cluster("app-staging-cluster")
            .set_services(Some(chunk.to_vec()))
            .send()
            .await
            .unwrap();
        down += out
            .services()
            .iter()
            .filter(|s| s.desired_count() == 0)
            .count();
    }
    down
}

/// A sleep of 12 services and a database that cannot fit in one invocation's time continues over
/// the next invocations: every service is tagged and scaled down exactly once in all, the
/// database is stopped only by an invocation that found or left every service down, a later
/// invocation makes 0 writes, and while it is unfinished the answer, the progress record and
/// `status` say "going to sleep: N of 12 services done ...; continues in the next run".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sleep_too_big_for_one_invocation_continues_in_the_next_without_repeating_work() {
    let moto = Moto::start();
    moto.seed();
    moto.python(
        "net = ecs.describe_services(cluster='app-staging-cluster', services=['backend'])['services'][0]['networkConfiguration']\n\
for i in range(10):\n    ecs.create_service(cluster='app-staging-cluster', serviceName=f'worker-{i}', taskDefinition='app', desiredCount=1, launchType='FARGATE', networkConfiguration=net, tags=[{'key': 'Environment', 'value': 'staging'}, {'key': 'Team', 'value': 'app'}])",
    );
    let proxy = FaultProxy::start(&moto.endpoint, 17).await;
    // Slow enough that 12 services (at least 24 writes, one at a time) take far longer than
    // the 2.5 s an invocation is given.
    proxy.add(Rule::always(
        "UpdateService",
        Fault::Delay(Duration::from_millis(300)),
    ));
    proxy.add(Rule::always(
        "TagResource",
        Fault::Delay(Duration::from_millis(150)),
    ));
    let sdk = moto.sdk_config_via(&proxy.endpoint, 2).await;
    let ecs = aws_sdk_ecs::Client::new(&moto.sdk_config().await);
    let cfg = Config {
        environments: vec![config::parse_str(Path::new("staging.toml"), BIG).unwrap()],
    };
    // Wednesday 23:00 in Berlin: asleep by the schedule.
    let clock = Arc::new(ManualClock::new("2026-12-02T22:00:00Z".parse().unwrap()));
    let service = Arc::new(Service::new(
        cfg,
        AwsCloud::new(sdk),
        Arc::new(SqliteStore::in_memory().unwrap()),
        clock.clone(),
        "lambda-continuation".into(),
    ));
    let api = Arc::new(ApiState::new(
        service.clone(),
        Tokens::parse("lambda lambda-token-0123456789").unwrap(),
    ));
    moto.start_recording();

    let mut before = moto.recorded_counts();
    let mut per_invocation = Vec::new();
    let mut total: BTreeMap<String, usize> = BTreeMap::new();
    let mut db_stopped_in = None;
    let mut first_acting = true;
    for n in 1..=20 {
        let out = invoke(&api, Some(Duration::from_millis(2_500))).await;
        clock.set(clock.now() + chrono::TimeDelta::minutes(1));
        let after = moto.recorded_counts();
        let made = writes(&before, &after);
        before = after;
        let down = services_down(&ecs).await;
        let db = support::db_status(
            &aws_sdk_rds::Client::new(&moto.sdk_config().await),
            "app-staging-db",
        )
        .await;
        eprintln!(
            "invocation {n}: {down} of {SERVICES} services down, database {db}; writes {made:?}; in progress {}",
            out["in_progress"]
        );
        if made.contains_key("StopDBInstance") {
            assert_eq!(
                down, SERVICES,
                "invocation {n} stopped the database while services were still up"
            );
            db_stopped_in.get_or_insert(n);
        } else if db != "stopped" {
            assert!(
                db_stopped_in.is_none(),
                "the database was started again after invocation {db_stopped_in:?}"
            );
        }
        let finished = made.is_empty()
            && out["deferred"].as_array().is_some_and(Vec::is_empty)
            && out["in_progress"].as_array().is_some_and(Vec::is_empty);
        for (op, k) in &made {
            *total.entry(op.clone()).or_default() += k;
        }
        per_invocation.push((n, made.clone(), down, out.clone()));
        if first_acting && !made.is_empty() {
            first_acting = false;
            // The first that acts cannot finish: it says how far it came, and that the next continues.
            let progress = &out["in_progress"][0]["progress"];
            assert!(
                progress
                    .as_str()
                    .is_some_and(|p| p.starts_with("going to sleep: ")
                        && p.contains(&format!(" of {SERVICES} services done"))
                        && p.ends_with("; continues in the next run")),
                "{out}"
            );
            assert!(
                down > 0 && down < SERVICES,
                "{down} services down after invocation 1"
            );
            let recorded = service.recorded_progress("staging").await.unwrap();
            assert!(recorded.continues && recorded.in_progress(), "{recorded:?}");
            assert_eq!(recorded.kinds[0].done, down, "{recorded:?}");
            assert_eq!(recorded.kinds[0].total, SERVICES, "{recorded:?}");
            assert!(!made.contains_key("StopDBInstance"), "{made:?}");
            // `lightsout status` between the invocations: counted from what it observes now,
            // and "continues" from the record.
            let env = &service.config.environments[0];
            let (plan, observed, ov) = service.plan_env(env, clock.now()).await.unwrap();
            let row = StatusRow::new(env, plan, observed, ov, None, clock.now())
                .with_progress(Some(&recorded));
            let text = row.table();
            assert!(
                text.starts_with("staging: going to sleep")
                    && text.contains(&format!(
                        "  progress: going to sleep: {down} of {SERVICES} services done, 0 of 1 databases; continues in the next run\n"
                    )),
                "{text}"
            );
            // The API (and the page that reads it) says the same.
            let req = axum::http::Request::builder()
                .uri("/v1/environments")
                .header("authorization", "Bearer lambda-token-0123456789")
                .body(axum::body::Body::empty())
                .unwrap();
            let resp = tower::ServiceExt::oneshot(router(api.clone()), req)
                .await
                .unwrap();
            let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
                .await
                .unwrap();
            let body = String::from_utf8_lossy(&body);
            assert!(
                body.contains(&format!(
                    "\"progress\":\"going to sleep: {down} of {SERVICES} services done, 0 of 1 databases; continues in the next run\""
                )),
                "{body}"
            );
            assert_eq!(
                row.json()["progress"]["counts"]["continues"],
                true,
                "{}",
                row.json()
            );
        }
        if finished {
            assert!(
                n >= 3,
                "it took only {n} invocations: the budget did not bind"
            );
            assert!(out["in_progress"].as_array().unwrap().is_empty(), "{out}");
            break;
        }
    }
    assert!(
        db_stopped_in.is_some(),
        "the database was never stopped: {per_invocation:?}"
    );
    assert_eq!(services_down(&ecs).await, SERVICES);
    // Every write made once in all: nothing done was done again.
    assert_eq!(total.get("UpdateService"), Some(&SERVICES), "{total:?}");
    assert_eq!(total.get("TagResource"), Some(&SERVICES), "{total:?}");
    assert_eq!(total.get("StopDBInstance"), Some(&1), "{total:?}");
    assert_eq!(total.get("AddTagsToResource"), Some(&1), "{total:?}");
    // Each invocation counted in the month's run tally (what the digest's run cost uses).
    let tally = service
        .store
        .cache_get(
            &lightsout::digest::running::tally_key(clock.now().date_naive()),
            clock.now(),
        )
        .await
        .unwrap()
        .unwrap();
    let tally: lightsout::digest::figures::RunTally = serde_json::from_str(&tally).unwrap();
    assert_eq!(tally.passes as usize, per_invocation.len(), "{tally:?}");
    assert!(tally.pass_ms >= 2_500, "{tally:?}");
    assert_eq!(tally.month, "2026-12");
    let recorded = service.recorded_progress("staging").await.unwrap();
    assert!(!recorded.in_progress(), "{recorded:?}");
    assert!(
        recorded
            .sentence()
            .starts_with("going to sleep: 12 of 12 services done, 1 of 1 databases"),
        "{}",
        recorded.sentence()
    );
}
