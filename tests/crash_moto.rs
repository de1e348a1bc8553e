//! Crash safety: the daemon (`lightsout serve --at`, its clock running from a chosen night or
//! morning instant, SQLite store) is killed with SIGKILL at random points, many times, restarted
//! each time, alternating night and morning; after every kill no service has lost its original
//! count, and uninterrupted passes afterwards converge exactly.

use crate::support;

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use support::{Moto, STAGING, schedules};

const KILLS: usize = 40;

async fn service(ecs: &aws_sdk_ecs::Client, name: &str) -> (i32, BTreeMap<String, String>) {
    support::service_state(ecs, "app-staging-cluster", name).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_never_loses_originals() {
    let moto = Moto::start();
    moto.seed();
    let sdk = moto.sdk_config().await;
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    let aas = aws_sdk_applicationautoscaling::Client::new(&sdk);
    let dir = schedules(STAGING);
    let apply = |at: &str| {
        let mut c = support::lightsout(&moto, dir.path());
        c.args(["apply", "--at", at])
            .env("LIGHTSOUT_MAX_ATTEMPTS", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    };
    let daemon = |at: &str| {
        let mut c = support::lightsout(&moto, dir.path());
        c.args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--settle",
            "1s",
            "--instance",
            "crash-test",
            "--at",
            at,
            "--store",
        ])
        .arg(dir.path().join("state.db"))
        .env("LIGHTSOUT_MAX_ATTEMPTS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        c
    };
    let (night, morning) = ("2026-12-02T22:00:00Z", "2026-12-03T06:05:00Z");
    let mut seed: u64 = 0x5eed_cafe;
    let mut killed_mid_pass = 0;
    // The kills land within four read-only passes' time (at least 500 ms): a loaded machine
    // stretches the window instead of killing every daemon before its first write.
    let mut slowest = Duration::ZERO;
    for at in [night, morning] {
        let mut plan = support::lightsout(&moto, dir.path());
        plan.args(["plan", "--at", at])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let started = std::time::Instant::now();
        assert!(plan.status().unwrap().success());
        slowest = slowest.max(started.elapsed());
    }
    let window = (4 * slowest).max(Duration::from_millis(500)).as_millis() as u64;
    // The restarted daemons make progress (a stable --instance takes its own lease back).
    let (mut slept, mut woke) = (0, 0);
    for i in 0..KILLS {
        // Four kills at night, then four in the morning, and so on.
        let at = if (i / 4) % 2 == 0 { night } else { morning };
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_millis(seed % window);
        let mut child = daemon(at).spawn().unwrap();
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            killed_mid_pass += 1;
        }
        child.kill().ok(); // SIGKILL
        child.wait().unwrap();
        // The invariant after any crash: a backend that is not at its original count carries it.
        let (desired, tags) = service(&ecs, "backend").await;
        if at == night && desired == 0 {
            slept += 1;
        }
        if at == morning && desired == 2 && slept > 0 {
            woke += 1;
        }
        if desired != 2 {
            assert_eq!(
                tags.get("lightsout:desired-count").map(String::as_str),
                Some("2"),
                "kill {i} after {delay:?}: {tags:?}"
            );
            assert_eq!(
                tags.get("lightsout:autoscaling").map(String::as_str),
                Some("min=1/max=4"),
                "kill {i}: {tags:?}"
            );
        }
        let (desired, tags) = service(&ecs, "frontend").await;
        if desired != 1 {
            assert_eq!(
                tags.get("lightsout:desired-count").map(String::as_str),
                Some("1"),
                "kill {i}: {tags:?}"
            );
        }
    }
    println!("{KILLS} daemons killed with SIGKILL at random points (0-{window} ms after start)");
    assert_eq!(
        killed_mid_pass, KILLS,
        "every daemon was still running when killed"
    );
    assert!(
        slept > 0 && woke > 0,
        "the daemons made progress between kills (slept {slept}, woke {woke})"
    );

    // Uninterrupted: night converges with the originals on the tags, morning restores them.
    for at in [night, night, morning, morning, morning] {
        apply(at).status().unwrap();
    }
    assert!(apply(morning).status().unwrap().success());
    let (desired, tags) = service(&ecs, "backend").await;
    assert_eq!(desired, 2);
    assert!(
        !tags.keys().any(|k| k.starts_with("lightsout:")),
        "{tags:?}"
    );
    assert_eq!(
        support::bounds(&aas, "service/app-staging-cluster/backend").await,
        (1, 4)
    );
    assert_eq!(service(&ecs, "frontend").await.0, 1);
}
