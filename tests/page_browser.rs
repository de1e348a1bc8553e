//! The status page in headless Chromium (Debian's `chromium`, driven by playwright-core) against
//! moto: a staging environment with three days of real history (nights asleep, mornings awake,
//! a wake request at night) and a digest made, then signed in, woken from the page, and seen
//! awake. With `LIGHTSOUT_WRITE_SCREENSHOTS=1` the screenshots go to `docs/` (the README shows
//! them); otherwise to a temporary directory.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lightsout::clock::ManualClock;
use lightsout::service::Service;
use serde_json::Value;
use support::{Daemon, Moto};

const TOKEN: &str = "page-token-0123456789";

/// The reference environment on office hours in Berlin, with a budget and its cost tag.
const SCHEDULE: &str = r#"
name = "staging"
region = "eu-west-1"
timezone = "Europe/Berlin"
awake = ["Mon-Fri 07:00-20:00"]
monthly_budget = 750

[ecs]
services = ["app-staging-cluster/backend"]
[[ecs.select]]
clusters = ["app-staging-cluster", "app-production-cluster"]
tags = { Team = "app" }

[ecs.service."app-staging-cluster/backend"]
depends_on = ["app-staging-db", "app-staging-aurora"]

[rds]
instances = ["app-staging-db"]
clusters = ["app-staging-aurora"]
[[rds.select]]
tags = { Team = "app" }

[digest]
cost_tag = "Environment=staging"
"#;

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// Runs passes at the clock's instant until nothing is settling (at most 5).
async fn settle(history: &Service<lightsout::aws::AwsCloud>) {
    for _ in 0..5 {
        let _ = history.reconcile_all().await;
        if !history.snapshot("staging").is_some_and(|s| s.settling()) {
            return;
        }
    }
}

/// Runs the page script; its JSON answer.
async fn browse(args: Vec<String>) -> Value {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(dir.join("page.mjs"))
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap()
}

/// Where the screenshots go.
fn shots() -> (PathBuf, Option<tempfile::TempDir>) {
    if std::env::var_os("LIGHTSOUT_WRITE_SCREENSHOTS").is_some_and(|v| v == "1") {
        (Path::new(env!("CARGO_MANIFEST_DIR")).join("docs"), None)
    } else {
        let tmp = tempfile::tempdir().unwrap();
        (tmp.path().to_path_buf(), Some(tmp))
    }
}

