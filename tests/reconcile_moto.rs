//! The reconcile loop against a real AWS API (moto_server), through the real SDK clients.

use crate::support;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use lightsout::aws::AwsCloud;
use lightsout::config;
use lightsout::engine::{EnvReport, Outcome, reconcile};
use lightsout::model::Environment;
use support::{Moto, STAGING, is_write, schedules};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Wednesday 23:00 CET: asleep.
fn night() -> DateTime<Utc> {
    at("2026-12-02T22:00:00Z")
}

/// Thursday 07:05 CET: awake.
fn morning() -> DateTime<Utc> {
    at("2026-12-03T06:05:00Z")
}

fn env() -> Environment {
    config::parse_str(std::path::Path::new("staging.toml"), STAGING).unwrap()
}

struct World {
    moto: Moto,
    cloud: AwsCloud,
    ecs: aws_sdk_ecs::Client,
    aas: aws_sdk_applicationautoscaling::Client,
    rds: aws_sdk_rds::Client,
}

async fn world() -> World {
    let moto = Moto::start();
    moto.seed();
    let cfg = moto.sdk_config().await;
    World {
        cloud: AwsCloud::new(cfg.clone()),
        ecs: aws_sdk_ecs::Client::new(&cfg),
        aas: aws_sdk_applicationautoscaling::Client::new(&cfg),
        rds: aws_sdk_rds::Client::new(&cfg),
        moto,
    }
}

impl World {
    async fn pass(&self, now: DateTime<Utc>) -> EnvReport {
        reconcile(&self.cloud, &env(), None, now, false).await
    }

    /// Desired count and tags of a service.
    async fn service(&self, cluster: &str, name: &str) -> (i32, BTreeMap<String, String>) {
        support::service_state(&self.ecs, cluster, name).await
    }

    async fn bounds(&self, resource_id: &str) -> (i32, i32) {
        support::bounds(&self.aas, resource_id).await
    }

    async fn db(&self, id: &str) -> String {
        support::db_status(&self.rds, id).await
    }

    async fn aurora(&self, id: &str) -> String {
        let out = self
            .rds
            .describe_db_clusters()
            .db_cluster_identifier(id)
            .send()
            .await
            .unwrap();
        out.db_clusters()[0].status().unwrap().to_string()
    }
}

fn writes(ops: &[String]) -> Vec<String> {
    ops.iter().filter(|o| is_write(o)).cloned().collect()
}

/// A night pass records each service's count and bounds on it, scales it to zero, then stops the
/// databases; production is selected by the tag selector but never touched.
#[tokio::test]
async fn night_pass_sleeps_everything_in_order_with_originals_on_tags_and_production_untouched() {
    let w = world().await;
    w.moto.start_recording();
    let report = w.pass(night()).await;
    assert!(!report.failed(), "{report:#?}");

    let (desired, tags) = w.service("app-staging-cluster", "backend").await;
    assert_eq!(desired, 0);
    assert_eq!(tags["lightsout:desired-count"], "2");
    assert_eq!(tags["lightsout:autoscaling"], "min=1/max=4");
    assert_eq!(tags["lightsout:slept-at"], "2026-12-02T22:00:00Z");
    assert_eq!(
        w.bounds("service/app-staging-cluster/backend").await,
        (0, 0)
    );
    let (desired, tags) = w.service("app-staging-cluster", "frontend").await;
    assert_eq!(
        (desired, tags["lightsout:desired-count"].as_str()),
        (0, "1")
    );
    assert_eq!(w.db("app-staging-db").await, "stopped");
    assert_eq!(w.aurora("app-staging-aurora").await, "stopped");

    // Production, replicas and Aurora members untouched.
    assert_eq!(w.service("app-production-cluster", "api").await.0, 3);
    assert_eq!(w.db("app-production-db").await, "available");
    assert_eq!(w.db("app-staging-analytics").await, "available");
    assert_eq!(w.db("app-staging-analytics-replica").await, "available");

    // Tags before scaling, services before databases.
    let ops = writes(&w.moto.recorded_operations());
    let pos = |op: &str| {
        ops.iter()
            .position(|o| o == op)
            .unwrap_or_else(|| panic!("no {op} in {ops:?}"))
    };
    let last = |op: &str| ops.iter().rposition(|o| o == op).unwrap();
    assert!(pos("TagResource") < pos("RegisterScalableTarget"));
    assert!(last("UpdateService") < pos("StopDBInstance"), "{ops:?}");
    assert!(last("UpdateService") < pos("StopDBCluster"), "{ops:?}");
}

