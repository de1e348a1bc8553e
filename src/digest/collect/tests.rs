//! Gathering over in-memory ports: the digest's input is made from what the ports answer, and
//! Cost Explorer's answers are reused from the store.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::future::{BoxFuture, FutureExt};

use crate::clock::FixedClock;
use crate::digest::Digester;
use crate::digest::fixtures::{date, day_spend, day_usage, staging_env, usd, utc};
use crate::digest::input::{Budget, Size};
use crate::kinds::{
    DbKind, DbStatus, Observation, ObservedDb, ObservedService, Scalable, ServiceName,
    ecs::ServiceStatus,
};
use crate::model::{Config, Environment, Money};
use crate::ports::{
    Alarm, Billing, DailyCost, FailedTask, Inspect, Outbox, Ports, ResourceCost, ServiceDetail,
    ServiceHealth, TargetGroupHealth, UsageCost,
};
use crate::store::SqliteStore;

#[derive(Default)]
struct Fake {
    cost_calls: AtomicUsize,
    /// The ranges asked of `daily_cost`, in order.
    asked: Mutex<Vec<(NaiveDate, NaiveDate)>>,
    usage_calls: AtomicUsize,
    forecast_calls: AtomicUsize,
    sent: Mutex<Vec<String>>,
    /// Also observe a database with a read replica, and the replica (neither can be stopped).
    replicas: bool,
    /// Days from this one on have no cost data yet (Cost Explorer has not processed them).
    no_data_from: Mutex<Option<NaiveDate>>,
    /// Days from this one on are still estimated.
    estimated_from: Option<NaiveDate>,
    /// The forecast answers this amount (else "not enough history").
    forecast: Option<Money>,
    /// Every daily answer has no groups at all (a tag that matches nothing).
    nothing: bool,
    /// Requests each daily answer says it took (pages); 1 when 0.
    pages: usize,
}

fn db(id: &str, replica_of: Option<&str>, replicas: &[&str]) -> ObservedDb {
    ObservedDb {
        kind: DbKind::Instance,
        id: id.into(),
        arn: "arn".into(),
        status: DbStatus::Available,
        engine: "postgres".into(),
        engine_mode: None,
        member_of: None,
        replica_of: replica_of.map(String::from),
        replicas: replicas.iter().map(|r| r.to_string()).collect(),
        tags: BTreeMap::new(),
    }
}

impl Billing for Fake {
    fn daily_cost<'a>(
        &'a self,
        _env: &'a Environment,
        start: NaiveDate,
        end: NaiveDate,
        _max_pages: usize,
    ) -> BoxFuture<'a, Result<DailyCost, String>> {
        self.cost_calls.fetch_add(1, Ordering::SeqCst);
        self.asked.lock().unwrap().push((start, end));
        let no_data_from = *self.no_data_from.lock().unwrap();
        let days = start
            .iter_days()
            .take_while(|d| *d < end)
            .map(|d| {
                let mut s = day_spend(d);
                if self.nothing || no_data_from.is_some_and(|n| d >= n) {
                    s.by_service.clear();
                    s.total = Money::ZERO;
                    s.has_data = false;
                }
                s.estimated = self.estimated_from.is_some_and(|e| d >= e);
                s
            })
            .collect();
        let requests = self.pages.max(1);
        async move { Ok(DailyCost { days, requests }) }.boxed()
    }
    fn usage<'a>(
        &'a self,
        _env: &'a Environment,
        day: NaiveDate,
    ) -> BoxFuture<'a, Result<Vec<UsageCost>, String>> {
        self.usage_calls.fetch_add(1, Ordering::SeqCst);
        async move { Ok(day_usage(day)) }.boxed()
    }
    fn forecast<'a>(
        &'a self,
        _env: &'a Environment,
        _start: NaiveDate,
        _end: NaiveDate,
    ) -> BoxFuture<'a, Result<Money, String>> {
        self.forecast_calls.fetch_add(1, Ordering::SeqCst);
        let f = self.forecast;
        async move { f.ok_or_else(|| "not enough history".to_string()) }.boxed()
    }
    fn budget<'a>(
        &'a self,
        _env: &'a Environment,
        _name: &'a str,
    ) -> BoxFuture<'a, Result<Money, String>> {
        async { Ok(usd(70_000)) }.boxed()
    }
}

