//! Redshift provisioned clusters: observed (every cluster of the region, paged, with its tags),
//! paused, resumed, and priced by node type × nodes.

use super::pace::Paced;
use std::collections::BTreeSet;

use super::{Clients, Pages, cloud_error};
use crate::kinds::redshift::{ClusterStatus, ObservedWarehouse, PRODUCT, Step};
use crate::kinds::{Kind, Observation, ResourceId};
use crate::model::Environment;
use crate::ports::{CloudError, ResourceCost, Size};

/// `DescribeClusters` pages at most 100 clusters.
const PAGE: i32 = 100;

/// Observes the clusters `env` selects into `obs`.
pub(crate) async fn observe(c: &Clients, env: &Environment, obs: &mut Observation) {
    let sel = &env.kinds.redshift;
    if sel.is_empty() {
        return;
    }
    // One series of pages for all: a named cluster that does not exist would fail a call that
    // names it (ClusterNotFound) instead of being reported missing.
    let all = match describe(c).await {
        Ok(all) => all,
        Err(e) => return obs.errors.push((Kind::Redshift, format!("redshift: {e}"))),
    };
    let named: BTreeSet<&str> = sel.clusters.iter().map(String::as_str).collect();
    let mut found = BTreeSet::new();
    for w in all {
        if named.contains(w.id.as_str())
            || sel.select.iter().any(|s| crate::kinds::matches(&w.tags, s))
        {
            found.insert(w.id.clone());
            obs.warehouses.push(w);
        }
    }
    for id in named.iter().filter(|id| !found.contains(**id)) {
        obs.missing
            .push(ResourceId::RedshiftCluster(id.to_string()));
    }
}

async fn describe(c: &Clients) -> Result<Vec<ObservedWarehouse>, CloudError> {
    let mut out = Vec::new();
    let mut pages = Pages::new();
    let mut marker = None;
    loop {
        let page = c
            .redshift
            .describe_clusters()
            .max_records(PAGE)
            .set_marker(marker)
            .send()
            .paced(c, "Redshift", "DescribeClusters")
            .await
            .map_err(|e| cloud_error("DescribeClusters", e))?;
        for cl in page.clusters() {
            let Some(id) = cl.cluster_identifier() else {
                continue;
            };
            out.push(ObservedWarehouse {
                id: id.to_string(),
                status: ClusterStatus::parse(cl.cluster_status().unwrap_or("unknown")),
                node_type: cl.node_type().unwrap_or("?").to_string(),
                nodes: u32::try_from(cl.number_of_nodes().unwrap_or(1).max(1)).unwrap_or(1),
                tags: cl
                    .tags()
                    .iter()
                    .filter_map(|t| {
                        Some((t.key()?.to_string(), t.value().unwrap_or("").to_string()))
                    })
                    .collect(),
            });
        }
        match pages.next("DescribeClusters", page.marker())? {
            Some(m) => marker = Some(m),
            None => return Ok(out),
        }
    }
}

/// What each cluster is priced as: its node type × nodes, for the hours it is not paused.
pub(crate) fn priced(env: &Environment, warehouses: &[ObservedWarehouse]) -> Vec<ResourceCost> {
    warehouses
        .iter()
        .map(|w| ResourceCost {
            resource: ResourceId::RedshiftCluster(w.id.clone()).to_string(),
            size: Size::Database {
                region: env.region.clone(),
                classes: vec![w.node_type.clone(); w.nodes as usize],
                engine: PRODUCT.into(),
                multi_az: false,
            },
            sleeps: true,
        })
        .collect()
}

/// Makes one Redshift write call.
pub(crate) async fn execute(c: &Clients, step: &Step) -> Result<(), CloudError> {
    match step {
        Step::Pause { id } => {
            c.redshift
                .pause_cluster()
                .cluster_identifier(id)
                .send()
                .paced(c, "Redshift", "PauseCluster")
                .await
                .map_err(|e| cloud_error("PauseCluster", e))?;
        }
        Step::Resume { id } => {
            c.redshift
                .resume_cluster()
                .cluster_identifier(id)
                .send()
                .paced(c, "Redshift", "ResumeCluster")
                .await
                .map_err(|e| cloud_error("ResumeCluster", e))?;
        }
    }
    Ok(())
}
