//! The seams between the command line, the daemon and AWS, run the way a user runs them: the
//! `lightsout` binary against moto (or against an endpoint that never answers), sharing one
//! store with a running `lightsout serve`.

use crate::support;

use std::time::Duration;

use support::{Hanging, Moto, Served, http, run_within, schedules};

const TOKEN: &str = "cli-seams-token-0123456789";

/// Staging in Sydney that is awake only when woken: the clock of the test run does not matter.
const ON_REQUEST: &str = r#"
name = "staging"
region = "eu-west-1"
timezone = "Australia/Sydney"
awake = []

[ecs]
services = ["app-staging-cluster/backend", "app-staging-cluster/frontend"]

[rds]
instances = ["app-staging-db"]
clusters = ["app-staging-aurora"]
"#;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `lightsout apply` against an endpoint that accepts connections and never answers ends within
/// its call timeouts, says what timed out in one line each, and exits 1 with a summary that
/// agrees; `status` says the environment is unknown. Nothing is coloured in a pipe.
#[test]
fn a_hung_endpoint_is_bounded_and_reported_as_unknown() {
    let hang = Hanging::start();
    let dir = schedules(ON_REQUEST);
    let store = dir.path().join("state.db");
    let cli = |args: &[&str]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_lightsout"));
        c.arg("--schedules")
            .arg(dir.path())
            .args(args)
            .args([
                "--attempt-timeout",
                "1s",
                "--call-timeout",
                "2s",
                "--max-attempts",
                "2",
            ])
            .arg("--store")
            .arg(&store)
            .env("AWS_ENDPOINT_URL", &hang.endpoint)
            .env("AWS_REGION", support::REGION)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("NO_COLOR");
        c
    };
    let (out, took) = run_within(cli(&["apply"]), Duration::from_secs(60));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    println!("apply against a hung endpoint took {took:?}\n{stdout}");
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        took < Duration::from_secs(20),
        "bounded by the call timeouts: {took:?}"
    );
    assert!(
        stdout.contains("problem:") && stdout.contains("timed out"),
        "{stdout}"
    );
    assert!(
        stdout.contains("attention needed"),
        "the summary agrees with the exit status: {stdout}"
    );
    for line in stdout.lines().chain(stderr.lines()) {
        assert!(
            !line.contains("DispatchFailure") && !line.contains("TimeoutError"),
            "a debug dump: {line}"
        );
        assert!(!line.contains('\u{1b}'), "colour in a pipe: {line:?}");
    }
    let (out, _) = run_within(
        cli(&["status", "--output", "json"]),
        Duration::from_secs(60),
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json[0]["state"], "unknown", "{json}");
    assert!(
        json[0]["unknown"]["reason"]
            .as_str()
            .unwrap()
            .contains("timed out"),
        "{json}"
    );
    assert!(
        json[0]["next_change"].is_null(),
        "no windows: no scheduled change"
    );
}

/// A refused connection is one readable line with the operation and the cause, not the SDK's
/// debug dump.
#[test]
fn a_refused_connection_is_one_readable_line() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = schedules(ON_REQUEST);
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_lightsout"));
    c.arg("--schedules")
        .arg(dir.path())
        .args(["plan", "--max-attempts", "1", "--store"])
        .arg(dir.path().join("state.db"))
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_REGION", support::REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing");
    let (out, _) = run_within(c, Duration::from_secs(60));
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let problem = stdout
        .lines()
        .find(|l| l.starts_with("problem: rds"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        problem.contains("DescribeDB")
            && problem.contains("cannot reach AWS")
            && problem.contains("Connection refused"),
        "{problem}"
    );
    assert!(problem.len() < 200, "{problem}");
}

