//! DocumentDB and Neptune clusters against moto (which serves them on the RDS API), through the
//! real SDK clients: stopped after the services with `slept-at` written first, started before
//! them, the 7-day automatic start recognised and stopped again, never mistaken for Aurora by an
//! `[rds]` tag selector, production refused, priced by their instances' classes.

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

[rds]
[[rds.select]]
tags = { Team = "graph" }

[docdb]
clusters = ["app-staging-docs"]

[neptune]
[[neptune.select]]
tags = { Team = "graph" }
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
        "docdb = boto3.client('docdb', **kw)\n\
         neptune = boto3.client('neptune', **kw)\n\
         docdb.create_db_cluster(DBClusterIdentifier='app-staging-docs', Engine='docdb', MasterUsername='admin', MasterUserPassword='Passw0rd-Passw0rd', \
           Tags=[{'Key': 'Environment', 'Value': 'staging'}, {'Key': 'Team', 'Value': 'graph'}])\n\
         docdb.create_db_instance(DBInstanceIdentifier='app-staging-docs-1', DBInstanceClass='db.t3.medium', Engine='docdb', DBClusterIdentifier='app-staging-docs')\n\
         for name, env in [('app-staging-graph', 'staging'), ('app-prod-graph', 'production')]:\n\
         \x20   neptune.create_db_cluster(DBClusterIdentifier=name, Engine='neptune', Tags=[{'Key': 'Environment', 'Value': env}, {'Key': 'Team', 'Value': 'graph'}])\n",
    );
}

async fn status(c: &aws_sdk_rds::Client, id: &str) -> (String, Vec<String>) {
    let out = c
        .describe_db_clusters()
        .db_cluster_identifier(id)
        .send()
        .await
        .unwrap();
    let cl = &out.db_clusters()[0];
    (
        cl.status().unwrap().to_string(),
        cl.tag_list()
            .iter()
            .filter_map(|t| t.key().map(String::from))
            .filter(|k| k.starts_with("lightsout:"))
            .collect(),
    )
}

fn item<'a>(r: &'a EnvReport, id: &str) -> &'a lightsout::plan::Item {
    &r.items
        .iter()
        .find(|i| i.item.resource.to_string() == id)
        .unwrap_or_else(|| panic!("no {id} in {r:#?}"))
        .item
}

/// Night, the 7-day start, and the morning, with the requests of each.
#[tokio::test]
async fn documentdb_and_neptune_stop_and_start_like_aurora_and_the_seven_day_start_is_recognised() {
    let moto = Moto::start();
    moto.seed();
    seed_clusters(&moto);
    let cfg = moto.sdk_config().await;
    let cloud = AwsCloud::new(cfg.clone());
    let rds = aws_sdk_rds::Client::new(&cfg);

    moto.start_recording();
    let night_pass = reconcile(&cloud, &env(), None, night(), false).await;
    assert!(!night_pass.failed(), "{night_pass:#?}");
    let ops = moto.recorded_operations();
    let writes: Vec<&String> = ops.iter().filter(|o| is_write(o)).collect();
    assert_eq!(
        writes[..3],
        ["TagResource", "RegisterScalableTarget", "UpdateService"],
        "the service first"
    );
    // Then the two clusters, concurrently: each tagged before it stops.
    let mut clusters: Vec<&String> = writes[3..].to_vec();
    clusters.sort();
    assert_eq!(
        clusters,
        [
            "AddTagsToResource",
            "AddTagsToResource",
            "StopDBCluster",
            "StopDBCluster"
        ]
    );
    println!("night pass: {} requests: {ops:?}", ops.len());
    for id in ["app-staging-docs", "app-staging-graph"] {
        assert_eq!(
            status(&rds, id).await,
            (
                "stopped".to_string(),
                vec!["lightsout:slept-at".to_string()]
            )
        );
    }
    assert_eq!(
        item(&night_pass, "neptune:app-prod-graph").verdict,
        Verdict::Refuse
    );
    assert_eq!(status(&rds, "app-prod-graph").await.0, "available");
    // The [rds] selector (Team = graph) matches them too, but they are not Aurora.
    assert!(
        night_pass
            .items
            .iter()
            .all(|i| !i.item.resource.to_string().starts_with("aurora:")
                && !i.item.resource.to_string().starts_with("rds:")),
        "{night_pass:#?}"
    );

    // Eight days later AWS starts DocumentDB by itself: recognised, stopped again, re-stamped.
    rds.start_db_cluster()
        .db_cluster_identifier("app-staging-docs")
        .send()
        .await
        .unwrap();
    let later = night() + TimeDelta::days(8);
    let again = reconcile(&cloud, &env(), None, later, false).await;
    let docs = item(&again, "docdb:app-staging-docs");
    assert!(
        docs.reason
            .contains("AWS started it again after 7 days stopped"),
        "{}",
        docs.reason
    );
    assert_eq!(status(&rds, "app-staging-docs").await.0, "stopped");

    // Morning: the clusters first, the service on the next pass; the tags go.
    moto.start_recording();
    let first = reconcile(&cloud, &env(), None, morning(), false).await;
    assert!(!first.failed(), "{first:#?}");
    let second = reconcile(&cloud, &env(), None, morning(), false).await;
    assert!(!second.failed(), "{second:#?}");
    for id in ["app-staging-docs", "app-staging-graph"] {
        assert_eq!(status(&rds, id).await, ("available".to_string(), vec![]));
    }
    let ops = moto.recorded_operations();
    let writes: Vec<&String> = ops.iter().filter(|o| is_write(o)).collect();
    let mut clusters: Vec<&String> = writes[..4].to_vec();
    clusters.sort();
    assert_eq!(
        clusters,
        [
            "RemoveTagsFromResource",
            "RemoveTagsFromResource",
            "StartDBCluster",
            "StartDBCluster"
        ],
        "the clusters first"
    );
    assert_eq!(
        writes[4..],
        ["RegisterScalableTarget", "UpdateService", "UntagResource"]
    );
    println!("morning, two passes: {} requests: {ops:?}", ops.len());
}

/// The digest prices the DocumentDB cluster by its instance's class.
#[tokio::test]
async fn the_digest_prices_documentdb_by_its_instances() {
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
    let docs = input
        .resources
        .iter()
        .find(|r| r.resource == "docdb:app-staging-docs")
        .unwrap_or_else(|| panic!("{:#?}", input.resources));
    // db.t3.medium in eu-west-1 at $0.085 an hour.
    assert_eq!(
        lightsout::digest::prices::PriceTable::shipped()
            .hourly(&docs.size)
            .unwrap(),
        lightsout::model::Money(85_000_000)
    );
}