/// The page shows staging asleep with its resources, its week (now marked), its recent wakes
/// and sleeps (a reason with markup in it shown as text) and the last digest's spend and
/// savings, every time in one format in Berlin's zone, fitting a phone's width; "Wake 2h" turns
/// it to "waking" from the 202 answer, before any pass; the passes that follow make it
/// "awake", and the wake is in its history. The token is never in the page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_staging_asleep_waking_and_awake() {
    let browser_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        Path::new("/usr/bin/chromium").exists()
            && browser_dir.join("node_modules/playwright-core").exists(),
        "needs Debian's chromium and playwright-core: run .ci/run (or apt-get install chromium; npm ci --prefix tests/browser)"
    );
    let moto = Moto::start();
    moto.seed();
    moto.seed_costs("2026-12-03");
    let store: Arc<dyn lightsout::store::Store> =
        Arc::new(lightsout::store::SqliteStore::in_memory().unwrap());
    let cfg = lightsout::model::Config {
        environments: vec![
            lightsout::config::parse_str(Path::new("staging.toml"), SCHEDULE).unwrap(),
        ],
    };
    let env = cfg.environments[0].clone();

    // Three days of history, made by real passes against moto at each transition: Monday
    // 30 November 06:00 CET to Wednesday 2 December 23:00 CET, with a wake at Tuesday night.
    let clock = Arc::new(ManualClock::new(utc("2026-11-30T05:00:00Z")));
    let sdk = moto.sdk_config().await;
    let history = Service::new(
        cfg.clone(),
        lightsout::aws::AwsCloud::new(sdk.clone()),
        store.clone(),
        clock.clone(),
        "history".into(),
    );
    for at in [
        "2026-11-30T05:00:00Z",
        "2026-11-30T06:00:00Z",
        "2026-11-30T19:00:00Z",
        "2026-12-01T06:00:00Z",
        "2026-12-01T19:00:00Z",
    ] {
        clock.set(utc(at));
        settle(&history).await;
    }
    clock.set(utc("2026-12-01T20:30:00Z"));
    history
        .wake(
            &env,
            "bob",
            "1h",
            "hotfix <img src=x onerror=alert(1)> #4521",
        )
        .await
        .unwrap();
    settle(&history).await;
    for at in [
        "2026-12-01T21:31:00Z",
        "2026-12-02T06:00:00Z",
        "2026-12-02T19:00:00Z",
        "2026-12-02T22:00:00Z",
    ] {
        clock.set(utc(at));
        settle(&history).await;
    }
    // The morning digest for Tuesday keeps its figures for the page.
    clock.set(utc("2026-12-02T22:00:00Z"));
    let digester = lightsout::cli::startup::digester(
        cfg.clone(),
        Arc::new(lightsout::aws::AwsCloud::new(sdk)),
        store.clone(),
        clock.clone(),
    )
    .await
    .unwrap();
    let made = digester
        .run(
            &env,
            lightsout::digest::RunOptions {
                day: Some("2026-12-01".parse().unwrap()),
                ..Default::default()
            },
        )
        .await;
    assert!(!made.failed(), "{made}");

    // The daemon, settling only when told to: the page sees each step.
    let daemon = Daemon::start_with(
        &moto,
        clock,
        TOKEN,
        Duration::from_secs(3600),
        SCHEDULE,
        store,
    )
    .await;
    let (app, addr, mut passes) = (daemon.app.clone(), daemon.addr, daemon.passes.clone());
    tokio::time::timeout(Duration::from_secs(60), passes.changed())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(app.snapshot("staging").unwrap().state().as_str(), "asleep");

    let (dir, _tmp) = shots();
    let url = format!("http://{addr}/");
    let path = |name: &str| dir.join(name).display().to_string();
    let asleep = browse(vec![
        "look".into(),
        url.clone(),
        TOKEN.into(),
        "staging".into(),
        path("page-asleep.png"),
        path("page-phone.png"),
    ])
    .await;
    assert_eq!(asleep["state"], "asleep", "{asleep}");
    assert_eq!(asleep["zone"], "Times in Europe/Berlin.", "{asleep}");
    assert_eq!(asleep["otherTimes"], Value::Array(Vec::new()), "{asleep}");
    assert!(
        asleep["why"]
            .as_str()
            .unwrap()
            .starts_with("Asleep until Thu 3 Dec 07:00 CET"),
        "{asleep}"
    );
    let resources = asleep["resources"].to_string();
    for want in [
        "ecs:app-staging-cluster/backend | asleep · 2 tasks when awake",
        "rds:app-staging-db | asleep · stopped",
        "ecs:app-production-cluster/api",
    ] {
        assert!(resources.contains(want), "{want} in {resources}");
    }
    assert_eq!(asleep["weekRows"], 7);
    assert_eq!(asleep["nowMarks"], 1);
    assert_eq!(asleep["awakeSegments"], 5, "{asleep}");
    let history = asleep["history"].to_string();
    for want in [
        "Woken by bob for 1h",
        "hotfix <img src=x onerror=alert(1)> #4521",
        "Went to sleep · still asleep",
        "Woke up · awake for 13 h",
    ] {
        assert!(history.contains(want), "{want} in {history}");
    }
    assert_eq!(asleep["images"], 0, "the reason is text, not markup");
    let spend = asleep["spend"].as_str().unwrap();
    for want in ["of $750.00 this month", "Sleeping saved", "Tue 1 Dec"] {
        assert!(spend.contains(want), "{want} in {spend}");
    }
    assert_eq!(asleep["phoneOverflow"], 0, "fits a phone: {asleep}");
    assert_eq!(asleep["sourceHasToken"], false);
    assert_eq!(asleep["domHasToken"], false);

    let woke = browse(vec![
        "wake".into(),
        url.clone(),
        TOKEN.into(),
        "staging".into(),
        path("page-waking.png"),
    ])
    .await;
    assert_eq!(woke["after"], "waking", "{woke}");
    // The page shows the 202's `state` as soon as it has it (tests/page_api.rs pins that the
    // answer says `waking` before any pass); the bound only catches a page that waits for a pass.
    assert!(
        woke["afterMs"].as_u64().unwrap() < 10_000,
        "the state changes on the answer: {woke}"
    );
    assert!(
        woke["message"]
            .as_str()
            .unwrap()
            .starts_with("staging: waking, awake until Thu 3 Dec 01:00 CET"),
        "{woke}"
    );
    assert_eq!(woke["waking"]["state"], "waking", "{woke}");
    assert_eq!(
        woke["waking"]["otherTimes"],
        Value::Array(Vec::new()),
        "{woke}"
    );
    let resources = woke["waking"]["resources"].to_string();
    for want in [
        "rds:app-staging-db | starting",
        "ecs:app-staging-cluster/backend | waiting",
        "ecs:app-production-cluster/api | not touched · 0/3 tasks",
    ] {
        assert!(resources.contains(want), "{want} in {resources}");
    }
    assert_eq!(woke["waking"]["wokenSegments"], 2, "23:00 to 01:00: {woke}");

    // The passes that follow: services once their databases are available, then all running.
    for _ in 0..6 {
        if app
            .snapshot("staging")
            .is_some_and(|s| s.state().as_str() == "awake")
        {
            break;
        }
        app.trigger.notify_one();
        tokio::time::timeout(Duration::from_secs(60), passes.changed())
            .await
            .unwrap()
            .unwrap();
    }
    let awake = browse(vec![
        "look".into(),
        url,
        TOKEN.into(),
        "staging".into(),
        path("page-awake.png"),
    ])
    .await;
    assert_eq!(awake["state"], "awake", "{awake}");
    assert_eq!(awake["otherTimes"], Value::Array(Vec::new()), "{awake}");
    let resources = awake["resources"].to_string();
    assert!(
        resources.contains("ecs:app-staging-cluster/backend | running · 2/2 tasks"),
        "{resources}"
    );
    assert!(
        awake["history"][0].as_str().unwrap().starts_with("Woke up"),
        "{awake}"
    );
    assert!(
        awake["history"]
            .to_string()
            .contains("Woken by alice for 2h"),
        "{awake}"
    );
    assert_eq!(awake["domHasToken"], false);
    let ov = app
        .store
        .active_override("staging", utc("2026-12-02T22:00:00Z"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (ov.by.as_str(), ov.reason.as_str()),
        ("alice", "from the status page")
    );

    daemon.stop().await;
}
