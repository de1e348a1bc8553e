//! What the status page reads: `GET /v1/environments/{env}/overview` (the week in the
//! environment's zone, recent wakes and sleeps, the last digest's figures) and the state a
//! wake or sleep shows the moment it is accepted. Through the router, without a socket.

use crate::support;

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, TimeDelta, Utc};
use lightsout::api::{ApiState, auth::Tokens, router};
use lightsout::clock::ManualClock;
use lightsout::config;
use lightsout::digest::summary::{self, Summary};
use lightsout::model::{Action, AuditEvent, Effect, Money, Outcome};
use lightsout::store::SqliteStore;
use serde_json::{Value, json};
use support::EmptyCloud;
use tower::ServiceExt;

const ALICE: &str = "alice-token-0123456789";

/// Staging in Sydney, awake on weekdays; Wednesday 2 December 2026, 22:00 UTC is Thursday 09:00
/// AEDT: awake by the schedule.
const SYDNEY: &str = "name = \"staging\"\nregion = \"eu-west-1\"\ntimezone = \"Australia/Sydney\"\nawake = [\"Mon-Fri 07:00-20:00\"]\nmonthly_budget = 750\n[rds]\ninstances = [\"db\"]\n";
/// The same in Honolulu, where 22:00 UTC is Wednesday 12:00 HST.
const HONOLULU: &str = "name = \"staging\"\nregion = \"eu-west-1\"\ntimezone = \"Pacific/Honolulu\"\nawake = [\"Mon-Fri 07:00-20:00\"]\n[rds]\ninstances = [\"db\"]\n";
/// Awake only when woken.
const ON_REQUEST: &str = "name = \"staging\"\nregion = \"eu-west-1\"\ntimezone = \"Europe/Berlin\"\nawake = []\n[rds]\ninstances = [\"db\"]\n";

fn now() -> DateTime<Utc> {
    "2026-12-02T22:00:00Z".parse().unwrap()
}

fn app(schedule: &str) -> Arc<ApiState<EmptyCloud>> {
    let cfg = lightsout::model::Config {
        environments: vec![
            config::parse_str(std::path::Path::new("staging.toml"), schedule).unwrap(),
        ],
    };
    Arc::new(ApiState::new(
        Arc::new(lightsout::service::Service::new(
            cfg,
            EmptyCloud,
            Arc::new(SqliteStore::in_memory().unwrap()),
            Arc::new(ManualClock::new(now())),
            "test".into(),
        )),
        Tokens::parse(&format!("alice {ALICE}")).unwrap(),
    ))
}

