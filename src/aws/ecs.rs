//! ECS services and their Application Auto Scaling targets.

use super::pace::Paced;
use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use aws_sdk_ecs::types::{ServiceField, Tag};
use futures_util::StreamExt;

use super::{Clients, Pages, cloud_error};
use crate::kinds::ecs::{Clusters, ServiceStatus, Step};
use crate::kinds::{
    Bounds, Kind, Observation, ObservedService, ResourceId, Scalable, ServiceName, TagSelector,
};
use crate::model::Environment;
use crate::ports::CloudError;
use crate::ports::{ResourceCost, ServiceDetail, Size, TaskOs};

/// ECS `DescribeServices` takes at most 10 services a call.
const DESCRIBE_BATCH: usize = 10;
/// ECS `ListServices` pages at most 100 a call.
const LIST_PAGE: i32 = 100;
/// `DescribeScalableTargets` takes at most 50 resource ids a call and pages at 50.
const TARGETS_BATCH: usize = 50;

/// Observes the selected services of `env` into `obs`.
pub(crate) async fn observe(c: &Clients, env: &Environment, obs: &mut Observation) {
    // Per cluster: the services named one by one, and the tag selectors that look in it.
    let mut clusters: BTreeMap<&str, (BTreeSet<&str>, Vec<&TagSelector>)> = BTreeMap::new();
    for n in &env.kinds.ecs.services {
        clusters.entry(&n.cluster).or_default().0.insert(&n.service);
    }
    // `clusters = "*"`: every cluster of the account and region, listed once a pass.
    let every = if env
        .kinds
        .ecs
        .select
        .iter()
        .any(|s| s.clusters == Clusters::Every)
    {
        match list_clusters(c).await {
            Ok(names) => names,
            Err(e) => {
                // Without the list, no selector that looks everywhere can be trusted to be
                // complete: the kind is unobserved, and nothing of it is acted on.
                obs.errors
                    .push((Kind::Ecs, format!("ecs clusters of the account: {e}")));
                return;
            }
        }
    } else {
        Vec::new()
    };
    for sel in &env.kinds.ecs.select {
        match &sel.clusters {
            Clusters::Every => {
                for cluster in &every {
                    clusters.entry(cluster).or_default().1.push(&sel.tags);
                }
            }
            Clusters::Named(names) => {
                for cluster in names {
                    clusters.entry(cluster).or_default().1.push(&sel.tags);
                }
            }
        }
    }
    let first_new = obs.services.len();
    // Clusters are observed concurrently (each is a few sequential calls); results are merged in
    // cluster order, so the plan does not depend on which answered first.
    let parts = futures_util::future::join_all(
        clusters
            .into_iter()
            .map(|(cluster, (named, selectors))| observe_cluster(c, cluster, named, selectors)),
    )
    .await;
    for part in parts {
        obs.services.extend(part.services);
        obs.missing.extend(part.missing);
        obs.errors.extend(part.errors);
    }
    let ids: Vec<String> = obs.services[first_new..]
        .iter()
        .map(|s| s.name.scalable_id())
        .collect();
    match scalable_targets(c, &ids).await {
        Ok(bounds) => {
            for s in &mut obs.services[first_new..] {
                s.scalable = bounds
                    .get(&s.name.scalable_id())
                    .copied()
                    .map_or(Scalable::None, Scalable::Some);
            }
        }
        Err(e) => {
            // Without the targets, a service's bounds could be lost: none is acted on.
            for s in &mut obs.services[first_new..] {
                s.scalable = Scalable::Unknown;
            }
            obs.errors
                .push((Kind::Ecs, format!("ecs autoscaling: {e}")));
        }
    }
}

