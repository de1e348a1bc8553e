//! ElastiCache replication groups and standalone cache clusters: observed and priced, never
//! changed (AWS cannot stop a cache).

use super::pace::Paced;
use std::collections::{BTreeMap, BTreeSet};

use super::{Clients, Pages, cloud_error};
use crate::kinds::elasticache::ObservedCache;
use crate::kinds::{Kind, Observation, ResourceId};
use crate::model::Environment;
use crate::ports::{CloudError, ResourceCost, Size};

/// ElastiCache describe calls page at most 100 records.
const PAGE: i32 = 100;

/// Observes the caches `env` selects into `obs`.
pub(crate) async fn observe(c: &Clients, env: &Environment, obs: &mut Observation) {
    let sel = &env.kinds.elasticache;
    if sel.is_empty() {
        return;
    }
    let all = match describe(c).await {
        Ok(all) => all,
        Err(e) => {
            obs.errors
                .push((Kind::ElastiCache, format!("elasticache: {e}")));
            return;
        }
    };
    let named: BTreeSet<&str> = sel.clusters.iter().map(String::as_str).collect();
    let mut found = BTreeSet::new();
    for mut cache in all {
        let is_named = named.contains(cache.id.as_str());
        if !is_named && sel.select.is_empty() {
            continue;
        }
        // Tags are read only for the caches that may be selected (one call each).
        match tags(c, &cache.arn).await {
            Ok(t) => cache.tags = t,
            Err(e) => {
                obs.errors
                    .push((Kind::ElastiCache, format!("elasticache {}: {e}", cache.id)));
                continue;
            }
        }
        if is_named
            || sel
                .select
                .iter()
                .any(|s| crate::kinds::matches(&cache.tags, s))
        {
            found.insert(cache.id.clone());
            obs.caches.push(cache);
        }
    }
    for id in named.iter().filter(|id| !found.contains(**id)) {
        obs.missing.push(ResourceId::CacheCluster(id.to_string()));
    }
}

/// Every replication group, and every cache cluster that is not part of one.
async fn describe(c: &Clients) -> Result<Vec<ObservedCache>, CloudError> {
    let mut out = Vec::new();
    let mut pages = Pages::new();
    let mut marker = None;
    loop {
        let page = c
            .elasticache
            .describe_replication_groups()
            .max_records(PAGE)
            .set_marker(marker)
            .send()
            .paced(c, "ElastiCache", "DescribeReplicationGroups")
            .await
            .map_err(|e| cloud_error("DescribeReplicationGroups", e))?;
        for g in page.replication_groups() {
            let Some(id) = g.replication_group_id() else {
                continue;
            };
            out.push(ObservedCache {
                id: id.to_string(),
                arn: g.arn().unwrap_or_default().to_string(),
                status: g.status().unwrap_or("unknown").to_string(),
                engine: g.engine().unwrap_or("redis").to_string(),
                node_type: g.cache_node_type().unwrap_or("?").to_string(),
                nodes: u32::try_from(g.member_clusters().len().max(1)).unwrap_or(1),
                tags: BTreeMap::new(),
            });
        }
        match pages.next("DescribeReplicationGroups", page.marker())? {
            Some(m) => marker = Some(m),
            None => break,
        }
    }
    let mut pages = Pages::new();
    let mut marker = None;
    loop {
        let page = c
            .elasticache
            .describe_cache_clusters()
            .max_records(PAGE)
            .set_marker(marker)
            .send()
            .paced(c, "ElastiCache", "DescribeCacheClusters")
            .await
            .map_err(|e| cloud_error("DescribeCacheClusters", e))?;
        for cl in page.cache_clusters() {
            // A member of a replication group is billed through its group, listed above.
            let (Some(id), None) = (cl.cache_cluster_id(), cl.replication_group_id()) else {
                continue;
            };
            out.push(ObservedCache {
                id: id.to_string(),
                arn: cl.arn().unwrap_or_default().to_string(),
                status: cl.cache_cluster_status().unwrap_or("unknown").to_string(),
                engine: cl.engine().unwrap_or("?").to_string(),
                node_type: cl.cache_node_type().unwrap_or("?").to_string(),
                nodes: u32::try_from(cl.num_cache_nodes().unwrap_or(1).max(1)).unwrap_or(1),
                tags: BTreeMap::new(),
            });
        }
        match pages.next("DescribeCacheClusters", page.marker())? {
            Some(m) => marker = Some(m),
            None => return Ok(out),
        }
    }
}

async fn tags(c: &Clients, arn: &str) -> Result<BTreeMap<String, String>, CloudError> {
    let out = c
        .elasticache
        .list_tags_for_resource()
        .resource_name(arn)
        .send()
        .paced(c, "ElastiCache", "ListTagsForResource")
        .await
        .map_err(|e| cloud_error("ListTagsForResource", e))?;
    Ok(out
        .tag_list()
        .iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect())
}

/// What each cache is priced as: its node type × nodes, always on.
pub(crate) fn priced(env: &Environment, caches: &[ObservedCache]) -> Vec<ResourceCost> {
    caches
        .iter()
        .map(|c| ResourceCost {
            resource: ResourceId::CacheCluster(c.id.clone()).to_string(),
            size: Size::Database {
                region: env.region.clone(),
                classes: vec![c.node_type.clone(); c.nodes as usize],
                engine: c.product(),
                multi_az: false,
            },
            sleeps: false,
        })
        .collect()
}