fn service(name: &str, desired: i32) -> ObservedService {
    ObservedService {
        name: ServiceName::parse(name).unwrap(),
        arn: name.into(),
        status: ServiceStatus::Active,
        desired,
        running: desired,
        tags: BTreeMap::new(),
        deploying: false,
        scalable: Scalable::None,
    }
}

impl Inspect for Fake {
    fn observe<'a>(&'a self, _env: &'a Environment) -> BoxFuture<'a, Observation> {
        let mut databases = vec![db("app-staging-db", None, &[])];
        if self.replicas {
            databases.push(db(
                "app-staging-analytics",
                None,
                &["app-staging-analytics-r"],
            ));
            databases.push(db(
                "app-staging-analytics-r",
                Some("app-staging-analytics"),
                &[],
            ));
        }
        let obs = Observation {
            services: vec![service("app-staging-cluster/backend", 2)],
            databases,
            ..Default::default()
        };
        async move { obs }.boxed()
    }
    fn services<'a>(
        &'a self,
        _env: &'a Environment,
        services: &'a [ServiceName],
        _now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<ServiceDetail>, String>> {
        let out = services
            .iter()
            .map(|s| ServiceDetail {
                health: ServiceHealth {
                    name: s.to_string(),
                    desired: 2,
                    running: 2,
                    asleep: false,
                    stuck_deployment: None,
                    failed_tasks: Vec::new(),
                },
                task_definition: Some("app:7".into()),
                launch_type: Some("FARGATE".into()),
                capacity_providers: Vec::new(),
                target_groups: Vec::new(),
            })
            .collect();
        async move { Ok(out) }.boxed()
    }
    fn priced<'a>(
        &'a self,
        env: &'a Environment,
        observed: &'a Observation,
    ) -> BoxFuture<'a, Vec<ResourceCost>> {
        let region = env.region.clone();
        let mut out: Vec<ResourceCost> = observed
            .services
            .iter()
            .map(|s| ResourceCost {
                resource: format!("ecs:{}", s.name),
                size: Size::Fargate {
                    region: region.clone(),
                    cpu_units: 512,
                    memory_mib: 1024,
                    arm: false,
                    os: crate::ports::TaskOs::Linux,
                    tasks: s.desired as u32,
                    spot_tasks: 0,
                },
                sleeps: true,
            })
            .collect();
        out.extend(observed.databases.iter().map(|d| ResourceCost {
            resource: d.resource_id().to_string(),
            size: Size::Database {
                region: region.clone(),
                classes: vec!["db.t4g.medium".into()],
                engine: d.engine.clone(),
                multi_az: false,
            },
            sleeps: true,
        }));
        async move { out }.boxed()
    }
    fn failed_tasks<'a>(
        &'a self,
        _env: &'a Environment,
        _service: &'a ServiceName,
        _since: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<FailedTask>, String>> {
        async { Ok(Vec::new()) }.boxed()
    }
    fn target_groups<'a>(
        &'a self,
        _env: &'a Environment,
        _arns: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<TargetGroupHealth>, String>> {
        async { Ok(Vec::new()) }.boxed()
    }
    fn alarms<'a>(
        &'a self,
        _env: &'a Environment,
        _prefix: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Alarm>, String>> {
        async { Err("DescribeAlarms failed: AccessDenied".to_string()) }.boxed()
    }
    fn requests(&self) -> BTreeMap<String, u64> {
        BTreeMap::new()
    }
}

/// No Price List here: every price comes from the shipped table.
impl crate::ports::Pricing for Fake {
    fn price_list<'a>(
        &'a self,
        _env: &'a Environment,
        _wanted: &'a [crate::ports::PriceItem],
    ) -> BoxFuture<'a, crate::ports::PriceAnswer> {
        async {
            crate::ports::PriceAnswer {
                prices: Vec::new(),
                failed: Some("no Price List in this test".into()),
            }
        }
        .boxed()
    }
}

impl Outbox for Fake {
    fn email<'a>(
        &'a self,
        _from: &'a str,
        _to: &'a [String],
        _raw: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), String>> {
        async { Ok(()) }.boxed()
    }
    fn publish<'a>(
        &'a self,
        _topic_arn: &'a str,
        _subject: &'a str,
        _message: &'a str,
    ) -> BoxFuture<'a, Result<(), String>> {
        async { Ok(()) }.boxed()
    }
    fn slack(&self, body: String) -> BoxFuture<'_, Result<(), String>> {
        self.sent.lock().unwrap().push(body);
        async { Ok(()) }.boxed()
    }
}

