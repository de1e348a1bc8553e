//! EC2 instances: observed (named ones through an `instance-id` filter, so an id that does not
//! exist is reported missing instead of failing the call; selectors as `tag:KEY` filters),
//! stopped, started and tagged, and priced by their instance type.

use super::pace::Paced;
use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Filter, Instance, Tag};

use super::{Clients, Pages, cloud_error};
use crate::kinds::ec2::{InstanceState, ObservedInstance, Step};
use crate::kinds::{Kind, Observation, ResourceId};
use crate::model::Environment;
use crate::ports::{CloudError, ResourceCost, Size};

/// Values one filter takes at most (AWS: 200), and instances a page (AWS: up to 1000).
const FILTER_VALUES: usize = 200;
const PAGE: i32 = 1000;

/// Observes the instances `env` selects into `obs`.
pub(crate) async fn observe(c: &Clients, env: &Environment, obs: &mut Observation) {
    let sel = &env.kinds.ec2;
    if sel.is_empty() {
        return;
    }
    let mut seen: BTreeMap<String, ObservedInstance> = BTreeMap::new();
    let mut filters: Vec<Vec<Filter>> = sel
        .instances
        .chunks(FILTER_VALUES)
        .map(|ids| {
            vec![
                Filter::builder()
                    .name("instance-id")
                    .set_values(Some(ids.to_vec()))
                    .build(),
            ]
        })
        .collect();
    for tags in &sel.select {
        filters.push(
            tags.iter()
                .map(|(k, v)| {
                    Filter::builder()
                        .name(format!("tag:{k}"))
                        .values(v.clone())
                        .build()
                })
                .collect(),
        );
    }
    for f in filters {
        match describe(c, f).await {
            Ok(found) => {
                for i in found {
                    let named = sel.instances.contains(&i.id);
                    // Filtered by AWS; checked again so a looser emulator cannot widen it.
                    if named || sel.select.iter().any(|s| crate::kinds::matches(&i.tags, s)) {
                        seen.entry(i.id.clone()).or_insert(i);
                    }
                }
            }
            Err(e) => return obs.errors.push((Kind::Ec2, format!("ec2: {e}"))),
        }
    }
    for id in &sel.instances {
        if !seen.contains_key(id) {
            obs.missing.push(ResourceId::Ec2Instance(id.clone()));
        }
    }
    obs.instances.extend(seen.into_values());
}

async fn describe(c: &Clients, filters: Vec<Filter>) -> Result<Vec<ObservedInstance>, CloudError> {
    let mut out = Vec::new();
    let mut pages = Pages::new();
    let mut token = None;
    loop {
        let page = c
            .ec2
            .describe_instances()
            .set_filters(Some(filters.clone()))
            .max_results(PAGE)
            .set_next_token(token)
            .send()
            .paced(c, "EC2", "DescribeInstances")
            .await
            .map_err(|e| cloud_error("DescribeInstances", e))?;
        for r in page.reservations() {
            out.extend(r.instances().iter().filter_map(observed));
        }
        match pages.next("DescribeInstances", page.next_token())? {
            Some(t) => token = Some(t),
            None => return Ok(out),
        }
    }
}

fn observed(i: &Instance) -> Option<ObservedInstance> {
    Some(ObservedInstance {
        id: i.instance_id()?.to_string(),
        state: InstanceState::parse(
            i.state()
                .and_then(|s| s.name())
                .map_or("unknown", |n| n.as_str()),
        ),
        instance_type: i.instance_type().map_or("?", |t| t.as_str()).to_string(),
        lifecycle: i.instance_lifecycle().map(|l| l.as_str().to_string()),
        root_device_type: i
            .root_device_type()
            .map_or("ebs", |t| t.as_str())
            .to_string(),
        hibernation: i
            .hibernation_options()
            .and_then(|h| h.configured())
            .unwrap_or(false),
        tags: i
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
            .collect(),
    })
}

/// What each instance is priced as: its type, an instance-hour each hour it runs.
pub(crate) fn priced(env: &Environment, instances: &[ObservedInstance]) -> Vec<ResourceCost> {
    instances
        .iter()
        .map(|i| ResourceCost {
            resource: ResourceId::Ec2Instance(i.id.clone()).to_string(),
            size: Size::Database {
                region: env.region.clone(),
                classes: vec![i.instance_type.clone()],
                engine: crate::kinds::asg::EC2_PRODUCT.into(),
                multi_az: false,
            },
            sleeps: i.cannot_stop().is_none(),
        })
        .collect()
}

/// Makes one EC2 write call.
pub(crate) async fn execute(c: &Clients, step: &Step) -> Result<(), CloudError> {
    match step {
        Step::StopInstance { id, hibernate } => {
            c.ec2
                .stop_instances()
                .instance_ids(id)
                .set_hibernate(hibernate.then_some(true))
                .send()
                .paced(c, "EC2", "StopInstances")
                .await
                .map_err(|e| cloud_error("StopInstances", e))?;
        }
        Step::StartInstance { id } => {
            c.ec2
                .start_instances()
                .instance_ids(id)
                .send()
                .paced(c, "EC2", "StartInstances")
                .await
                .map_err(|e| cloud_error("StartInstances", e))?;
        }
        Step::TagInstance { id, tags } => {
            let tags: Vec<Tag> = tags
                .iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect();
            c.ec2
                .create_tags()
                .resources(id)
                .set_tags(Some(tags))
                .send()
                .paced(c, "EC2", "CreateTags")
                .await
                .map_err(|e| cloud_error("CreateTags", e))?;
        }
        Step::UntagInstance { id, keys } => {
            let tags: Vec<Tag> = keys.iter().map(|k| Tag::builder().key(k).build()).collect();
            c.ec2
                .delete_tags()
                .resources(id)
                .set_tags(Some(tags))
                .send()
                .paced(c, "EC2", "DeleteTags")
                .await
                .map_err(|e| cloud_error("DeleteTags", e))?;
        }
    }
    Ok(())
}