/// `serve` against a hung endpoint: the environment is `unknown` (with the reason and since
/// when) in the API, `/metrics` counts the failed observations, the log has a WARN line, and
/// SIGTERM ends the daemon promptly although calls are in flight.
#[test]
fn serve_against_a_hung_endpoint_says_unknown_and_stops_promptly() {
    let hang = Hanging::start();
    let dir = schedules(ON_REQUEST);
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_lightsout"));
    c.arg("--schedules")
        .arg(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--settle", "1s"])
        .args([
            "--attempt-timeout",
            "1s",
            "--call-timeout",
            "2s",
            "--max-attempts",
            "2",
        ])
        .arg("--store")
        .arg(dir.path().join("state.db"))
        .env("LIGHTSOUT_TOKENS", format!("alice {TOKEN}"))
        .env("AWS_ENDPOINT_URL", &hang.endpoint)
        .env("AWS_REGION", support::REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing");
    let mut served = Served::start(c);
    let url = format!("{}/v1/environments/staging", served.url);
    let mut seen = serde_json::Value::Null;
    for _ in 0..300 {
        let (status, body) = http("GET", &url, TOKEN, "");
        assert_eq!(status, 200, "{body}");
        seen = serde_json::from_str(&body).unwrap();
        if seen["state"] == "unknown" && seen["unknown"]["since"].is_string() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(seen["state"], "unknown", "{seen}");
    assert!(
        seen["unknown"]["reason"]
            .as_str()
            .unwrap()
            .contains("timed out"),
        "{seen}"
    );
    let (_, metrics) = http("GET", &format!("{}/metrics", served.url), TOKEN, "");
    assert!(
        metrics.contains("lightsout_observation_failures_total{env=\"staging\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("lightsout_environments_unknown 1"),
        "{metrics}"
    );
    // A wake is accepted (it is kept in the store) even while AWS does not answer.
    let (status, body) = http(
        "POST",
        &format!("{url}/wake"),
        TOKEN,
        r#"{"for": "1h", "reason": "while AWS hangs"}"#,
    );
    assert_eq!(status, 202, "{body}");
    // Let a pass get under way with its calls hanging, then stop the daemon.
    std::thread::sleep(Duration::from_millis(300));
    let (took, status) = served.terminate(Duration::from_secs(10));
    println!("exited {took:?} after SIGTERM with calls in flight");
    assert!(status.success(), "{status:?}");
    let log = served.stderr.lock().unwrap().join("\n");
    assert!(
        log.contains("WARN") && log.contains("cannot observe"),
        "a WARN line for the failed observation: {log}"
    );
}

/// A wake made through the daemon's API is honoured by `status` and `apply` from the command
/// line on the same store, and the CLI's actions land in the same audit trail; `wake --wait`
/// and `sleep --wait` from the CLI follow the environment until it is ready.
#[test]
fn the_cli_and_the_daemon_share_one_store() {
    let moto = Moto::start();
    moto.seed();
    let dir = schedules(ON_REQUEST);
    let store = dir.path().join("state.db");
    let cli = |args: &[&str]| {
        let mut c = support::lightsout(&moto, dir.path());
        c.args(args).arg("--store").arg(&store);
        c
    };
    // Asleep to begin with.
    let (out, _) = run_within(cli(&["apply"]), Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));

    // A developer wakes it from the page (the daemon's API).
    let mut served = Served::start({
        let mut c = cli(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--settle",
            "1s",
            "--every",
            "1h",
        ]);
        c.env("LIGHTSOUT_TOKENS", format!("alice {TOKEN}"));
        c
    });
    let (status, body) = http(
        "POST",
        &format!("{}/v1/environments/staging/wake", served.url),
        TOKEN,
        r#"{"for": "2h", "reason": "demo for a customer"}"#,
    );
    assert_eq!(status, 202, "{body}");
    served.terminate(Duration::from_secs(20));

    // The CLI sees the wake and does not put staging back to sleep.
    let (out, _) = run_within(
        cli(&["status", "--output", "json"]),
        Duration::from_secs(60),
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json[0]["override"]["by"], "alice", "{json}");
    assert_eq!(json[0]["awake"], true, "{json}");
    moto.start_recording();
    let (out, _) = run_within(cli(&["apply"]), Duration::from_secs(60));
    let stdout = text(&out.stdout);
    let counts = moto.recorded_counts();
    assert!(
        !counts.contains_key("StopDBInstance") && !counts.contains_key("StopDBCluster"),
        "apply during a wake stopped a database: {counts:?}\n{stdout}"
    );

    // The CLI's own actions are in the same audit trail as the daemon's.
    let audit = tokio::runtime::Runtime::new().unwrap().block_on(async {
        use lightsout::store::Store as _;
        lightsout::store::SqliteStore::open(&store)
            .unwrap()
            .audit(Some("staging"), 100)
            .await
            .unwrap()
    });
    let actors: Vec<&str> = audit.iter().map(|e| e.actor.as_str()).collect();
    assert!(actors.contains(&"alice"), "{actors:?}");
    assert!(
        actors
            .iter()
            .any(|a| a.starts_with("cli:") && a.contains("override by alice")),
        "{actors:?}"
    );

    // Sleep from the CLI and wait until it is asleep; then wake with --wait.
    let (out, _) = run_within(
        cli(&[
            "sleep",
            "staging",
            "--reason",
            "done",
            "--wait",
            "--poll",
            "1s",
            "--timeout",
            "2m",
        ]),
        Duration::from_secs(120),
    );
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("ready — asleep"), "{stdout}");

    let (out, took) = run_within(
        cli(&[
            "wake",
            "staging",
            "--for",
            "1h",
            "--reason",
            "e2e tests",
            "--wait",
            "--poll",
            "1s",
            "--timeout",
            "2m",
        ]),
        Duration::from_secs(120),
    );
    let stdout = text(&out.stdout);
    println!("wake --wait ({took:?}):\n{stdout}");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    for want in [
        "staging: awake until",
        "rds:app-staging-db",
        "stopped (postgres)  → StartDBInstance",
        "available (postgres)",
        "ecs:app-staging-cluster/backend",
        "2/2 tasks",
        "staging: ready — awake after",
    ] {
        assert!(stdout.contains(want), "missing {want:?} in:\n{stdout}");
    }
}

/// `wake --wait` through a running daemon's API (`--api`, token from LIGHTSOUT_TOKEN).
#[test]
fn wake_wait_through_the_api() {
    let moto = Moto::start();
    moto.seed();
    let dir = schedules(ON_REQUEST);
    let store = dir.path().join("state.db");
    let mut c = support::lightsout(&moto, dir.path());
    c.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--settle",
        "1s",
        "--every",
        "1h",
        "--store",
    ])
    .arg(&store)
    .env("LIGHTSOUT_TOKENS", format!("ci {TOKEN}"));
    let mut served = Served::start(c);
    let mut w = std::process::Command::new(env!("CARGO_BIN_EXE_lightsout"));
    w.arg("--schedules")
        .arg(dir.path())
        .args([
            "wake",
            "staging",
            "--for",
            "30m",
            "--wait",
            "--poll",
            "1s",
            "--timeout",
            "2m",
            "--api",
        ])
        .arg(&served.url)
        .env("LIGHTSOUT_TOKEN", TOKEN);
    let (out, _) = run_within(w, Duration::from_secs(120));
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("woken by ci"), "{stdout}");
    assert!(stdout.contains("ready — awake"), "{stdout}");
    assert!(!stdout.contains(TOKEN) && !text(&out.stderr).contains(TOKEN));
    // A wake longer than max_wake is refused with the limit, exit 2.
    let mut w = std::process::Command::new(env!("CARGO_BIN_EXE_lightsout"));
    w.arg("--schedules")
        .arg(dir.path())
        .args(["wake", "staging", "--for", "9h", "--api"])
        .arg(&served.url)
        .env("LIGHTSOUT_TOKEN", TOKEN);
    let (out, _) = run_within(w, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("max_wake"),
        "{}",
        text(&out.stderr)
    );
    served.terminate(Duration::from_secs(20));
}

