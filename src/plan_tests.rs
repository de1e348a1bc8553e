use super::*;
use crate::config::parse_str;
use crate::kinds::{
    Bounds, DbKind, ObservedDb, ObservedService, Scalable, ServiceName, asg, ec2, ecs, rds,
    redshift, tags,
};
use crate::model::Override;
use crate::schedule::{Why, decide, scheduled};
use chrono::TimeDelta;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

const ENV: &str = r#"
region = "eu-west-1"
timezone = "UTC"
awake = ["Mon-Fri 07:00-20:00"]
[ecs]
services = ["app/backend", "app/frontend", "app/worker"]
[ecs.service."app/worker"]
default_count = 3
depends_on = []
[rds]
instances = ["db", "replica", "aurora-1"]
clusters = ["aurora"]
"#;

fn env() -> Environment {
    parse_str(Path::new("staging.toml"), ENV).unwrap_or_else(|e| panic!("{e}"))
}

fn night() -> DateTime<Utc> {
    "2026-12-02T22:00:00Z".parse().unwrap()
}

fn morning() -> DateTime<Utc> {
    "2026-12-03T07:00:00Z".parse().unwrap()
}

fn svc(name: &str, desired: i32) -> ObservedService {
    let name = ServiceName::parse(name).unwrap();
    ObservedService {
        arn: format!(
            "arn:aws:ecs:eu-west-1:123456789012:service/{}/{}",
            name.cluster, name.service
        ),
        name,
        status: "ACTIVE".into(),
        desired,
        running: desired,
        tags: BTreeMap::new(),
        deploying: false,
        scalable: Scalable::None,
    }
}

fn db(id: &str, kind: DbKind, status: &str) -> ObservedDb {
    ObservedDb {
        kind,
        id: id.into(),
        arn: format!("arn:aws:rds:eu-west-1:123456789012:db:{id}"),
        status: status.into(),
        engine: "postgres".into(),
        engine_mode: None,
        member_of: None,
        replica_of: None,
        replicas: Vec::new(),
        tags: BTreeMap::new(),
    }
}

/// The reference environment, awake as in the day.
fn daytime() -> Observation {
    let mut backend = svc("app/backend", 2);
    backend.scalable = Scalable::Some(Bounds { min: 1, max: 4 });
    let mut primary = db("db", DbKind::Instance, "available");
    primary.replicas = Vec::new();
    let mut replica = db("replica", DbKind::Instance, "available");
    replica.replica_of = Some("other".into());
    let mut member = db("aurora-1", DbKind::Instance, "available");
    member.member_of = Some("aurora".into());
    Observation {
        services: vec![backend, svc("app/frontend", 1), svc("app/worker", 0)],
        databases: vec![
            primary,
            replica,
            member,
            db("aurora", DbKind::Cluster, "available"),
        ],
        ..Default::default()
    }
}

fn plan_at(obs: &Observation, now: DateTime<Utc>) -> Plan {
    let e = env();
    plan(&e, &scheduled(&e, now), obs, now)
}

fn item<'p>(p: &'p Plan, id: &str) -> &'p Item {
    p.items
        .iter()
        .find(|i| i.resource.to_string() == id)
        .unwrap_or_else(|| panic!("no item {id} in {p:#?}"))
}

