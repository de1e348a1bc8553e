//! EC2 Auto Scaling groups against moto, through the real SDK clients: a group (the reference
//! environment's ECS-on-EC2 capacity) records its min/max/desired on its own tags before going
//! to 0/0/0, sleeps after the services and before the databases, wakes after the databases and
//! before the services, comes back exactly as it was, and production is refused.

use crate::support;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use lightsout::aws::AwsCloud;
use lightsout::config;
use lightsout::engine::{EnvReport, reconcile};
use lightsout::model::Environment;
use lightsout::plan::Verdict;
use support::{Moto, is_write};

const SCHEDULE: &str = r#"
name = "staging"
region = "eu-west-1"
timezone = "Europe/Berlin"
awake = ["Mon-Fri 07:00-20:00"]

[ecs]
services = ["app-staging-cluster/backend"]

[asg]
groups = ["app-staging-capacity"]
[[asg.select]]
tags = { Team = "app" }

[rds]
instances = ["app-staging-db"]
"#;

/// Wednesday 23:00 CET: asleep.
fn night() -> DateTime<Utc> {
    "2026-12-02T22:00:00Z".parse().unwrap()
}

/// Thursday 07:05 CET: awake.
fn morning() -> DateTime<Utc> {
    "2026-12-03T06:05:00Z".parse().unwrap()
}

fn env() -> Environment {
    config::parse_str(std::path::Path::new("staging.toml"), SCHEDULE).unwrap()
}

/// The reference environment (its ECS capacity provider's Auto Scaling group app-staging-capacity,
/// 1/4/2, its instances protected from scale-in as managed termination protection requires, is
/// in the seed) and a production group the tag selector picks up too.
fn seed_groups(moto: &Moto) {
    moto.python(
        "asg = boto3.client('autoscaling', **kw)\n\
         asg.create_auto_scaling_group(AutoScalingGroupName='app-prod-capacity', MinSize=2, MaxSize=6, DesiredCapacity=3, \
           LaunchTemplate={'LaunchTemplateName': 'app-staging-lt', 'Version': '$Latest'}, AvailabilityZones=['eu-west-1a'], \
           Tags=[{'Key': 'Environment', 'Value': 'production', 'PropagateAtLaunch': True}, {'Key': 'Team', 'Value': 'app', 'PropagateAtLaunch': True}])\n",
    );
}

struct World {
    moto: Moto,
    cloud: AwsCloud,
    asg: aws_sdk_autoscaling::Client,
    ecs: aws_sdk_ecs::Client,
    rds: aws_sdk_rds::Client,
}

async fn world() -> World {
    let moto = Moto::start();
    moto.seed();
    seed_groups(&moto);
    let cfg = moto.sdk_config().await;
    World {
        cloud: AwsCloud::new(cfg.clone()),
        asg: aws_sdk_autoscaling::Client::new(&cfg),
        ecs: aws_sdk_ecs::Client::new(&cfg),
        rds: aws_sdk_rds::Client::new(&cfg),
        moto,
    }
}

/// A group's (min, max, desired), instances and tags.
async fn group(
    c: &aws_sdk_autoscaling::Client,
    name: &str,
) -> ((i32, i32, i32), usize, BTreeMap<String, String>) {
    let out = c
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(name)
        .send()
        .await
        .unwrap();
    let g = &out.auto_scaling_groups()[0];
    (
        (
            g.min_size().unwrap(),
            g.max_size().unwrap(),
            g.desired_capacity().unwrap(),
        ),
        g.instances().len(),
        g.tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap().to_string(),
                    t.value().unwrap_or("").to_string(),
                )
            })
            .collect(),
    )
}

impl World {
    async fn pass(&self, now: DateTime<Utc>) -> EnvReport {
        reconcile(&self.cloud, &env(), None, now, false).await
    }
}

fn writes(ops: &[String]) -> Vec<String> {
    ops.iter().filter(|o| is_write(o)).cloned().collect()
}

