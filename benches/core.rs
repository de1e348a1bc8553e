//! Speed of the pure core: schedule evaluation per call, and planning 10,000 resources.
//! `cargo bench --bench core` prints the figures (targets: < 2 µs a call, < 50 ms a plan).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use lightsout::config;
use lightsout::kinds::ServiceName;
use lightsout::kinds::{Bounds, DbKind, Observation, ObservedDb, ObservedService, Scalable};
use lightsout::model::Environment;
use lightsout::plan::plan;
use lightsout::schedule::{decide, scheduled};

fn env(services: usize, dbs: usize) -> Environment {
    let mut src = String::from(
        "region = \"eu-west-1\"\ntimezone = \"Europe/Berlin\"\nawake = [\"Mon-Fri 07:00-20:00\", \"Sat 10:00-14:00\"]\nholidays = [\"2026-12-24..2026-12-26\", \"2027-01-01\"]\n",
    );
    src.push_str("[[ecs.select]]\nclusters = [\"c\"]\ntags = { Team = \"app\" }\n[[rds.select]]\ntags = { Team = \"app\" }\n");
    if services > 0 {
        src.push_str(
            "[ecs.service.\"c/s0\"]\ndepends_on = [\"db0\"]\n[rds]\ninstances = [\"db0\"]\n",
        );
    }
    let _ = dbs;
    config::parse_str(Path::new("bench.toml"), &src).unwrap()
}

fn observation(services: usize, dbs: usize) -> Observation {
    Observation {
        services: (0..services)
            .map(|i| ObservedService {
                name: ServiceName::parse(&format!("c/s{i}")).unwrap(),
                arn: format!("arn:aws:ecs:eu-west-1:123456789012:service/c/s{i}"),
                status: "ACTIVE".into(),
                desired: 2,
                running: 2,
                tags: BTreeMap::from([("Team".to_string(), "app".to_string())]),
                deploying: false,
                scalable: (i % 2 == 0)
                    .then_some(Bounds { min: 1, max: 4 })
                    .map_or(Scalable::None, Scalable::Some),
            })
            .collect(),
        databases: (0..dbs)
            .map(|i| ObservedDb {
                kind: if i % 4 == 0 {
                    DbKind::Cluster
                } else {
                    DbKind::Instance
                },
                id: format!("db{i}"),
                arn: format!("arn:aws:rds:eu-west-1:123456789012:db:db{i}"),
                status: "available".into(),
                engine: "postgres".into(),
                engine_mode: None,
                member_of: None,
                replica_of: None,
                replicas: vec![],
                tags: BTreeMap::from([("Team".to_string(), "app".to_string())]),
            })
            .collect(),
        ..Default::default()
    }
}

fn benches(c: &mut Criterion) {
    let e = env(1, 1);
    let wed_noon: DateTime<Utc> = "2026-12-02T11:00:00Z".parse().unwrap();
    let sat_night: DateTime<Utc> = "2026-12-05T23:00:00Z".parse().unwrap();
    let christmas: DateTime<Utc> = "2026-12-24T12:00:00Z".parse().unwrap();
    c.bench_function("schedule: awake inside a window", |b| {
        b.iter(|| scheduled(black_box(&e), black_box(wed_noon)))
    });
    c.bench_function("schedule: asleep on a weekend night", |b| {
        b.iter(|| scheduled(black_box(&e), black_box(sat_night)))
    });
    c.bench_function("schedule: asleep over the holidays", |b| {
        b.iter(|| scheduled(black_box(&e), black_box(christmas)))
    });

    let big = env(8000, 2000);
    let obs = observation(8000, 2000);
    let night = wed_noon + TimeDelta::hours(11);
    let d_night = decide(&big, None, night);
    let d_day = decide(&big, None, wed_noon);
    let mut g = c.benchmark_group("plan 10,000 resources");
    g.sample_size(20);
    g.bench_function("sleep (8,000 services, 2,000 databases)", |b| {
        b.iter(|| plan(black_box(&big), &d_night, black_box(&obs), night))
    });
    g.bench_function("no-op while awake", |b| {
        b.iter(|| plan(black_box(&big), &d_day, black_box(&obs), wed_noon))
    });
    g.finish();
}

criterion_group!(core, benches);
criterion_main!(core);
