//! The front door in the plan: the ALB rule flips to the wake page before the services sleep,
//! and back to the app only after everything behind it is up and healthy.

use super::*;
use crate::config::parse_str;
use crate::kinds::alb::{self, ObservedRule, TargetHealth};
use crate::kinds::{DbKind, ObservedDb, ObservedService, Scalable, ServiceName, tags};
use crate::schedule::scheduled;
use std::collections::BTreeMap;
use std::path::Path;

const RULE: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/s/50dc/f2f7/9683";
const APP: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/backend/73e2";
const WAKE: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/wake/2453";

fn env() -> Environment {
    let src = format!(
        "region = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = [\"Mon-Fri 07:00-20:00\"]\n\
         [ecs]\nservices = [\"app/backend\"]\n[rds]\ninstances = [\"db\"]\n\
         [[alb.rules]]\nrule = \"{RULE}\"\napp = \"{APP}\"\nwake = \"{WAKE}\"\n"
    );
    parse_str(Path::new("staging.toml"), &src).unwrap_or_else(|e| panic!("{e}"))
}

fn night() -> DateTime<Utc> {
    "2026-12-02T22:00:00Z".parse().unwrap()
}

fn morning() -> DateTime<Utc> {
    "2026-12-03T07:00:00Z".parse().unwrap()
}

fn rule(app: i32, wake: i32, healthy: u32) -> ObservedRule {
    ObservedRule {
        arn: RULE.into(),
        app: APP.into(),
        wake: WAKE.into(),
        forward: vec![(APP.into(), app), (WAKE.into(), wake)],
        health: TargetHealth::Read { healthy, total: 2 },
        tags: BTreeMap::new(),
    }
}

fn backend(desired: i32, asleep: bool) -> ObservedService {
    let mut tags = BTreeMap::new();
    if asleep {
        tags.insert(tags::DESIRED_COUNT.to_string(), "2".to_string());
    }
    ObservedService {
        name: ServiceName::parse("app/backend").unwrap(),
        arn: "arn:aws:ecs:eu-west-1:123456789012:service/app/backend".into(),
        status: "ACTIVE".into(),
        desired,
        running: desired,
        tags,
        deploying: false,
        scalable: Scalable::None,
    }
}

fn db(status: &str) -> ObservedDb {
    ObservedDb {
        kind: DbKind::Instance,
        id: "db".into(),
        arn: "arn:aws:rds:eu-west-1:123456789012:db:db".into(),
        status: status.into(),
        engine: "postgres".into(),
        engine_mode: None,
        member_of: None,
        replica_of: None,
        replicas: Vec::new(),
        tags: BTreeMap::new(),
    }
}

fn obs(r: ObservedRule, s: ObservedService, d: ObservedDb) -> Observation {
    Observation {
        rules: vec![r],
        services: vec![s],
        databases: vec![d],
        ..Default::default()
    }
}

fn plan_at(o: &Observation, now: DateTime<Utc>) -> Plan {
    let e = env();
    plan(&e, &scheduled(&e, now), o, now)
}

fn item<'p>(p: &'p Plan, prefix: &str) -> &'p Item {
    p.items
        .iter()
        .find(|i| i.resource.to_string().starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix} in {p:#?}"))
}

#[test]
fn going_to_sleep_the_door_flips_first_and_the_services_wait_for_it() {
    let p = plan_at(
        &obs(rule(1, 0, 2), backend(2, false), db("available")),
        night(),
    );
    let order: Vec<String> = p.items.iter().map(|i| i.resource.to_string()).collect();
    assert!(order[0].starts_with("alb:"), "{order:?}");
    let door = item(&p, "alb:");
    assert_eq!(
        door.steps(),
        [Step::Alb(alb::Step::SetWeights {
            rule: RULE.into(),
            app: APP.into(),
            wake: WAKE.into(),
            app_weight: 0,
            wake_weight: 1
        })]
    );
    assert!(
        door.reason.contains("before the services scale down"),
        "{}",
        door.reason
    );
    let Verdict::Act { after, .. } = &item(&p, "ecs:").verdict else {
        panic!("{p:#?}")
    };
    assert_eq!(after.as_slice(), [ResourceId::AlbRule(RULE.into())]);
    let Verdict::Act { after, .. } = &item(&p, "rds:").verdict else {
        panic!("{p:#?}")
    };
    assert!(
        after.contains(&ResourceId::AlbRule(RULE.into())),
        "{after:?}"
    );
    assert!(
        after.iter().any(|r| r.to_string() == "ecs:app/backend"),
        "{after:?}"
    );
}

#[test]
fn waking_the_door_stays_on_the_wake_page_until_services_run_and_targets_are_healthy() {
    // The database is starting: nothing else moves yet.
    let p = plan_at(
        &obs(rule(0, 1, 0), backend(0, true), db("stopped")),
        morning(),
    );
    assert_eq!(item(&p, "alb:").verdict, Verdict::Wait, "{p:#?}");
    // The service is still asleep (scaled up in this very pass): the door waits for it.
    let p = plan_at(
        &obs(rule(0, 1, 0), backend(0, true), db("available")),
        morning(),
    );
    let door = item(&p, "alb:");
    assert_eq!(door.verdict, Verdict::Wait);
    assert!(
        door.reason.contains("ecs:app/backend (asleep)"),
        "{}",
        door.reason
    );
    // Running, but the target group has no healthy target yet.
    let p = plan_at(
        &obs(rule(0, 1, 0), backend(2, false), db("available")),
        morning(),
    );
    let door = item(&p, "alb:");
    assert_eq!(door.verdict, Verdict::Wait);
    assert!(
        door.reason.contains("no healthy targets"),
        "{}",
        door.reason
    );
    // Healthy: back to the app, and it is the last item of the plan.
    let p = plan_at(
        &obs(rule(0, 1, 2), backend(2, false), db("available")),
        morning(),
    );
    assert!(
        p.items
            .last()
            .unwrap()
            .resource
            .to_string()
            .starts_with("alb:")
    );
    let door = item(&p, "alb:");
    assert_eq!(door.steps()[0].label(), "to app");
    assert!(
        door.reason.contains("2/2 targets of backend healthy"),
        "{}",
        door.reason
    );
}

#[test]
fn a_half_done_switch_is_repaired_and_a_foreign_forward_is_blocked() {
    let p = plan_at(
        &obs(rule(1, 1, 2), backend(2, false), db("available")),
        night(),
    );
    let door = item(&p, "alb:");
    assert_eq!(door.steps()[0].label(), "to wake page");
    assert!(
        door.reason.contains("half-switched: app 1 / wake 1"),
        "{}",
        door.reason
    );

    let mut r = rule(1, 0, 2);
    r.forward.push((
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/other/1".into(),
        1,
    ));
    let p = plan_at(&obs(r, backend(2, false), db("available")), night());
    let door = item(&p, "alb:");
    assert_eq!(door.verdict, Verdict::Blocked);
    assert!(door.reason.starts_with("staging.toml:"), "{}", door.reason);
    assert!(
        door.reason.contains("forwards to other as well"),
        "{}",
        door.reason
    );
}

#[test]
fn a_pass_after_the_door_flipped_writes_nothing_for_it() {
    let p = plan_at(
        &obs(rule(0, 1, 0), backend(0, true), db("stopped")),
        night(),
    );
    assert_eq!(item(&p, "alb:").verdict, Verdict::InSync);
    let p = plan_at(
        &obs(rule(1, 0, 2), backend(2, false), db("available")),
        morning(),
    );
    assert_eq!(item(&p, "alb:").verdict, Verdict::InSync);
}
