//! The engine's logic over an in-memory cloud: isolation of failures and ordering.

use super::*;
use crate::config::parse_str;
use crate::kinds::{
    Bounds, DbKind, Observation, ObservedDb, ObservedService, Scalable, ServiceName, Step, ecs, rds,
};
use crate::ports::CloudError;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

/// A cloud that records calls and fails the ones it is told to.
struct FakeCloud {
    obs: Observation,
    fail: Vec<(&'static str, String)>,
    calls: Mutex<Vec<String>>,
}

impl Cloud for FakeCloud {
    async fn observe(&self, _env: &Environment) -> Observation {
        self.obs.clone()
    }

    async fn execute(&self, _env: &Environment, step: &Step) -> Result<(), CloudError> {
        let (op, target) = match step {
            Step::Ecs(ecs::Step::SetDesiredCount { service, .. }) => {
                ("UpdateService", service.to_string())
            }
            Step::Ecs(ecs::Step::TagService { arn, .. }) => ("TagResource", arn.clone()),
            Step::Ecs(ecs::Step::SetBounds { service, .. }) => {
                ("RegisterScalableTarget", service.to_string())
            }
            Step::Rds(rds::Step::StopDb { id, .. }) => ("StopDBInstance", id.clone()),
            Step::Alb(crate::kinds::alb::Step::SetWeights { rule, .. }) => {
                ("ModifyRule", rule.clone())
            }
            other => ("Other", other.to_string()),
        };
        self.calls.lock().unwrap().push(format!("{op} {target}"));
        if self.fail.iter().any(|(o, t)| *o == op && *t == target) {
            return Err(CloudError {
                operation: op,
                code: Some("InvalidParameterException".into()),
                message: "boom".into(),
            });
        }
        Ok(())
    }
}

fn env() -> Environment {
    parse_str(
        Path::new("e.toml"),
        "region = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = []\n[ecs]\nservices = [\"c/a\", \"c/b\"]\n[rds]\ninstances = [\"db\", \"db2\"]\n[ecs.service.\"c/b\"]\ndepends_on = [\"db2\"]\n",
    )
    .unwrap()
}

fn svc(name: &str) -> ObservedService {
    ObservedService {
        name: ServiceName::parse(name).unwrap(),
        arn: name.to_string(),
        status: "ACTIVE".into(),
        desired: 1,
        running: 1,
        tags: BTreeMap::new(),
        deploying: false,
        scalable: Scalable::Some(Bounds { min: 1, max: 2 }),
    }
}

fn db(id: &str) -> ObservedDb {
    ObservedDb {
        kind: DbKind::Instance,
        id: id.into(),
        arn: id.into(),
        status: "available".into(),
        engine: "postgres".into(),
        engine_mode: None,
        member_of: None,
        replica_of: None,
        replicas: vec![],
        tags: BTreeMap::new(),
    }
}

fn cloud(fail: Vec<(&'static str, String)>) -> FakeCloud {
    FakeCloud {
        obs: Observation {
            services: vec![svc("c/a"), svc("c/b")],
            databases: vec![db("db"), db("db2")],
            ..Default::default()
        },
        fail,
        calls: Mutex::new(Vec::new()),
    }
}

/// The report of one resource.
fn item<'r>(r: &'r EnvReport, id: &str) -> &'r ItemReport {
    r.items
        .iter()
        .find(|i| i.item.resource.to_string() == id)
        .unwrap_or_else(|| panic!("no {id}"))
}

fn now() -> DateTime<Utc> {
    "2026-12-02T22:00:00Z".parse().unwrap()
}

#[tokio::test]
async fn a_failing_service_does_not_stop_the_others_and_its_database_waits() {
    let c = cloud(vec![("UpdateService", "c/a".into())]);
    let r = reconcile(&c, &env(), None, now(), false).await;
    let by = |id: &str| item(&r, id);
    assert!(
        matches!(&by("ecs:c/a").outcome, Some(Outcome::Failed(m)) if m.contains("UpdateService failed: InvalidParameterException: boom (after 2 successful calls)"))
    );
    assert_eq!(by("ecs:c/b").outcome, Some(Outcome::Done));
    // db is needed by c/a (no depends_on: every database), so it is not stopped.
    assert!(matches!(&by("rds:db").outcome, Some(Outcome::NotRun(m)) if m.contains("ecs:c/a")));
    // db2 is needed by both (c/a needs every database), so it waits as well.
    assert!(matches!(&by("rds:db2").outcome, Some(Outcome::NotRun(_))));
    assert!(r.failed());
    let calls = c.calls.lock().unwrap();
    assert!(
        !calls.iter().any(|c| c.starts_with("StopDBInstance")),
        "{calls:?}"
    );
}

