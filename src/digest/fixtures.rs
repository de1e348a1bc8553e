//! A realistic digest input for tests and samples: the reference environment `staging`
//! (eu-west-1, Europe/Berlin, awake Mon–Fri 07:00–20:00) on Sat 28 Nov 2026. Cheap to build,
//! no I/O.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Datelike, Days, NaiveDate, TimeDelta, Utc, Weekday};
use chrono_tz::Tz;

use super::input::{
    Alarm, Budget, DaySpend, DbHealth, DigestInput, FailedTask, Forecast, Health, Money, Probe,
    ResourceCost, ServiceHealth, Size, Spend, TargetGroupHealth, TaskOs, UsageCost,
};
use crate::config::parse_str;
use crate::kinds::ServiceName;
use crate::kinds::ecs::Step as EcsStep;
use crate::kinds::rds::Step as RdsStep;
use crate::kinds::{DbKind, Step, tags};
use crate::model::{AuditEvent, Outcome};
use crate::model::{CostFilter, Environment};

/// The reference environment's schedule file.
pub const STAGING_TOML: &str = r#"
name = "staging"
region = "eu-west-1"
timezone = "Europe/Berlin"
awake = ["Mon-Fri 07:00-20:00"]
monthly_budget = 750
[ecs]
services = ["app-staging-cluster/backend", "app-staging-cluster/frontend"]
[rds]
instances = ["app-staging-db"]
clusters = ["app-staging-aurora"]
"#;

/// The reference environment.
pub fn staging_env() -> Environment {
    parse_str(Path::new("schedules/staging.toml"), STAGING_TOML)
        .unwrap_or_else(|e| panic!("the fixture schedule does not parse: {e}"))
}

/// An instant, `2026-11-28T09:00:00Z`.
pub fn utc(s: &str) -> DateTime<Utc> {
    s.parse()
        .unwrap_or_else(|e| panic!("bad instant {s:?}: {e}"))
}

/// A date, `2026-11-28`.
pub fn date(s: &str) -> NaiveDate {
    s.parse().unwrap_or_else(|e| panic!("bad date {s:?}: {e}"))
}

/// `$` amount in dollars and cents.
pub fn usd(cents: i64) -> Money {
    Money::from_cents(cents)
}

fn svc(name: &str) -> ServiceName {
    ServiceName::parse(name).unwrap_or_else(|e| panic!("{e}"))
}

/// The action text of a service going to sleep, as the engine records it.
pub fn ecs_sleep_action(service: &str, desired: i32, at: DateTime<Utc>) -> String {
    join(&[
        EcsStep::TagService {
            arn: format!("arn:aws:ecs:eu-west-1:123456789012:service/{service}"),
            tags: BTreeMap::from([
                (tags::DESIRED_COUNT.to_string(), desired.to_string()),
                (tags::SLEPT_AT.to_string(), at.to_rfc3339()),
            ]),
        }
        .into(),
        EcsStep::SetDesiredCount {
            service: svc(service),
            count: 0,
        }
        .into(),
    ])
}

/// The action text of a service waking.
pub fn ecs_wake_action(service: &str, desired: i32) -> String {
    join(&[
        EcsStep::SetDesiredCount {
            service: svc(service),
            count: desired,
        }
        .into(),
        EcsStep::UntagService {
            arn: format!("arn:aws:ecs:eu-west-1:123456789012:service/{service}"),
            keys: vec![tags::DESIRED_COUNT.to_string(), tags::SLEPT_AT.to_string()],
        }
        .into(),
    ])
}

/// The action text of a database stopping.
pub fn db_sleep_action(kind: DbKind, id: &str, at: DateTime<Utc>) -> String {
    join(&[
        RdsStep::TagDb {
            arn: format!("arn:aws:rds:eu-west-1:123456789012:db:{id}"),
            tags: BTreeMap::from([(tags::SLEPT_AT.to_string(), at.to_rfc3339())]),
        }
        .into(),
        RdsStep::StopDb {
            kind,
            id: id.to_string(),
        }
        .into(),
    ])
}

/// The action text of a database starting.
pub fn db_wake_action(kind: DbKind, id: &str) -> String {
    join(&[
        RdsStep::StartDb {
            kind,
            id: id.to_string(),
        }
        .into(),
        RdsStep::UntagDb {
            arn: format!("arn:aws:rds:eu-west-1:123456789012:db:{id}"),
            keys: vec![tags::SLEPT_AT.to_string()],
        }
        .into(),
    ])
}

