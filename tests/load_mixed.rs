//! A bounded load of mixed valid and invalid requests on loopback against the real server:
//! no 5xx, every rejection with its status, and the rate limiter engages.

use crate::support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lightsout::api::auth::Tokens;
use lightsout::clock::ManualClock;
use lightsout::config;
use lightsout::store::SqliteStore;
use support::EmptyCloud;

const GOOD: &str = "good-token-0123456789ab";
const LOAD: Duration = Duration::from_secs(3);
const THREADS: usize = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_load_has_no_5xx_and_the_limiter_engages() {
    let staging = "name = \"staging\"\nregion = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = []\n[rds]\ninstances = [\"db\"]\n";
    let cfg = lightsout::model::Config {
        environments: vec![config::parse_str(Path::new("staging.toml"), staging).unwrap()],
    };
    let dir = tempfile::tempdir().unwrap();
    let app = Arc::new(lightsout::api::ApiState::new(
        Arc::new(lightsout::service::Service::new(
            cfg,
            EmptyCloud,
            Arc::new(SqliteStore::open(&dir.path().join("state.db")).unwrap()),
            Arc::new(ManualClock::new("2026-12-02T22:00:00Z".parse().unwrap())),
            "load".into(),
        )),
        Tokens::parse(&format!("alice {GOOD}")).unwrap(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server =
        tokio::spawn(axum::serve(listener, lightsout::api::router(app.clone())).into_future());

    let results = tokio::task::spawn_blocking(move || {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let base = base.clone();
                std::thread::spawn(move || {
                    let agent = ureq::Agent::config_builder()
                        .http_status_as_error(false)
                        .build()
                        .new_agent();
                    let big = "x".repeat(20_000);
                    let mut out: Vec<(u16, Duration)> = Vec::new();
                    let start = Instant::now();
                    let mut i = t;
                    while start.elapsed() < LOAD {
                        let t0 = Instant::now();
                        let auth = format!("Bearer {GOOD}");
                        let wake = format!("{base}/v1/environments/staging/wake");
                        let resp = match i % 8 {
                            0 => agent
                                .get(&format!("{base}/v1/environments"))
                                .header("Authorization", &auth)
                                .call(),
                            1 => agent
                                .post(&wake)
                                .header("Authorization", &auth)
                                .header("Content-Type", "application/json")
                                .send(r#"{"for": "1h"}"#),
                            2 => agent
                                .get(&format!("{base}/v1/environments"))
                                .header("Authorization", "Bearer wrong-token-0123456789")
                                .call(),
                            3 => agent
                                .post(&wake)
                                .header("Authorization", &auth)
                                .header("Content-Type", "application/json")
                                .send("{\"for\":"),
                            4 => agent
                                .post(&format!("{base}/v1/environments/nope/wake"))
                                .header("Authorization", &auth)
                                .header("Content-Type", "application/json")
                                .send(r#"{"for": "1h"}"#),
                            5 => agent
                                .post(&wake)
                                .header("Authorization", &auth)
                                .header("Content-Type", "application/json")
                                .send(big.as_str()),
                            6 => agent
                                .post(&wake)
                                .header("Content-Type", "text/plain")
                                .header("Authorization", &auth)
                                .send("for=1h"),
                            _ => agent.get(&format!("{base}/healthz")).call(),
                        };
                        let status = resp.map(|r| r.status().as_u16()).unwrap_or(0);
                        out.push((status, t0.elapsed()));
                        i += 1;
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    server.abort();

    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    for (s, _) in &results {
        *by_status.entry(*s).or_default() += 1;
    }
    let mut latencies: Vec<Duration> = results.iter().map(|(_, d)| *d).collect();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
    println!(
        "mixed load: {} requests in {:?} over {THREADS} connections, by status {by_status:?}, p50 {:?}, p99 {:?}",
        results.len(),
        LOAD,
        pct(0.5),
        pct(0.99)
    );
    assert!(
        !by_status.contains_key(&0),
        "transport errors: {by_status:?}"
    );
    assert!(
        by_status.keys().all(|s| *s < 500),
        "5xx under load: {by_status:?}"
    );
    assert!(
        by_status.get(&429).copied().unwrap_or(0) > 0,
        "the limiter engaged: {by_status:?}"
    );
    for status in [200, 202, 401, 404] {
        assert!(
            by_status.contains_key(&status),
            "{status} missing: {by_status:?}"
        );
    }
    // Malformed bodies are refused 400/413/415 until the identity's burst is spent, then 429:
    // the limiter comes first, so a flood of bad requests costs nothing to refuse.
    let known = [200, 202, 400, 401, 404, 413, 415, 429];
    assert!(by_status.keys().all(|s| known.contains(s)), "{by_status:?}");
}
