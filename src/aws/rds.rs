//! RDS DB instances and Aurora DB clusters.

use super::pace::Paced;
use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_rds::types::{Filter, Tag};

use super::{Clients, Pages, cloud_error};
use crate::kinds::docdb::Engine;
use crate::kinds::rds::Step;
use crate::kinds::{DbKind, DbStatus, Kind, Observation, ObservedDb, ResourceId, TagSelector};
use crate::model::Environment;
use crate::ports::CloudError;
use crate::ports::{ResourceCost, Size};

/// RDS describe calls page at most 100 records, and a filter takes at most 100 values.
const PAGE: i32 = 100;

/// Observes the selected instances and clusters of `env` into `obs`.
pub(crate) async fn observe(c: &Clients, env: &Environment, obs: &mut Observation) {
    let sel = &env.kinds.rds;
    let tagged = !sel.select.is_empty();
    let want_clusters = !sel.clusters.is_empty() || tagged;
    let want_instances = !sel.instances.is_empty() || tagged;
    // Clusters and instances are described concurrently; kept in that order (clusters first).
    let (clusters, instances) = tokio::join!(
        async {
            if want_clusters {
                Some(describe_clusters(c, &sel.clusters, tagged).await)
            } else {
                None
            }
        },
        async {
            if want_instances {
                Some(describe_instances(c, &sel.instances, tagged).await)
            } else {
                None
            }
        },
    );
    if let Some(result) = clusters {
        let named: BTreeSet<&str> = sel.clusters.iter().map(String::as_str).collect();
        match result {
            Ok(all) => keep(all, &named, &sel.select, DbKind::Cluster, obs),
            Err(e) => obs.errors.push((Kind::Rds, format!("rds clusters: {e}"))),
        }
    }
    if let Some(result) = instances {
        let named: BTreeSet<&str> = sel.instances.iter().map(String::as_str).collect();
        match result {
            Ok(all) => keep(all, &named, &sel.select, DbKind::Instance, obs),
            Err(e) => obs.errors.push((Kind::Rds, format!("rds instances: {e}"))),
        }
    }
}

/// Keeps the named databases and those a selector matches; records named ones that are missing.
fn keep(
    all: Vec<ObservedDb>,
    named: &BTreeSet<&str>,
    selectors: &[TagSelector],
    kind: DbKind,
    obs: &mut Observation,
) {
    let mut found = BTreeSet::new();
    for db in all {
        let selected = named.contains(db.id.as_str())
            || selectors.iter().any(|s| crate::kinds::matches(&db.tags, s));
        if selected
            && !obs
                .databases
                .iter()
                .any(|d| d.kind == db.kind && d.id == db.id)
        {
            found.insert(db.id.clone());
            obs.databases.push(db);
        }
    }
    for id in named.iter().filter(|id| !found.contains(**id)) {
        obs.missing.push(match kind {
            DbKind::Instance => ResourceId::DbInstance(id.to_string()),
            DbKind::Cluster => ResourceId::DbCluster(id.to_string()),
        });
    }
}

fn tags(list: &[Tag]) -> BTreeMap<String, String> {
    list.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect()
}

/// Describes the named instances (one filtered call per 100), or every instance when `all`.
async fn describe_instances(
    c: &Clients,
    ids: &[String],
    all: bool,
) -> Result<Vec<ObservedDb>, CloudError> {
    describe_paged(
        "DescribeDBInstances",
        "db-instance-id",
        ids,
        all,
        |filters, marker| async move {
            let page = c
                .rds
                .describe_db_instances()
                .set_filters(filters)
                .max_records(PAGE)
                .set_marker(marker)
                .send()
                .paced(c, "RDS", "DescribeDbInstances")
                .await
                .map_err(|e| cloud_error("DescribeDBInstances", e))?;
            let dbs = page
                .db_instances()
                .iter()
                .filter(|i| Engine::of(i.engine().unwrap_or_default()).is_none())
                .filter_map(|i| {
                    Some(ObservedDb {
                        kind: DbKind::Instance,
                        id: i.db_instance_identifier()?.to_string(),
                        arn: i.db_instance_arn().unwrap_or_default().to_string(),
                        status: DbStatus::parse(i.db_instance_status().unwrap_or("unknown")),
                        engine: i.engine().unwrap_or_default().to_string(),
                        engine_mode: None,
                        member_of: i.db_cluster_identifier().map(String::from),
                        replica_of: i
                            .read_replica_source_db_instance_identifier()
                            .map(String::from),
                        replicas: i.read_replica_db_instance_identifiers().to_vec(),
                        tags: tags(i.tag_list()),
                    })
                })
                .collect();
            Ok((dbs, page.marker().map(String::from)))
        },
    )
    .await
}

