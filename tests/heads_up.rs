//! The heads-up before a scheduled sleep: posted once per sleep to Slack, only for an
//! environment used in the last hour, from the daemon's pass and the Lambda's scheduled event,
//! also when two copies share the store.

use crate::support;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::future::{BoxFuture, FutureExt};
use lightsout::api::{ApiState, auth::Tokens, router};
use lightsout::clock::ManualClock;
use lightsout::ports::Outbox;
use lightsout::service::Service;
use lightsout::service::links::WakeLinks;
use lightsout::store::{SqliteStore, Store};
use serde_json::{Value, json};
use support::EmptyCloud;

/// Records what would have gone to Slack.
#[derive(Default)]
struct Slack {
    posts: Mutex<Vec<Value>>,
}

impl Outbox for Slack {
    fn email<'a>(
        &'a self,
        _: &'a str,
        _: &'a [String],
        _: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), String>> {
        async { Ok(()) }.boxed()
    }
    fn publish<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: &'a str,
    ) -> BoxFuture<'a, Result<(), String>> {
        async { Ok(()) }.boxed()
    }
    fn slack(&self, body: String) -> BoxFuture<'_, Result<(), String>> {
        self.posts
            .lock()
            .unwrap()
            .push(serde_json::from_str(&body).unwrap());
        async { Ok(()) }.boxed()
    }
}

const STAGING: &str = "name = \"staging\"\nregion = \"ap-southeast-2\"\ntimezone = \"Australia/Sydney\"\nawake = [\"Mon-Fri 07:00-20:00\"]\nheads_up = \"15m\"\n[rds]\ninstances = [\"db\"]\n[alb]\nhosts = [\"staging.example.com\"]\n[[alb.rules]]\nrule = \"arn:aws:elasticloadbalancing:ap-southeast-2:123456789012:listener-rule/app/s/50dc/f2f7/9683\"\napp = \"arn:aws:elasticloadbalancing:ap-southeast-2:123456789012:targetgroup/app/1\"\nwake = \"arn:aws:elasticloadbalancing:ap-southeast-2:123456789012:targetgroup/wake/2\"\n";

/// Wednesday 2026-12-02, 20:00 AEDT.
fn sleep_at() -> DateTime<Utc> {
    "2026-12-02T09:00:00Z".parse().unwrap()
}

fn service(
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    slack: Arc<Slack>,
) -> Service<EmptyCloud> {
    let cfg = lightsout::model::Config {
        environments: vec![
            lightsout::config::parse_str(std::path::Path::new("staging.toml"), STAGING).unwrap(),
        ],
    };
    let mut s = Service::new(cfg, EmptyCloud, store, clock, "test".into());
    s.notify = Some(slack);
    s.links = Some(WakeLinks::new("link-secret"));
    s
}

/// Used 30 minutes before the sleep, the heads-up goes out once at 19:45 local, with both
/// buttons and a signed wake link; a second copy on the same store, a second pass and the
/// minutes after post nothing more.
#[tokio::test]
async fn one_heads_up_per_sleep_across_two_copies() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let clock = Arc::new(ManualClock::new(sleep_at() - TimeDelta::minutes(30)));
    let slack = Arc::new(Slack::default());
    let a = service(store.clone(), clock.clone(), slack.clone());
    let b = service(store.clone(), clock.clone(), slack.clone());
    let env = a.config.environment("staging").unwrap().clone();
    // Used: someone asked for a short wake (it ends before the window does).
    a.wake(&env, "alice", "10m", "checking a fix")
        .await
        .unwrap();
    assert!(a.heads_ups().await.is_empty(), "too early: 30 min before");
    assert_eq!(
        a.next_heads_up().await,
        Some(sleep_at() - TimeDelta::minutes(15))
    );

    clock.set(sleep_at() - TimeDelta::minutes(15));
    assert_eq!(a.heads_ups().await, ["staging"]);
    assert!(
        b.heads_ups().await.is_empty(),
        "the other copy sees the claim"
    );
    clock.set(sleep_at() - TimeDelta::minutes(5));
    assert!(a.heads_ups().await.is_empty());
    let posts = slack.posts.lock().unwrap().clone();
    assert_eq!(posts.len(), 1);
    assert_eq!(
        posts[0]["text"],
        "staging sleeps at 20:00 (Australia/Sydney) — Keep 1 h or Sleep now"
    );
    let detail = posts[0]["blocks"][0]["text"]["text"].as_str().unwrap();
    assert!(
        detail.contains("<https://staging.example.com/?lightsout_wake=staging."),
        "{detail}"
    );
    let ids: Vec<&str> = posts[0]["blocks"][1]["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["action_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["lightsout_keep", "lightsout_sleep"]);
}

