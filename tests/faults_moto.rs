//! Faults injected between lightsout and moto (throttling, errors on exact calls): passes still
//! converge, and no original count or bound is ever lost or written twice.

use crate::support;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use lightsout::aws::AwsCloud;
use lightsout::config;
use lightsout::engine::{EnvReport, Outcome, reconcile};
use lightsout::model::Environment;
use lightsout::plan::Verdict;
use support::proxy::{Fault, FaultProxy, Rule};
use support::{Moto, STAGING, is_write};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn env() -> Environment {
    config::parse_str(std::path::Path::new("staging.toml"), STAGING).unwrap()
}

struct World {
    moto: Moto,
    proxy: FaultProxy,
    cloud: AwsCloud,
    ecs: aws_sdk_ecs::Client,
    aas: aws_sdk_applicationautoscaling::Client,
    rds: aws_sdk_rds::Client,
}

async fn world(seed: u64) -> World {
    let moto = Moto::start();
    moto.seed();
    let proxy = FaultProxy::start(&moto.endpoint, seed).await;
    let direct = moto.sdk_config().await;
    World {
        cloud: AwsCloud::new(moto.sdk_config_via(&proxy.endpoint, 3).await),
        ecs: aws_sdk_ecs::Client::new(&direct),
        aas: aws_sdk_applicationautoscaling::Client::new(&direct),
        rds: aws_sdk_rds::Client::new(&direct),
        proxy,
        moto,
    }
}

/// Whether a pass found nothing left to do and nothing failing.
fn settled(r: &EnvReport) -> bool {
    !r.failed()
        && r.items
            .iter()
            .all(|i| !matches!(i.item.verdict, Verdict::Act { .. } | Verdict::Wait))
}

impl World {
    /// Runs passes at `now` until one is settled; returns how many it took.
    async fn converge(&self, now: DateTime<Utc>, max: usize) -> usize {
        for n in 1..=max {
            if settled(&reconcile(&self.cloud, &env(), None, now, false).await) {
                return n;
            }
        }
        panic!("not converged after {max} passes");
    }

    async fn service(&self, cluster: &str, name: &str) -> (i32, BTreeMap<String, String>) {
        support::service_state(&self.ecs, cluster, name).await
    }

    async fn bounds(&self) -> (i32, i32) {
        support::bounds(&self.aas, "service/app-staging-cluster/backend").await
    }

    async fn db(&self, id: &str) -> String {
        support::db_status(&self.rds, id).await
    }

    /// The environment exactly as seeded.
    async fn assert_as_seeded(&self) {
        let (desired, tags) = self.service("app-staging-cluster", "backend").await;
        assert_eq!(desired, 2);
        assert!(
            !tags.keys().any(|k| k.starts_with("lightsout:")),
            "{tags:?}"
        );
        assert_eq!(self.bounds().await, (1, 4));
        assert_eq!(self.service("app-staging-cluster", "frontend").await.0, 1);
        assert_eq!(self.service("app-production-cluster", "api").await.0, 3);
        assert_eq!(self.db("app-staging-db").await, "available");
    }
}

fn night() -> DateTime<Utc> {
    at("2026-12-02T22:00:00Z")
}

fn morning() -> DateTime<Utc> {
    at("2026-12-03T06:05:00Z")
}

/// With 30% of every call throttled, passes converge to the schedule within a few passes, and
/// waking restores every count and bound exactly.
#[tokio::test]
async fn thirty_percent_throttling_converges_and_restores_exactly() {
    let w = world(7).await;
    w.proxy.add(Rule::share("*", 0.3, Fault::Throttle));
    let sleep_passes = w.converge(night(), 10).await;
    let (desired, tags) = w.service("app-staging-cluster", "backend").await;
    assert_eq!(
        (
            desired,
            tags["lightsout:desired-count"].as_str(),
            tags["lightsout:autoscaling"].as_str()
        ),
        (0, "2", "min=1/max=4")
    );
    assert_eq!(w.db("app-staging-db").await, "stopped");
    let wake_passes = w.converge(morning(), 12).await;
    w.assert_as_seeded().await;
    let injected = w.proxy.injected();
    println!(
        "throttling: sleep converged in {sleep_passes} passes, wake in {wake_passes}; throttled {injected:?}"
    );
    assert!(
        injected.values().sum::<usize>() > 10,
        "the proxy did throttle: {injected:?}"
    );
}

