//! ElastiCache, a kind that is reported but never acted on (AWS cannot stop a cache): observed
//! against moto, shown in `status` and `plan`, never written to, refused when it is production,
//! a problem when a named one is missing, and priced in the digest as what keeps costing while
//! staging sleeps.

use crate::support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use lightsout::aws::AwsCloud;
use lightsout::clock::ManualClock;
use lightsout::config::parse_str;
use lightsout::digest::Digester;
use lightsout::model::Config;
use lightsout::store::SqliteStore;
use support::{Moto, run_within, schedules};

const SCHEDULE: &str = r#"
name = "staging"
region = "eu-west-1"
timezone = "Australia/Sydney"
awake = []
monthly_budget = 700

[rds]
instances = ["app-staging-db"]

[elasticache]
clusters = ["app-staging-redis"]
[[elasticache.select]]
tags = { Team = "app" }
"#;

fn seed_caches(moto: &Moto) {
    moto.python(
        "ec = boto3.client('elasticache', **kw)\n\
         ec.create_replication_group(ReplicationGroupId='app-staging-redis', ReplicationGroupDescription='staging', \
           Engine='redis', CacheNodeType='cache.t4g.small', NumCacheClusters=1, \
           Tags=[{'Key': 'Environment', 'Value': 'staging'}, {'Key': 'Team', 'Value': 'app'}])\n\
         ec.create_cache_cluster(CacheClusterId='app-prod-redis', Engine='redis', CacheNodeType='cache.t4g.small', \
           NumCacheNodes=1, Tags=[{'Key': 'Environment', 'Value': 'production'}, {'Key': 'Team', 'Value': 'app'}])",
    );
}

/// `status` and `plan` show the cache with why it is left running; a pass writes nothing to it;
/// the production cache a tag selector picks up is refused.
#[test]
fn a_cache_is_shown_and_never_acted_on() {
    let moto = Moto::start();
    moto.seed();
    seed_caches(&moto);
    let dir = schedules(SCHEDULE);
    let mut c = support::lightsout(&moto, dir.path());
    c.args(["status", "--store"])
        .arg(dir.path().join("state.db"));
    let (out, _) = run_within(c, Duration::from_secs(60));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("elasticache:app-staging-redis"))
        .unwrap_or_else(|| panic!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    assert!(
        line.contains("available (redis, 1 × cache.t4g.small)"),
        "{line}"
    );
    assert!(
        line.contains("AWS cannot stop an ElastiCache replication group"),
        "{line}"
    );
    let prod = stdout
        .lines()
        .find(|l| l.starts_with("elasticache:app-prod-redis"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        prod.contains("refused") && prod.contains("production"),
        "{prod}"
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}");

    moto.start_recording();
    let mut c = support::lightsout(&moto, dir.path());
    c.args(["apply", "--store"])
        .arg(dir.path().join("state.db"));
    let (out, _) = run_within(c, Duration::from_secs(60));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let writes: Vec<String> = moto
        .recorded_operations()
        .into_iter()
        .filter(|o| support::is_write(o) && !o.starts_with("ListTags"))
        .collect();
    // The database is stopped (tag, then stop); the caches get nothing.
    assert_eq!(
        writes,
        ["AddTagsToResource", "StopDBInstance"],
        "{writes:?}"
    );
}

/// A cache named in the schedule file that does not exist is a problem with the line and fix.
#[test]
fn a_missing_named_cache_is_a_problem() {
    let moto = Moto::start();
    moto.seed();
    let dir = schedules(
        "name = \"staging\"\nregion = \"eu-west-1\"\ntimezone = \"Pacific/Honolulu\"\nawake = []\n[elasticache]\nclusters = [\"app-staging-valkey\"]\n",
    );
    let mut c = support::lightsout(&moto, dir.path());
    c.args(["plan", "--store"]).arg(dir.path().join("state.db"));
    let (out, _) = run_within(c, Duration::from_secs(60));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("staging.toml:6:13: not found: there is no ElastiCache cluster app-staging-valkey in eu-west-1"),
        "{stdout}"
    );
}

/// The digest prices the cache as a cost that cannot sleep.
#[tokio::test]
async fn the_digest_says_what_the_cache_costs_while_asleep() {
    let moto = Moto::start();
    moto.seed();
    seed_caches(&moto);
    let env = parse_str(Path::new("staging.toml"), SCHEDULE).unwrap();
    let d = Digester::new(
        Config {
            environments: vec![env.clone()],
        },
        Arc::new(AwsCloud::new(moto.sdk_config().await)).ports(None),
        Arc::new(SqliteStore::in_memory().unwrap()),
        Arc::new(ManualClock::new("2026-12-02T22:00:00Z".parse().unwrap())),
    );
    let input = d
        .gather(&env, Some("2026-12-02".parse().unwrap()), true)
        .await;
    let cache = input
        .resources
        .iter()
        .find(|r| r.resource == "elasticache:app-staging-redis")
        .unwrap_or_else(|| panic!("{:#?}", input.resources));
    assert!(!cache.sleeps);
    assert!(
        input
            .resources
            .iter()
            .all(|r| r.resource != "elasticache:app-prod-redis"),
        "production is never priced as the environment's"
    );
    let digest = lightsout::digest::figures::compute(
        &input,
        lightsout::digest::prices::PriceTable::shipped(),
    );
    // awake = []: asleep all of the local day in Sydney.
    assert_eq!(digest.always_on.asleep_secs, 24 * 3600);
    assert_eq!(
        digest.always_on.resources.len(),
        1,
        "{:#?}",
        digest.always_on
    );
    assert!(digest.always_on.day > lightsout::model::Money::ZERO);
    let md = lightsout::digest::render::markdown(&digest);
    assert!(md.contains("Keeps costing while asleep"), "{md}");
    assert!(md.contains("elasticache:app-staging-redis"), "{md}");
}
