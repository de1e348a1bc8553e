//! EC2 instances against moto, through the real SDK clients: a bastion is tagged, then stopped
//! after the services and before the database; started by hand while asleep, it is stopped again;
//! it starts after the database in the morning and is back as it was; a spot instance is left
//! alone with its reason and production is refused.

use crate::support;

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use lightsout::aws::AwsCloud;
use lightsout::config;
use lightsout::engine::{EnvReport, reconcile};
use lightsout::model::Environment;
use lightsout::plan::Verdict;
use support::{Moto, is_write};

/// Wednesday 23:00 CET: asleep.
fn night() -> DateTime<Utc> {
    "2026-12-02T22:00:00Z".parse().unwrap()
}

/// Thursday 07:05 CET: awake.
fn morning() -> DateTime<Utc> {
    "2026-12-03T06:05:00Z".parse().unwrap()
}

fn env(bastion: &str) -> Environment {
    let src = format!(
        r#"
name = "staging"
region = "eu-west-1"
timezone = "Europe/Berlin"
awake = ["Mon-Fri 07:00-20:00"]

[ecs]
services = ["app-staging-cluster/backend"]

[ec2]
instances = ["{bastion}"]
[[ec2.select]]
tags = {{ Team = "app" }}

[rds]
instances = ["app-staging-db"]
"#
    );
    config::parse_str(std::path::Path::new("staging.toml"), &src).unwrap()
}

/// The reference environment's bastion (in the seed), and instances run here: a spot one and a
/// production one. Their ids.
async fn seed_instances(ec2: &aws_sdk_ec2::Client) -> (String, String, String) {
    use aws_sdk_ec2::types::{
        InstanceMarketOptionsRequest, InstanceType, MarketType, ResourceType, Tag, TagSpecification,
    };
    let run = |env: &'static str, spot: bool| async move {
        let tags = TagSpecification::builder()
            .resource_type(ResourceType::Instance)
            .tags(Tag::builder().key("Environment").value(env).build())
            .tags(Tag::builder().key("Team").value("app").build())
            .build();
        let mut call = ec2
            .run_instances()
            .image_id("ami-12c6146b")
            .instance_type(InstanceType::T3Micro)
            .min_count(1)
            .max_count(1)
            .tag_specifications(tags);
        if spot {
            call = call.instance_market_options(
                InstanceMarketOptionsRequest::builder()
                    .market_type(MarketType::Spot)
                    .build(),
            );
        }
        let out = call.send().await.unwrap();
        out.instances()[0].instance_id().unwrap().to_string()
    };
    let out = ec2
        .describe_instances()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:Name")
                .values("app-staging-bastion")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let bastion = out.reservations()[0].instances()[0]
        .instance_id()
        .unwrap()
        .to_string();
    (
        bastion,
        run("staging", true).await,
        run("production", false).await,
    )
}

/// An instance's state and tags.
async fn instance(ec2: &aws_sdk_ec2::Client, id: &str) -> (String, BTreeMap<String, String>) {
    let out = ec2
        .describe_instances()
        .instance_ids(id)
        .send()
        .await
        .unwrap();
    let i = &out.reservations()[0].instances()[0];
    (
        i.state().unwrap().name().unwrap().as_str().to_string(),
        i.tags()
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

fn reason<'a>(r: &'a EnvReport, id: &str) -> &'a lightsout::plan::Item {
    &r.items
        .iter()
        .find(|i| i.item.resource.to_string() == id)
        .unwrap_or_else(|| panic!("no {id} in {r:#?}"))
        .item
}