/// What AWS would look like after the plan's steps ran (as moto does: at once).
fn simulate(obs: &Observation, p: &Plan) -> Observation {
    let mut o = obs.clone();
    for step in p.items.iter().flat_map(|i| i.steps()) {
        match step {
            Step::Ecs(ecs::Step::TagService { arn, tags }) => o
                .services
                .iter_mut()
                .filter(|s| &s.arn == arn)
                .for_each(|s| s.tags.extend(tags.clone())),
            Step::Ecs(ecs::Step::UntagService { arn, keys }) => o
                .services
                .iter_mut()
                .filter(|s| &s.arn == arn)
                .for_each(|s| {
                    keys.iter().for_each(|k| {
                        s.tags.remove(k);
                    })
                }),
            Step::Ecs(ecs::Step::SetBounds { service, bounds }) => o
                .services
                .iter_mut()
                .filter(|s| &s.name == service)
                .for_each(|s| s.scalable = Scalable::Some(*bounds)),
            Step::Ecs(ecs::Step::SetDesiredCount { service, count }) => o
                .services
                .iter_mut()
                .filter(|s| &s.name == service)
                .for_each(|s| s.desired = *count),
            Step::Rds(rds::Step::StopDb { id, .. }) => o
                .databases
                .iter_mut()
                .filter(|d| &d.id == id)
                .for_each(|d| d.status = "stopped".into()),
            Step::Rds(rds::Step::StartDb { id, .. }) => o
                .databases
                .iter_mut()
                .filter(|d| &d.id == id)
                .for_each(|d| d.status = "available".into()),
            Step::Rds(rds::Step::TagDb { arn, tags }) => o
                .databases
                .iter_mut()
                .filter(|d| &d.arn == arn)
                .for_each(|d| d.tags.extend(tags.clone())),
            Step::Rds(rds::Step::UntagDb { arn, keys }) => o
                .databases
                .iter_mut()
                .filter(|d| &d.arn == arn)
                .for_each(|d| {
                    keys.iter().for_each(|k| {
                        d.tags.remove(k);
                    })
                }),
            Step::Alb(crate::kinds::alb::Step::SetWeights {
                rule,
                app,
                wake,
                app_weight,
                wake_weight,
            }) => o.rules.iter_mut().filter(|r| &r.arn == rule).for_each(|r| {
                r.forward = vec![(app.clone(), *app_weight), (wake.clone(), *wake_weight)]
            }),
            Step::Asg(asg::Step::TagGroup { group, tags }) => o
                .groups
                .iter_mut()
                .filter(|g| &g.name == group)
                .for_each(|g| g.tags.extend(tags.clone())),
            Step::Asg(asg::Step::UntagGroup { group, keys }) => o
                .groups
                .iter_mut()
                .filter(|g| &g.name == group)
                .for_each(|g| {
                    keys.iter().for_each(|k| {
                        g.tags.remove(k);
                    })
                }),
            Step::Asg(asg::Step::SetCapacity {
                group,
                min,
                max,
                desired,
            }) => o
                .groups
                .iter_mut()
                .filter(|g| &g.name == group)
                .for_each(|g| {
                    (g.min, g.max, g.desired) = (*min, *max, *desired);
                    (g.in_service, g.instances) = (*desired, *desired);
                    g.protected = 0;
                }),
            Step::Ec2(ec2::Step::StopInstance { id, .. }) => o
                .instances
                .iter_mut()
                .filter(|i| &i.id == id)
                .for_each(|i| i.state = ec2::InstanceState::Stopped),
            Step::Ec2(ec2::Step::StartInstance { id }) => o
                .instances
                .iter_mut()
                .filter(|i| &i.id == id)
                .for_each(|i| i.state = ec2::InstanceState::Running),
            Step::Ec2(ec2::Step::TagInstance { id, tags }) => o
                .instances
                .iter_mut()
                .filter(|i| &i.id == id)
                .for_each(|i| i.tags.extend(tags.clone())),
            Step::Ec2(ec2::Step::UntagInstance { id, keys }) => o
                .instances
                .iter_mut()
                .filter(|i| &i.id == id)
                .for_each(|i| {
                    keys.iter().for_each(|k| {
                        i.tags.remove(k);
                    })
                }),
            Step::Redshift(redshift::Step::Pause { id }) => o
                .warehouses
                .iter_mut()
                .filter(|w| &w.id == id)
                .for_each(|w| w.status = redshift::ClusterStatus::Paused),
            Step::Redshift(redshift::Step::Resume { id }) => o
                .warehouses
                .iter_mut()
                .filter(|w| &w.id == id)
                .for_each(|w| w.status = redshift::ClusterStatus::Available),
        }
    }
    o
}

fn instance(id: &str) -> ec2::ObservedInstance {
    ec2::ObservedInstance {
        id: id.into(),
        state: ec2::InstanceState::Running,
        instance_type: "t3.micro".into(),
        lifecycle: None,
        root_device_type: "ebs".into(),
        hibernation: false,
        tags: BTreeMap::new(),
    }
}

const WITH_INSTANCES: &str = r#"
region = "eu-west-1"
timezone = "UTC"
awake = ["Mon-Fri 07:00-20:00"]
[ec2]
instances = ["i-0123456789abcdef0", "i-0123456789abcdef1"]
[[ec2.select]]
tags = { Team = "app" }
[rds]
instances = ["db"]
"#;