fn reason<'a>(r: &'a EnvReport, id: &str) -> &'a str {
    &r.items
        .iter()
        .find(|i| i.item.resource.to_string() == id)
        .unwrap_or_else(|| panic!("no {id} in {r:#?}"))
        .item
        .reason
}

/// Night: the group's capacity is recorded on it first, then it goes to 0/0/0, after the
/// service and before the database; its scale-in protection is reported, never lifted; the
/// production group is refused. Counted: the requests of the pass.
#[tokio::test]
async fn night_records_capacity_on_the_group_then_scales_it_to_zero_between_apps_and_data() {
    let w = world().await;
    w.moto.start_recording();
    let report = w.pass(night()).await;
    assert!(!report.failed(), "{report:#?}");

    let (capacity, instances, tags) = group(&w.asg, "app-staging-capacity").await;
    assert_eq!(capacity, (0, 0, 0));
    // Protected from scale-in, its instances stay until ECS releases them: never unprotected.
    assert_eq!(instances, 2);
    assert_eq!(tags["lightsout:desired-count"], "2");
    assert_eq!(tags["lightsout:autoscaling"], "min=1/max=4");
    assert_eq!(tags["lightsout:slept-at"], "2026-12-02T22:00:00Z");
    let why = reason(&report, "asg:app-staging-capacity");
    assert!(
        why.contains("2 instances protected from scale-in") && why.contains("never lifts it"),
        "{why}"
    );
    let prod = reason(&report, "asg:app-prod-capacity");
    assert!(
        prod.starts_with("refused") && prod.contains("production"),
        "{prod}"
    );
    assert_eq!(group(&w.asg, "app-prod-capacity").await.0, (2, 6, 3));

    let ops = w.moto.recorded_operations();
    let writes = writes(&ops);
    assert_eq!(
        writes,
        [
            "TagResource",
            "RegisterScalableTarget",
            "UpdateService",
            "CreateOrUpdateTags",
            "UpdateAutoScalingGroup",
            "AddTagsToResource",
            "StopDBInstance"
        ],
        "services, then the group, then the database; tags before each scale-down"
    );
    assert!(!ops.iter().any(|o| o == "SetInstanceProtection"));
    let asg_calls = ops
        .iter()
        .filter(|o| o.contains("AutoScalingGroup") || o.contains("Tags") && !o.contains("Resource"))
        .count();
    println!(
        "night pass: {} requests, {asg_calls} of them Auto Scaling: {ops:?}",
        ops.len()
    );

    // The next pass waits for ECS to release the protected instances, and writes nothing.
    w.moto.start_recording();
    let next = w.pass(night()).await;
    let item = next
        .items
        .iter()
        .find(|i| i.item.resource.to_string() == "asg:app-staging-capacity")
        .unwrap();
    assert_eq!(item.item.verdict, Verdict::Wait, "{:?}", item.item.reason);
    assert!(item.item.reason.contains("protected from scale-in"));
    assert!(
        !w.moto.recorded_operations().iter().any(|o| is_write(o)),
        "no write while the protected instances drain"
    );
}

