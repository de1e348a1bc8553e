//! A signed wake link in headless Chromium (Debian's `chromium`, driven by playwright-core): the
//! waiting page opened from the link offers "Wake for 1 h" without a token, the click wakes the
//! environment as `request:slack-link`; an expired link's page says so and offers no such button.

use crate::support;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use lightsout::api::{ApiState, auth::Tokens, router};
use lightsout::clock::ManualClock;
use lightsout::model::Config;
use lightsout::service::links::WakeLinks;
use lightsout::store::{SqliteStore, Store};
use serde_json::Value;
use support::EmptyCloud;

const TG: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup";

fn night() -> DateTime<Utc> {
    "2026-12-02T22:00:00Z".parse().unwrap()
}

async fn browse(url: String) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/link.mjs");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node").arg(script).arg(url).output().unwrap()
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

/// A good link wakes from the page with one click; an expired one does not, and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wake_link_wakes_from_the_page_in_a_browser() {
    let browser_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        Path::new("/usr/bin/chromium").exists()
            && browser_dir.join("node_modules/playwright-core").exists(),
        "needs Debian's chromium and playwright-core: run .ci/run (or apt-get install chromium; npm ci --prefix tests/browser)"
    );
    // The browser reaches the front door as 127.0.0.1: that is the host the page is for.
    let src = format!(
        "name = \"staging\"\nregion = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = [\"Mon-Fri 07:00-20:00\"]\n\
         [rds]\ninstances = [\"db\"]\n[alb]\nhosts = [\"127.0.0.1\"]\n\
         [[alb.rules]]\nrule = \"arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/s/1/2/3\"\napp = \"{TG}/app/1\"\nwake = \"{TG}/wake/2\"\n"
    );
    let env = lightsout::config::parse_str(Path::new("staging.toml"), &src).unwrap();
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let mut service = lightsout::service::Service::new(
        Config {
            environments: vec![env],
        },
        EmptyCloud,
        store.clone(),
        Arc::new(ManualClock::new(night())),
        "test".into(),
    );
    let links = WakeLinks::new("browser-link-secret");
    let good = links.token("staging", night() + TimeDelta::hours(12));
    let expired = links.token("staging", night() - TimeDelta::minutes(1));
    service.links = Some(links);
    let api = Arc::new(ApiState::new(Arc::new(service), Tokens::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, router(api)).await });

    let seen = browse(format!("http://{addr}/?lightsout_wake={expired}")).await;
    assert_eq!(seen["status"], 503, "{seen}");
    assert_eq!(seen["linked"], false, "{seen}");
    assert!(
        seen["message"].as_str().unwrap().contains("expired"),
        "{seen}"
    );
    assert!(store.audit(None, 10).await.unwrap().is_empty());

    let seen = browse(format!("http://{addr}/?lightsout_wake={good}")).await;
    assert_eq!(seen["title"], "staging is asleep", "{seen}");
    assert_eq!(seen["linked"], true, "{seen}");
    assert!(
        seen["after"].as_str().unwrap().starts_with("staging is "),
        "{seen}"
    );
    let actors: Vec<String> = store
        .audit(Some("staging"), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.actor)
        .collect();
    assert_eq!(actors, ["request:slack-link"]);
    server.abort();
}