/// An instance is stopped after its slept-at tag is written, before the databases, and started
/// after them; one started by hand while asleep is stopped again with that reason; members of
/// an Auto Scaling group, spot and instance-store instances are left alone with their reason
/// (named one by one: blocked, with the line and the fix).
#[test]
fn instances_stop_and_start_around_the_data_tier_and_unstoppable_ones_say_why() {
    let e = parse_str(Path::new("staging.toml"), WITH_INSTANCES).unwrap_or_else(|x| panic!("{x}"));
    let plan_at = |obs: &Observation, now| plan(&e, &scheduled(&e, now), obs, now);
    let mut member = instance("i-0123456789abcdef1");
    member.tags.insert(ec2::ASG_TAG.into(), "capacity".into());
    let mut spot = instance("i-0000000000000000a");
    spot.lifecycle = Some("spot".into());
    spot.tags.insert("Team".into(), "app".into());
    let mut store = instance("i-0000000000000000b");
    store.root_device_type = "instance-store".into();
    store.tags.insert("Team".into(), "app".into());
    let day = Observation {
        instances: vec![instance("i-0123456789abcdef0"), member, spot, store],
        databases: vec![db("db", DbKind::Instance, "available")],
        ..Default::default()
    };
    let p = plan_at(&day, night());
    let bastion = item(&p, "ec2:i-0123456789abcdef0");
    let Verdict::Act { steps, .. } = &bastion.verdict else {
        panic!("{bastion:?}")
    };
    assert_eq!(
        steps.iter().map(Step::operation).collect::<Vec<_>>(),
        ["CreateTags", "StopInstances"]
    );
    let Verdict::Act { after, .. } = &item(&p, "rds:db").verdict else {
        panic!()
    };
    assert!(after.contains(&ResourceId::Ec2Instance("i-0123456789abcdef0".into())));
    let m = item(&p, "ec2:i-0123456789abcdef1");
    assert_eq!(m.verdict, Verdict::Blocked);
    assert!(
        m.reason
            .starts_with("staging.toml:6:37: member of Auto Scaling group capacity"),
        "{}",
        m.reason
    );
    assert!(
        m.reason.contains("[asg] groups = [\"capacity\"]"),
        "{}",
        m.reason
    );
    assert_eq!(item(&p, "ec2:i-0000000000000000a").verdict, Verdict::Skip);
    assert!(
        item(&p, "ec2:i-0000000000000000b")
            .reason
            .contains("instance-store")
    );

    let asleep = simulate(&day, &p);
    assert_eq!(plan_at(&asleep, night()).write_count(), 0);
    // Started by hand at 02:00: stopped again, and the plan says so.
    let mut by_hand = asleep.clone();
    by_hand.instances[0].state = ec2::InstanceState::Running;
    let late = night() + TimeDelta::hours(4);
    let again = plan_at(&by_hand, late);
    let it = item(&again, "ec2:i-0123456789abcdef0");
    assert!(
        it.reason.contains("started outside lightsout"),
        "{}",
        it.reason
    );
    assert_eq!(
        it.steps().iter().map(Step::operation).collect::<Vec<_>>(),
        ["StopInstances"]
    );

    // Morning: the database first, the instance on the next pass, back as it was.
    let first = plan_at(&asleep, morning());
    assert!(
        item(&first, "ec2:i-0123456789abcdef0")
            .reason
            .contains("waiting for rds:db")
    );
    let now = simulate(&asleep, &first);
    let now = simulate(&now, &plan_at(&now, morning()));
    assert_eq!(now.instances, day.instances);
    assert_eq!(plan_at(&now, morning()).write_count(), 0);
}

fn group(name: &str, (min, max, desired): (i32, i32, i32)) -> asg::ObservedGroup {
    asg::ObservedGroup {
        name: name.into(),
        min,
        max,
        desired,
        in_service: desired,
        instances: desired,
        protected: 0,
        protects_new: false,
        instance_types: vec!["t3.medium".into(); desired as usize],
        launch: asg::Launch::Unknown,
        status: None,
        tags: BTreeMap::new(),
    }
}

const WITH_GROUP: &str = r#"
region = "eu-west-1"
timezone = "UTC"
awake = ["Mon-Fri 07:00-20:00"]
[ecs]
services = ["app/backend"]
[ecs.service."app/backend"]
depends_on = ["db"]
[asg]
groups = ["capacity"]
[rds]
instances = ["db"]
"#;

