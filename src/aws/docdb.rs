//! DocumentDB and Neptune clusters: RDS-API clusters of another engine, observed through
//! `DescribeDBClusters` with an `engine` filter (paged), acted on with RDS's calls (`aws::rds`
//! executes their steps), priced by their instances' classes.

use super::pace::Paced;
use std::collections::BTreeSet;

use aws_sdk_rds::types::Filter;

use super::{Clients, Pages, cloud_error};
use crate::kinds::Observation;
use crate::kinds::docdb::{Engine, ObservedCluster};
use crate::model::Environment;
use crate::ports::{CloudError, ResourceCost, Size};

/// RDS describe calls page at most 100 records.
const PAGE: i32 = 100;

/// Observes the DocumentDB and Neptune clusters `env` selects into `obs`.
pub(crate) async fn observe(c: &Clients, env: &Environment, obs: &mut Observation) {
    for engine in [Engine::DocDb, Engine::Neptune] {
        let sel = env.kinds.engine(engine);
        if sel.is_empty() {
            continue;
        }
        let all = match describe(c, engine).await {
            Ok(all) => all,
            Err(e) => {
                obs.errors
                    .push((engine.kind(), format!("{}: {e}", engine.name())));
                continue;
            }
        };
        let named: BTreeSet<&str> = sel.clusters.iter().map(String::as_str).collect();
        let mut found = BTreeSet::new();
        for cl in all {
            if named.contains(cl.db.id.as_str())
                || sel
                    .select
                    .iter()
                    .any(|s| crate::kinds::matches(&cl.db.tags, s))
            {
                found.insert(cl.db.id.clone());
                obs.engine_clusters.push(cl);
            }
        }
        for id in named.iter().filter(|id| !found.contains(**id)) {
            obs.missing.push(engine.id(id));
        }
    }
}

/// Every cluster of one engine.
async fn describe(c: &Clients, engine: Engine) -> Result<Vec<ObservedCluster>, CloudError> {
    let mut out = Vec::new();
    let mut pages = Pages::new();
    let mut marker = None;
    loop {
        let page = c
            .rds
            .describe_db_clusters()
            .filters(
                Filter::builder()
                    .name("engine")
                    .values(engine.name())
                    .build(),
            )
            .max_records(PAGE)
            .set_marker(marker)
            .send()
            .paced(c, "RDS", "DescribeDbClusters")
            .await
            .map_err(|e| cloud_error("DescribeDBClusters", e))?;
        out.extend(
            page.db_clusters()
                .iter()
                .filter_map(super::rds::cluster)
                // Filtered by AWS; checked again so a looser emulator cannot widen it.
                .filter(|d| Engine::of(&d.engine) == Some(engine))
                .map(|db| ObservedCluster { engine, db }),
        );
        match pages.next("DescribeDBClusters", page.marker())? {
            Some(m) => marker = Some(m),
            None => return Ok(out),
        }
    }
}

/// What each cluster is priced as: the instance classes of its members.
pub(crate) async fn priced(
    c: &Clients,
    env: &Environment,
    clusters: &[ObservedCluster],
) -> Vec<ResourceCost> {
    if clusters.is_empty() {
        return Vec::new();
    }
    let sizes = super::rds::db_sizes(c, &env.region).await;
    clusters
        .iter()
        .map(|cl| {
            let id = cl.resource_id().to_string();
            let size = match &sizes {
                Err(e) => Size::Unknown(e.clone()),
                Ok(sizes) => sizes.get(&id).cloned().unwrap_or_else(|| {
                    Size::Unknown(format!("no {} instances found in it", cl.engine))
                }),
            };
            ResourceCost {
                resource: id,
                size,
                sleeps: true,
            }
        })
        .collect()
}