/// Describes the named clusters (one filtered call per 100), or every cluster when `all`.
async fn describe_clusters(
    c: &Clients,
    ids: &[String],
    all: bool,
) -> Result<Vec<ObservedDb>, CloudError> {
    describe_paged(
        "DescribeDBClusters",
        "db-cluster-id",
        ids,
        all,
        |filters, marker| async move {
            let page = c
                .rds
                .describe_db_clusters()
                .set_filters(filters)
                .max_records(PAGE)
                .set_marker(marker)
                .send()
                .paced(c, "RDS", "DescribeDbClusters")
                .await
                .map_err(|e| cloud_error("DescribeDBClusters", e))?;
            let dbs = page
                .db_clusters()
                .iter()
                .filter_map(cluster)
                // DocumentDB and Neptune clusters answer the same call: theirs are [docdb]'s
                // and [neptune]'s.
                .filter(|d| Engine::of(&d.engine).is_none())
                .collect();
            Ok((dbs, page.marker().map(String::from)))
        },
    )
    .await
}

/// An RDS-API cluster as observed (Aurora, or DocumentDB and Neptune for their kinds).
pub(super) fn cluster(cl: &aws_sdk_rds::types::DbCluster) -> Option<ObservedDb> {
    Some(ObservedDb {
        kind: DbKind::Cluster,
        id: cl.db_cluster_identifier()?.to_string(),
        arn: cl.db_cluster_arn().unwrap_or_default().to_string(),
        status: DbStatus::parse(cl.status().unwrap_or("unknown")),
        engine: cl.engine().unwrap_or_default().to_string(),
        engine_mode: cl.engine_mode().map(String::from),
        member_of: None,
        replica_of: cl.replication_source_identifier().map(String::from),
        replicas: cl.read_replica_identifiers().to_vec(),
        tags: tags(cl.tag_list()),
    })
}

/// Runs a paged RDS describe: one filtered series of pages per 100 identifiers, or one unfiltered
/// series when `all`. `call` fetches one page for a filter and marker, returning the page's
/// databases and the next marker.
async fn describe_paged<F, Fut>(
    operation: &'static str,
    filter_name: &str,
    ids: &[String],
    all: bool,
    call: F,
) -> Result<Vec<ObservedDb>, CloudError>
where
    F: Fn(Option<Vec<Filter>>, Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<ObservedDb>, Option<String>), CloudError>>,
{
    let batches: Vec<Option<Vec<String>>> = if all {
        vec![None]
    } else {
        ids.chunks(PAGE as usize)
            .map(|b| Some(b.to_vec()))
            .collect()
    };
    let mut out = Vec::new();
    for batch in batches {
        let mut pages = Pages::new();
        let mut marker = None;
        loop {
            let filters = batch.clone().map(|ids| {
                vec![
                    Filter::builder()
                        .name(filter_name)
                        .set_values(Some(ids))
                        .build(),
                ]
            });
            let (dbs, next) = call(filters, marker).await?;
            out.extend(dbs);
            match pages.next(operation, next.as_deref())? {
                Some(m) => marker = Some(m),
                None => break,
            }
        }
    }
    Ok(out)
}

/// What each database is priced as: the instance classes billed for it.
pub(crate) async fn priced(
    c: &Clients,
    env: &Environment,
    dbs: &[ObservedDb],
) -> Vec<ResourceCost> {
    let db_sizes = if dbs.is_empty() {
        Ok(BTreeMap::new())
    } else {
        db_sizes(c, &env.region).await
    };
    let mut resources = Vec::new();
    for db in dbs {
        let id = db.resource_id().to_string();
        let size = match &db_sizes {
            Err(e) => Size::Unknown(e.clone()),
            Ok(sizes) => sizes.get(&id).cloned().unwrap_or_else(|| {
                Size::Unknown(
                    "no DB instances found for it (Aurora Serverless is not priced)".into(),
                )
            }),
        };
        resources.push(ResourceCost {
            resource: id,
            size,
            sleeps: true,
        });
    }
    resources
}