/// The digest's input is made from what the ports answer — no AWS, no emulator — and a second
/// digest for the same day asks Cost Explorer nothing.
#[tokio::test]
async fn gathering_needs_only_the_ports() {
    let fake = Arc::new(Fake::default());
    let ports = Ports {
        billing: fake.clone(),
        inspect: fake.clone(),
        outbox: fake.clone(),
        pricing: fake.clone(),
    };
    let env = staging_env();
    let d = Digester::new(
        Config {
            environments: vec![env.clone()],
        },
        ports,
        Arc::new(SqliteStore::in_memory().unwrap()),
        Arc::new(FixedClock(utc("2026-11-29T07:30:00Z"))),
    );
    let input = d.gather(&env, None, true).await;
    let spend = input.spend.as_ref().unwrap();
    assert_eq!(spend.days.first().unwrap().date, date("2026-10-01"));
    assert_eq!(spend.days.last().unwrap().date, date("2026-11-28"));
    assert_eq!(input.day, date("2026-11-28"));
    assert_eq!(input.budget, Budget::Config(usd(75_000)));
    assert_eq!(input.forecast, Err("not enough history".to_string()));
    let sizes: Vec<(&str, bool)> = input
        .resources
        .iter()
        .map(|r| (r.resource.as_str(), !matches!(r.size, Size::Unknown(_))))
        .collect();
    assert_eq!(
        sizes,
        [
            ("ecs:app-staging-cluster/backend", true),
            ("rds:app-staging-db", true)
        ]
    );
    assert!(matches!(
        &input.resources[0].size,
        Size::Fargate {
            tasks: 2,
            cpu_units: 512,
            ..
        }
    ));
    assert!(
        input
            .health
            .alarms
            .as_ref()
            .unwrap_err()
            .contains("AccessDenied")
    );
    d.gather(&env, None, true).await;
    assert_eq!(
        fake.cost_calls.load(Ordering::SeqCst),
        1,
        "the same question is answered from the cache"
    );
}

fn digester(fake: Arc<Fake>, env: &Environment, now: &str) -> Digester {
    let ports = Ports {
        billing: fake.clone(),
        inspect: fake.clone(),
        pricing: fake.clone(),
        outbox: fake,
    };
    Digester::new(
        Config {
            environments: vec![env.clone()],
        },
        ports,
        Arc::new(SqliteStore::in_memory().unwrap()),
        Arc::new(FixedClock(utc(now))),
    )
}

/// A database AWS will not stop (a read replica, a replica's source) is priced as what keeps
/// costing while asleep, never listed under the savings.
#[tokio::test]
async fn databases_aws_cannot_stop_are_not_savings() {
    let fake = Arc::new(Fake {
        replicas: true,
        ..Fake::default()
    });
    let env = staging_env();
    let d = digester(fake, &env, "2026-11-29T07:30:00Z");
    let input = d.gather(&env, None, true).await;
    let sleeps: Vec<(&str, bool)> = input
        .resources
        .iter()
        .map(|r| (r.resource.as_str(), r.sleeps))
        .collect();
    assert_eq!(
        sleeps,
        [
            ("ecs:app-staging-cluster/backend", true),
            ("rds:app-staging-db", true),
            ("rds:app-staging-analytics", false),
            ("rds:app-staging-analytics-r", false),
        ]
    );
    let digest =
        crate::digest::figures::compute(&input, crate::digest::prices::PriceTable::shipped());
    let saved: Vec<&str> = digest
        .savings
        .resources
        .iter()
        .map(|r| r.resource.as_str())
        .collect();
    assert_eq!(
        saved,
        ["ecs:app-staging-cluster/backend", "rds:app-staging-db"]
    );
    let kept: Vec<&str> = digest
        .always_on
        .resources
        .iter()
        .map(|r| r.resource.as_str())
        .collect();
    assert_eq!(
        kept,
        ["rds:app-staging-analytics", "rds:app-staging-analytics-r"]
    );
}

