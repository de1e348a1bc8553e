//! A simulated hour of idle to sleep: the clock stepped a minute at a time, a pass every
//! minute (what the daemon runs), request counts injected as the ALB would report them (two
//! minutes late), and the instant the idle sleep happens measured. Also what the pass tells
//! others on the way: transitions published, alarm actions muted and unmuted.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use lightsout::clock::{Clock, ManualClock};
use lightsout::kinds::alb::{ObservedRule, TargetHealth};
use lightsout::kinds::{Observation, ObservedService, Scalable, ServiceName, Step, alb, ecs};
use lightsout::model::{Action, Config, Environment, Transition};
use lightsout::ports::{Cloud, CloudError};
use lightsout::service::Service;
use lightsout::store::{SqliteStore, Store};

const ARN: &str = "arn:aws:elasticloadbalancing:ap-southeast-2:123456789012";

fn rule_arn() -> String {
    format!("{ARN}:listener-rule/app/staging/50dc6c49/f2f7dc8e/9683b2d0")
}
fn app_tg() -> String {
    format!("{ARN}:targetgroup/backend/73e2d6bc")
}
fn wake_tg() -> String {
    format!("{ARN}:targetgroup/lightsout-wake/2453ed02")
}

fn env() -> Environment {
    env_with("")
}

/// The environment with `extra` top-level keys.
fn env_with(extra: &str) -> Environment {
    let src = format!(
        "name = \"staging\"\nregion = \"ap-southeast-2\"\ntimezone = \"Australia/Sydney\"\n\
         awake = [\"Mon-Fri 07:00-20:00\"]\nidle_wake = \"30m\"\nmute_alarms = [\"staging-\"]\n{extra}\
         [events]\nbus = \"default\"\n\
         [ecs]\nservices = [\"app-staging-cluster/backend\"]\n\
         [[alb.rules]]\nrule = \"{}\"\napp = \"{}\"\nwake = \"{}\"\n",
        rule_arn(),
        app_tg(),
        wake_tg()
    );
    lightsout::config::parse_str(Path::new("staging.toml"), &src).unwrap_or_else(|e| panic!("{e}"))
}

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// One service behind one front-door rule, asleep as the schedule left it at 20:00; what the
/// ALB counted per minute; and what the pass asked of the cloud beyond observing and acting.
struct Sim {
    clock: Arc<ManualClock>,
    desired: Mutex<i32>,
    tags: Mutex<BTreeMap<String, String>>,
    weights: Mutex<(i32, i32)>,
    /// Services deploying between these instants.
    deploying: Mutex<Option<(DateTime<Utc>, DateTime<Utc>)>>,
    /// Requests per minute, as the ALB counted them.
    requests: Mutex<BTreeMap<DateTime<Utc>, f64>>,
    metric_calls: AtomicUsize,
    /// CloudWatch refuses the counts.
    counts_fail: AtomicBool,
    published: Mutex<Vec<Transition>>,
    alarms: Mutex<Vec<(DateTime<Utc>, bool)>>,
    /// What each unmuting was limited to.
    unmuted_only: Mutex<Vec<Option<Vec<String>>>>,
}

/// ALB metrics reach CloudWatch a couple of minutes late.
const METRIC_LAG: TimeDelta = TimeDelta::minutes(2);

impl Cloud for Sim {
    async fn observe(&self, _env: &Environment) -> Observation {
        let now = self.clock.now();
        let desired = *self.desired.lock().unwrap();
        let (app, wake) = *self.weights.lock().unwrap();
        let deploying = self
            .deploying
            .lock()
            .unwrap()
            .is_some_and(|(a, b)| a <= now && now < b);
        Observation {
            services: vec![ObservedService {
                name: ServiceName::parse("app-staging-cluster/backend").unwrap(),
                arn: "arn:aws:ecs:ap-southeast-2:123456789012:service/app-staging-cluster/backend"
                    .into(),
                status: "ACTIVE".into(),
                desired,
                running: desired,
                tags: self.tags.lock().unwrap().clone(),
                deploying,
                scalable: Scalable::None,
            }],
            rules: vec![ObservedRule {
                arn: rule_arn(),
                app: app_tg(),
                wake: wake_tg(),
                forward: vec![(app_tg(), app), (wake_tg(), wake)],
                health: TargetHealth::Read {
                    healthy: desired.max(0) as u32,
                    total: desired.max(0) as u32,
                },
                tags: BTreeMap::new(),
            }],
            ..Default::default()
        }
    }