/// One cluster's named services and those its selectors match.
async fn observe_cluster(
    c: &Clients,
    cluster: &str,
    named: BTreeSet<&str>,
    selectors: Vec<&TagSelector>,
) -> Observation {
    let mut obs = Observation::default();
    let mut wanted: Vec<String> = named.iter().map(|s| s.to_string()).collect();
    if !selectors.is_empty() {
        match list_services(c, cluster).await {
            Ok(arns) => {
                for arn in arns {
                    let name = arn.rsplit('/').next().unwrap_or(&arn);
                    if !named.contains(name) {
                        wanted.push(arn);
                    }
                }
            }
            Err(e) if e.code.as_deref() == Some("ClusterNotFoundException") => {
                obs.errors.push((
                    Kind::Ecs,
                    format!("ecs cluster {cluster}: not found (named in a tag selector)"),
                ));
            }
            Err(e) => obs
                .errors
                .push((Kind::Ecs, format!("ecs cluster {cluster}: {e}"))),
        }
    }
    // Up to 8 describes of 10 at once, results in order.
    let batches: Vec<&[String]> = wanted.chunks(DESCRIBE_BATCH).collect();
    // Boxed so the caller's future stays `Send` for any lifetime (the daemon spawns passes).
    type Described = Result<(Vec<ObservedService>, Vec<String>), CloudError>;
    let calls: Vec<futures_util::future::BoxFuture<'_, Described>> = batches
        .iter()
        .map(|b| futures_util::FutureExt::boxed(describe(c, cluster, b)))
        .collect();
    let results: Vec<Described> = futures_util::stream::iter(calls)
        .buffered(8)
        .collect()
        .await;
    for (batch, result) in batches.into_iter().zip(results) {
        match result {
            Ok((services, missing)) => {
                for s in services {
                    let explicit = named.contains(s.name.service.as_str());
                    if explicit
                        || selectors
                            .iter()
                            .any(|sel| crate::kinds::matches(&s.tags, sel))
                    {
                        obs.services.push(s);
                    }
                }
                for m in missing {
                    let name = m.rsplit('/').next().unwrap_or(&m).to_string();
                    if named.contains(name.as_str()) {
                        obs.missing.push(ResourceId::EcsService(ServiceName {
                            cluster: cluster.to_string(),
                            service: name,
                        }));
                    }
                }
            }
            Err(e) if e.code.as_deref() == Some("ClusterNotFoundException") => {
                for name in batch.iter().filter(|n| named.contains(n.as_str())) {
                    obs.missing.push(ResourceId::EcsService(ServiceName {
                        cluster: cluster.to_string(),
                        service: name.clone(),
                    }));
                }
            }
            Err(e) => obs
                .errors
                .push((Kind::Ecs, format!("ecs cluster {cluster}: {e}"))),
        }
    }
    obs
}

/// The names of every cluster of the account and region (ListClusters pages at 100).
async fn list_clusters(c: &Clients) -> Result<Vec<String>, CloudError> {
    let mut names = Vec::new();
    let mut pages = Pages::new();
    let mut token = None;
    loop {
        let out = c
            .ecs
            .list_clusters()
            .max_results(LIST_PAGE)
            .set_next_token(token)
            .send()
            .paced(c, "ECS", "ListClusters")
            .await
            .map_err(|e| cloud_error("ListClusters", e))?;
        names.extend(
            out.cluster_arns()
                .iter()
                .map(|arn| arn.rsplit('/').next().unwrap_or(arn).to_string()),
        );
        match pages.next("ListClusters", out.next_token())? {
            Some(t) => token = Some(t),
            None => return Ok(names),
        }
    }
}

async fn list_services(c: &Clients, cluster: &str) -> Result<Vec<String>, CloudError> {
    let mut arns = Vec::new();
    let mut pages = Pages::new();
    let mut token = None;
    loop {
        let out = c
            .ecs
            .list_services()
            .cluster(cluster)
            .max_results(LIST_PAGE)
            .set_next_token(token)
            .send()
            .paced(c, "ECS", "ListServices")
            .await
            .map_err(|e| cloud_error("ListServices", e))?;
        arns.extend(out.service_arns().iter().cloned());
        match pages.next("ListServices", out.next_token())? {
            Some(t) => token = Some(t),
            None => return Ok(arns),
        }
    }
}