/// A digest made keeps its figures for the status page; a dry run keeps nothing and says it
/// sent nothing.
#[tokio::test]
async fn a_digest_keeps_its_figures_for_the_page_and_a_dry_run_does_not() {
    let env = staging_env();
    let d = digester(Arc::new(Fake::default()), &env, "2026-11-29T07:30:00Z");
    let now = utc("2026-11-29T07:30:00Z");
    let dry = d
        .run(
            &env,
            crate::digest::RunOptions {
                dry_run: true,
                ..Default::default()
            },
        )
        .await;
    assert!(
        dry.to_string()
            .contains("printed (dry run: sent nowhere, recorded nowhere)"),
        "{dry}"
    );
    assert!(!dry.to_string().contains("stdout ok"), "{dry}");
    assert_eq!(
        crate::digest::summary::load(d.store.as_ref(), "staging", now)
            .await
            .unwrap(),
        None
    );

    let made = d.run(&env, crate::digest::RunOptions::default()).await;
    assert!(made.to_string().contains("stdout ok"), "{made}");
    let s = crate::digest::summary::load(d.store.as_ref(), "staging", now)
        .await
        .unwrap()
        .expect("the figures are kept");
    assert_eq!(s.day, date("2026-11-28"));
    assert_eq!(s.budget, Some(usd(75_000)));
    assert_eq!(s.budget_source, "schedule file");
    assert!(s.month_to_date.is_some_and(|m| m > Money::ZERO), "{s:?}");
    assert!(
        s.projection_method
            .unwrap()
            .starts_with("lightsout projection")
    );
}

fn env_in(zone: &str) -> Environment {
    let mut env = staging_env();
    env.timezone = zone.parse().unwrap();
    env
}

fn digester_at(
    fake: Arc<Fake>,
    env: &Environment,
    clock: Arc<crate::clock::ManualClock>,
) -> Digester {
    Digester::new(
        Config {
            environments: vec![env.clone()],
        },
        Ports {
            billing: fake.clone(),
            inspect: fake.clone(),
            pricing: fake.clone(),
            outbox: fake,
        },
        Arc::new(SqliteStore::in_memory().unwrap()),
        clock,
    )
}

/// The day reported is the newest UTC billing day with figures, in every zone: a Sydney
/// morning, a Honolulu afternoon and a Berlin morning, in the middle of a month and on its
/// first day. The month to date then has every ended day of the billing month.
#[tokio::test]
async fn the_newest_billing_day_in_sydney_honolulu_and_berlin_with_a_whole_month() {
    for (zone, now, edition, day, month_days) in [
        // Mon 30 Nov 08:30 AEDT = Sun 29 Nov 21:30 UTC: the 28th is the newest ended UTC day.
        (
            "Australia/Sydney",
            "2026-11-29T21:30:00Z",
            "2026-11-30",
            "2026-11-28",
            28,
        ),
        // Mon 30 Nov 15:00 HST = Tue 1 Dec 01:00 UTC: the 30th has ended; November is whole.
        (
            "Pacific/Honolulu",
            "2026-12-01T01:00:00Z",
            "2026-11-30",
            "2026-11-30",
            30,
        ),
        // Sun 29 Nov 08:30 CET = 07:30 UTC.
        (
            "Europe/Berlin",
            "2026-11-29T07:30:00Z",
            "2026-11-29",
            "2026-11-28",
            28,
        ),
        // The 1st of December: Sydney 08:30 AEDT is 21:30 UTC on the 30th, so the 29th; Berlin
        // at 08:30 CET has the 30th, the whole of November.
        (
            "Australia/Sydney",
            "2026-11-30T21:30:00Z",
            "2026-12-01",
            "2026-11-29",
            29,
        ),
        (
            "Europe/Berlin",
            "2026-12-01T07:30:00Z",
            "2026-12-01",
            "2026-11-30",
            30,
        ),
        // Honolulu on the morning of the 1st (08:30 HST = 18:30 UTC): the 30th, all of it.
        (
            "Pacific/Honolulu",
            "2026-12-01T18:30:00Z",
            "2026-12-01",
            "2026-11-30",
            30,
        ),
    ] {
        let env = env_in(zone);
        let fake = Arc::new(Fake::default());
        let clock = Arc::new(crate::clock::ManualClock::new(utc(now)));
        let d = digester_at(fake.clone(), &env, clock);
        let input = d.gather(&env, None, true).await;
        assert_eq!(input.day, date(day), "{zone} at {now}");
        assert_eq!(input.edition, date(edition), "{zone} at {now}");
        let digest =
            crate::digest::figures::compute(&input, crate::digest::prices::PriceTable::shipped());
        let s = digest.spend.as_ref().unwrap();
        assert_eq!(s.day_total, Some(day_spend(date(day)).total), "{zone}");
        assert!(s.month_missing.is_empty(), "{zone}: {:?}", s.month_missing);
        let whole: Money = (1..=month_days)
            .map(|n| day_spend(date("2026-11-01") + chrono::Days::new(n - 1)).total)
            .sum();
        assert_eq!(s.month_to_date, whole, "{zone} at {now}");
        assert_eq!(digest.budget.days.0, month_days as u32, "{zone}");
        // Three requests: the days, the forecast, the usage types; with the month's last day
        // reported there is nothing to forecast.
        let want = if month_days == 30 { 2 } else { 3 };
        assert_eq!(input.cost_explorer_requests, want, "{zone} at {now}");
    }
}

