//! EC2 Auto Scaling groups: observed (named ones by name, selectors as tag filters), resized and
//! tagged, and priced by the instance types they run or will run.

use super::pace::Paced;
use std::collections::BTreeMap;

use aws_sdk_autoscaling::types::{AutoScalingGroup, Filter, LifecycleState, Tag};

use super::{Clients, Pages, cloud_error};
use crate::kinds::asg::{Launch, ObservedGroup, Step};
use crate::kinds::{Kind, Observation, ResourceId};
use crate::model::Environment;
use crate::ports::{CloudError, ResourceCost, Size};

/// `DescribeAutoScalingGroups` pages at most 100 groups, and takes at most 100 names a call.
const PAGE: usize = 100;

/// Observes the groups `env` selects into `obs`.
pub(crate) async fn observe(c: &Clients, env: &Environment, obs: &mut Observation) {
    let sel = &env.kinds.asg;
    if sel.is_empty() {
        return;
    }
    let mut seen: BTreeMap<String, ObservedGroup> = BTreeMap::new();
    for batch in sel.groups.chunks(PAGE) {
        match describe(c, batch.to_vec(), Vec::new()).await {
            Ok(groups) => seen.extend(groups.into_iter().map(|g| (g.name.clone(), g))),
            Err(e) => return obs.errors.push((Kind::Asg, format!("asg: {e}"))),
        }
    }
    // One filtered series of pages per selector: AWS matches `tag:KEY` filters, ANDed.
    for tags in &sel.select {
        let filters = tags
            .iter()
            .map(|(k, v)| {
                Filter::builder()
                    .name(format!("tag:{k}"))
                    .values(v.clone())
                    .build()
            })
            .collect();
        match describe(c, Vec::new(), filters).await {
            Ok(groups) => {
                for g in groups {
                    // Filtered by AWS; checked again so a looser emulator cannot widen it.
                    if crate::kinds::matches(&g.tags, tags) {
                        seen.entry(g.name.clone()).or_insert(g);
                    }
                }
            }
            Err(e) => return obs.errors.push((Kind::Asg, format!("asg: {e}"))),
        }
    }
    for name in &sel.groups {
        if !seen.contains_key(name) {
            obs.missing
                .push(ResourceId::AutoScalingGroup(name.to_string()));
        }
    }
    obs.groups.extend(seen.into_values());
}

/// Every group with these names (all of them when both are empty) matching `filters`.
async fn describe(
    c: &Clients,
    names: Vec<String>,
    filters: Vec<Filter>,
) -> Result<Vec<ObservedGroup>, CloudError> {
    let mut out = Vec::new();
    let mut pages = Pages::new();
    let mut token = None;
    loop {
        let page = c
            .autoscaling
            .describe_auto_scaling_groups()
            .set_auto_scaling_group_names((!names.is_empty()).then(|| names.clone()))
            .set_filters((!filters.is_empty()).then(|| filters.clone()))
            .max_records(PAGE as i32)
            .set_next_token(token)
            .send()
            .paced(c, "Auto Scaling", "DescribeAutoScalingGroups")
            .await
            .map_err(|e| cloud_error("DescribeAutoScalingGroups", e))?;
        out.extend(page.auto_scaling_groups().iter().filter_map(observed));
        match pages.next("DescribeAutoScalingGroups", page.next_token())? {
            Some(t) => token = Some(t),
            None => return Ok(out),
        }
    }
}

fn observed(g: &AutoScalingGroup) -> Option<ObservedGroup> {
    let instances = g.instances();
    let in_service = instances
        .iter()
        .filter(|i| i.lifecycle_state() == Some(&LifecycleState::InService))
        .count();
    let launch = if let Some(t) = g
        .mixed_instances_policy()
        .and_then(|p| p.launch_template())
        .and_then(|t| t.overrides().iter().find_map(|o| o.instance_type()))
    {
        Launch::Type(t.to_string())
    } else if let Some(t) = g.launch_template() {
        Launch::Template {
            id: t
                .launch_template_id()
                .or(t.launch_template_name())
                .unwrap_or_default()
                .to_string(),
            by_name: t.launch_template_id().is_none(),
            version: t.version().unwrap_or("$Default").to_string(),
        }
    } else if let Some(lc) = g.launch_configuration_name() {
        Launch::Configuration(lc.to_string())
    } else {
        Launch::Unknown
    };
    Some(ObservedGroup {
        name: g.auto_scaling_group_name()?.to_string(),
        min: g.min_size().unwrap_or(0),
        max: g.max_size().unwrap_or(0),
        desired: g.desired_capacity().unwrap_or(0),
        in_service: i32::try_from(in_service).unwrap_or(i32::MAX),
        instances: i32::try_from(instances.len()).unwrap_or(i32::MAX),
        protected: i32::try_from(
            instances
                .iter()
                .filter(|i| i.protected_from_scale_in() == Some(true))
                .count(),
        )
        .unwrap_or(i32::MAX),
        protects_new: g.new_instances_protected_from_scale_in() == Some(true),
        instance_types: instances
            .iter()
            .filter_map(|i| i.instance_type().map(String::from))
            .collect(),
        launch,
        status: g.status().map(String::from),
        tags: g
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
            .collect(),
    })
}