/// Morning: the first pass starts the databases only; the next restores the services exactly;
/// the one after makes no write call.
#[tokio::test]
async fn morning_pass_starts_databases_only_then_the_next_restores_services_exactly() {
    let w = world().await;
    assert!(!w.pass(night()).await.failed());

    let first = w.pass(morning()).await;
    assert!(!first.failed(), "{first:#?}");
    assert_eq!(w.db("app-staging-db").await, "available");
    assert_eq!(w.aurora("app-staging-aurora").await, "available");
    assert_eq!(
        w.service("app-staging-cluster", "backend").await.0,
        0,
        "services wait for the databases"
    );

    let second = w.pass(morning()).await;
    assert!(!second.failed(), "{second:#?}");
    let (desired, tags) = w.service("app-staging-cluster", "backend").await;
    assert_eq!(desired, 2);
    assert!(
        !tags.keys().any(|k| k.starts_with("lightsout:")),
        "{tags:?}"
    );
    assert_eq!(
        w.bounds("service/app-staging-cluster/backend").await,
        (1, 4)
    );
    assert_eq!(w.service("app-staging-cluster", "frontend").await.0, 1);
    assert_eq!(w.service("app-production-cluster", "api").await.0, 3);

    w.moto.start_recording();
    let third = w.pass(morning()).await;
    assert_eq!(third.calls_made(), 0);
    assert_eq!(writes(&w.moto.recorded_operations()), Vec::<String>::new());
}

/// A pass right after a successful one makes zero write calls, and the sleep pass makes exactly
/// the calls the plan needs.
#[tokio::test]
async fn repeated_pass_makes_no_write_call() {
    let w = world().await;
    w.moto.start_recording();
    let before = lightsout::ports::Cloud::requests(&w.cloud);
    assert!(!w.pass(night()).await.failed());
    let sleep = w.moto.recorded_counts();
    // lightsout's own count of its requests matches what moto received, operation by operation.
    let counted: std::collections::BTreeMap<String, usize> =
        lightsout::ports::Cloud::requests(&w.cloud)
            .into_iter()
            .map(|(op, n)| {
                (
                    op.clone(),
                    (n - before.get(&op).copied().unwrap_or(0)) as usize,
                )
            })
            .filter(|(_, n)| *n > 0)
            .collect();
    assert_eq!(counted, sleep);
    println!("sleep pass: {sleep:?}");
    assert_eq!(sleep.get("TagResource"), Some(&2));
    assert_eq!(sleep.get("UpdateService"), Some(&2));
    assert_eq!(sleep.get("RegisterScalableTarget"), Some(&1));
    assert_eq!(sleep.get("AddTagsToResource"), Some(&2));
    assert_eq!(
        sleep.get("DescribeServices"),
        Some(&2),
        "one describe per cluster (3 services in 2 clusters): {sleep:?}"
    );
    assert_eq!(sleep.values().sum::<usize>(), 16, "{sleep:?}");

    w.moto.start_recording();
    assert!(!w.pass(night()).await.failed());
    let again = w.moto.recorded_counts();
    println!("repeated pass: {again:?}");
    assert!(again.keys().all(|op| !is_write(op)), "{again:?}");
}

/// An instance AWS started by itself after 7 days stopped is stopped again, and says so.
#[tokio::test]
async fn auto_started_database_is_stopped_again() {
    let w = world().await;
    assert!(!w.pass(night()).await.failed());
    assert_eq!(w.db("app-staging-db").await, "stopped");
    // Eight days later AWS has started it again (the tag says when lightsout stopped it).
    w.moto
        .python("rds.start_db_instance(DBInstanceIdentifier='app-staging-db')");
    let week_later = at("2026-12-10T22:00:00Z");
    let report = w.pass(week_later).await;
    let item = report
        .items
        .iter()
        .find(|i| i.item.resource.to_string() == "rds:app-staging-db")
        .unwrap();
    assert!(
        item.item
            .reason
            .contains("AWS started it again after 7 days stopped"),
        "{}",
        item.item.reason
    );
    assert_eq!(item.outcome, Some(Outcome::Done));
    assert_eq!(w.db("app-staging-db").await, "stopped");
}

