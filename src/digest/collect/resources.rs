//! The environment's resources and what one hour of each costs: task sizes × the tasks a
//! service runs awake (or will wake to), and database instance classes.

use std::collections::BTreeMap;

use crate::digest::Digester;
use crate::digest::input::{ResourceCost, Size};
use crate::kinds::Observation;
use crate::model::Environment;
use crate::ports::ServiceDetail;

impl Digester {
    /// What each resource is priced as (or why it cannot be).
    pub(super) async fn resources(
        &self,
        env: &Environment,
        observed: &Observation,
        details: &Result<Vec<ServiceDetail>, String>,
    ) -> Vec<ResourceCost> {
        let db_sizes = if observed.databases.is_empty() {
            Ok(BTreeMap::new())
        } else {
            self.inspect.db_sizes(env).await
        };
        let mut resources = Vec::new();
        let mut task_sizes: BTreeMap<String, Size> = BTreeMap::new();
        for s in &observed.services {
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
            let size = match (details, detail) {
                (Err(e), _) => Size::Unknown(e.clone()),
                (Ok(_), None) => Size::Unknown("DescribeServices did not return it".into()),
                (Ok(_), Some(d)) if !d.fargate => Size::Unknown(
                    "not on Fargate: its cost is the EC2 instances', which lightsout does not stop"
                        .into(),
                ),
                (Ok(_), Some(d)) => match &d.task_definition {
                    None => Size::Unknown("no task definition".into()),
                    Some(td) => {
                        if !task_sizes.contains_key(td) {
                            let size = self.inspect.task_size(env, td).await;
                            task_sizes.insert(td.clone(), size);
                        }
                        match task_sizes[td].clone() {
                            Size::Fargate {
                                region,
                                cpu_units,
                                memory_mib,
                                arm,
                                ..
                            } => Size::Fargate {
                                region,
                                cpu_units,
                                memory_mib,
                                arm,
                                tasks: tasks.max(0) as u32,
                            },
                            other => other,
                        }
                    }
                },
            };
            resources.push(ResourceCost { resource: id, size });
        }
        for db in &observed.databases {
            let id = db.resource_id().to_string();
            let size = match &db_sizes {
                Err(e) => Size::Unknown(e.clone()),
                Ok(sizes) => sizes.get(&id).cloned().unwrap_or_else(|| {
                    Size::Unknown(
                        "no DB instances found for it (Aurora Serverless is not priced)".into(),
                    )
                }),
            };
            resources.push(ResourceCost { resource: id, size });
        }
        resources
    }
}