/// Describes up to 10 services; returns them and the names or ARNs ECS reported missing.
async fn describe(
    c: &Clients,
    cluster: &str,
    batch: &[String],
) -> Result<(Vec<ObservedService>, Vec<String>), CloudError> {
    let out = c
        .ecs
        .describe_services()
        .cluster(cluster)
        .set_services(Some(batch.to_vec()))
        .include(ServiceField::Tags)
        .send()
        .paced(c, "ECS", "DescribeServices")
        .await
        .map_err(|e| cloud_error("DescribeServices", e))?;
    let services = out
        .services()
        .iter()
        .filter_map(|s| {
            let service = s.service_name()?.to_string();
            Some(ObservedService {
                name: ServiceName {
                    cluster: cluster.to_string(),
                    service,
                },
                arn: s.service_arn()?.to_string(),
                status: ServiceStatus::parse(s.status()),
                desired: s.desired_count(),
                running: s.running_count(),
                tags: s
                    .tags()
                    .iter()
                    .filter_map(|t| {
                        Some((t.key()?.to_string(), t.value().unwrap_or("").to_string()))
                    })
                    .collect(),
                deploying: deploying(s.deployments()),
                scalable: Scalable::None,
            })
        })
        .collect();
    let missing = out
        .failures()
        .iter()
        .filter(|f| f.reason() == Some("MISSING"))
        .filter_map(|f| f.arn().map(String::from))
        .collect();
    Ok((services, missing))
}

/// A deployment under way: more than one deployment (the new one replacing the old), or the
/// primary's rollout still `IN_PROGRESS`.
fn deploying(deployments: &[aws_sdk_ecs::types::Deployment]) -> bool {
    deployments.len() > 1
        || deployments.iter().any(|d| {
            d.rollout_state() == Some(&aws_sdk_ecs::types::DeploymentRolloutState::InProgress)
        })
}

async fn scalable_targets(
    c: &Clients,
    ids: &[String],
) -> Result<BTreeMap<String, Bounds>, CloudError> {
    let mut out = BTreeMap::new();
    for batch in ids.chunks(TARGETS_BATCH) {
        let mut pages = Pages::new();
        let mut token = None;
        loop {
            let page = c
                .aas
                .describe_scalable_targets()
                .service_namespace(ServiceNamespace::Ecs)
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .set_resource_ids(Some(batch.to_vec()))
                .max_results(TARGETS_BATCH as i32)
                .set_next_token(token)
                .send()
                .paced(c, "Application Auto Scaling", "DescribeScalableTargets")
                .await
                .map_err(|e| cloud_error("DescribeScalableTargets", e))?;
            for t in page.scalable_targets() {
                out.insert(
                    t.resource_id().to_string(),
                    Bounds {
                        min: t.min_capacity(),
                        max: t.max_capacity(),
                    },
                );
            }
            match pages.next("DescribeScalableTargets", page.next_token())? {
                Some(t) => token = Some(t),
                None => break,
            }
        }
    }
    Ok(out)
}