    async fn execute(&self, _env: &Environment, step: &Step) -> Result<(), CloudError> {
        match step {
            Step::Ecs(ecs::Step::SetDesiredCount { count, .. }) => {
                *self.desired.lock().unwrap() = *count
            }
            Step::Ecs(ecs::Step::TagService { tags, .. }) => {
                self.tags.lock().unwrap().extend(tags.clone())
            }
            Step::Ecs(ecs::Step::UntagService { keys, .. }) => {
                let mut t = self.tags.lock().unwrap();
                for k in keys {
                    t.remove(k);
                }
            }
            Step::Alb(alb::Step::SetWeights {
                app_weight,
                wake_weight,
                ..
            }) => *self.weights.lock().unwrap() = (*app_weight, *wake_weight),
            _ => {}
        }
        Ok(())
    }

    async fn request_counts(
        &self,
        _env: &Environment,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, f64)>, CloudError> {
        self.metric_calls.fetch_add(1, Ordering::SeqCst);
        if self.counts_fail.load(Ordering::SeqCst) {
            return Err(CloudError {
                operation: "GetMetricData",
                code: Some("AccessDenied".into()),
                message: "not authorized to perform: cloudwatch:GetMetricData".into(),
            });
        }
        let visible = self.clock.now() - METRIC_LAG;
        Ok(self
            .requests
            .lock()
            .unwrap()
            .range(from..to)
            .filter(|(t, _)| **t < visible)
            .map(|(t, n)| (*t, *n))
            .collect())
    }

    async fn alarm_actions(
        &self,
        _env: &Environment,
        enabled: bool,
        only: Option<&[String]>,
    ) -> Result<Vec<String>, CloudError> {
        self.alarms
            .lock()
            .unwrap()
            .push((self.clock.now(), enabled));
        if enabled {
            self.unmuted_only
                .lock()
                .unwrap()
                .push(only.map(<[String]>::to_vec));
        }
        Ok(vec!["staging-5xx".to_string()])
    }

    async fn publish(&self, _env: &Environment, t: &Transition) -> Vec<String> {
        self.published.lock().unwrap().push(t.clone());
        Vec::new()
    }
}

struct Hour {
    service: Service<Sim>,
    clock: Arc<ManualClock>,
    store: Arc<SqliteStore>,
    env: Environment,
}

/// Wednesday 2026-12-02 21:00 AEDT (10:00 UTC), an hour after the schedule put staging to
/// sleep.
fn start() -> DateTime<Utc> {
    utc("2026-12-02T10:00:00Z")
}

fn hour() -> Hour {
    hour_with(env())
}

fn sim(clock: Arc<ManualClock>) -> Sim {
    Sim {
        clock,
        desired: Mutex::new(0),
        tags: Mutex::new(BTreeMap::from([(
            ecs::DESIRED_COUNT.to_string(),
            "2".to_string(),
        )])),
        weights: Mutex::new((0, 1)),
        deploying: Mutex::new(None),
        requests: Mutex::new(BTreeMap::new()),
        metric_calls: AtomicUsize::new(0),
        counts_fail: AtomicBool::new(false),
        published: Mutex::new(Vec::new()),
        alarms: Mutex::new(Vec::new()),
        unmuted_only: Mutex::new(Vec::new()),
    }
}

fn hour_with(env: Environment) -> Hour {
    let clock = Arc::new(ManualClock::new(start()));
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let sim = sim(clock.clone());
    let service = Service::new(
        Config {
            environments: vec![env.clone()],
        },
        sim,
        store.clone(),
        clock.clone(),
        "sim".into(),
    );
    Hour {
        service,
        clock,
        store,
        env,
    }
}

impl Sim {
    /// Requests every minute from minute `from` to `to` (exclusive).
    fn traffic_from(&self, from: i64, to: i64) {
        let mut r = self.requests.lock().unwrap();
        for m in from..to {
            r.insert(start() + TimeDelta::minutes(m), 7.0);
        }
    }
}