/// An Auto Scaling group sleeps after the services and before the databases, recording its
/// capacity first; it wakes after the databases and before the services (even one whose
/// `depends_on` names only a database), each on a later pass, and comes back exactly.
#[test]
fn a_group_is_a_tier_between_apps_and_data_and_wakes_exactly() {
    let e = parse_str(Path::new("staging.toml"), WITH_GROUP).unwrap_or_else(|x| panic!("{x}"));
    let plan_at = |obs: &Observation, now| plan(&e, &scheduled(&e, now), obs, now);
    let day = Observation {
        services: vec![svc("app/backend", 2)],
        groups: vec![group("capacity", (1, 4, 2))],
        databases: vec![db("db", DbKind::Instance, "available")],
        ..Default::default()
    };
    let p = plan_at(&day, night());
    let order: Vec<String> = p.items.iter().map(|i| i.resource.to_string()).collect();
    assert_eq!(order, ["ecs:app/backend", "asg:capacity", "rds:db"]);
    let cap = item(&p, "asg:capacity");
    let Verdict::Act { steps, after } = &cap.verdict else {
        panic!("{cap:?}")
    };
    assert_eq!(
        after.as_slice(),
        [ResourceId::EcsService(
            ServiceName::parse("app/backend").unwrap()
        )]
    );
    let Step::Asg(asg::Step::TagGroup { tags: t, .. }) = &steps[0] else {
        panic!("tags first: {steps:?}")
    };
    assert_eq!(t[tags::DESIRED_COUNT], "2");
    assert_eq!(t[tags::AUTOSCALING], "min=1/max=4");
    assert_eq!(steps[1].label(), "capacity 0/0/0");
    let Verdict::Act { after, .. } = &item(&p, "rds:db").verdict else {
        panic!()
    };
    assert!(
        after.contains(&ResourceId::AutoScalingGroup("capacity".into())),
        "{after:?}"
    );

    let asleep = simulate(&day, &p);
    assert!(plan_at(&asleep, night()).write_count() == 0);
    let mut now = simulate(&asleep, &plan_at(&asleep, morning()));
    // First the database alone; the group waits for it, the service for both.
    assert_eq!(now.groups[0].desired, 0);
    assert!(
        item(&plan_at(&asleep, morning()), "asg:capacity")
            .reason
            .contains("waiting for rds:db")
    );
    let second = plan_at(&now, morning());
    assert!(
        item(&second, "ecs:app/backend")
            .reason
            .contains("asg:capacity"),
        "{second:#?}"
    );
    now = simulate(&now, &second);
    now = simulate(&now, &plan_at(&now, morning()));
    assert_eq!(now.groups, day.groups, "restored exactly, tags gone");
    assert_eq!(now.services[0].desired, 2);
    assert_eq!(plan_at(&now, morning()).write_count(), 0);
}

/// Instances protected from scale-in (ECS managed termination protection) are reported, never
/// unprotected: the group goes to 0/0/0 and then waits for ECS to release them.
#[test]
fn scale_in_protection_is_reported_never_fought() {
    let e = parse_str(Path::new("staging.toml"), WITH_GROUP).unwrap_or_else(|x| panic!("{x}"));
    let mut g = group("capacity", (0, 0, 0));
    g.instances = 2;
    g.protected = 2;
    g.tags.insert(tags::DESIRED_COUNT.into(), "2".into());
    let obs = Observation {
        groups: vec![g],
        ..Default::default()
    };
    let p = plan(&e, &scheduled(&e, night()), &obs, night());
    let it = item(&p, "asg:capacity");
    assert_eq!(it.verdict, Verdict::Wait);
    assert!(
        it.reason.contains("2 instances protected from scale-in")
            && it.reason.contains("never lifts it"),
        "{}",
        it.reason
    );
}

#[test]
fn sleep_records_count_and_bounds_on_the_service_before_scaling_to_zero() {
    let p = plan_at(&daytime(), night());
    let backend = item(&p, "ecs:app/backend");
    let steps = backend.steps();
    let Step::Ecs(ecs::Step::TagService { tags: t, .. }) = &steps[0] else {
        panic!("tags first: {steps:?}")
    };
    assert_eq!(t[tags::DESIRED_COUNT], "2");
    assert_eq!(t[tags::AUTOSCALING], "min=1/max=4");
    assert_eq!(
        steps[1],
        Step::Ecs(ecs::Step::SetBounds {
            service: ServiceName::parse("app/backend").unwrap(),
            bounds: Bounds { min: 0, max: 0 }
        })
    );
    assert_eq!(
        steps[2],
        Step::Ecs(ecs::Step::SetDesiredCount {
            service: ServiceName::parse("app/backend").unwrap(),
            count: 0
        })
    );
    assert!(
        backend.reason.starts_with("asleep until Thu 07:00 UTC"),
        "{}",
        backend.reason
    );
}