/// What each service is priced as: its Fargate task size and operating system × the tasks it
/// runs awake (or, asleep, the tasks it will wake to, as the planner decides it), split between
/// on-demand Fargate and Fargate Spot as its capacity provider strategy places them.
pub(crate) async fn priced(
    c: &Clients,
    env: &Environment,
    services: &[ObservedService],
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<ResourceCost> {
    let names: Vec<ServiceName> = services.iter().map(|s| s.name.clone()).collect();
    let details = if names.is_empty() {
        Ok(Vec::new())
    } else {
        super::health::services_detail(c, &names, now).await
    };
    let mut resources = Vec::new();
    let observed = services;
    let mut task_sizes: BTreeMap<String, Size> = BTreeMap::new();
    for s in observed {
        let id = format!("ecs:{}", s.name);
        let detail = details
            .as_ref()
            .ok()
            .and_then(|d| d.iter().find(|d| d.health.name == s.name.to_string()));
        // Awake: what it runs; asleep: what it will wake to, as the planner decides it.
        let tasks = if s.desired > 0 {
            s.desired
        } else {
            crate::kinds::ecs::wake_count(s, env.kinds.ecs.settings_of(&s.name).default_count)
                .ok()
                .flatten()
                .map_or(0, |(n, _)| n)
        };
        let tasks = tasks.max(0) as u32;
        let size = match (&details, detail) {
            (Err(e), _) => Size::Unknown(e.clone()),
            (Ok(_), None) => Size::Unknown("DescribeServices did not return it".into()),
            (Ok(_), Some(d)) => match spot_share(d, tasks) {
                Err(why) => Size::Unknown(why),
                Ok(spot_tasks) => match &d.task_definition {
                    None => Size::Unknown("no task definition".into()),
                    Some(td) => {
                        if !task_sizes.contains_key(td) {
                            let size = task_size(c, &env.region, td).await;
                            task_sizes.insert(td.clone(), size);
                        }
                        match task_sizes[td].clone() {
                            Size::Fargate {
                                region,
                                cpu_units,
                                memory_mib,
                                arm,
                                os,
                                ..
                            } => Size::Fargate {
                                region,
                                cpu_units,
                                memory_mib,
                                arm,
                                os,
                                tasks,
                                spot_tasks,
                            },
                            other => other,
                        }
                    }
                },
            },
        };
        resources.push(ResourceCost {
            resource: id,
            size,
            sleeps: true,
        });
    }
    resources
}

/// How many of a service's `tasks` run on Fargate Spot, from DescribeServices: a launch type
/// FARGATE with no strategy is all on demand; a capacity provider strategy of FARGATE and
/// FARGATE_SPOT places them by base and weight ([`split_by_strategy`]). `Err` says why the
/// service is not priced as Fargate (an EC2 launch type or capacity provider: its cost is its
/// instances').
fn spot_share(d: &ServiceDetail, tasks: u32) -> Result<u32, String> {
    const EC2: &str = "its cost is the EC2 instances' (priced under the Auto Scaling group's [asg] entry when lightsout sleeps it)";
    if d.capacity_providers.is_empty() {
        return match d.launch_type.as_deref() {
            Some("FARGATE") => Ok(0),
            Some(other) => Err(format!("not on Fargate (launch type {other}): {EC2}")),
            None => Err("no launch type or capacity provider strategy".into()),
        };
    }
    if let Some(p) = d
        .capacity_providers
        .iter()
        .find(|p| p.provider != "FARGATE" && p.provider != "FARGATE_SPOT")
    {
        return Err(format!(
            "not on Fargate (capacity provider {}): {EC2}",
            p.provider
        ));
    }
    let shares: Vec<(u32, u32)> = d
        .capacity_providers
        .iter()
        .map(|p| (p.base, p.weight))
        .collect();
    let placed = split_by_strategy(&shares, tasks);
    Ok(d.capacity_providers
        .iter()
        .zip(placed)
        .filter(|(p, _)| p.provider == "FARGATE_SPOT")
        .map(|(_, n)| n)
        .sum())
}

/// How `tasks` are spread over the providers of a capacity provider strategy, given as
/// `(base, weight)` in the strategy's order, as ECS places them: each provider first gets its
/// base (in order, while tasks remain; ECS allows a base on one provider only), then the rest
/// are shared in proportion to the weights — ECS documents the ratio ("for every one task on A,
/// four on B"), not the rounding, so the shares are rounded by largest remainder, ties to the
/// provider listed first. With no weight at all, the rest stay on the first provider with a
/// base (ECS refuses such a strategy for a service; this only keeps the count whole).
pub(crate) fn split_by_strategy(shares: &[(u32, u32)], tasks: u32) -> Vec<u32> {
    let mut placed = vec![0u32; shares.len()];
    let mut left = tasks;
    for (i, (base, _)) in shares.iter().enumerate() {
        let n = (*base).min(left);
        placed[i] += n;
        left -= n;
    }
    let total: u64 = shares.iter().map(|(_, w)| u64::from(*w)).sum();
    if left == 0 || shares.is_empty() {
        return placed;
    }
    if total == 0 {
        let i = shares.iter().position(|(b, _)| *b > 0).unwrap_or(0);
        placed[i] += left;
        return placed;
    }
    // Whole shares first, then one more each to the largest remainders.
    let mut remainders: Vec<(u64, usize)> = Vec::with_capacity(shares.len());
    let mut given = 0u32;
    for (i, (_, w)) in shares.iter().enumerate() {
        let exact = u64::from(left) * u64::from(*w);
        let whole = (exact / total) as u32;
        placed[i] += whole;
        given += whole;
        remainders.push((exact % total, i));
    }
    // Largest remainder first; on a tie, the provider listed first.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders.into_iter().take((left - given) as usize) {
        placed[i] += 1;
    }
    placed
}