impl Hour {
    /// Requests every minute from `from` to `to` (exclusive), as the ALB counts them.
    fn traffic(&self, from: i64, to: i64, per_minute: f64) {
        let mut r = self.service.cloud.requests.lock().unwrap();
        for m in from..to {
            r.insert(start() + TimeDelta::minutes(m), per_minute);
        }
    }

    /// Runs a pass every minute from minute `from` to `to`; the minute of the idle sleep (the
    /// audit's idle event), if one happened.
    async fn run(&self, from: i64, to: i64) -> Option<i64> {
        for m in from..=to {
            self.clock.set(start() + TimeDelta::minutes(m));
            let _ = self.service.reconcile_all().await;
            let idle = self
                .store
                .audit(Some("staging"), 50)
                .await
                .unwrap()
                .into_iter()
                .find(|e| matches!(&e.action, Action::Sleep { idle: Some(_), .. }));
            if let Some(e) = idle {
                assert_eq!(e.actor, "idle");
                return Some((e.at - start()).num_minutes());
            }
        }
        None
    }
}

/// Woken at 21:00 for 2 hours, used from 21:02 to 21:12, then left: with `idle_wake = "30m"`
/// the wake ends at 21:42 (30 minutes after the last request's minute ended, at 21:12), not at
/// 23:00 — and the services go down in that same pass, the front door first.
#[tokio::test]
async fn a_simulated_hour_ends_an_unused_wake_thirty_minutes_after_the_last_request() {
    let h = hour();
    // Settle asleep first (the pass that finds it asleep mutes its alarms).
    let _ = h.run(-1, -1).await;
    h.clock.set(start());
    h.service
        .wake(&h.env, "alice", "2h", "check the release")
        .await
        .unwrap();
    h.traffic(2, 12, 7.0);
    let slept_at = h.run(0, 60).await;
    let calls = h.service.cloud.metric_calls.load(Ordering::SeqCst);
    println!(
        "idle sleep at minute {slept_at:?} after the wake (last request in minute 11); GetMetricData calls: {calls}"
    );
    assert_eq!(slept_at, Some(42));
    // Counts are read only from minute 30 (the earliest an idle sleep may come) to 42.
    assert_eq!(calls, 13);
    // The same pass acted: the wake is over and the service is going down.
    assert_eq!(
        h.store
            .active_override("staging", h.clock.now())
            .await
            .unwrap(),
        None
    );
    assert_eq!(*h.service.cloud.weights.lock().unwrap(), (0, 1));
    assert_eq!(*h.service.cloud.desired.lock().unwrap(), 0);
    let _ = h.run(43, 44).await;
    let changes: Vec<&str> = h
        .service
        .cloud
        .published
        .lock()
        .unwrap()
        .iter()
        .map(|t| t.transition.as_str())
        .collect::<Vec<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        changes,
        ["waking", "awake", "idle_slept", "going_to_sleep", "asleep"]
    );
    let published = h.service.cloud.published.lock().unwrap().clone();
    assert_eq!(published[0].actor, "alice");
    assert_eq!(published[2].actor, "idle");
    // Alarms: muted while asleep, unmuted once awake, muted again by the idle sleep.
    let alarms: Vec<(i64, bool)> = h
        .service
        .cloud
        .alarms
        .lock()
        .unwrap()
        .iter()
        .map(|(t, on)| ((*t - start()).num_minutes(), *on))
        .collect();
    assert_eq!(alarms.first(), Some(&(-1, false)));
    assert!(alarms.iter().any(|(_, on)| *on), "{alarms:?}");
    assert_eq!(alarms.last(), Some(&(42, false)), "{alarms:?}");
    // Waking turned back on only what going to sleep had muted.
    assert_eq!(
        *h.service.cloud.unmuted_only.lock().unwrap(),
        [Some(vec!["staging-5xx".to_string()])]
    );
    assert!(
        h.service
            .metrics
            .render(1, 0, 0)
            .contains("lightsout_idle_sleeps_total{env=\"staging\"} 1")
    );
}

/// Counts that cannot be read are not "no requests": it stays awake the whole hour, and the
/// wake ends when it was asked to.
#[tokio::test]
async fn unreadable_counts_keep_it_awake() {
    let h = hour();
    h.service
        .wake(&h.env, "alice", "2h", "check")
        .await
        .unwrap();
    h.service.cloud.counts_fail.store(true, Ordering::SeqCst);
    assert_eq!(h.run(0, 60).await, None);
    assert_eq!(*h.service.cloud.desired.lock().unwrap(), 2);
}