/// A day Cost Explorer has not processed yet is not reported as $0: the digest reports the
/// newest day it has, says the other has no data yet, and a digest made later asks again.
#[tokio::test]
async fn a_day_without_figures_yet_is_asked_again_later_never_served_stale() {
    let env = env_in("Europe/Berlin");
    let fake = Arc::new(Fake::default());
    *fake.no_data_from.lock().unwrap() = Some(date("2026-11-28"));
    // 01:30 CET on Sun 29 Nov: the 28th (UTC) ended 30 minutes ago.
    let clock = Arc::new(crate::clock::ManualClock::new(utc("2026-11-29T00:30:00Z")));
    let d = digester_at(fake.clone(), &env, clock.clone());
    let input = d.gather(&env, None, true).await;
    assert_eq!(input.day, date("2026-11-27"));
    let digest =
        crate::digest::figures::compute(&input, crate::digest::prices::PriceTable::shipped());
    let s = digest.spend.as_ref().unwrap();
    assert_eq!(s.freshness.newest, Some(date("2026-11-27")));
    assert_eq!(s.freshness.no_data_yet, vec![date("2026-11-28")]);
    assert_eq!(fake.cost_calls.load(Ordering::SeqCst), 1);
    // The same digest a few minutes later: the same question, from the cache.
    clock.set(utc("2026-11-29T00:40:00Z"));
    d.gather(&env, None, true).await;
    assert_eq!(fake.cost_calls.load(Ordering::SeqCst), 1);
    // At 08:30, Cost Explorer has the 28th: the gappy answer is not served any more.
    *fake.no_data_from.lock().unwrap() = None;
    clock.set(utc("2026-11-29T07:30:00Z"));
    let input = d.gather(&env, None, true).await;
    assert_eq!(fake.cost_calls.load(Ordering::SeqCst), 2);
    assert_eq!(input.day, date("2026-11-28"));
}

/// Final days are kept and never asked again; estimated ones are asked again; a repeat of the
/// same digest asks nothing at all.
#[tokio::test]
async fn final_days_are_kept_estimated_ones_asked_again_and_a_repeat_asks_nothing() {
    let env = env_in("Europe/Berlin");
    let fake = Arc::new(Fake {
        estimated_from: Some(date("2026-11-01")),
        forecast: Some(usd(4_000)),
        ..Fake::default()
    });
    let clock = Arc::new(crate::clock::ManualClock::new(utc("2026-11-29T07:30:00Z")));
    let d = digester_at(fake.clone(), &env, clock.clone());
    d.gather(&env, None, true).await;
    let again = d.gather(&env, None, true).await;
    assert_eq!(again.cost_explorer_requests, 0, "a repeat asks nothing");
    assert_eq!(
        (
            fake.cost_calls.load(Ordering::SeqCst),
            fake.forecast_calls.load(Ordering::SeqCst),
            fake.usage_calls.load(Ordering::SeqCst)
        ),
        (1, 1, 1)
    );
    // The next morning: October is final and kept; only November is asked again.
    clock.set(utc("2026-11-30T07:30:00Z"));
    let next = d.gather(&env, None, true).await;
    assert_eq!(next.day, date("2026-11-29"));
    assert_eq!(
        fake.asked.lock().unwrap().clone(),
        vec![
            (date("2026-10-01"), date("2026-11-29")),
            (date("2026-11-01"), date("2026-11-30")),
        ]
    );
    let s = next.spend.unwrap();
    assert_eq!(s.days.first().unwrap().date, date("2026-10-01"));
    assert_eq!(s.days.len(), 31 + 29);
    assert_eq!(next.cost_explorer_requests, 3);
}