/// What each group is priced as: the instance types it runs awake, or — asleep — its recorded
/// capacity of the type its launch template or configuration starts.
pub(crate) async fn priced(
    c: &Clients,
    env: &Environment,
    groups: &[ObservedGroup],
) -> Vec<ResourceCost> {
    let mut out = Vec::new();
    for g in groups {
        let size = if !g.instance_types.is_empty() {
            Ok(g.instance_types.clone())
        } else {
            let count = g.wake_capacity().max(0) as usize;
            launch_type(c, &g.launch).await.map(|t| vec![t; count])
        };
        out.push(ResourceCost {
            resource: ResourceId::AutoScalingGroup(g.name.clone()).to_string(),
            size: match size {
                Ok(types) if types.is_empty() => {
                    Size::Unknown("no instances, and none recorded to wake to".into())
                }
                Ok(types) => Size::Database {
                    region: env.region.clone(),
                    classes: types,
                    engine: crate::kinds::asg::EC2_PRODUCT.into(),
                    multi_az: false,
                },
                Err(why) => Size::Unknown(why),
            },
            sleeps: true,
        });
    }
    out
}

/// The instance type a launch template or configuration starts.
async fn launch_type(c: &Clients, launch: &Launch) -> Result<String, String> {
    match launch {
        Launch::Type(t) => Ok(t.clone()),
        Launch::Unknown => Err("no launch template or configuration to read its type".into()),
        Launch::Configuration(name) => {
            let out = c
                .autoscaling
                .describe_launch_configurations()
                .launch_configuration_names(name)
                .send()
                .paced(c, "Auto Scaling", "DescribeLaunchConfigurations")
                .await
                .map_err(|e| cloud_error("DescribeLaunchConfigurations", e).to_string())?;
            out.launch_configurations()
                .iter()
                .find_map(|l| l.instance_type().map(String::from))
                .ok_or_else(|| format!("launch configuration {name} not found"))
        }
        Launch::Template {
            id,
            by_name,
            version,
        } => {
            let call = c.ec2.describe_launch_template_versions().versions(version);
            let call = if *by_name {
                call.launch_template_name(id)
            } else {
                call.launch_template_id(id)
            };
            let out = call
                .send()
                .paced(c, "EC2", "DescribeLaunchTemplateVersions")
                .await
                .map_err(|e| cloud_error("DescribeLaunchTemplateVersions", e).to_string())?;
            out.launch_template_versions()
                .iter()
                .find_map(|v| {
                    v.launch_template_data()
                        .and_then(|d| d.instance_type())
                        .map(|t| t.as_str().to_string())
                })
                .ok_or_else(|| format!("launch template {id} ({version}) names no instance type"))
        }
    }
}

/// Makes one Auto Scaling write call.
pub(crate) async fn execute(c: &Clients, step: &Step) -> Result<(), CloudError> {
    match step {
        Step::TagGroup { group, tags } => {
            let tags: Vec<Tag> = tags
                .iter()
                .map(|(k, v)| {
                    Tag::builder()
                        .resource_id(group)
                        .resource_type("auto-scaling-group")
                        .key(k)
                        .value(v)
                        // The group's memory, not its instances': never copied to them.
                        .propagate_at_launch(false)
                        .build()
                })
                .collect();
            c.autoscaling
                .create_or_update_tags()
                .set_tags(Some(tags))
                .send()
                .paced(c, "Auto Scaling", "CreateOrUpdateTags")
                .await
                .map_err(|e| cloud_error("CreateOrUpdateTags", e))?;
        }
        Step::UntagGroup { group, keys } => {
            let tags: Vec<Tag> = keys
                .iter()
                .map(|k| {
                    Tag::builder()
                        .resource_id(group)
                        .resource_type("auto-scaling-group")
                        .key(k)
                        .build()
                })
                .collect();
            c.autoscaling
                .delete_tags()
                .set_tags(Some(tags))
                .send()
                .paced(c, "Auto Scaling", "DeleteTags")
                .await
                .map_err(|e| cloud_error("DeleteTags", e))?;
        }
        Step::SetCapacity {
            group,
            min,
            max,
            desired,
        } => {
            c.autoscaling
                .update_auto_scaling_group()
                .auto_scaling_group_name(group)
                .min_size(*min)
                .max_size(*max)
                .desired_capacity(*desired)
                .send()
                .paced(c, "Auto Scaling", "UpdateAutoScalingGroup")
                .await
                .map_err(|e| cloud_error("UpdateAutoScalingGroup", e))?;
        }
    }
    Ok(())
}