/// The size of a task definition, as priced: `Size::Fargate` with its operating system, and
/// `tasks` and `spot_tasks` set by the caller.
async fn task_size(c: &Clients, region: &str, task_definition: &str) -> Size {
    let out = match c
        .ecs
        .describe_task_definition()
        .task_definition(task_definition)
        .send()
        .paced(c, "ECS", "DescribeTaskDefinition")
        .await
    {
        Ok(o) => o,
        Err(e) => return Size::Unknown(cloud_error("DescribeTaskDefinition", e).to_string()),
    };
    let Some(td) = out.task_definition() else {
        return Size::Unknown(format!("task definition {task_definition} not found"));
    };
    let name = task_definition
        .rsplit('/')
        .next()
        .unwrap_or(task_definition);
    let parse = |v: Option<&str>| v.and_then(|s| s.trim().parse::<u32>().ok());
    let (Some(cpu), Some(memory)) = (parse(td.cpu()), parse(td.memory())) else {
        return Size::Unknown(format!(
            "task definition {name} has no task-level cpu and memory"
        ));
    };
    let platform = td.runtime_platform();
    let arm = platform
        .and_then(|p| p.cpu_architecture())
        .is_some_and(|a| a.as_str() == "ARM64");
    let os = TaskOs::from_family(
        platform
            .and_then(|p| p.operating_system_family())
            .map(|f| f.as_str()),
    );
    if arm && matches!(os, TaskOs::Windows(_)) {
        return Size::Unknown(format!(
            "task definition {name} asks for Windows on ARM64, which Fargate does not offer"
        ));
    }
    Size::Fargate {
        region: region.to_string(),
        cpu_units: cpu,
        memory_mib: memory,
        arm,
        os,
        tasks: 0,
        spot_tasks: 0,
    }
}