/// UpdateService fails after the tags were written: the next pass scales down, keeping the
/// recorded originals; no tag is written twice and the database waits for its services.
#[tokio::test]
async fn failed_scale_down_after_tags_converges_without_loss_or_double_action() {
    let w = world(1).await;
    w.proxy.add(
        Rule::times(
            "UpdateService",
            1,
            Fault::Error(400, "InvalidParameterException"),
        )
        .on("backend"),
    );
    w.moto.start_recording();
    let first = reconcile(&w.cloud, &env(), None, night(), false).await;
    assert!(first.failed());
    let (desired, tags) = w.service("app-staging-cluster", "backend").await;
    assert_eq!(
        (desired, tags["lightsout:desired-count"].as_str()),
        (2, "2"),
        "tags written, scale-down failed"
    );
    assert_eq!(
        w.db("app-staging-db").await,
        "available",
        "the database waits for its services"
    );
    let passes = 1 + w.converge(night(), 5).await;
    let (desired, tags) = w.service("app-staging-cluster", "backend").await;
    assert_eq!(
        (
            desired,
            tags["lightsout:desired-count"].as_str(),
            tags["lightsout:autoscaling"].as_str()
        ),
        (0, "2", "min=1/max=4")
    );
    let counts = w.moto.recorded_counts();
    assert_eq!(
        counts.get("TagResource"),
        Some(&2),
        "each service tagged once: {counts:?}"
    );
    assert_eq!(
        counts.get("UpdateService"),
        Some(&2),
        "one successful scale-down each: {counts:?}"
    );
    assert_eq!(counts.get("StopDBInstance"), Some(&1), "{counts:?}");
    println!("failed scale-down: converged after {passes} passes");
    w.converge(morning(), 5).await;
    w.assert_as_seeded().await;
}

/// The tag removal fails after a wake: the next pass only removes the tags; counts are not
/// written again.
#[tokio::test]
async fn failed_untag_after_wake_converges_without_double_action() {
    let w = world(2).await;
    w.converge(night(), 3).await;
    reconcile(&w.cloud, &env(), None, morning(), false).await; // databases start
    w.proxy.add(
        Rule::times(
            "UntagResource",
            1,
            Fault::Error(400, "AccessDeniedException"),
        )
        .on("backend"),
    );
    w.moto.start_recording();
    let restore = reconcile(&w.cloud, &env(), None, morning(), false).await;
    assert!(restore.failed());
    let (desired, tags) = w.service("app-staging-cluster", "backend").await;
    assert_eq!(desired, 2, "restored before the untag failed");
    assert!(tags.contains_key("lightsout:desired-count"));
    w.converge(morning(), 5).await;
    w.assert_as_seeded().await;
    let ops = w.moto.recorded_operations();
    let writes: Vec<&String> = ops.iter().filter(|o| is_write(o)).collect();
    assert_eq!(
        writes
            .iter()
            .filter(|o| o.as_str() == "UpdateService")
            .count(),
        2,
        "one restore per service: {writes:?}"
    );
    assert_eq!(
        writes
            .iter()
            .filter(|o| o.as_str() == "RegisterScalableTarget")
            .count(),
        1,
        "{writes:?}"
    );
}

/// An InvalidDBInstanceState from one database fails that database alone.
#[tokio::test]
async fn invalid_state_on_one_database_does_not_abort_the_pass() {
    let w = world(3).await;
    w.proxy.add(
        Rule::always(
            "StopDBInstance",
            Fault::Error(400, "InvalidDBInstanceState"),
        )
        .on("app-staging-db"),
    );
    let report = reconcile(&w.cloud, &env(), None, night(), false).await;
    let outcome = |id: &str| {
        report
            .items
            .iter()
            .find(|i| i.item.resource.to_string() == id)
            .unwrap()
            .outcome
            .clone()
    };
    assert!(
        matches!(outcome("rds:app-staging-db"), Some(Outcome::Failed(m)) if m.contains("InvalidDBInstanceState"))
    );
    assert_eq!(outcome("aurora:app-staging-aurora"), Some(Outcome::Done));
    assert_eq!(
        outcome("ecs:app-staging-cluster/backend"),
        Some(Outcome::Done)
    );
    assert_eq!(w.service("app-staging-cluster", "frontend").await.0, 0);
}

/// 5xx answers and cut connections on describes are retried or reported, never acted on blindly.
#[tokio::test]
async fn server_errors_and_cut_connections_converge() {
    let w = world(4).await;
    w.proxy.add(Rule::times("DescribeServices", 2, Fault::Drop));
    w.proxy.add(Rule::times(
        "DescribeDBInstances",
        2,
        Fault::ServiceUnavailable,
    ));
    w.proxy.add(Rule::times(
        "ListServices",
        1,
        Fault::Delay(std::time::Duration::from_millis(300)),
    ));
    w.converge(night(), 5).await;
    assert_eq!(w.service("app-staging-cluster", "backend").await.0, 0);
    assert_eq!(w.db("app-staging-db").await, "stopped");
    w.converge(morning(), 6).await;
    w.assert_as_seeded().await;
}
