//! `lightsout serve` end to end: a real socket, a real SDK against moto, time driven by an
//! injected clock. Staging asleep at night is woken over HTTP, comes up databases first, and
//! sleeps again when the wake ends.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lightsout::clock::ManualClock;
use support::{Daemon, Moto, STAGING};
use tokio::sync::watch;

const TOKEN: &str = "demo-token-0123456789";

async fn desired(ecs: &aws_sdk_ecs::Client, service: &str) -> i32 {
    support::service_state(ecs, "app-staging-cluster", service)
        .await
        .0
}

async fn db_status(rds: &aws_sdk_rds::Client) -> String {
    support::db_status(rds, "app-staging-db").await
}

/// Waits for passes until `done` holds, at most `max` passes (no wall-clock sleeping).
async fn passes_until<F, Fut>(rx: &mut watch::Receiver<u64>, max: u64, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = *rx.borrow_and_update();
    loop {
        if done().await {
            return;
        }
        assert!(*rx.borrow() - start < max, "not done after {max} passes");
        tokio::time::timeout(Duration::from_secs(60), rx.changed())
            .await
            .expect("a pass within 60 s")
            .unwrap();
    }
}

fn post(url: String, body: &'static str) -> (u16, String) {
    let resp = ureq::post(&url)
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .header("Content-Type", "application/json")
        .config()
        .http_status_as_error(false)
        .build()
        .send(body)
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.into_body().read_to_string().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wake_over_http_comes_up_in_dependency_order_and_sleeps_when_it_ends() {
    let moto = Moto::start();
    moto.seed();
    let sdk = moto.sdk_config().await;
    let (ecs, rds) = (
        aws_sdk_ecs::Client::new(&sdk),
        aws_sdk_rds::Client::new(&sdk),
    );
    let night: DateTime<Utc> = "2026-12-02T22:00:00Z".parse().unwrap();
    let clock = Arc::new(ManualClock::new(night));
    let daemon = Daemon::start(&moto, clock.clone(), TOKEN, Duration::from_millis(20)).await;
    let (app, addr, mut passes) = (daemon.app.clone(), daemon.addr, daemon.passes.clone());

    // Night: the first pass puts staging to sleep.
    passes_until(&mut passes, 5, || async {
        desired(&ecs, "backend").await == 0 && db_status(&rds).await == "stopped"
    })
    .await;

    // A developer wakes it for 2 hours.
    moto.start_recording();
    let url = format!("http://{addr}/v1/environments/staging/wake");
    let (status, body) =
        tokio::task::spawn_blocking(move || post(url, r#"{"for": "2h", "reason": "late fix"}"#))
            .await
            .unwrap();
    assert_eq!(status, 202, "{body}");
    assert!(
        body.contains("\"until\":\"2026-12-03T00:00:00Z\""),
        "{body}"
    );
    passes_until(&mut passes, 6, || async {
        desired(&ecs, "backend").await == 2 && desired(&ecs, "frontend").await == 1
    })
    .await;
    // One more pass sees what the last one did: awake, nothing left to do.
    passes_until(&mut passes, 3, || {
        let awake = app
            .snapshot("staging")
            .is_some_and(|s| s.state().as_str() == "awake");
        async move { awake }
    })
    .await;
    let ops = moto.recorded_operations();
    let first = |op: &str| {
        ops.iter()
            .position(|o| o == op)
            .unwrap_or_else(|| panic!("no {op} in {ops:?}"))
    };
    assert!(
        first("StartDBInstance") < first("UpdateService"),
        "databases first: {ops:?}"
    );
    assert!(
        first("StartDBCluster") < first("UpdateService"),
        "databases first: {ops:?}"
    );

    // Status over HTTP says awake, by override.
    let url = format!("http://{addr}/v1/environments/staging");
    let text = tokio::task::spawn_blocking(move || {
        ureq::get(&url)
            .header("Authorization", &format!("Bearer {TOKEN}"))
            .call()
            .unwrap()
            .into_body()
            .read_to_string()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(text.contains("\"state\":\"awake\""), "{text}");
    assert!(text.contains("override by alice: late fix"), "{text}");

    // The wake ends at 00:00 UTC: half an hour later it is asleep again.
    clock.set("2026-12-03T00:30:00Z".parse().unwrap());
    app.trigger.notify_one();
    passes_until(&mut passes, 5, || async {
        desired(&ecs, "backend").await == 0 && db_status(&rds).await == "stopped"
    })
    .await;
    let audit = app.store.audit(Some("staging"), 100).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.actor == "alice" && e.action.to_string() == "wake for 2h"),
        "{audit:#?}"
    );
    assert!(
        audit
            .iter()
            .any(|e| e.actor.contains("override by alice") && e.outcome.is_ok()),
        "{audit:#?}"
    );

    daemon.stop().await;
}

/// The `lightsout serve` binary answers on its port and exits cleanly on SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_binary_exits_cleanly_on_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let moto = Moto::start();
    moto.seed();
    let dir = support::schedules(STAGING);
    let mut child = support::lightsout(&moto, dir.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--store"])
        .arg(dir.path().join("state.db"))
        .env("LIGHTSOUT_TOKENS", format!("alice {TOKEN}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    let health = tokio::task::spawn_blocking(move || {
        ureq::get(&format!("{url}healthz"))
            .call()
            .unwrap()
            .into_body()
            .read_to_string()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(health, "ok\n");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || child.wait().unwrap());
    let exit = tokio::time::timeout(Duration::from_secs(30), exit)
        .await
        .expect("exits within 30 s")
        .unwrap();
    assert!(exit.success(), "{exit:?}");
}

/// No secret reaches the logs: API tokens (good and bad), the Slack signing secret, the AWS
/// access key id and secret key are searched for in everything the daemon printed at debug
/// level.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_the_logs() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::{Command, Stdio};
    const SLACK: &str = "slack-signing-secret-SHOULD-NOT-LEAK";
    const AWS_SECRET: &str = "aws-secret-key-SHOULD-NOT-LEAK";
    const AWS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
    const WRONG: &str = "wrong-token-SHOULD-NOT-LEAK-0123";
    let moto = Moto::start();
    moto.seed();
    let dir = support::schedules(STAGING);
    let mut child = support::lightsout(&moto, dir.path())
        .args([
            "--log-format",
            "json",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--settle",
            "1s",
            "--store",
        ])
        .arg(dir.path().join("state.db"))
        .env("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
        .env("AWS_ACCESS_KEY_ID", AWS_KEY_ID)
        .env("LIGHTSOUT_TOKENS", format!("alice {TOKEN}"))
        .env("LIGHTSOUT_SLACK_SIGNING_SECRET", SLACK)
        .env("LIGHTSOUT_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let base = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    let mut stderr = child.stderr.take().unwrap();
    let logs = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).unwrap();
        s
    });
    tokio::task::spawn_blocking(move || {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .new_agent();
        let wake = format!("{base}/v1/environments/staging/wake");
        for token in [TOKEN, WRONG] {
            agent
                .post(&wake)
                .header("Authorization", &format!("Bearer {token}"))
                .header("Content-Type", "application/json")
                .send(r#"{"for": "1h"}"#)
                .unwrap();
        }
        let body = "command=%2Fstaging&user_name=carol&text=status";
        let ts = lightsout::clock::Clock::now(&lightsout::clock::SystemClock)
            .timestamp()
            .to_string();
        let sig = lightsout::api::slack::SlackVerifier::new(SLACK).sign(&ts, body.as_bytes());
        let r = agent
            .post(&format!("{base}/v1/slack/command"))
            .header("X-Slack-Request-Timestamp", &ts)
            .header("X-Slack-Signature", &sig)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(body)
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
    })
    .await
    .unwrap();
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let all = logs.join().unwrap() + &line + &rest;
    assert!(all.contains("wake requested"), "the logs were captured");
    assert!(
        all.len() > 10_000,
        "debug logs are verbose: {} bytes",
        all.len()
    );
    for secret in [TOKEN, WRONG, SLACK, AWS_SECRET, AWS_KEY_ID] {
        assert!(!all.contains(secret), "{secret} leaked into the logs");
    }
}