/// A deployment under way from 21:35 to 21:50 holds the idle sleep until the first pass after
/// it (21:50), and no counts are read while it runs.
#[tokio::test]
async fn a_deployment_holds_the_idle_sleep_until_it_is_done() {
    let h = hour();
    h.service
        .wake(&h.env, "alice", "2h", "deploy and check")
        .await
        .unwrap();
    h.traffic(2, 12, 7.0);
    *h.service.cloud.deploying.lock().unwrap() = Some((
        start() + TimeDelta::minutes(35),
        start() + TimeDelta::minutes(50),
    ));
    let slept_at = h.run(0, 60).await;
    println!("with a deployment 21:35-21:50: idle sleep at minute {slept_at:?}");
    assert_eq!(slept_at, Some(50));
    // Minutes 30-34 and 50: six reads.
    assert_eq!(h.service.cloud.metric_calls.load(Ordering::SeqCst), 6);
}

/// Steady use keeps it awake the whole hour, with one read a pass once past the earliest.
#[tokio::test]
async fn steady_use_keeps_it_awake() {
    let h = hour();
    h.service.wake(&h.env, "alice", "2h", "demo").await.unwrap();
    // A request every ten minutes.
    for m in (0..60).step_by(10) {
        h.traffic(m, m + 1, 1.0);
    }
    assert_eq!(h.run(0, 60).await, None);
    assert_eq!(h.service.cloud.metric_calls.load(Ordering::SeqCst), 31);
}

/// Records what would have gone to Slack, and when.
struct Slack {
    clock: Arc<ManualClock>,
    posts: Mutex<Vec<(DateTime<Utc>, serde_json::Value)>>,
}

impl lightsout::ports::Outbox for Slack {
    fn email<'a>(
        &'a self,
        _: &'a str,
        _: &'a [String],
        _: Vec<u8>,
    ) -> futures_util::future::BoxFuture<'a, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
    fn publish<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: &'a str,
    ) -> futures_util::future::BoxFuture<'a, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
    fn slack(&self, body: String) -> futures_util::future::BoxFuture<'_, Result<(), String>> {
        self.posts
            .lock()
            .unwrap()
            .push((self.clock.now(), serde_json::from_str(&body).unwrap()));
        Box::pin(async { Ok(()) })
    }
}

impl Hour {
    /// As [`Hour::run`], posting the heads-ups after each pass (twice: the second finds it
    /// claimed), as the daemon and the Lambda do.
    async fn run_with_heads_ups(&self, from: i64, to: i64) -> Option<i64> {
        for m in from..=to {
            if let Some(slept) = self.run(m, m).await {
                return Some(slept);
            }
            self.service.heads_ups().await;
            self.service.heads_ups().await;
        }
        None
    }
}

fn with_slack(h: &mut Hour) -> Arc<Slack> {
    let slack = Arc::new(Slack {
        clock: h.clock.clone(),
        posts: Mutex::new(Vec::new()),
    });
    h.service.notify = Some(slack.clone());
    slack
}