/// Morning: the database starts first, then the group is restored exactly (one call, then its
/// tags go), then the service once the group's instances are in service; then nothing to do.
#[tokio::test]
async fn morning_restores_the_group_exactly_after_the_database_and_before_the_service() {
    let w = world().await;
    assert!(!w.pass(night()).await.failed());

    w.moto.start_recording();
    let first = w.pass(morning()).await;
    assert!(!first.failed(), "{first:#?}");
    let why = reason(&first, "asg:app-staging-capacity");
    assert!(why.contains("waiting for rds:app-staging-db"), "{why}");
    assert_eq!(group(&w.asg, "app-staging-capacity").await.0, (0, 0, 0));

    let second = w.pass(morning()).await;
    assert!(!second.failed(), "{second:#?}");
    let (capacity, instances, tags) = group(&w.asg, "app-staging-capacity").await;
    assert_eq!(capacity, (1, 4, 2), "restored exactly");
    assert_eq!(instances, 2);
    assert!(
        !tags.keys().any(|k| k.starts_with("lightsout:")),
        "{tags:?}"
    );
    let service = reason(&second, "ecs:app-staging-cluster/backend");
    assert!(
        service.contains("asg:app-staging-capacity") || service.contains("waiting"),
        "{service}"
    );

    let third = w.pass(morning()).await;
    assert!(!third.failed(), "{third:#?}");
    let (desired, _) = support::service_state(&w.ecs, "app-staging-cluster", "backend").await;
    assert_eq!(desired, 2);
    assert_eq!(
        support::db_status(&w.rds, "app-staging-db").await,
        "available"
    );

    let ops = w.moto.recorded_operations();
    let writes = writes(&ops);
    assert_eq!(
        writes,
        [
            "StartDBInstance",
            "RemoveTagsFromResource",
            "UpdateAutoScalingGroup",
            "DeleteTags",
            "RegisterScalableTarget",
            "UpdateService",
            "UntagResource"
        ],
        "database, then the group, then the service"
    );
    println!("morning, three passes: {} requests: {ops:?}", ops.len());

    let fourth = w.pass(morning()).await;
    assert!(
        fourth
            .items
            .iter()
            .all(|i| !matches!(i.item.verdict, Verdict::Act { .. })),
        "{fourth:#?}"
    );
}

/// A group named in the schedule file that does not exist (the reference environment's, deleted)
/// is blocked with its line.
#[tokio::test]
async fn a_missing_named_group_is_blocked_with_its_line() {
    let moto = Moto::start();
    moto.seed();
    moto.python(
        "boto3.client('autoscaling', **kw).delete_auto_scaling_group(AutoScalingGroupName='app-staging-capacity', ForceDelete=True)",
    );
    let cloud = AwsCloud::new(moto.sdk_config().await);
    let report = reconcile(&cloud, &env(), None, night(), false).await;
    let why = reason(&report, "asg:app-staging-capacity");
    assert!(
        why.starts_with("staging.toml:11:11: not found: there is no Auto Scaling group app-staging-capacity in eu-west-1"),
        "{why}"
    );
}

/// The digest prices the group from the shipped table: the instances it runs awake, and asleep
/// the recorded capacity of its launch template's type (read with DescribeLaunchTemplateVersions).
#[tokio::test]
async fn the_digest_prices_the_group_awake_and_asleep() {
    use lightsout::digest::input::Size;
    let w = world().await;
    let env = env();
    let cfg = w.moto.sdk_config().await;
    let digester = lightsout::digest::Digester::new(
        lightsout::model::Config {
            environments: vec![env.clone()],
        },
        std::sync::Arc::new(AwsCloud::new(cfg.clone())).ports(None),
        std::sync::Arc::new(lightsout::store::SqliteStore::in_memory().unwrap()),
        std::sync::Arc::new(lightsout::clock::ManualClock::new(night())),
    );
    let table = lightsout::digest::prices::PriceTable::shipped();
    let size = |input: &lightsout::digest::input::DigestInput| {
        input
            .resources
            .iter()
            .find(|r| r.resource == "asg:app-staging-capacity")
            .unwrap_or_else(|| panic!("{:#?}", input.resources))
            .clone()
    };
    let awake = size(
        &digester
            .gather(&env, Some("2026-12-02".parse().unwrap()), true)
            .await,
    );
    assert!(awake.sleeps);
    let Size::Database {
        classes, engine, ..
    } = &awake.size
    else {
        panic!("{awake:?}")
    };
    assert_eq!(
        (classes.as_slice(), engine.as_str()),
        (
            &["t3.medium".to_string(), "t3.medium".to_string()][..],
            "ec2"
        )
    );
    // 2 × t3.medium in eu-west-1 at $0.0456 an hour.
    assert_eq!(
        table.hourly(&awake.size).unwrap(),
        lightsout::model::Money(91_200_000)
    );

    // Asleep, with no instances left (unprotected first, as if ECS had released them): the
    // recorded 2 × its launch template's t3.medium.
    w.moto.python(
        "asg = boto3.client('autoscaling', **kw)\n\
         ids = [i['InstanceId'] for i in asg.describe_auto_scaling_groups(AutoScalingGroupNames=['app-staging-capacity'])['AutoScalingGroups'][0]['Instances']]\n\
         asg.set_instance_protection(AutoScalingGroupName='app-staging-capacity', InstanceIds=ids, ProtectedFromScaleIn=False)",
    );
    assert!(!w.pass(night()).await.failed());
    assert_eq!(group(&w.asg, "app-staging-capacity").await.1, 0);
    w.moto.start_recording();
    let asleep = size(
        &digester
            .gather(&env, Some("2026-12-02".parse().unwrap()), true)
            .await,
    );
    assert_eq!(asleep.size, awake.size, "{asleep:?}");
    assert!(
        w.moto
            .recorded_operations()
            .iter()
            .any(|o| o == "DescribeLaunchTemplateVersions")
    );
}