/// A service tagged lightsout:skip-until is left alone until then, and acted on after.
#[tokio::test]
async fn skip_until_tag_is_honoured() {
    let w = world().await;
    w.moto.python(
        "arn = ecs.describe_services(cluster='app-staging-cluster', services=['frontend'])['services'][0]['serviceArn']\n\
         ecs.tag_resource(resourceArn=arn, tags=[{'key': 'lightsout:skip-until', 'value': '2026-12-03T00:00:00Z'}])",
    );
    assert!(!w.pass(night()).await.failed());
    assert_eq!(w.service("app-staging-cluster", "frontend").await.0, 1);
    assert_eq!(w.service("app-staging-cluster", "backend").await.0, 0);
    assert!(!w.pass(at("2026-12-03T01:00:00Z")).await.failed());
    assert_eq!(w.service("app-staging-cluster", "frontend").await.0, 0);
}

/// A database AWS refuses to stop fails alone: everything else is done, and `lightsout apply`
/// exits non-zero.
#[tokio::test]
async fn failure_on_one_resource_leaves_the_others_done_and_exit_code_non_zero() {
    let w = world().await;
    // RDS cannot stop a Multi-AZ SQL Server instance.
    w.moto.python(
        "rds.create_db_instance(DBInstanceIdentifier='app-staging-mssql', DBInstanceClass='db.m5.large', Engine='sqlserver-se', \
         MultiAZ=True, MasterUsername='app', MasterUserPassword='not-a-secret-1', AllocatedStorage=20, \
         Tags=[{'Key': 'Team', 'Value': 'app'}])",
    );
    let dir = schedules(STAGING);
    let out = support::lightsout(&w.moto, dir.path())
        .args(["apply", "--at", "2026-12-02T22:00:00Z"])
        .env("LIGHTSOUT_MAX_ATTEMPTS", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find(|l| l.starts_with("rds:app-staging-mssql"))
        .unwrap();
    assert!(line.contains("FAILED: StopDBInstance failed"), "{line}");
    assert!(stdout.contains("1 resource failed"), "{stdout}");
    assert_eq!(w.db("app-staging-db").await, "stopped");
    assert_eq!(w.aurora("app-staging-aurora").await, "stopped");
    assert_eq!(w.service("app-staging-cluster", "backend").await.0, 0);
}

/// With 120 services in a cluster (moto made strict about paging), every service is found
/// through ListServices pages, described 10 at a time, and put to sleep.
#[tokio::test]
async fn large_cluster_is_paged_and_described_ten_at_a_time() {
    let w = world().await;
    w.moto.python(
        "net = ecs.describe_services(cluster='app-staging-cluster', services=['backend'])['services'][0]['networkConfiguration']\n\
         ecs.create_cluster(clusterName='big')\n\
         for i in range(120):\n    \
             ecs.create_service(cluster='big', serviceName=f's{i:03}', taskDefinition='app', desiredCount=1, launchType='FARGATE', \
             networkConfiguration=net, tags=[{'key': 'Team', 'value': 'big'}])\n    \
             aas.register_scalable_target(ServiceNamespace='ecs', ResourceId=f'service/big/s{i:03}', ScalableDimension='ecs:service:DesiredCount', MinCapacity=1, MaxCapacity=3)",
    );
    let src = "region = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = []\n[[ecs.select]]\nclusters = [\"big\"]\ntags = { Team = \"big\" }\n";
    let big = config::parse_str(std::path::Path::new("big.toml"), src).unwrap();
    w.moto.start_recording();
    let report = reconcile(&w.cloud, &big, None, night(), false).await;
    assert!(!report.failed(), "{:#?}", report.problems);
    let counts = w.moto.recorded_counts();
    assert_eq!(counts.get("ListServices"), Some(&2), "{counts:?}");
    assert_eq!(counts.get("DescribeServices"), Some(&12), "{counts:?}");
    assert_eq!(
        counts.get("DescribeScalableTargets"),
        Some(&3),
        "{counts:?}"
    );
    assert_eq!(counts.get("UpdateService"), Some(&120));
    assert_eq!(w.service("big", "s119").await.0, 0);
    assert_eq!(w.bounds("service/big/s119").await, (0, 0));
}

/// `lightsout plan --output json` describes without writing, and says what it would do and why.
#[tokio::test]
async fn plan_json_lists_actions_and_makes_no_write() {
    let w = world().await;
    let dir = schedules(STAGING);
    w.moto.start_recording();
    let out = support::lightsout(&w.moto, dir.path())
        .args(["plan", "--at", "2026-12-02T22:00:00Z", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plans: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = plans[0]["items"].as_array().unwrap();
    let backend = items
        .iter()
        .find(|i| i["resource"]["id"] == "app-staging-cluster/backend")
        .unwrap();
    assert_eq!(backend["verdict"], "act");
    assert_eq!(backend["steps"][0]["call"], "tag_service");
    let prod = items
        .iter()
        .find(|i| i["resource"]["id"] == "app-production-db")
        .unwrap();
    assert_eq!(prod["verdict"], "refuse");
    assert_eq!(writes(&w.moto.recorded_operations()), Vec::<String>::new());
}

/// Environments in two accounts (one through an assumed role with an external ID) and two
/// regions, same resource names, reconciled through one cloud: each acts only in its own account.
#[tokio::test]
async fn environments_in_other_accounts_and_regions_act_only_there() {
    let w = world().await;
    let role = "arn:aws:iam::111111111111:role/lightsout";
    w.moto.seed_account("eu-central-1", role);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("staging.toml"), STAGING).unwrap();
    std::fs::write(
        dir.path().join("staging-b.toml"),
        STAGING.replace("name = \"staging\"", "name = \"staging-b\"").replace(
            "region = \"eu-west-1\"",
            &format!("region = \"eu-central-1\"\nrole_arn = \"{role}\"\nexternal_id = \"lightsout-staging-b\""),
        ),
    )
    .unwrap();
    let cfg = config::load(dir.path()).unwrap_or_else(|d| panic!("{d}"));
    let other = cfg.environment("staging-b").unwrap();
    // Only staging-b at night: the other account sleeps, this one does not.
    let report = reconcile(&w.cloud, other, None, night(), false).await;
    assert!(!report.failed(), "{report:#?}");
    assert_eq!(
        w.service("app-staging-cluster", "backend").await.0,
        2,
        "the caller's account is untouched"
    );
    assert_eq!(w.db("app-staging-db").await, "available");
    let creds = aws_sdk_sts::Client::new(&w.moto.sdk_config().await)
        .assume_role()
        .role_arn(role)
        .role_session_name("check")
        .send()
        .await
        .unwrap();
    let c = creds.credentials().unwrap();
    let b_config = w
        .moto
        .sdk_config()
        .await
        .into_builder()
        .region(aws_config::Region::new("eu-central-1"))
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_sdk_ecs::config::Credentials::new(
                    c.access_key_id(),
                    c.secret_access_key(),
                    Some(c.session_token().to_string()),
                    None,
                    "assumed",
                ),
            ),
        )
        .build();
    let ecs_b = aws_sdk_ecs::Client::new(&b_config);
    let backend_b = ecs_b
        .describe_services()
        .cluster("app-staging-cluster")
        .services("backend")
        .send()
        .await
        .unwrap();
    assert_eq!(
        backend_b.services()[0].desired_count(),
        0,
        "the other account's backend slept"
    );
    // And the caller's own environment, in the same cloud, still acts in its own account.
    let own = reconcile(
        &w.cloud,
        cfg.environment("staging").unwrap(),
        None,
        night(),
        false,
    )
    .await;
    assert!(!own.failed());
    assert_eq!(w.service("app-staging-cluster", "backend").await.0, 0);
}