async fn call(
    app: &Arc<ApiState<EmptyCloud>>,
    method: &str,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {ALICE}"));
    let body = if body.is_null() {
        Body::empty()
    } else {
        req = req.header(header::CONTENT_TYPE, "application/json");
        Body::from(body.to_string())
    };
    let resp = router(app.clone())
        .oneshot(req.body(body).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn step(at: DateTime<Utc>, resource: &str, effect: Effect) -> AuditEvent {
    AuditEvent {
        at,
        env: "staging".into(),
        resource: resource.into(),
        action: Action::Steps {
            effect: Some(effect),
            steps: vec!["StopDBInstance".into()],
            not_made: Vec::new(),
        },
        reason: String::new(),
        actor: "schedule".into(),
        outcome: Outcome::Ok,
    }
}

/// The overview gives the week as awake stretches between local midnights (Sydney: five
/// weekdays in the seven days from Thursday), the zone's own abbreviations by offset, why it is
/// in its state, and says there is no digest yet instead of showing a made-up figure.
#[tokio::test]
async fn overview_gives_the_week_in_the_environments_zone() {
    let a = app(SYDNEY);
    let _ = a.service.reconcile_all().await;
    let (status, v) = call(&a, "GET", "/v1/environments/staging/overview", Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["timezone"], "Australia/Sydney");
    assert_eq!(v["zone_names"]["+11:00"], "AEDT");
    assert_eq!(v["state"], "awake", "{v}");
    assert_eq!(v["reason"], "schedule: Mon-Fri 07:00-20:00");
    assert_eq!(v["now"], json!(now()));
    // Thursday 3 December 00:00 AEDT is 13:00 UTC the day before.
    assert_eq!(v["week"]["from"], "2026-12-02T13:00:00Z");
    assert_eq!(v["week"]["days"].as_array().unwrap().len(), 7);
    assert_eq!(v["week"]["days"][0]["date"], "2026-12-03");
    let awake = v["week"]["awake"].as_array().unwrap();
    assert_eq!(awake.len(), 5, "Thu, Fri, Mon, Tue, Wed: {awake:?}");
    assert_eq!(
        awake[0],
        json!({"from": "2026-12-02T20:00:00Z", "to": "2026-12-03T09:00:00Z"})
    );
    assert_eq!(v["next_change"], "2026-12-03T09:00:00Z");
    assert!(
        v["spend"]["missing"]
            .as_str()
            .unwrap()
            .starts_with("no digest yet"),
        "{v}"
    );
    assert_eq!(v["history"], json!([]));

    let a = app(HONOLULU);
    let (_, v) = call(&a, "GET", "/v1/environments/staging/overview", Value::Null).await;
    assert_eq!(v["zone_names"], json!({"-10:00": "HST"}));
    // Wednesday 00:00 HST is 10:00 UTC.
    assert_eq!(v["week"]["from"], "2026-12-02T10:00:00Z");
}

/// Recent wakes and sleeps come from the audit trail: a night's actions are one transition with
/// how long it lasted, and a wake request keeps who asked, for how long, and why.
#[tokio::test]
async fn overview_lists_recent_wakes_and_sleeps_with_who_and_how_long() {
    let a = app(ON_REQUEST);
    let evening = now() - TimeDelta::hours(27);
    a.store
        .record(vec![
            step(evening, "rds:db", Effect::Sleep),
            step(
                evening + TimeDelta::seconds(2),
                "ecs:c/backend",
                Effect::Sleep,
            ),
        ])
        .await
        .unwrap();
    let (status, woke) = call(
        &a,
        "POST",
        "/v1/environments/staging/wake",
        json!({"for": "2h", "reason": "hotfix <b>#1</b>"}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{woke}");
    let (_, v) = call(&a, "GET", "/v1/environments/staging/overview", Value::Null).await;
    let h = v["history"].as_array().unwrap();
    assert_eq!(h.len(), 2, "{h:?}");
    assert_eq!(h[0]["kind"], "wake_request");
    assert_eq!(h[0]["by"], "alice");
    assert_eq!(h[0]["asked"], "2h");
    assert_eq!(
        h[0]["reason"], "hotfix <b>#1</b>",
        "as given: the page escapes it"
    );
    assert_eq!(h[0]["until"], json!(now() + TimeDelta::hours(2)));
    assert_eq!(h[1]["kind"], "transition");
    assert_eq!(h[1]["effect"], "sleep");
    assert_eq!(h[1]["resources"], 2);
    assert_eq!(
        h[1]["lasted_secs"],
        Value::Null,
        "still asleep: no wake pass yet"
    );
    assert_eq!(v["week"]["override"]["hold"], "awake");
    assert_eq!(v["week"]["override"]["by"], "alice");
    assert_eq!(v["reason"], "by alice: hotfix <b>#1</b>");
}

/// A wake answers with the state the environment shows from that moment — `waking` — and the
/// detail and list say so before any pass has acted on it; a sleep likewise answers `going to
/// sleep`. Once a pass has run, the state is the pass's.
#[tokio::test]
async fn an_accepted_request_shows_its_state_at_once() {
    let a = app(ON_REQUEST);
    let _ = a.service.reconcile_all().await;
    let (_, v) = call(&a, "GET", "/v1/environments/staging", Value::Null).await;
    assert_eq!(v["state"], "asleep");
    let (status, woke) = call(
        &a,
        "POST",
        "/v1/environments/staging/wake",
        json!({"for": "1h"}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(woke["state"], "waking", "{woke}");
    for path in [
        "/v1/environments/staging",
        "/v1/environments/staging/overview",
    ] {
        let (_, v) = call(&a, "GET", path, Value::Null).await;
        assert_eq!(v["state"], "waking", "{path}: {v}");
    }
    let (_, list) = call(&a, "GET", "/v1/environments", Value::Null).await;
    assert_eq!(list["environments"][0]["state"], "waking");
    let _ = a.service.reconcile_all().await;
    let (_, v) = call(&a, "GET", "/v1/environments/staging", Value::Null).await;
    assert_eq!(v["state"], "awake", "nothing to start in an empty cloud");
    let (status, slept) = call(&a, "POST", "/v1/environments/staging/sleep", Value::Null).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(slept["state"], "going to sleep", "{slept}");
}

/// The money on the page is the last digest's, read from the store, money as shown; the route
/// has no way to Cost Explorer at all.
#[tokio::test]
async fn overview_shows_the_last_digests_figures_from_the_store() {
    let a = app(SYDNEY);
    let s = Summary {
        day: "2026-12-02".parse().unwrap(),
        made_at: now() - TimeDelta::hours(1),
        day_total: Some(Money::from_micros(21_060_000)),
        month_to_date: Some(Money::from_micros(61_990_000)),
        spend_missing: None,
        budget: Some(Money::from_micros(750_000_000)),
        budget_source: "schedule file".into(),
        spent_pct: Some(8.3),
        month_pct: 6.5,
        projection: Some(Money::from_micros(531_640_000)),
        projection_method: Some("Cost Explorer forecast".into()),
        over_by: None,
        saved_day: Money::from_micros(12_340_000),
        saved_month: Money::from_micros(1_234_560_000),
        always_on_day: Money::from_micros(4_200_000),
    };
    a.store
        .cache_put(
            &summary::key("staging"),
            &serde_json::to_string(&s).unwrap(),
            now() + TimeDelta::days(40),
        )
        .await
        .unwrap();
    let (_, v) = call(&a, "GET", "/v1/environments/staging/overview", Value::Null).await;
    let spend = &v["spend"];
    assert_eq!(spend["month_to_date"], "$61.99", "{v}");
    assert_eq!(spend["budget"], "$750.00");
    assert_eq!(spend["saved_month"], "$1,234.56");
    assert_eq!(spend["projection"], "$531.64");
    assert_eq!(spend["day"], "2026-12-02");
    assert_eq!(spend["spent_pct"], 8.3);
}
