//! `[[ecs.select]] clusters = "*"`: every cluster of the account and region, with the tag filter
//! choosing the services.

use crate::support;

use chrono::{DateTime, Utc};
use lightsout::aws::AwsCloud;
use lightsout::config;
use lightsout::engine::reconcile;
use support::Moto;

const FLEET: &str = r#"
region = "eu-west-1"
timezone = "UTC"
awake = []

[[ecs.select]]
clusters = "*"
tags = { Team = "app" }
"#;

/// `clusters = "*"` reads as every cluster; a string that is not `*` is an error at its line
/// that says both ways to write it.
#[test]
fn every_cluster_is_written_as_a_star() {
    let env = config::parse_str(std::path::Path::new("fleet.toml"), FLEET).unwrap();
    assert_eq!(
        env.kinds.ecs.select[0].clusters,
        lightsout::kinds::ecs::Clusters::Every
    );
    let src = FLEET.replace("clusters = \"*\"", "clusters = \"app-staging-cluster\"");
    let e = config::parse_str(std::path::Path::new("fleet.toml"), &src)
        .unwrap_err()
        .to_string();
    assert!(e.contains("fleet.toml:7:12:"), "{e}");
    assert!(
        e.contains("clusters = [\"app-staging-cluster\"]") && e.contains("clusters = \"*\""),
        "{e}"
    );
    let src = FLEET.replace("clusters = \"*\"\n", "");
    let e = config::parse_str(std::path::Path::new("fleet.toml"), &src)
        .unwrap_err()
        .to_string();
    assert!(e.contains("needs `clusters`") && e.contains("\"*\""), "{e}");
}

/// Every cluster is listed (ListClusters) and looked in: tagged services in clusters the file
/// never names are put to sleep, the untagged are left, and production stays guarded.
#[tokio::test]
async fn every_cluster_selects_tagged_services_in_all_clusters() {
    let moto = Moto::start();
    moto.seed();
    moto.python(
        "net = ecs.describe_services(cluster='app-staging-cluster', services=['backend'])['services'][0]['networkConfiguration']\n\
         for c in ['extra-1', 'extra-2']:\n    \
             ecs.create_cluster(clusterName=c)\n    \
             ecs.create_service(cluster=c, serviceName='web', taskDefinition='app', desiredCount=1, launchType='FARGATE', \
             networkConfiguration=net, tags=[{'key': 'Team', 'value': 'app'}])\n    \
             ecs.create_service(cluster=c, serviceName='other', taskDefinition='app', desiredCount=1, launchType='FARGATE', \
             networkConfiguration=net, tags=[{'key': 'Team', 'value': 'else'}])",
    );
    let env = config::parse_str(std::path::Path::new("fleet.toml"), FLEET).unwrap();
    let conf = moto.sdk_config().await;
    let cloud = AwsCloud::new(conf.clone());
    moto.start_recording();
    let night: DateTime<Utc> = "2026-12-02T22:00:00Z".parse().unwrap();
    let report = reconcile(&cloud, &env, None, night, false).await;
    assert!(!report.failed(), "{:#?}", report.problems);
    assert_eq!(moto.recorded_counts().get("ListClusters"), Some(&1));
    let ecs = aws_sdk_ecs::Client::new(&conf);
    for c in ["extra-1", "extra-2"] {
        assert_eq!(support::service_state(&ecs, c, "web").await.0, 0, "{c}");
        assert_eq!(support::service_state(&ecs, c, "other").await.0, 1, "{c}");
    }
    // The reference environment's staging services carry Team=app too.
    assert_eq!(
        support::service_state(&ecs, "app-staging-cluster", "frontend")
            .await
            .0,
        0
    );
    // Production is tagged as such: never touched, whatever the selector.
    assert_eq!(
        support::service_state(&ecs, "app-production-cluster", "api")
            .await
            .0,
        3
    );
}