/// The minutes (from the start) and texts of the posts.
fn posts(slack: &Slack) -> Vec<(i64, String)> {
    slack
        .posts
        .lock()
        .unwrap()
        .iter()
        .map(|(t, m)| {
            (
                (*t - start()).num_minutes(),
                m["text"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// With `heads_up = "15m"`: the wake at 21:00, used 21:02-21:12, idle-sleeps at 21:42 as
/// before, and the heads-up before it is posted once, at 21:27 — from the counts the pass reads
/// anyway (read from 21:15, the lead before the earliest sleep; still one call a pass).
#[tokio::test]
async fn the_heads_up_before_an_idle_sleep_is_posted_once_fifteen_minutes_before() {
    let mut h = hour_with(env_with("heads_up = \"15m\"\n"));
    let slack = with_slack(&mut h);
    h.service
        .wake(&h.env, "alice", "2h", "check the release")
        .await
        .unwrap();
    h.traffic(2, 12, 7.0);
    let slept_at = h.run_with_heads_ups(0, 60).await;
    let posted = posts(&slack);
    println!("heads-up posted at minutes {posted:?}; idle sleep at minute {slept_at:?}");
    assert_eq!(slept_at, Some(42));
    assert_eq!(
        posted,
        [(
            27,
            "staging sleeps at 21:42 (Australia/Sydney) — Keep 1 h or Sleep now".to_string()
        )]
    );
    // Minutes 15 to 42, one read a pass.
    assert_eq!(h.service.cloud.metric_calls.load(Ordering::SeqCst), 28);
}

/// Requests are a use: with `idle_min_awake = "90m"` the idle sleep comes at 22:30 and its
/// heads-up would be at 22:15, when the wake (21:00, its audit) is more than an hour old. Used
/// through the front door from 21:40 to 21:50, the heads-up goes out; unused, none does.
#[tokio::test]
async fn requests_in_the_last_hour_are_a_use_and_none_means_no_heads_up() {
    for used in [true, false] {
        let mut h = hour_with(env_with("heads_up = \"15m\"\nidle_min_awake = \"90m\"\n"));
        let slack = with_slack(&mut h);
        h.service
            .wake(&h.env, "alice", "3h", "check")
            .await
            .unwrap();
        if used {
            h.traffic(40, 50, 3.0);
        }
        assert_eq!(h.run_with_heads_ups(0, 120).await, Some(90));
        let expected: &[i64] = if used { &[75] } else { &[] };
        assert_eq!(
            posts(&slack).iter().map(|(m, _)| *m).collect::<Vec<_>>(),
            expected,
            "used: {used}"
        );
    }
}

/// Before a *scheduled* sleep (20:00), requests are a use too: the pass reads the last hour's
/// counts within the heads-up's lead (the schedule's own passes are no use), so traffic from
/// 19:30 to 19:40 gets the heads-up at 19:45; no traffic, none.
#[tokio::test]
async fn requests_are_a_use_before_a_scheduled_sleep() {
    for used in [true, false] {
        let mut h = hour_with(env_with("heads_up = \"15m\"\n"));
        let slack = with_slack(&mut h);
        if used {
            h.traffic(-90, -80, 3.0);
        }
        assert_eq!(h.run_with_heads_ups(-90, -55).await, None);
        let expected: &[(i64, &str)] = if used {
            &[(
                -75,
                "staging sleeps at 20:00 (Australia/Sydney) — Keep 1 h or Sleep now",
            )]
        } else {
            &[]
        };
        let got = posts(&slack);
        assert_eq!(
            got.iter()
                .map(|(m, t)| (*m, t.as_str()))
                .collect::<Vec<_>>(),
            expected,
            "used: {used}"
        );
        // Counts read only within the lead (19:45 to 19:59), one call a pass.
        assert_eq!(h.service.cloud.metric_calls.load(Ordering::SeqCst), 15);
    }
}

/// Inside a window with `idle_sleep = "30m"`, used until 19:20: the idle sleep at 19:50 comes
/// before the schedule's 20:00, so its heads-up (19:35) is the only one — none for 20:00.
#[tokio::test]
async fn an_idle_sleep_before_the_scheduled_one_gets_the_only_heads_up() {
    let mut h = hour_with(env_with("heads_up = \"15m\"\nidle_sleep = \"30m\"\n"));
    let slack = with_slack(&mut h);
    h.traffic(-180, -100, 3.0);
    let slept_at = h.run_with_heads_ups(-120, -55).await;
    let posted = posts(&slack);
    println!("in a window: heads-ups at {posted:?}; idle sleep at minute {slept_at:?}");
    assert_eq!(slept_at, Some(-70));
    assert_eq!(
        posted,
        [(
            -85,
            "staging sleeps at 19:50 (Australia/Sydney) — Keep 1 h or Sleep now".to_string()
        )]
    );
    // Held asleep: nothing more, at 19:45 or after.
    for m in -69..=-55 {
        let _ = h.run(m, m).await;
        h.service.heads_ups().await;
    }
    assert_eq!(posts(&slack).len(), 1);
}

/// `status` says when the idle sleep comes if no request does: at 21:20 (used until 21:12),
/// 21:42; the pass's own view (for the API) says the same once it reads the counts (from 21:15
/// with `heads_up = "15m"`).
#[tokio::test]
async fn status_says_when_the_idle_sleep_comes() {
    let h = hour_with(env_with("heads_up = \"15m\"\n"));
    h.service
        .wake(&h.env, "alice", "2h", "check the release")
        .await
        .unwrap();
    h.traffic(2, 12, 7.0);
    assert_eq!(h.run(0, 20).await, None);
    let now = h.clock.now();
    let ov = h.store.active_override("staging", now).await.unwrap();
    let observed = h.service.cloud.observe(&h.env).await;
    let up = h
        .service
        .idle_status(&h.env, ov.as_ref(), &observed, now)
        .await
        .unwrap();
    assert_eq!(up.due, start() + TimeDelta::minutes(42));
    assert_eq!(up.quiet_since, start() + TimeDelta::minutes(12));
    assert_eq!(
        up.sentence(&h.env, now),
        "sleeps at Wed 21:42 AEDT if no request comes"
    );
    assert_eq!(h.service.idle_ahead("staging"), Some(up));
}

/// "Keep 1 h" clicked at the heads-up (21:27) keeps it awake the whole hour: the idle sleep
/// comes at 22:27, not 21:42, with its own heads-up at 22:12.
#[tokio::test]
async fn keep_one_hour_keeps_it_awake_for_the_hour() {
    let mut h = hour_with(env_with("heads_up = \"15m\"\n"));
    let slack = with_slack(&mut h);
    h.service
        .wake(&h.env, "alice", "2h", "check the release")
        .await
        .unwrap();
    h.traffic(2, 12, 7.0);
    assert_eq!(h.run_with_heads_ups(0, 27).await, None);
    h.service
        .keep(&h.env, "slack:U1", "Keep 1 h, from the heads-up in Slack")
        .await
        .unwrap();
    let slept_at = h.run_with_heads_ups(28, 100).await;
    let posted = posts(&slack);
    println!("kept at minute 27: heads-ups at {posted:?}; idle sleep at minute {slept_at:?}");
    assert_eq!(slept_at, Some(87));
    assert_eq!(posted.iter().map(|(m, _)| *m).collect::<Vec<_>>(), [27, 72]);
}

/// Two copies on one store (a Lambda cold start, or a second container): each transition is
/// published exactly once, whichever copy's pass sees it.
#[tokio::test]
async fn two_copies_publish_each_transition_once() {
    struct Shared(Arc<Sim>);
    impl Cloud for Shared {
        async fn observe(&self, env: &Environment) -> Observation {
            self.0.observe(env).await
        }
        async fn execute(&self, env: &Environment, step: &Step) -> Result<(), CloudError> {
            self.0.execute(env, step).await
        }
        async fn request_counts(
            &self,
            env: &Environment,
            from: DateTime<Utc>,
            to: DateTime<Utc>,
        ) -> Result<Vec<(DateTime<Utc>, f64)>, CloudError> {
            self.0.request_counts(env, from, to).await
        }
        async fn alarm_actions(
            &self,
            env: &Environment,
            enabled: bool,
            only: Option<&[String]>,
        ) -> Result<Vec<String>, CloudError> {
            self.0.alarm_actions(env, enabled, only).await
        }
        async fn publish(&self, env: &Environment, t: &Transition) -> Vec<String> {
            self.0.publish(env, t).await
        }
    }
    let clock = Arc::new(ManualClock::new(start()));
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let sim = Arc::new(sim(clock.clone()));
    let copy = |name: &str| {
        Service::new(
            Config {
                environments: vec![env()],
            },
            Shared(sim.clone()),
            store.clone(),
            clock.clone(),
            name.into(),
        )
    };
    let mut a = Some(copy("a"));
    let mut b = None;
    a.as_ref()
        .unwrap()
        .wake(&env(), "alice", "2h", "check")
        .await
        .unwrap();
    sim.traffic_from(2, 12);
    for m in 0..=50 {
        clock.set(start() + TimeDelta::minutes(m));
        // Every minute the copy in use goes cold and a new one takes over (the one before
        // still runs at minute 5).
        std::mem::swap(&mut a, &mut b);
        a = Some(copy(&format!("copy{m}")));
        for s in a.iter().chain(b.iter().filter(|_| m == 5)) {
            let _ = s.reconcile_all().await;
        }
    }
    let changes: Vec<&str> = sim
        .published
        .lock()
        .unwrap()
        .iter()
        .map(|t| t.transition.as_str())
        .collect::<Vec<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        changes,
        ["waking", "awake", "idle_slept", "going_to_sleep", "asleep"]
    );
}
