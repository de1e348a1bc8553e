//! The status page in headless Chromium (Debian's `chromium`, driven by playwright-core):
//! sign in with a token, press "Wake 2h", see the state change.

mod support;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use lightsout::clock::ManualClock;
use support::{Daemon, Moto};

const TOKEN: &str = "page-token-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pressing_wake_on_the_page_wakes_staging() {
    let browser_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        Path::new("/usr/bin/chromium").exists()
            && browser_dir.join("node_modules/playwright-core").exists(),
        "needs Debian's chromium and playwright-core: run .ci/run (or apt-get install chromium; npm ci --prefix tests/browser)"
    );
    let moto = Moto::start();
    moto.seed();
    let clock = Arc::new(ManualClock::new("2026-12-02T22:00:00Z".parse().unwrap()));
    let daemon = Daemon::start(&moto, clock, TOKEN, Duration::from_millis(50)).await;
    let (app, addr, mut passes) = (daemon.app.clone(), daemon.addr, daemon.passes.clone());
    // Let the passes put staging to sleep (and a later one see it asleep), so the page starts
    // from "asleep".
    for _ in 0..10 {
        tokio::time::timeout(Duration::from_secs(60), passes.changed())
            .await
            .unwrap()
            .unwrap();
        if app
            .snapshot("staging")
            .is_some_and(|s| s.state().as_str() == "asleep")
        {
            break;
        }
    }
    assert_eq!(app.snapshot("staging").unwrap().state().as_str(), "asleep");

    let shot = std::env::temp_dir().join("lightsout-page.png");
    let out = tokio::task::spawn_blocking({
        let dir = browser_dir.clone();
        let shot = shot.clone();
        move || {
            Command::new("node")
                .arg(dir.join("page.mjs"))
                .arg(format!("http://{addr}/"))
                .arg(TOKEN)
                .arg("staging")
                .arg(&shot)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(result["before"], "asleep", "{result}");
    assert!(
        ["waking", "awake"].contains(&result["after"].as_str().unwrap()),
        "{result}"
    );
    assert!(
        result["wokenBy"]
            .as_str()
            .unwrap()
            .starts_with("alice until"),
        "{result}"
    );
    assert_eq!(result["sourceHasToken"], false);
    assert_eq!(result["domHasToken"], false);
    let ov = app
        .store
        .active_override("staging", "2026-12-02T22:00:00Z".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (ov.by.as_str(), ov.reason.as_str()),
        ("alice", "from the status page")
    );

    daemon.stop().await;
}