#[test]
fn sleep_puts_services_first_and_databases_after_the_services_that_need_them() {
    let p = plan_at(&daytime(), night());
    let order: Vec<String> = p.items.iter().map(|i| i.resource.to_string()).collect();
    assert_eq!(
        order,
        [
            "ecs:app/backend",
            "ecs:app/frontend",
            "ecs:app/worker",
            "rds:db",
            "rds:replica",
            "rds:aurora-1",
            "aurora:aurora"
        ]
    );
    let Verdict::Act { after, steps } = &item(&p, "rds:db").verdict else {
        panic!()
    };
    // The worker depends on nothing and has 0 tasks; backend and frontend use every database.
    assert_eq!(
        after.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["ecs:app/backend", "ecs:app/frontend"]
    );
    assert!(matches!(
        steps.last(),
        Some(Step::Rds(rds::Step::StopDb {
            kind: DbKind::Instance,
            ..
        }))
    ));
    assert!(matches!(
        item(&p, "aurora:aurora").steps().last(),
        Some(Step::Rds(rds::Step::StopDb {
            kind: DbKind::Cluster,
            ..
        }))
    ));
}

/// Named one by one in the schedule file, a replica or an Aurora member is a mistake the user
/// must hear about: blocked, with the file, line and fix. Picked up by a tag selector, the same
/// database is skipped quietly with its reason.
#[test]
fn named_replicas_and_cluster_members_are_blocked_with_line_and_fix() {
    let p = plan_at(&daytime(), night());
    let replica = item(&p, "rds:replica");
    assert_eq!(replica.verdict, Verdict::Blocked);
    assert!(
        replica
            .reason
            .starts_with("staging.toml:11:20: read replica of other"),
        "{}",
        replica.reason
    );
    assert!(replica.reason.contains("remove it from the schedule file"));
    let member = item(&p, "rds:aurora-1");
    assert_eq!(member.verdict, Verdict::Blocked);
    assert!(
        member
            .reason
            .starts_with("staging.toml:11:31: member of Aurora cluster aurora"),
        "{}",
        member.reason
    );
    assert!(
        member
            .reason
            .contains("its cluster aurora is scheduled already"),
        "{}",
        member.reason
    );

    let tagged = parse_str(
        Path::new("staging.toml"),
        "region = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = []\n[rds]\n[[rds.select]]\ntags = { Team = \"app\" }\n",
    )
    .unwrap();
    let p = plan(&tagged, &scheduled(&tagged, night()), &daytime(), night());
    assert_eq!(item(&p, "rds:replica").verdict, Verdict::Skip);
    assert!(
        item(&p, "rds:replica")
            .reason
            .contains("read replica of other")
    );
    assert_eq!(item(&p, "rds:aurora-1").verdict, Verdict::Skip);
    assert!(
        item(&p, "rds:aurora-1")
            .reason
            .contains("acted on at cluster level")
    );
}