/// Instance classes of the databases, for pricing: by `rds:id` / `aurora:id` (and for their
/// kinds `docdb:id` / `neptune:id`).
pub(super) async fn db_sizes(c: &Clients, region: &str) -> Result<BTreeMap<String, Size>, String> {
    let mut sizes: BTreeMap<String, Size> = BTreeMap::new();
    let mut pages = Pages::new();
    let mut marker: Option<String> = None;
    loop {
        let resp = c
            .rds
            .describe_db_instances()
            .max_records(100)
            .set_marker(marker.take())
            .send()
            .paced(c, "RDS", "DescribeDbInstances")
            .await
            .map_err(|e| cloud_error("DescribeDBInstances", e).to_string())?;
        for i in resp.db_instances() {
            let (Some(id), Some(class)) = (i.db_instance_identifier(), i.db_instance_class())
            else {
                continue;
            };
            let engine = i.engine().unwrap_or("").to_string();
            let (key, multi_az) = match i.db_cluster_identifier() {
                Some(cluster) => (
                    Engine::of(&engine).map_or_else(
                        || format!("aurora:{cluster}"),
                        |e| e.id(cluster).to_string(),
                    ),
                    false,
                ),
                None => (format!("rds:{id}"), i.multi_az().unwrap_or(false)),
            };
            if let Size::Database { classes, .. } =
                sizes.entry(key).or_insert_with(|| Size::Database {
                    region: region.to_string(),
                    classes: Vec::new(),
                    engine,
                    multi_az,
                })
            {
                classes.push(class.to_string());
            }
        }
        match pages
            .next("DescribeDBInstances", resp.marker())
            .map_err(|e| e.to_string())?
        {
            Some(m) => marker = Some(m),
            None => return Ok(sizes),
        }
    }
}

/// Makes one RDS write call.
pub(crate) async fn execute(c: &Clients, step: &Step) -> Result<(), CloudError> {
    match step {
        Step::StopDb {
            kind: DbKind::Instance,
            id,
        } => {
            c.rds
                .stop_db_instance()
                .db_instance_identifier(id)
                .send()
                .paced(c, "RDS", "StopDbInstance")
                .await
                .map_err(|e| cloud_error("StopDBInstance", e))?;
        }
        Step::StopDb {
            kind: DbKind::Cluster,
            id,
        } => {
            c.rds
                .stop_db_cluster()
                .db_cluster_identifier(id)
                .send()
                .paced(c, "RDS", "StopDbCluster")
                .await
                .map_err(|e| cloud_error("StopDBCluster", e))?;
        }
        Step::StartDb {
            kind: DbKind::Instance,
            id,
        } => {
            c.rds
                .start_db_instance()
                .db_instance_identifier(id)
                .send()
                .paced(c, "RDS", "StartDbInstance")
                .await
                .map_err(|e| cloud_error("StartDBInstance", e))?;
        }
        Step::StartDb {
            kind: DbKind::Cluster,
            id,
        } => {
            c.rds
                .start_db_cluster()
                .db_cluster_identifier(id)
                .send()
                .paced(c, "RDS", "StartDbCluster")
                .await
                .map_err(|e| cloud_error("StartDBCluster", e))?;
        }
        Step::TagDb { arn, tags } => {
            let tags: Vec<Tag> = tags
                .iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect();
            c.rds
                .add_tags_to_resource()
                .resource_name(arn)
                .set_tags(Some(tags))
                .send()
                .paced(c, "RDS", "AddTagsToResource")
                .await
                .map_err(|e| cloud_error("AddTagsToResource", e))?;
        }
        Step::UntagDb { arn, keys } => {
            c.rds
                .remove_tags_from_resource()
                .resource_name(arn)
                .set_tag_keys(Some(keys.clone()))
                .send()
                .paced(c, "RDS", "RemoveTagsFromResource")
                .await
                .map_err(|e| cloud_error("RemoveTagsFromResource", e))?;
        }
    }
    Ok(())
}