fn join(steps: &[Step]) -> String {
    steps
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// An audit event.
pub fn event(
    at: DateTime<Utc>,
    resource: &str,
    action: &str,
    actor: &str,
    outcome: &str,
) -> AuditEvent {
    // Written as text, as the engine's actions read; typed the way the store reads such rows.
    AuditEvent::from_legacy(
        at,
        "staging".into(),
        resource.into(),
        action,
        if resource.is_empty() {
            String::new()
        } else {
            "schedule".into()
        },
        actor.into(),
        outcome,
    )
}

/// The four resources of the reference environment going to sleep (`sleep`) or waking.
pub fn whole_env(at: DateTime<Utc>, sleep: bool, actor: &str) -> Vec<AuditEvent> {
    let ecs = [
        ("app-staging-cluster/backend", 2),
        ("app-staging-cluster/frontend", 1),
    ];
    let dbs = [
        (DbKind::Instance, "rds:app-staging-db", "app-staging-db"),
        (
            DbKind::Cluster,
            "aurora:app-staging-aurora",
            "app-staging-aurora",
        ),
    ];
    let mut out = Vec::new();
    let services = ecs.iter().map(|(s, n)| {
        let action = if sleep {
            ecs_sleep_action(s, *n, at)
        } else {
            ecs_wake_action(s, *n)
        };
        event(at, &format!("ecs:{s}"), &action, actor, "ok")
    });
    let databases = dbs.iter().map(|(k, r, id)| {
        let action = if sleep {
            db_sleep_action(*k, id, at)
        } else {
            db_wake_action(*k, id)
        };
        event(at, r, &action, actor, "ok")
    });
    // Sleep: apps first, then databases; wake: databases first.
    if sleep {
        out.extend(services);
        out.extend(databases);
    } else {
        out.extend(databases);
        out.extend(services);
    }
    out
}

/// The reference environment's resources and sizes.
pub fn staging_resources() -> Vec<ResourceCost> {
    let region = "eu-west-1".to_string();
    vec![
        ResourceCost {
            resource: "ecs:app-staging-cluster/backend".into(),
            size: Size::Fargate {
                region: region.clone(),
                cpu_units: 512,
                memory_mib: 1024,
                arm: false,
                os: TaskOs::Linux,
                tasks: 2,
                spot_tasks: 0,
            },
            sleeps: true,
        },
        ResourceCost {
            resource: "ecs:app-staging-cluster/frontend".into(),
            size: Size::Fargate {
                region: region.clone(),
                cpu_units: 256,
                memory_mib: 512,
                arm: false,
                os: TaskOs::Linux,
                tasks: 1,
                spot_tasks: 0,
            },
            sleeps: true,
        },
        ResourceCost {
            resource: "rds:app-staging-db".into(),
            size: Size::Database {
                region: region.clone(),
                classes: vec!["db.t4g.micro".into()],
                engine: "postgres".into(),
                multi_az: false,
            },
            sleeps: true,
        },
        ResourceCost {
            resource: "aurora:app-staging-aurora".into(),
            size: Size::Database {
                region,
                classes: vec!["db.t4g.medium".into()],
                engine: "aurora-postgresql".into(),
                multi_az: false,
            },
            sleeps: true,
        },
    ]
}

/// A day's spend, made up but shaped like the reference environment's: about $26 on a working
/// day, $9 on a dark day (ElastiCache, the ALB and NAT run regardless).
pub fn day_spend(d: NaiveDate) -> DaySpend {
    let dark = matches!(d.weekday(), Weekday::Sat | Weekday::Sun);
    let wiggle = i64::from((d.day() * 37 + d.month() * 11) % 97); // 0..96 cents
    let svc = |name: &str, cents: i64| (name.to_string(), usd(cents));
    let by_service = if dark {
        vec![
            svc("Amazon ElastiCache", 312),
            svc("Amazon Elastic Load Balancing", 60),
            svc("EC2 - Other", 110 + wiggle / 4),
            svc("Amazon Relational Database Service", 205),
            svc("Amazon Virtual Private Cloud", 120),
            svc("AmazonCloudWatch", 21),
            svc("AWS Secrets Manager", 5),
        ]
    } else {
        vec![
            svc("Amazon Elastic Container Service", 795 + wiggle),
            svc("Amazon Relational Database Service", 812 + wiggle / 2),
            svc("Amazon ElastiCache", 312),
            svc("Amazon Elastic Load Balancing", 60 + wiggle / 8),
            svc("EC2 - Other", 245 + wiggle / 4),
            svc("Amazon Virtual Private Cloud", 120),
            svc("AmazonCloudWatch", 38),
            svc("AWS Secrets Manager", 5),
            svc("Amazon EC2 Container Registry (ECR)", 3),
        ]
    };
    DaySpend {
        date: d,
        total: by_service.iter().map(|(_, m)| *m).sum(),
        estimated: false,
        by_service,
        has_data: true,
    }
}

/// A day's cost by usage type, summing to [`day_spend`]'s services: Sydney-region usage type
/// names; on a dark day only what does not sleep (storage, NAT, ALB, IPv4, ElastiCache).
pub fn day_usage(d: NaiveDate) -> Vec<UsageCost> {
    let day = day_spend(d);
    let mut out = Vec::new();
    let mut push = |service: &str, usage_type: &str, amount: Money| {
        out.push(UsageCost {
            service: service.to_string(),
            usage_type: usage_type.to_string(),
            amount,
        })
    };
    for (service, amount) in &day.by_service {
        match service.as_str() {
            "Amazon Elastic Container Service" => {
                let cpu = Money(amount.0 * 8 / 10);
                push(service, "APS2-Fargate-vCPU-Hours:perCPU", cpu);
                push(service, "APS2-Fargate-GB-Hours", *amount - cpu);
            }
            "Amazon Relational Database Service" => {
                let storage = usd(205).min(*amount);
                push(service, "APS2-RDS:GP3-Storage", storage);
                if *amount > storage {
                    push(
                        service,
                        "APS2-InstanceUsage:db.t4g.micro",
                        *amount - storage,
                    );
                }
            }
            "EC2 - Other" => {
                let nat = usd(108).min(*amount);
                push(service, "APS2-NatGateway-Hours", nat);
                push(service, "APS2-EBS:VolumeUsage.gp3", *amount - nat);
            }
            "Amazon Elastic Load Balancing" => push(service, "APS2-LoadBalancerUsage", *amount),
            "Amazon Virtual Private Cloud" => {
                push(service, "APS2-PublicIPv4:InUseAddress", *amount)
            }
            "Amazon ElastiCache" => push(service, "APS2-NodeUsage:cache.t4g.small", *amount),
            other => push(other, "APS2-Other", *amount),
        }
    }
    out
}

/// The digest input of the reference environment for Sat 28 Nov 2026, made on Sun 29 Nov at
/// 07:00 CET: a month of schedule sleeps and wakes, one out-of-hours wake on the Saturday (and
/// a second request inside it), a failed Aurora stop that was retried, a Slack delivery that
/// failed the day before, and an environment asleep at the time of the digest.
pub fn sample_input() -> DigestInput {
    let config = staging_env();
    let tz: Tz = config.timezone;
    let day = date("2026-11-28");
    let mut days = Vec::new();
    let mut d = date("2026-10-01");
    while d <= day {
        let mut s = day_spend(d);
        s.estimated = d >= date("2026-11-27");
        days.push(s);
        d = d + Days::new(1);
    }
    // The schedule: every working day of November, wake at 07:00 and sleep at 20:00 local.
    let mut events = Vec::new();
    let mut d = date("2026-11-01");
    while d <= date("2026-11-29") {
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            let at =
                |h: u32| super::figures::local_midnight(tz, d) + TimeDelta::hours(i64::from(h));
            events.extend(whole_env(at(7), false, "schedule"));
            if d == date("2026-11-27") {
                // The Aurora stop failed once on Friday, and the next tick retried it.
                let mut evs = whole_env(at(20), true, "schedule");
                let failed = AuditEvent {
                    outcome: Outcome::Failed("InvalidDBClusterStateFault: DbCluster app-staging-aurora is not in available state (backup in progress)".into()),
                    ..evs[3].clone()
                };
                evs[3].at = at(20) + TimeDelta::minutes(1);
                evs.insert(3, failed);
                events.extend(evs);
            } else {
                events.extend(whole_env(at(20), true, "schedule"));
            }
        }
        d = d + Days::new(1);
    }
    // Saturday: alice wakes staging at 10:00 CET for 3 hours; bob asks at 11:15 for 1 hour.
    let mut wake = event(
        utc("2026-11-28T09:00:00Z"),
        "",
        "wake for 3h",
        "alice",
        "ok: awake until 2026-11-28 12:00:00 UTC",
    );
    wake.reason = "smoke test of release 2.14 before Monday's demo".into();
    let mut wake2 = event(
        utc("2026-11-28T10:15:00Z"),
        "",
        "wake for 1h",
        "bob (slack)",
        "ok: a wake until 2026-11-28 12:00:00 UTC was already in force",
    );
    wake2.reason = "check the invoice export".into();
    let mut sat = vec![wake];
    sat.extend(whole_env(
        utc("2026-11-28T09:00:30Z"),
        false,
        "schedule (override by alice)",
    ));
    sat.push(wake2);
    sat.extend(whole_env(utc("2026-11-28T12:00:30Z"), true, "schedule"));
    events.extend(sat);
    events.sort_by_key(|e| e.at);
    let failures: Vec<AuditEvent> = events
        .iter()
        .filter(|e| matches!(e.outcome, Outcome::Failed(_)))
        .cloned()
        .collect();
    let generated_at = utc("2026-11-29T06:00:00Z");
    DigestInput {
        day,
        edition: date("2026-11-29"),
        generated_at,
        spend: Ok(Spend {
            days,
            filter: CostFilter::Tag("Environment".into(), "staging".into()),
            asked_at: generated_at,
            requests: 3,
        }),
        usage: Ok(day_usage(day)),
        budget: Budget::Config(usd(75_000)),
        forecast: Ok(Forecast {
            from: date("2026-11-29"),
            amount: usd(3_561),
        }),
        resources: staging_resources(),
        prices: super::prices::PriceTable::shipped().clone(),
        events,
        trail_from: crate::digest::collect::trail_start(day),
        health: Health {
            asleep: true,
            services: Ok(vec![
                ServiceHealth {
                    name: "app-staging-cluster/backend".into(),
                    desired: 0,
                    running: 0,
                    asleep: true,
                    stuck_deployment: None,
                    failed_tasks: vec![FailedTask {
                        task: "3f9c2a7e51d04b1f8e0a6c2d9b7e4a10".into(),
                        stopped_at: Some(utc("2026-11-28T09:41:12Z")),
                        reason: "Essential container in task exited (exit code 137: OutOfMemoryError)".into(),
                    }],
                },
                ServiceHealth {
                    name: "app-staging-cluster/frontend".into(),
                    desired: 0,
                    running: 0,
                    asleep: true,
                    stuck_deployment: None,
                    failed_tasks: vec![],
                },
            ]),
            instances: None,
            databases: Ok(vec![
                DbHealth {
                    resource: "rds:app-staging-db".into(),
                    status: "stopped".into(),
                    asleep: true,
                },
                DbHealth {
                    resource: "aurora:app-staging-aurora".into(),
                    status: "stopped".into(),
                    asleep: true,
                },
            ]),
            target_groups: Ok(vec![
                TargetGroupHealth {
                    name: "app-staging-backend-tg".into(),
                    healthy: 0,
                    unhealthy: vec![],
                },
                TargetGroupHealth {
                    name: "app-staging-frontend-tg".into(),
                    healthy: 0,
                    unhealthy: vec![],
                },
            ]),
            alarms: Ok(vec![Alarm {
                name: "app-staging-redis-memory".into(),
                reason: "Threshold Crossed: 1 datapoint [91.2 (29/11/26 05:40:00)] was greater than the threshold (90.0).".into(),
                since: Some(utc("2026-11-29T05:41:00Z")),
            }]),
            probes: vec![Probe {
                url: "https://staging.example.com/api/v1/utils/health-check/".into(),
                result: Err("connection refused".into()),
            }],
        },
        failures,
        delivery_problems: vec![
            "slack: HTTP 500 from hooks.slack.com after 3 attempts".into(),
        ],
        cost_explorer_requests: 3,
        running: super::input::Running {
            tally: Some(super::figures::RunTally {
                month: "2026-11".into(),
                passes: 40_320,
                pass_ms: 40_320 * 240,
                digests: 28,
                digest_ms: 28 * 1_800,
                ce_requests: 58,
                memory_mb: 256,
                arm: false,
            }),
            region: String::new(),
            environments: 1,
            progress: None,
        },
        config,
    }
}