/// A dry run reads the cache but writes nothing: the real digest after it still asks.
#[tokio::test]
async fn a_dry_run_writes_nothing() {
    let env = env_in("Australia/Sydney");
    let fake = Arc::new(Fake::default());
    let clock = Arc::new(crate::clock::ManualClock::new(utc("2026-11-29T21:30:00Z")));
    let d = digester_at(fake.clone(), &env, clock);
    let dry = crate::digest::RunOptions {
        dry_run: true,
        ..Default::default()
    };
    d.run(&env, dry).await;
    d.run(&env, dry).await;
    assert_eq!(
        fake.cost_calls.load(Ordering::SeqCst),
        2,
        "nothing was cached"
    );
    let r = d.run(&env, crate::digest::RunOptions::default()).await;
    assert_eq!(r.cost_explorer_requests, 3);
    let r = d
        .run(
            &env,
            crate::digest::RunOptions {
                force: true,
                ..Default::default()
            },
        )
        .await;
    assert_eq!(r.cost_explorer_requests, 0, "{r}");
}

/// However the answer pages, a digest makes at most 3 Cost Explorer requests: when the days
/// take two, the forecast takes the third and the usage types are not asked (and say why).
#[tokio::test]
async fn at_most_three_cost_explorer_requests() {
    let env = env_in("Europe/Berlin");
    let fake = Arc::new(Fake {
        pages: 2,
        forecast: Some(usd(4_000)),
        ..Fake::default()
    });
    let clock = Arc::new(crate::clock::ManualClock::new(utc("2026-11-29T07:30:00Z")));
    let d = digester_at(fake.clone(), &env, clock);
    let input = d.gather(&env, None, true).await;
    assert_eq!(input.cost_explorer_requests, 3);
    assert!(input.forecast.is_ok());
    let why = input.usage.unwrap_err();
    assert!(why.contains("at most 3"), "{why}");
    assert_eq!(fake.usage_calls.load(Ordering::SeqCst), 0);
}

/// No cost data at all is said as such, with the likely cause: never "$0.00, under budget".
#[tokio::test]
async fn no_cost_data_is_said_with_its_likely_cause() {
    let env = env_in("Europe/Berlin");
    let fake = Arc::new(Fake {
        nothing: true,
        ..Fake::default()
    });
    let clock = Arc::new(crate::clock::ManualClock::new(utc("2026-11-29T07:30:00Z")));
    let d = digester_at(fake, &env, clock);
    let input = d.gather(&env, None, true).await;
    let digest =
        crate::digest::figures::compute(&input, crate::digest::prices::PriceTable::shipped());
    let why = digest.spend.unwrap_err();
    assert!(why.starts_with("no cost data for"), "{why}");
    assert!(digest.budget.spent_pct.is_none());
    let md = crate::digest::render::markdown(&crate::digest::figures::compute(
        &input,
        crate::digest::prices::PriceTable::shipped(),
    ));
    assert!(!md.contains("under budget"), "{md}");
    assert!(md.contains("No cost data"), "{md}");
}

/// Savings read the whole audit trail of the month, however long: 1,500 events (more than the
/// 1,000 the digest once read) all count.
#[tokio::test]
async fn the_whole_audit_trail_is_read() {
    use crate::digest::fixtures::{ecs_sleep_action, ecs_wake_action, event};
    let env = env_in("Europe/Berlin");
    let fake = Arc::new(Fake::default());
    let clock = Arc::new(crate::clock::ManualClock::new(utc("2026-11-29T07:30:00Z")));
    let d = digester_at(fake, &env, clock);
    let backend = "ecs:app-staging-cluster/backend";
    let mut events = Vec::new();
    // 750 sleeps and 750 wakes, one an hour from 30 Oct: asleep half the time.
    let start = utc("2026-10-30T00:00:00Z");
    for i in 0..1500 {
        let at = start + chrono::TimeDelta::hours(i);
        let action = if i % 2 == 0 {
            ecs_sleep_action("app-staging-cluster/backend", 2, at)
        } else {
            ecs_wake_action("app-staging-cluster/backend", 2)
        };
        events.push(event(at, backend, &action, "schedule", "ok"));
    }
    d.store.record(events).await.unwrap();
    let input = d.gather(&env, None, true).await;
    let n = input
        .events
        .iter()
        .filter(|e| e.resource == backend)
        .count();
    assert_eq!(n, 1500);
    let digest =
        crate::digest::figures::compute(&input, crate::digest::prices::PriceTable::shipped());
    // The events reach to 30 Oct + 1,500 h = 31 Dec: all of November through the 28th, half
    // asleep: 28 days × 12 h = 336 h.
    let r = &digest.savings.resources[0];
    assert_eq!(r.resource, backend);
    assert_eq!(r.asleep_month_secs, 336 * 3600);
}