/// Makes one ECS or Application Auto Scaling write call.
pub(crate) async fn execute(c: &Clients, step: &Step) -> Result<(), CloudError> {
    match step {
        Step::TagService { arn, tags } => {
            let tags: Vec<Tag> = tags
                .iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect();
            c.ecs
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(tags))
                .send()
                .paced(c, "ECS", "TagResource")
                .await
                .map_err(|e| cloud_error("TagResource", e))?;
        }
        Step::UntagService { arn, keys } => {
            c.ecs
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(keys.clone()))
                .send()
                .paced(c, "ECS", "UntagResource")
                .await
                .map_err(|e| cloud_error("UntagResource", e))?;
        }
        Step::SetBounds { service, bounds } => {
            c.aas
                .register_scalable_target()
                .service_namespace(ServiceNamespace::Ecs)
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .resource_id(service.scalable_id())
                .min_capacity(bounds.min)
                .max_capacity(bounds.max)
                .send()
                .paced(c, "Application Auto Scaling", "RegisterScalableTarget")
                .await
                .map_err(|e| cloud_error("RegisterScalableTarget", e))?;
        }
        Step::SetDesiredCount { service, count } => {
            c.ecs
                .update_service()
                .cluster(&service.cluster)
                .service(&service.service)
                .desired_count(*count)
                .send()
                .paced(c, "ECS", "UpdateService")
                .await
                .map_err(|e| cloud_error("UpdateService", e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{split_by_strategy, spot_share};
    use crate::ports::{CapacityShare, ServiceDetail, ServiceHealth};

    fn service(launch_type: Option<&str>, strategy: &[(&str, u32, u32)]) -> ServiceDetail {
        ServiceDetail {
            health: ServiceHealth {
                name: "c/s".into(),
                desired: 0,
                running: 0,
                asleep: false,
                stuck_deployment: None,
                failed_tasks: Vec::new(),
            },
            task_definition: Some("td:1".into()),
            launch_type: launch_type.map(String::from),
            capacity_providers: strategy
                .iter()
                .map(|(p, base, weight)| CapacityShare {
                    provider: p.to_string(),
                    base: *base,
                    weight: *weight,
                })
                .collect(),
            target_groups: Vec::new(),
        }
    }

    /// The base goes first, to the provider that has it; the rest by weight (1:4 → one on
    /// demand for every four on Spot).
    #[test]
    fn base_first_then_by_weight() {
        // FARGATE base 1 weight 1, FARGATE_SPOT weight 4 (the ECS workshop's strategy).
        let s = [(1, 1), (0, 4)];
        assert_eq!(split_by_strategy(&s, 0), [0, 0]);
        assert_eq!(split_by_strategy(&s, 1), [1, 0]);
        assert_eq!(split_by_strategy(&s, 2), [1, 1]);
        // 1 + 5 by 1:4 = 1 + (1, 4).
        assert_eq!(split_by_strategy(&s, 6), [2, 4]);
        // 1 + 9 by 1:4 = 1 + (1.8, 7.2) → (2, 7): largest remainder.
        assert_eq!(split_by_strategy(&s, 10), [3, 7]);
        // Equal weights: 5 split 3 / 2, the extra one to the provider listed first.
        assert_eq!(split_by_strategy(&[(0, 1), (0, 1)], 5), [3, 2]);
        assert_eq!(split_by_strategy(&[(0, 1), (0, 1)], 4), [2, 2]);
        // A base larger than the task count takes them all.
        assert_eq!(split_by_strategy(&[(0, 1), (3, 1)], 2), [0, 2]);
        // Weight 0 beside a base: the provider gets its base and nothing more.
        assert_eq!(split_by_strategy(&[(2, 0), (0, 1)], 5), [2, 3]);
        // No weight at all: the rest stay on the base's provider.
        assert_eq!(split_by_strategy(&[(0, 0), (1, 0)], 3), [0, 3]);
        for n in 0..40 {
            let got = split_by_strategy(&[(2, 1), (0, 3), (0, 2)], n);
            assert_eq!(got.iter().sum::<u32>(), n, "{got:?}");
        }
    }

    /// A launch type FARGATE is all on demand; FARGATE_SPOT's share of the strategy is Spot;
    /// an EC2 launch type or an Auto Scaling group's provider is not Fargate, and says so.
    #[test]
    fn spot_tasks_of_a_service() {
        assert_eq!(spot_share(&service(Some("FARGATE"), &[]), 4), Ok(0));
        let mixed = service(None, &[("FARGATE", 1, 1), ("FARGATE_SPOT", 0, 3)]);
        assert_eq!(spot_share(&mixed, 5), Ok(3));
        let all_spot = service(None, &[("FARGATE_SPOT", 0, 1)]);
        assert_eq!(spot_share(&all_spot, 3), Ok(3));
        // moto keeps the launch type it created a service with beside the strategy it was
        // updated to: the strategy wins, as on AWS where the two exclude each other.
        let both = service(Some("FARGATE"), &[("FARGATE_SPOT", 1, 1)]);
        assert_eq!(spot_share(&both, 2), Ok(2));
        let e = spot_share(&service(Some("EC2"), &[]), 2).unwrap_err();
        assert!(
            e.contains("launch type EC2") && e.contains("EC2 instances"),
            "{e}"
        );
        let e = spot_share(
            &service(None, &[("FARGATE", 0, 1), ("app-asg-provider", 0, 1)]),
            2,
        )
        .unwrap_err();
        assert!(e.contains("capacity provider app-asg-provider"), "{e}");
        assert!(spot_share(&service(None, &[]), 1).is_err());
    }
}
