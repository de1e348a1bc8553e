//! The Lambda handler with real event shapes (`tests/fixtures/events/`).

use crate::support;

use std::path::Path;
use std::sync::Arc;

use lambda_runtime::{Context, LambdaEvent};
use lightsout::api::{auth::Tokens, router};
use lightsout::clock::ManualClock;
use lightsout::config;
use lightsout::lambda::handle;
use lightsout::store::SqliteStore;
use serde_json::Value;
use support::EmptyCloud;

fn app() -> Arc<lightsout::api::ApiState<EmptyCloud>> {
    let staging = "name = \"staging\"\nregion = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = [\"Mon-Fri 07:00-20:00\"]\n[rds]\ninstances = [\"db\"]\n";
    let cfg = lightsout::model::Config {
        environments: vec![config::parse_str(Path::new("staging.toml"), staging).unwrap()],
    };
    Arc::new(lightsout::api::ApiState::new(
        Arc::new(lightsout::service::Service::new(
            cfg,
            EmptyCloud,
            Arc::new(SqliteStore::in_memory().unwrap()),
            Arc::new(ManualClock::new("2026-12-02T22:00:00Z".parse().unwrap())),
            "lambda-test".into(),
        )),
        Tokens::parse("lambda lambda-token-0123456789").unwrap(),
    ))
}

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/events")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

async fn invoke(
    app: &Arc<lightsout::api::ApiState<EmptyCloud>>,
    payload: Value,
) -> Result<Value, lambda_runtime::Error> {
    handle(
        app.as_ref(),
        router(app.clone()),
        LambdaEvent::new(payload, Context::default()),
    )
    .await
}

/// The EventBridge Scheduler event runs one pass.
#[tokio::test]
async fn scheduler_event_runs_a_pass() {
    let a = app();
    let out = invoke(&a, fixture("scheduler-reconcile.json"))
        .await
        .unwrap();
    assert_eq!(out["action"], "reconcile");
    assert_eq!(out["environments"], 1);
    assert_eq!(a.metrics.passes.get(), 1);
}

/// A Function URL wake goes through the router, answers 202 in the Function URL response shape,
/// and is followed by a pass.
#[tokio::test]
async fn function_url_wake_is_served_by_the_router_then_reconciled() {
    let a = app();
    let out = invoke(&a, fixture("function-url-wake.json")).await.unwrap();
    assert_eq!(out["statusCode"], 202, "{out}");
    let body: Value = serde_json::from_str(out["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["override"]["by"], "lambda");
    assert_eq!(body["override"]["until"], "2026-12-03T00:00:00Z");
    assert_eq!(a.metrics.passes.get(), 1, "a pass follows an accepted wake");
    assert!(
        a.store
            .active_override("staging", "2026-12-02T22:30:00Z".parse().unwrap())
            .await
            .unwrap()
            .is_some()
    );
}

/// A Function URL GET answers 200 with JSON; a bad token answers 401, both without a pass.
#[tokio::test]
async fn function_url_get_and_auth_failure() {
    let a = app();
    let out = invoke(&a, fixture("function-url-get.json")).await.unwrap();
    assert_eq!(out["statusCode"], 200, "{out}");
    assert!(
        out["body"]
            .as_str()
            .unwrap()
            .contains("\"name\":\"staging\"")
    );
    let mut bad = fixture("function-url-get.json");
    bad["headers"]["authorization"] = "Bearer wrong-token-0123456789".into();
    let out = invoke(&a, bad).await.unwrap();
    assert_eq!(out["statusCode"], 401);
    assert_eq!(a.metrics.passes.get(), 0);
}

/// Unknown actions and unrecognisable events are errors that say what was expected.
#[tokio::test]
async fn unknown_events_are_errors() {
    let a = app();
    let e = invoke(&a, serde_json::json!({"action": "explode"}))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("expected \"reconcile\""), "{e}");
    let e = invoke(&a, serde_json::json!({"hello": 1}))
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("neither a scheduled action nor a Function URL request"),
        "{e}"
    );
}

/// An invocation at its deadline starts no environment: the next scheduled event does the work,
/// and the answer names what was deferred.
#[tokio::test]
async fn at_the_deadline_the_pass_defers_everything() {
    let a = app();
    let mut context = Context::default();
    let now_ms = lightsout::clock::Clock::now(&lightsout::clock::SystemClock).timestamp_millis();
    context.deadline = (now_ms + 1_000) as u64; // inside the 3-second margin
    let out = handle(
        a.as_ref(),
        router(a.clone()),
        LambdaEvent::new(fixture("scheduler-reconcile.json"), context),
    )
    .await
    .unwrap();
    assert_eq!(out["environments"], 0, "{out}");
    assert_eq!(out["deferred"][0]["env"], "staging", "{out}");
    assert!(
        out["deferred"][0]["why"]
            .as_str()
            .unwrap()
            .contains("out of time"),
        "{out}"
    );
}

/// A deadline already past when the invocation begins (`cargo lambda watch` sends a relative
/// 600000) is reported as implausible and not obeyed: the pass runs.
#[tokio::test]
async fn an_implausible_deadline_is_reported_and_not_obeyed() {
    let a = app();
    let mut context = Context::default();
    context.deadline = 600_000;
    let out = handle(
        a.as_ref(),
        router(a.clone()),
        LambdaEvent::new(fixture("scheduler-reconcile.json"), context),
    )
    .await
    .unwrap();
    assert_eq!(out["environments"], 1, "{out}");
    assert!(out["deferred"].as_array().unwrap().is_empty(), "{out}");
    assert!(
        out["deadline_note"]
            .as_str()
            .unwrap()
            .contains("not an epoch instant"),
        "{out}"
    );
}