/// The digest's health says the group as it is against the schedule: in service while the
/// schedule has it asleep (a problem: it costs), then, set to sleep, held up by its instances
/// protected from scale-in (a problem, reported, never fought), then once ECS has released
/// them simply asleep.
#[tokio::test]
async fn the_digest_health_says_the_group_up_held_up_then_asleep() {
    use lightsout::digest::figures::{Status, compute};
    let w = world().await;
    let env = env();
    let cfg = w.moto.sdk_config().await;
    let digester = lightsout::digest::Digester::new(
        lightsout::model::Config {
            environments: vec![env.clone()],
        },
        std::sync::Arc::new(AwsCloud::new(cfg.clone())).ports(None),
        std::sync::Arc::new(lightsout::store::SqliteStore::in_memory().unwrap()),
        std::sync::Arc::new(lightsout::clock::ManualClock::new(night())),
    );
    let table = lightsout::digest::prices::PriceTable::shipped();
    let line = async || {
        let input = digester
            .gather(&env, Some("2026-12-02".parse().unwrap()), false)
            .await;
        let machines = input.health.instances.clone().unwrap().unwrap();
        // Only the staging group: production is never reported on.
        assert_eq!(machines.len(), 1, "{machines:?}");
        assert_eq!(machines[0].resource, "asg:app-staging-capacity");
        let d = compute(&input, table);
        let s = d
            .health
            .sections
            .iter()
            .find(|s| s.title == "Instances")
            .unwrap();
        let l = &s.lines.as_ref().unwrap()[0];
        (l.status, l.text.clone())
    };
    assert_eq!(
        line().await,
        (
            Status::Problem,
            "2/2 instances in service while the schedule has it asleep".to_string()
        )
    );

    assert!(!w.pass(night()).await.failed());
    assert_eq!(
        line().await,
        (
            Status::Problem,
            "asleep, but 2 instances protected from scale-in still running".to_string()
        )
    );

    // ECS releases them (their protection lifted), the next pass lets them go: asleep.
    w.moto.python(
        "asg = boto3.client('autoscaling', **kw)\n\
         ids = [i['InstanceId'] for i in asg.describe_auto_scaling_groups(AutoScalingGroupNames=['app-staging-capacity'])['AutoScalingGroups'][0]['Instances']]\n\
         asg.set_instance_protection(AutoScalingGroupName='app-staging-capacity', InstanceIds=ids, ProtectedFromScaleIn=False)",
    );
    assert!(!w.pass(night()).await.failed());
    assert_eq!(line().await, (Status::Asleep, "asleep".to_string()));
}
