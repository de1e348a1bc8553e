//! A whole environment of every kind that sleeps, against moto: the order of calls going to
//! sleep (apps → their capacity → compute → data) and waking (the reverse, one tier a pass,
//! each waiting until the tiers after it are ready), with the requests of each pass.

use crate::support;

use chrono::{DateTime, Utc};
use lightsout::aws::AwsCloud;
use lightsout::config;
use lightsout::engine::reconcile;
use support::{Moto, is_write};

/// Wednesday 23:00 CET: asleep.
fn night() -> DateTime<Utc> {
    "2026-12-02T22:00:00Z".parse().unwrap()
}

/// Thursday 07:05 CET: awake.
fn morning() -> DateTime<Utc> {
    "2026-12-03T06:05:00Z".parse().unwrap()
}

/// The tier of a write call, by its operation.
fn tier(op: &str) -> u8 {
    match op {
        "TagResource" | "UntagResource" | "RegisterScalableTarget" | "UpdateService" => 0,
        "CreateOrUpdateTags" | "UpdateAutoScalingGroup" => 1,
        "CreateTags" | "StopInstances" | "StartInstances" => 2,
        // DeleteTags is both Auto Scaling's and EC2's: placed by its neighbour below.
        "DeleteTags" => 9,
        _ => 3,
    }
}

/// The tiers of the writes in order, a tier once per run (`DeleteTags` takes its predecessor's).
fn tiers(writes: &[String]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new();
    for w in writes {
        let t = match tier(w) {
            9 => *out.last().unwrap_or(&9),
            t => t,
        };
        if out.last() != Some(&t) {
            out.push(t);
        }
    }
    out
}

#[tokio::test]
async fn a_whole_environment_sleeps_in_tiers_and_wakes_in_reverse_one_tier_a_pass() {
    let moto = Moto::start();
    // The reference environment: its capacity provider's Auto Scaling group and its bastion are
    // in the seed; a warehouse and a graph database beside them.
    moto.seed();
    moto.python(
        "rs = boto3.client('redshift', **kw)\n\
         neptune = boto3.client('neptune', **kw)\n\
         tags = [{'Key': 'Environment', 'Value': 'staging'}, {'Key': 'Team', 'Value': 'app'}]\n\
         rs.create_cluster(ClusterIdentifier='app-staging-warehouse', NodeType='ra3.xlplus', ClusterType='multi-node', NumberOfNodes=2, \
           MasterUsername='admin', MasterUserPassword='Passw0rd-Passw0rd', Tags=tags)\n\
         neptune.create_db_cluster(DBClusterIdentifier='app-staging-graph', Engine='neptune', Tags=tags)\n",
    );
    let env = config::parse_str(
        std::path::Path::new("staging.toml"),
        r#"
name = "staging"
region = "eu-west-1"
timezone = "Europe/Berlin"
awake = ["Mon-Fri 07:00-20:00"]

[ecs]
services = ["app-staging-cluster/backend", "app-staging-cluster/frontend"]

[asg]
groups = ["app-staging-capacity"]

[ec2]
[[ec2.select]]
tags = { Name = "app-staging-bastion" }

[rds]
instances = ["app-staging-db"]

[redshift]
clusters = ["app-staging-warehouse"]

[neptune]
clusters = ["app-staging-graph"]
"#,
    )
    .unwrap();
    let cloud = AwsCloud::new(moto.sdk_config().await);

    moto.start_recording();
    let night_pass = reconcile(&cloud, &env, None, night(), false).await;
    assert!(!night_pass.failed(), "{night_pass:#?}");
    let ops = moto.recorded_operations();
    let writes: Vec<String> = ops.iter().filter(|o| is_write(o)).cloned().collect();
    println!(
        "night: {} requests ({} writes): {writes:?}",
        ops.len(),
        writes.len()
    );
    assert_eq!(
        tiers(&writes),
        [0, 1, 2, 3],
        "apps, capacity, compute, data: {writes:?}"
    );

    let mut order = Vec::new();
    for pass in 1..=5 {
        moto.start_recording();
        let report = reconcile(&cloud, &env, None, morning(), false).await;
        assert!(!report.failed(), "{report:#?}");
        let ops = moto.recorded_operations();
        let writes: Vec<String> = ops.iter().filter(|o| is_write(o)).cloned().collect();
        println!(
            "morning pass {pass}: {} requests ({} writes): {writes:?}",
            ops.len(),
            writes.len()
        );
        order.push(tiers(&writes));
    }
    assert_eq!(
        order,
        [vec![3], vec![2], vec![1], vec![0], vec![]],
        "data, then compute, then capacity, then apps; then nothing"
    );
}