#[tokio::test]
async fn a_failed_tag_write_means_no_scale_down() {
    let c = cloud(vec![("TagResource", "c/a".into())]);
    let r = reconcile(&c, &env(), None, now(), false).await;
    let calls = c.calls.lock().unwrap();
    assert!(
        !calls
            .iter()
            .any(|c| c == "UpdateService c/a" || c == "RegisterScalableTarget c/a"),
        "{calls:?}"
    );
    assert!(r.failed());
}

#[tokio::test]
async fn a_failing_database_does_not_abort_the_rest() {
    let c = cloud(vec![("StopDBInstance", "db".into())]);
    let r = reconcile(&c, &env(), None, now(), false).await;
    let by = |id: &str| item(&r, id);
    assert!(matches!(by("rds:db").outcome, Some(Outcome::Failed(_))));
    assert_eq!(by("rds:db2").outcome, Some(Outcome::Done));
}

#[tokio::test]
async fn dry_run_calls_nothing() {
    let c = cloud(vec![]);
    let r = reconcile(&c, &env(), None, now(), true).await;
    assert!(c.calls.lock().unwrap().is_empty());
    assert_eq!(r.calls_made(), 0);
    assert!(
        r.items
            .iter()
            .filter(|i| i.outcome.is_some())
            .all(|i| i.outcome == Some(Outcome::DryRun))
    );
}

#[tokio::test]
async fn past_the_deadline_nothing_starts_and_nothing_counts_as_failed() {
    let c = cloud(vec![]);
    let p = plan_env(&c, &env(), None, now()).await;
    let fence = Fence::new(
        Arc::new(crate::clock::FixedClock(now())),
        Some(tokio::time::Instant::now()),
        None,
    );
    let r = apply(&c, &env(), p, false, &fence).await;
    assert!(c.calls.lock().unwrap().is_empty());
    assert!(r.items.iter().filter(|i| i.outcome.is_some()).all(
        |i| matches!(&i.outcome, Some(Outcome::Deferred(why)) if why.contains("out of time"))
    ));
    assert_eq!(r.deferred(), 4);
    assert!(!r.failed(), "deferred work is not a failure");
}

const RULE: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/s/50dc/f2f7/9683";
const TG: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup";

fn door_env() -> Environment {
    parse_str(
        Path::new("e.toml"),
        &format!(
            "region = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = []\n[ecs]\nservices = [\"c/a\", \"c/b\"]\n[rds]\ninstances = [\"db\", \"db2\"]\n\
             [[alb.rules]]\nrule = \"{RULE}\"\napp = \"{TG}/app/1\"\nwake = \"{TG}/wake/2\"\n"
        ),
    )
    .unwrap()
}

fn door_cloud(fail: Vec<(&'static str, String)>) -> FakeCloud {
    let mut c = cloud(fail);
    c.obs.rules = vec![crate::kinds::ObservedRule {
        arn: RULE.into(),
        app: format!("{TG}/app/1"),
        wake: format!("{TG}/wake/2"),
        forward: vec![(format!("{TG}/app/1"), 1), (format!("{TG}/wake/2"), 0)],
        health: crate::kinds::alb::TargetHealth::Read {
            healthy: 2,
            total: 2,
        },
        tags: BTreeMap::new(),
    }];
    c
}

/// In waves: the rule flips first, the services scale down only after it, the databases stop
/// only after the services.
#[tokio::test]
async fn the_door_flips_before_the_services_and_they_before_the_databases() {
    let c = door_cloud(vec![]);
    let r = reconcile(&c, &door_env(), None, now(), false).await;
    assert!(!r.failed());
    let calls = c.calls.lock().unwrap();
    let first = |p: &str| calls.iter().position(|c| c.starts_with(p)).unwrap();
    let last = |p: &str| calls.iter().rposition(|c| c.starts_with(p)).unwrap();
    assert_eq!(first("ModifyRule"), 0, "{calls:?}");
    assert!(last("UpdateService") < first("StopDBInstance"), "{calls:?}");
}

/// A flip that fails leaves every service and database as it is: nobody meets a bare 503.
#[tokio::test]
async fn a_failed_flip_means_no_scale_down() {
    let c = door_cloud(vec![("ModifyRule", RULE.into())]);
    let r = reconcile(&c, &door_env(), None, now(), false).await;
    assert!(r.failed());
    assert!(matches!(&item(&r, "ecs:c/a").outcome, Some(Outcome::NotRun(m)) if m.contains("alb:")));
    assert!(matches!(
        &item(&r, "rds:db").outcome,
        Some(Outcome::NotRun(_))
    ));
    let calls = c.calls.lock().unwrap();
    assert_eq!(
        calls.as_slice(),
        [format!("ModifyRule {RULE}")],
        "{calls:?}"
    );
}
