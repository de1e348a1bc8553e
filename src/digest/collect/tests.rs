//! Gathering over in-memory ports: the digest's input is made from what the ports answer, and
//! Cost Explorer's answers are reused from the store.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::future::{BoxFuture, FutureExt};

use crate::clock::FixedClock;
use crate::digest::Digester;
use crate::digest::fixtures::{date, day_spend, staging_env, usd, utc};
use crate::digest::input::{Budget, Size};
use crate::kinds::{
    DbKind, DbStatus, Observation, ObservedDb, ObservedService, Scalable, ServiceName,
    ecs::ServiceStatus,
};
use crate::model::{Config, Environment, Money};
use crate::ports::{
    Alarm, Billing, DaySpend, FailedTask, Inspect, Outbox, Ports, ResourceCost, ServiceDetail,
    ServiceHealth, TargetGroupHealth,
};
use crate::store::SqliteStore;

#[derive(Default)]
struct Fake {
    cost_calls: AtomicUsize,
    sent: Mutex<Vec<String>>,
    /// Also observe a database with a read replica, and the replica (neither can be stopped).
    replicas: bool,
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
    ) -> BoxFuture<'a, Result<Vec<DaySpend>, String>> {
        self.cost_calls.fetch_add(1, Ordering::SeqCst);
        let days = start
            .iter_days()
            .take_while(|d| *d < end)
            .map(day_spend)
            .collect();
        async move { Ok(days) }.boxed()
    }
    fn forecast<'a>(
        &'a self,
        _env: &'a Environment,
        _start: NaiveDate,
        _end: NaiveDate,
    ) -> BoxFuture<'a, Result<Money, String>> {
        async { Err("not enough history".to_string()) }.boxed()
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
                fargate: true,
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
                    tasks: s.desired as u32,
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
    let input = d.gather(&env, date("2026-11-28")).await;
    let spend = input.spend.as_ref().unwrap();
    assert_eq!(spend.days.first().unwrap().date, date("2026-10-01"));
    assert_eq!(spend.days.last().unwrap().date, date("2026-11-28"));
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
    d.gather(&env, date("2026-11-28")).await;
    assert_eq!(
        fake.cost_calls.load(Ordering::SeqCst),
        1,
        "cached for the day"
    );
}

fn digester(fake: Arc<Fake>, env: &Environment, now: &str) -> Digester {
    let ports = Ports {
        billing: fake.clone(),
        inspect: fake.clone(),
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
    let input = d.gather(&env, date("2026-11-28")).await;
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
            date("2026-11-28"),
            crate::digest::RunOptions {
                dry_run: true,
                force: false,
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

    let made = d
        .run(
            &env,
            date("2026-11-28"),
            crate::digest::RunOptions::default(),
        )
        .await;
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
