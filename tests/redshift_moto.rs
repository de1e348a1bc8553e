//! Redshift provisioned clusters against moto, through the real SDK clients: a warehouse is
//! paused after the services go to sleep and resumed before they wake; resumed by hand while
//! asleep, it is paused again; production is refused; the digest prices it by node type.

use crate::support;

use chrono::{DateTime, TimeDelta, Utc};
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
[ecs.service."app-staging-cluster/backend"]
depends_on = ["app-staging-warehouse"]

[redshift]
clusters = ["app-staging-warehouse"]
[[redshift.select]]
tags = { Team = "app" }
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

fn seed_clusters(moto: &Moto) {
    moto.python(
        "rs = boto3.client('redshift', **kw)\n\
         for name, env in [('app-staging-warehouse', 'staging'), ('app-prod-warehouse', 'production')]:\n\
         \x20   rs.create_cluster(ClusterIdentifier=name, NodeType='ra3.xlplus', ClusterType='multi-node', NumberOfNodes=2, \
               MasterUsername='admin', MasterUserPassword='Passw0rd-Passw0rd', \
               Tags=[{'Key': 'Environment', 'Value': env}, {'Key': 'Team', 'Value': 'app'}])\n",
    );
}

async fn status(c: &aws_sdk_redshift::Client, id: &str) -> String {
    let out = c
        .describe_clusters()
        .cluster_identifier(id)
        .send()
        .await
        .unwrap();
    out.clusters()[0].cluster_status().unwrap().to_string()
}

fn item<'a>(r: &'a EnvReport, id: &str) -> &'a lightsout::plan::Item {
    &r.items
        .iter()
        .find(|i| i.item.resource.to_string() == id)
        .unwrap_or_else(|| panic!("no {id} in {r:#?}"))
        .item
}

/// Night, a hand resume at 02:00, and the morning, with the requests of each.
#[tokio::test]
async fn a_warehouse_pauses_after_the_apps_and_resumes_before_them() {
    let moto = Moto::start();
    moto.seed();
    seed_clusters(&moto);
    let cfg = moto.sdk_config().await;
    let cloud = AwsCloud::new(cfg.clone());
    let rs = aws_sdk_redshift::Client::new(&cfg);

    moto.start_recording();
    let night_pass = reconcile(&cloud, &env(), None, night(), false).await;
    assert!(!night_pass.failed(), "{night_pass:#?}");
    let ops = moto.recorded_operations();
    let writes: Vec<&String> = ops.iter().filter(|o| is_write(o)).collect();
    assert_eq!(
        writes,
        [
            "TagResource",
            "RegisterScalableTarget",
            "UpdateService",
            "PauseCluster"
        ]
    );
    println!("night pass: {} requests: {ops:?}", ops.len());
    assert_eq!(status(&rs, "app-staging-warehouse").await, "paused");
    assert_eq!(
        item(&night_pass, "redshift:app-prod-warehouse").verdict,
        Verdict::Refuse
    );
    assert_eq!(status(&rs, "app-prod-warehouse").await, "available");

    // Resumed by hand at 02:00: paused again.
    rs.resume_cluster()
        .cluster_identifier("app-staging-warehouse")
        .send()
        .await
        .unwrap();
    let again = reconcile(&cloud, &env(), None, night() + TimeDelta::hours(4), false).await;
    assert_eq!(
        item(&again, "redshift:app-staging-warehouse").steps()[0].operation(),
        "PauseCluster"
    );
    assert_eq!(status(&rs, "app-staging-warehouse").await, "paused");

    // Morning: the warehouse first; the service, which depends on it, on the next pass.
    moto.start_recording();
    let first = reconcile(&cloud, &env(), None, morning(), false).await;
    assert!(
        item(&first, "ecs:app-staging-cluster/backend")
            .reason
            .contains("waiting for redshift:app-staging-warehouse"),
        "{first:#?}"
    );
    assert_eq!(status(&rs, "app-staging-warehouse").await, "available");
    let second = reconcile(&cloud, &env(), None, morning(), false).await;
    assert!(!second.failed(), "{second:#?}");
    let (desired, _) = support::service_state(
        &aws_sdk_ecs::Client::new(&cfg),
        "app-staging-cluster",
        "backend",
    )
    .await;
    assert_eq!(desired, 2);
    let ops = moto.recorded_operations();
    let writes: Vec<&String> = ops.iter().filter(|o| is_write(o)).collect();
    assert_eq!(
        writes,
        [
            "ResumeCluster",
            "RegisterScalableTarget",
            "UpdateService",
            "UntagResource"
        ]
    );
    println!("morning, two passes: {} requests: {ops:?}", ops.len());
}

/// The digest prices the warehouse from the table: 2 × ra3.xlplus in eu-west-1.
#[tokio::test]
async fn the_digest_prices_the_warehouse_by_its_nodes() {
    let moto = Moto::start();
    moto.seed();
    seed_clusters(&moto);
    let env = env();
    let d = lightsout::digest::Digester::new(
        lightsout::model::Config {
            environments: vec![env.clone()],
        },
        std::sync::Arc::new(AwsCloud::new(moto.sdk_config().await)).ports(None),
        std::sync::Arc::new(lightsout::store::SqliteStore::in_memory().unwrap()),
        std::sync::Arc::new(lightsout::clock::ManualClock::new(night())),
    );
    let input = d
        .gather(&env, Some("2026-12-02".parse().unwrap()), true)
        .await;
    let w = input
        .resources
        .iter()
        .find(|r| r.resource == "redshift:app-staging-warehouse")
        .unwrap_or_else(|| panic!("{:#?}", input.resources));
    assert!(w.sleeps);
    assert_eq!(
        lightsout::digest::prices::PriceTable::shipped()
            .hourly(&w.size)
            .unwrap(),
        lightsout::model::Money(2_404_000_000)
    );
    assert!(
        input
            .resources
            .iter()
            .all(|r| r.resource != "redshift:app-prod-warehouse")
    );
}