/// A schedule that names an Aurora member instance, a read replica and a missing database: `plan`
/// says each is a problem with the file, line and fix, and exits 1.
#[test]
fn named_resources_that_cannot_be_scheduled_are_problems() {
    let moto = Moto::start();
    moto.seed();
    let dir = schedules(
        "name = \"staging\"\nregion = \"eu-west-1\"\ntimezone = \"Pacific/Honolulu\"\nawake = []\n[rds]\ninstances = [\"app-staging-aurora-1\", \"app-staging-analytics-replica\", \"app-staging-typo\"]\n",
    );
    let mut c = support::lightsout(&moto, dir.path());
    c.args(["plan", "--store"]).arg(dir.path().join("state.db"));
    let (out, _) = run_within(c, Duration::from_secs(60));
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let file = dir.path().join("staging.toml");
    let file = file.display();
    for want in [
        format!("{file}:6:14: member of Aurora cluster app-staging-aurora"),
        "name the Aurora cluster instead: [rds] clusters = [\"app-staging-aurora\"]".to_string(),
        format!("{file}:6:38: read replica of app-staging-analytics"),
        format!(
            "{file}:6:71: not found: there is no RDS DB instance app-staging-typo in eu-west-1"
        ),
        "attention needed: 3 resources".to_string(),
    ] {
        assert!(stdout.contains(&want), "missing {want:?} in:\n{stdout}");
    }
}

/// `lightsout apply --at` records its actions in the audit trail at the rehearsed instant, as
/// it writes the `lightsout:slept-at` tags: a week rehearsed night by night reads as that week
/// (what the demo seeds its history with).
#[test]
fn apply_at_an_instant_records_the_audit_trail_at_that_instant() {
    let moto = Moto::start();
    moto.seed();
    let dir = schedules(support::STAGING);
    let store = dir.path().join("state.db");
    let out = support::lightsout(&moto, dir.path())
        .args(["apply", "--at", "2026-11-30T19:00:00Z", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let store = lightsout::store::SqliteStore::open(&store).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let events = rt
        .block_on(lightsout::store::Store::audit(&store, Some("staging"), 50))
        .unwrap();
    assert!(!events.is_empty());
    let rehearsed: chrono::DateTime<chrono::Utc> = "2026-11-30T19:00:00Z".parse().unwrap();
    for e in &events {
        assert!(
            e.at >= rehearsed && e.at - rehearsed < chrono::TimeDelta::seconds(30),
            "{} at {}",
            e.resource,
            e.at
        );
    }
}