/// A database started by hand a day after lightsout stopped it is said to be just that, not
/// "the last stop did not take".
#[test]
fn a_database_started_by_hand_while_asleep_is_described_as_such() {
    let mut obs = daytime();
    let slept_at = night() - TimeDelta::days(1);
    for d in &mut obs.databases {
        d.tags.insert(
            tags::SLEPT_AT.into(),
            slept_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        );
    }
    let p = plan_at(&obs, night());
    let reason = &item(&p, "rds:db").reason;
    assert!(reason.contains("started outside lightsout"), "{reason}");
    assert!(!reason.contains("did not take"), "{reason}");
    // Minutes after the stop, still available: that stop did not take.
    let mut obs = daytime();
    for d in &mut obs.databases {
        d.tags.insert(
            tags::SLEPT_AT.into(),
            (night() - TimeDelta::minutes(5)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        );
    }
    let p = plan_at(&obs, night());
    assert!(item(&p, "rds:db").reason.contains("did not take"));
}

#[test]
fn a_pass_after_a_successful_pass_writes_nothing() {
    let slept = simulate(&daytime(), &plan_at(&daytime(), night()));
    assert_eq!(plan_at(&slept, night()).write_count(), 0);
    // Morning: databases first, then services, then nothing.
    let first = plan_at(&slept, morning());
    // Only the worker, which needs no database, wakes with the databases.
    assert_eq!(item(&first, "ecs:app/backend").verdict, Verdict::Wait);
    assert_eq!(item(&first, "ecs:app/frontend").verdict, Verdict::Wait);
    assert!(item(&first, "ecs:app/worker").steps().len() == 1);
    let started = simulate(&slept, &first);
    let second = plan_at(&started, morning());
    assert!(
        item(&second, "ecs:app/backend")
            .reason
            .contains("restoring autoscaling min 1 / max 4, 2 tasks (recorded)"),
        "{}",
        item(&second, "ecs:app/backend").reason
    );
    let awake = simulate(&started, &second);
    assert_eq!(plan_at(&awake, morning()).write_count(), 0);
    assert_eq!(
        awake.services[..2],
        daytime().services[..2],
        "restored exactly as it was"
    );
}

#[test]
fn wake_restores_autoscaling_bounds_before_desired_count_then_untags() {
    let slept = simulate(&daytime(), &plan_at(&daytime(), night()));
    let mut up = slept.clone();
    up.databases
        .iter_mut()
        .for_each(|d| d.status = "available".into());
    let p = plan_at(&up, morning());
    let steps = item(&p, "ecs:app/backend").steps();
    assert!(matches!(
        steps[0],
        Step::Ecs(ecs::Step::SetBounds {
            bounds: Bounds { min: 1, max: 4 },
            ..
        })
    ));
    assert!(matches!(
        steps[1],
        Step::Ecs(ecs::Step::SetDesiredCount { count: 2, .. })
    ));
    assert!(
        matches!(&steps[2], Step::Ecs(ecs::Step::UntagService { keys, .. }) if keys.len() == 3)
    );
}

#[test]
fn service_scaled_up_by_hand_at_night_goes_back_to_zero_keeping_the_original() {
    let mut slept = simulate(&daytime(), &plan_at(&daytime(), night()));
    slept.services[0].desired = 5;
    let p = plan_at(&slept, night());
    let backend = item(&p, "ecs:app/backend");
    assert_eq!(
        backend.steps(),
        [Step::Ecs(ecs::Step::SetDesiredCount {
            service: ServiceName::parse("app/backend").unwrap(),
            count: 0
        })]
    );
    assert!(
        backend.reason.contains("keeping the recorded 2"),
        "{}",
        backend.reason
    );
}

#[test]
fn service_without_a_recorded_count_wakes_to_its_default_or_is_left_alone() {
    let p = plan_at(&daytime(), morning());
    let worker = item(&p, "ecs:app/worker");
    assert!(matches!(
        worker.steps(),
        [Step::Ecs(ecs::Step::SetDesiredCount { count: 3, .. })]
    ));
    assert!(
        worker.reason.contains("3 tasks (default_count)"),
        "{}",
        worker.reason
    );
    let mut obs = daytime();
    obs.services[1].desired = 0;
    let p = plan_at(&obs, morning());
    assert_eq!(item(&p, "ecs:app/frontend").verdict, Verdict::Skip);
    assert!(
        item(&p, "ecs:app/frontend")
            .reason
            .contains("no recorded count and no default_count")
    );
}

#[test]
fn production_guard_refuses_a_selected_resource() {
    let mut obs = daytime();
    obs.services[0]
        .tags
        .insert("environment".into(), "Production".into());
    obs.databases[0].tags.insert("env".into(), "prod".into());
    let p = plan_at(&obs, night());
    assert_eq!(item(&p, "ecs:app/backend").verdict, Verdict::Refuse);
    assert_eq!(item(&p, "rds:db").verdict, Verdict::Refuse);
    assert!(
        item(&p, "rds:db")
            .reason
            .contains("production is never touched")
    );
}

#[test]
fn skip_until_tag_is_honoured_until_it_passes() {
    let mut obs = daytime();
    obs.services[0]
        .tags
        .insert(tags::SKIP_UNTIL.into(), "2026-12-03T00:00:00Z".into());
    obs.services[1]
        .tags
        .insert(tags::SKIP_UNTIL.into(), "next tuesday".into());
    let p = plan_at(&obs, night());
    assert_eq!(item(&p, "ecs:app/backend").verdict, Verdict::Skip);
    assert_eq!(item(&p, "ecs:app/frontend").verdict, Verdict::Skip);
    assert!(
        item(&p, "ecs:app/frontend")
            .reason
            .contains("not an RFC 3339 instant")
    );
    let later = plan_at(&obs, "2026-12-03T01:00:00Z".parse().unwrap());
    assert!(matches!(
        item(&later, "ecs:app/backend").verdict,
        Verdict::Act { .. }
    ));
}

#[test]
fn database_started_by_aws_after_seven_days_is_stopped_again_with_that_reason() {
    let mut obs = daytime();
    obs.databases[0]
        .tags
        .insert(tags::SLEPT_AT.into(), "2026-11-25T20:00:00Z".into());
    let p = plan_at(&obs, night());
    let it = item(&p, "rds:db");
    assert!(
        it.reason
            .contains("AWS started it again after 7 days stopped"),
        "{}",
        it.reason
    );
    assert!(matches!(
        it.steps(),
        [
            Step::Rds(rds::Step::TagDb { .. }),
            Step::Rds(rds::Step::StopDb { .. })
        ]
    ));
}

#[test]
fn transitional_states_wait() {
    let mut obs = daytime();
    obs.databases[0].status = "stopping".into();
    obs.databases[3].status = "backing-up".into();
    let p = plan_at(&obs, night());
    assert_eq!(item(&p, "rds:db").verdict, Verdict::Wait);
    assert_eq!(item(&p, "aurora:aurora").verdict, Verdict::Wait);
}

#[test]
fn unreadable_recorded_count_blocks_instead_of_guessing() {
    let mut obs = daytime();
    obs.services[0].desired = 0;
    obs.services[0]
        .tags
        .insert(tags::DESIRED_COUNT.into(), "two".into());
    let p = plan_at(&obs, morning());
    assert_eq!(item(&p, "ecs:app/backend").verdict, Verdict::Blocked);
}

#[test]
fn missing_resources_and_unobservable_services_are_reported_not_guessed() {
    let mut obs = daytime();
    obs.missing.push(ResourceId::DbInstance("gone".into()));
    obs.errors
        .push((crate::kinds::Kind::Ecs, "ecs cluster app: throttled".into()));
    let p = plan_at(&obs, night());
    assert_eq!(item(&p, "rds:gone").verdict, Verdict::Blocked);
    assert_eq!(
        item(&p, "rds:db").verdict,
        Verdict::Wait,
        "no database stops while services are unknown"
    );
}

#[test]
fn summary_names_the_schedule() {
    let p = plan_at(&daytime(), night());
    assert_eq!(p.summary, "asleep until Thu 07:00 UTC (schedule)");
    let e = env();
    assert_eq!(scheduled(&e, night()).why, Why::OutsideWindows);
}

fn arb_service(name: &'static str) -> impl Strategy<Value = ObservedService> {
    (0i32..5, prop::option::of((0i32..3, 0i32..6)), any::<bool>()).prop_map(
        move |(desired, b, _)| {
            let mut s = svc(name, desired);
            s.scalable = b.map_or(Scalable::None, |(min, extra)| {
                Scalable::Some(Bounds {
                    min,
                    max: min + extra,
                })
            });
            s
        },
    )
}

proptest! {
    /// Sleep then wake (two passes, databases then services) restores every service exactly,
    /// and each state, once reached, plans no writes.
    #[test]
    fn sleep_then_wake_restores_exactly(
        backend in arb_service("app/backend"),
        frontend in arb_service("app/frontend"),
    ) {
        let mut day = daytime();
        day.services = vec![backend, frontend];
        let slept = simulate(&day, &plan_at(&day, night()));
        prop_assert_eq!(plan_at(&slept, night()).write_count(), 0);
        prop_assert!(slept.services.iter().all(|s| s.desired == 0));
        let mut obs = slept;
        for _ in 0..2 {
            obs = simulate(&obs, &plan_at(&obs, morning()));
        }
        prop_assert_eq!(plan_at(&obs, morning()).write_count(), 0);
        for (after, before) in obs.services.iter().zip(&day.services) {
            prop_assert_eq!(after.desired, before.desired);
            if before.scalable.bounds().is_some_and(|b| b.max > 0) {
                prop_assert_eq!(after.scalable, before.scalable);
            }
            prop_assert!(after.tags.is_empty(), "tags left: {:?}", after.tags);
        }
    }
}

#[test]
fn services_do_not_wake_while_their_databases_cannot_be_observed() {
    let slept = simulate(&daytime(), &plan_at(&daytime(), night()));
    let mut obs = slept.clone();
    obs.databases.clear();
    obs.errors.push((
        crate::kinds::Kind::Rds,
        "rds instances: DescribeDBInstances failed: throttled".into(),
    ));
    let p = plan_at(&obs, morning());
    assert_eq!(item(&p, "ecs:app/backend").verdict, Verdict::Wait);
    assert!(
        item(&p, "ecs:app/backend")
            .reason
            .contains("could not be observed")
    );
    assert_eq!(p.problems.len(), 1);
}

/// Found by the fault-injection tests: when the scalable targets cannot be read, a wake must not
/// restore the count and drop the recorded bounds, and a sleep must not skip recording them.
#[test]
fn services_wait_while_their_autoscaling_bounds_are_unknown() {
    let slept = simulate(&daytime(), &plan_at(&daytime(), night()));
    for (obs, now) in [(slept, morning()), (daytime(), night())] {
        let mut obs = obs;
        obs.databases
            .iter_mut()
            .for_each(|d| d.status = "available".into());
        obs.services
            .iter_mut()
            .for_each(|s| s.scalable = Scalable::Unknown);
        obs.errors.push((
            crate::kinds::Kind::Ecs,
            "ecs autoscaling: DescribeScalableTargets failed: throttled".into(),
        ));
        let p = plan_at(&obs, now);
        for id in ["ecs:app/backend", "ecs:app/frontend", "ecs:app/worker"] {
            assert_eq!(item(&p, id).verdict, Verdict::Wait, "{id} at {now}");
        }
    }
}

/// A service waiting for many databases counts them instead of listing each (400 services
/// waiting for 32 databases printed 32 names 400 times); with a few, it names them.
#[test]
fn a_wait_on_many_databases_is_counted_not_listed() {
    let e = parse_str(
        Path::new("staging.toml"),
        "region = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = []\n[ecs]\nservices = [\"app/backend\"]\ndefault_count = 1\n[rds]\n[[rds.select]]\ntags = { Team = \"app\" }\n",
    )
    .unwrap();
    let mut obs = Observation {
        services: vec![svc("app/backend", 0)],
        ..Default::default()
    };
    for i in 0..32 {
        obs.databases
            .push(db(&format!("db-{i:02}"), DbKind::Instance, "starting"));
    }
    let woken = Override {
        env: "staging".into(),
        hold: crate::model::Hold::Awake,
        created: night(),
        until: night() + TimeDelta::hours(2),
        by: "alice".into(),
        reason: String::new(),
    };
    let p = plan(&e, &decide(&e, Some(&woken), night()), &obs, night());
    let reason = &item(&p, "ecs:app/backend").reason;
    assert!(
        reason.contains("waiting for 32 databases (see their lines)"),
        "{reason}"
    );
    assert!(!reason.contains("db-07"), "{reason}");
    obs.databases.truncate(2);
    let p = plan(&e, &decide(&e, Some(&woken), night()), &obs, night());
    let reason = &item(&p, "ecs:app/backend").reason;
    assert!(
        reason.contains("waiting for rds:db-00 (starting), rds:db-01 (starting)"),
        "{reason}"
    );
}

/// A wake's expected ready time: each tier that must start waits for the one before, as long
/// as its slowest resource that is not ready (data, then instances, then groups, then services).
#[test]
fn time_to_wake_adds_the_tiers_in_waking_order() {
    let m = TimeDelta::minutes;
    // Everything up: nothing to wait for.
    assert_eq!(daytime().time_to_wake(), TimeDelta::zero());

    // Asleep: a stopped database (10) then the sleeping services (2).
    let mut night = daytime();
    for d in &mut night.databases {
        d.status = "stopped".into();
    }
    for s in &mut night.services {
        s.tags.insert(tags::DESIRED_COUNT.into(), "1".into());
        s.desired = 0;
        s.running = 0;
    }
    // The worker (0 desired, nothing recorded) is ready as it is; the replica is stopped too,
    // and the Aurora member is counted through its cluster: still 10 + 2.
    assert_eq!(night.time_to_wake(), m(12));

    // The whole reference environment with the new tiers: a paused Redshift cluster (15, the
    // slowest of the data tier), a stopped bastion (2), a group at 0 with its capacity
    // recorded (5), then the services (2).
    night.warehouses.push(redshift::ObservedWarehouse {
        id: "wh".into(),
        status: redshift::ClusterStatus::parse("paused"),
        node_type: "ra3.xlplus".into(),
        nodes: 2,
        tags: BTreeMap::new(),
    });
    let mut bastion = instance("i-0bastion");
    bastion.state = ec2::InstanceState::Stopped;
    night.instances.push(bastion);
    // Left alone (a group's member): nothing waits for it.
    let mut member = instance("i-0member");
    member.state = ec2::InstanceState::Stopped;
    member
        .tags
        .insert("aws:autoscaling:groupName".into(), "capacity".into());
    night.instances.push(member);
    let mut capacity = group("capacity", (0, 0, 0));
    capacity.tags.insert(asg::DESIRED_COUNT.into(), "2".into());
    night.groups.push(capacity);
    assert_eq!(night.time_to_wake(), m(15 + 2 + 5 + 2));

    // The data tier up: the instance, the group, the services.
    for d in &mut night.databases {
        d.status = "available".into();
    }
    night.warehouses.clear();
    assert_eq!(night.time_to_wake(), m(2 + 5 + 2));
    // The group's instances coming into service: it still counts, at its 5 minutes.
    night.instances.retain(|i| i.id == "i-0member");
    let g = &mut night.groups[0];
    g.tags.clear();
    (g.min, g.max, g.desired, g.in_service) = (1, 4, 2, 1);
    assert_eq!(night.time_to_wake(), m(5 + 2));
}