/// Night, a hand-start at 02:00, and the morning, with the requests of each pass.
#[tokio::test]
async fn a_bastion_sleeps_between_apps_and_data_is_stopped_again_and_wakes_as_it_was() {
    let moto = Moto::start();
    moto.seed();
    let cfg = moto.sdk_config().await;
    let cloud = AwsCloud::new(cfg.clone());
    let ec2 = aws_sdk_ec2::Client::new(&cfg);
    let (bastion, spot, prod) = seed_instances(&ec2).await;
    let env = env(&bastion);
    let (_, before) = instance(&ec2, &bastion).await;

    moto.start_recording();
    let night_pass = reconcile(&cloud, &env, None, night(), false).await;
    let ops = moto.recorded_operations();
    assert!(!night_pass.failed(), "{night_pass:#?}");
    let writes: Vec<&String> = ops.iter().filter(|o| is_write(o)).collect();
    assert_eq!(
        writes,
        [
            "TagResource",
            "RegisterScalableTarget",
            "UpdateService",
            "CreateTags",
            "StopInstances",
            "AddTagsToResource",
            "StopDBInstance"
        ],
        "services, then the instance (tag first), then the database"
    );
    println!("night pass: {} requests: {ops:?}", ops.len());
    let (state, tags) = instance(&ec2, &bastion).await;
    assert_eq!(state, "stopped");
    assert_eq!(tags["lightsout:slept-at"], "2026-12-02T22:00:00Z");
    let spot_item = reason(&night_pass, &format!("ec2:{spot}"));
    assert_eq!(spot_item.verdict, Verdict::Skip);
    assert!(spot_item.reason.contains("spot"), "{}", spot_item.reason);
    assert_eq!(instance(&ec2, &spot).await.0, "running");
    // The capacity provider's group's two instances (its tags propagated to them) are left to
    // their group.
    let members: Vec<_> = night_pass
        .items
        .iter()
        .filter(|i| {
            i.item
                .reason
                .contains("member of Auto Scaling group app-staging-capacity")
        })
        .map(|i| i.item.verdict.clone())
        .collect();
    assert_eq!(members, [Verdict::Skip, Verdict::Skip], "{night_pass:#?}");
    let prod_item = reason(&night_pass, &format!("ec2:{prod}"));
    assert_eq!(prod_item.verdict, Verdict::Refuse);
    assert_eq!(instance(&ec2, &prod).await.0, "running");

    // Someone starts the bastion at 02:00: the next pass stops it again, saying so.
    ec2.start_instances()
        .instance_ids(&bastion)
        .send()
        .await
        .unwrap();
    let again = reconcile(&cloud, &env, None, night() + TimeDelta::hours(4), false).await;
    let item = reason(&again, &format!("ec2:{bastion}"));
    assert!(
        item.reason.contains("started outside lightsout"),
        "{}",
        item.reason
    );
    assert_eq!(instance(&ec2, &bastion).await.0, "stopped");

    // Morning: the database first; the instance on the next pass; then the service.
    moto.start_recording();
    let first = reconcile(&cloud, &env, None, morning(), false).await;
    assert!(
        reason(&first, &format!("ec2:{bastion}"))
            .reason
            .contains("waiting for rds:app-staging-db"),
        "{first:#?}"
    );
    assert_eq!(instance(&ec2, &bastion).await.0, "stopped");
    let second = reconcile(&cloud, &env, None, morning(), false).await;
    assert!(!second.failed(), "{second:#?}");
    let (state, tags) = instance(&ec2, &bastion).await;
    assert_eq!(state, "running");
    assert_eq!(tags, before, "back as it was: its tags exactly");
    let third = reconcile(&cloud, &env, None, morning(), false).await;
    assert!(!third.failed(), "{third:#?}");
    let ops = moto.recorded_operations();
    let writes: Vec<&String> = ops.iter().filter(|o| is_write(o)).collect();
    assert_eq!(
        writes,
        [
            "StartDBInstance",
            "RemoveTagsFromResource",
            "StartInstances",
            "DeleteTags",
            "RegisterScalableTarget",
            "UpdateService",
            "UntagResource"
        ]
    );
    println!("morning, three passes: {} requests: {ops:?}", ops.len());
}

/// A named instance that does not exist is blocked with its line (the filter finds nothing;
/// the call does not fail).
#[tokio::test]
async fn a_missing_named_instance_is_blocked_with_its_line() {
    let moto = Moto::start();
    moto.seed();
    let cloud = AwsCloud::new(moto.sdk_config().await);
    let report = reconcile(&cloud, &env("i-0123456789abcdef0"), None, night(), false).await;
    let item = reason(&report, "ec2:i-0123456789abcdef0");
    assert!(
        item.reason.starts_with(
            "staging.toml:11:14: not found: there is no EC2 instance i-0123456789abcdef0 in eu-west-1"
        ),
        "{}",
        item.reason
    );
}