/// Nobody used it in the last hour (only the scheduled passes acted): no heads-up.
#[tokio::test]
async fn an_unused_environment_gets_no_heads_up() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let clock = Arc::new(ManualClock::new(sleep_at() - TimeDelta::minutes(90)));
    let slack = Arc::new(Slack::default());
    let a = service(store, clock.clone(), slack.clone());
    let env = a.config.environment("staging").unwrap().clone();
    a.wake(&env, "alice", "10m", "").await.unwrap();
    clock.set(sleep_at() - TimeDelta::minutes(10));
    assert!(
        a.heads_ups().await.is_empty(),
        "the wake was 80 minutes ago"
    );
    assert!(slack.posts.lock().unwrap().is_empty());
}

/// The Lambda's scheduled event posts the heads-up after its pass and says so.
#[tokio::test]
async fn the_lambdas_scheduled_event_posts_the_heads_up() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let clock = Arc::new(ManualClock::new(sleep_at() - TimeDelta::minutes(40)));
    let slack = Arc::new(Slack::default());
    let app = service(store, clock.clone(), slack.clone());
    let env = app.config.environment("staging").unwrap().clone();
    app.wake(&env, "request:10.0.0.7", "10m", "").await.unwrap();
    clock.set(sleep_at() - TimeDelta::minutes(12));
    let api = Arc::new(ApiState::new(Arc::new(app), Tokens::default()));
    let out = lightsout::lambda::handle(
        api.as_ref(),
        router(api.clone()),
        lambda_runtime::LambdaEvent::new(
            json!({"action": "reconcile"}),
            lambda_runtime::Context::default(),
        ),
    )
    .await
    .unwrap();
    assert_eq!(out["heads_ups"], json!(["staging"]), "{out}");
    assert_eq!(slack.posts.lock().unwrap().len(), 1);
}

/// The daemon posts the heads-up in the pass it runs once the heads-up is due.
#[tokio::test]
async fn the_daemons_pass_posts_the_heads_up() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let clock = Arc::new(ManualClock::new(sleep_at() - TimeDelta::minutes(20)));
    let slack = Arc::new(Slack::default());
    let app = service(store, clock.clone(), slack.clone());
    let env = app.config.environment("staging").unwrap().clone();
    app.wake(&env, "alice", "10m", "").await.unwrap();
    clock.set(sleep_at() - TimeDelta::minutes(14));
    let api = Arc::new(ApiState::new(Arc::new(app), Tokens::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (passes_tx, mut passes) = tokio::sync::watch::channel(0u64);
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let pace = lightsout::daemon::Pace {
        cadence: TimeDelta::hours(1),
        settle: std::time::Duration::from_secs(60),
        pass_timeout: std::time::Duration::from_secs(60),
    };
    let server = tokio::spawn(lightsout::daemon::serve(
        api,
        listener,
        pace,
        async {
            let _ = stop_rx.await;
        },
        passes_tx,
    ));
    passes.wait_for(|n| *n >= 1).await.unwrap();
    assert_eq!(slack.posts.lock().unwrap().len(), 1);
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
