//! What lightsout sees of a resource, the tags it keeps on them, and the write calls it makes.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::model::ServiceName;

/// Tag names lightsout reads and writes on resources.
pub mod tags {
    /// On a sleeping ECS service: the desired count to restore.
    pub const DESIRED_COUNT: &str = "lightsout:desired-count";
    /// On a sleeping ECS service: its Application Auto Scaling bounds, `min=1/max=4`.
    pub const AUTOSCALING: &str = "lightsout:autoscaling";
    /// On a sleeping resource: when lightsout put it to sleep (RFC 3339).
    pub const SLEPT_AT: &str = "lightsout:slept-at";
    /// On any resource: leave it alone until this instant (RFC 3339).
    pub const SKIP_UNTIL: &str = "lightsout:skip-until";
}

/// Application Auto Scaling capacity bounds of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Bounds {
    /// Minimum capacity.
    pub min: i32,
    /// Maximum capacity.
    pub max: i32,
}

impl Bounds {
    /// As written in the `lightsout:autoscaling` tag.
    pub fn to_tag(self) -> String {
        format!("min={}/max={}", self.min, self.max)
    }

    /// Reads a `lightsout:autoscaling` tag value.
    pub fn from_tag(s: &str) -> Option<Bounds> {
        let (min, max) = s.trim().split_once('/')?;
        let min = min.strip_prefix("min=")?.parse().ok()?;
        let max = max.strip_prefix("max=")?.parse().ok()?;
        (0 <= min && min <= max).then_some(Bounds { min, max })
    }
}

impl fmt::Display for Bounds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "min {} / max {}", self.min, self.max)
    }
}

/// A resource lightsout manages.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum ResourceId {
    /// An ECS service.
    EcsService(ServiceName),
    /// An RDS DB instance.
    DbInstance(String),
    /// An Aurora DB cluster.
    DbCluster(String),
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResourceId::EcsService(n) => write!(f, "ecs:{n}"),
            ResourceId::DbInstance(id) => write!(f, "rds:{id}"),
            ResourceId::DbCluster(id) => write!(f, "aurora:{id}"),
        }
    }
}

impl serde::Serialize for ServiceName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An ECS service as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedService {
    /// Cluster and service name.
    pub name: ServiceName,
    /// Service ARN.
    pub arn: String,
    /// `ACTIVE`, `DRAINING` or `INACTIVE`.
    pub status: String,
    /// Desired task count.
    pub desired: i32,
    /// Running task count.
    pub running: i32,
    /// The service's tags.
    pub tags: BTreeMap<String, String>,
    /// Its Application Auto Scaling bounds, if it has a scalable target.
    pub scalable: Option<Bounds>,
}

impl ObservedService {
    /// Put to sleep by lightsout: at 0 tasks with its recorded count on it.
    pub fn slept(&self) -> bool {
        self.desired == 0 && self.tags.contains_key(tags::DESIRED_COUNT)
    }
}

/// Whether a database is an instance or an Aurora cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DbKind {
    /// An RDS DB instance.
    Instance,
    /// An Aurora DB cluster.
    Cluster,
}

/// An RDS instance or Aurora cluster as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedDb {
    /// Instance or cluster.
    pub kind: DbKind,
    /// Identifier.
    pub id: String,
    /// ARN.
    pub arn: String,
    /// Status: `available`, `stopped`, `stopping`, `starting`, ...
    pub status: String,
    /// Engine, like `postgres` or `aurora-postgresql`.
    pub engine: String,
    /// Engine mode of a cluster (`provisioned`, `serverless`), if known.
    pub engine_mode: Option<String>,
    /// For an instance: the Aurora cluster it belongs to.
    pub member_of: Option<String>,
    /// The instance or cluster this one replicates, if it is a replica.
    pub replica_of: Option<String>,
    /// Replicas of this one.
    pub replicas: Vec<String>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

impl ObservedDb {
    /// The id the planner knows it by.
    pub fn resource_id(&self) -> ResourceId {
        match self.kind {
            DbKind::Instance => ResourceId::DbInstance(self.id.clone()),
            DbKind::Cluster => ResourceId::DbCluster(self.id.clone()),
        }
    }
}

/// Everything observed of one environment in one pass.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    /// Selected ECS services.
    pub services: Vec<ObservedService>,
    /// Selected databases.
    pub databases: Vec<ObservedDb>,
    /// Resources named in the configuration that do not exist.
    pub missing: Vec<ResourceId>,
    /// ECS services or scalable targets that could not be observed, and why; the planner does
    /// not stop databases while services are unknown.
    pub ecs_errors: Vec<String>,
    /// Databases that could not be observed, and why; the planner does not wake services that
    /// wait for unknown databases.
    pub rds_errors: Vec<String>,
    /// The services' scalable targets could not be read: `scalable: None` then means "unknown",
    /// not "none", and no service may be acted on (its bounds could be lost).
    pub scalable_unknown: bool,
}

impl Observation {
    /// Everything that could not be observed.
    pub fn errors(&self) -> Vec<String> {
        self.ecs_errors
            .iter()
            .chain(&self.rds_errors)
            .cloned()
            .collect()
    }
}

/// One write call to AWS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum Step {
    /// ECS `TagResource` on a service.
    TagService {
        /// Service ARN.
        arn: String,
        /// Tags to set.
        tags: BTreeMap<String, String>,
    },
    /// ECS `UntagResource` on a service.
    UntagService {
        /// Service ARN.
        arn: String,
        /// Tag keys to remove.
        keys: Vec<String>,
    },
    /// Application Auto Scaling `RegisterScalableTarget` with new bounds.
    SetBounds {
        /// The service.
        service: ServiceName,
        /// New bounds.
        bounds: Bounds,
    },
    /// ECS `UpdateService` with a new desired count.
    SetDesiredCount {
        /// The service.
        service: ServiceName,
        /// New desired count.
        count: i32,
    },
    /// RDS `StopDBInstance` or `StopDBCluster`.
    StopDb {
        /// Instance or cluster.
        kind: DbKind,
        /// Identifier.
        id: String,
    },
    /// RDS `StartDBInstance` or `StartDBCluster`.
    StartDb {
        /// Instance or cluster.
        kind: DbKind,
        /// Identifier.
        id: String,
    },
    /// RDS `AddTagsToResource`.
    TagDb {
        /// ARN.
        arn: String,
        /// Tags to set.
        tags: BTreeMap<String, String>,
    },
    /// RDS `RemoveTagsFromResource`.
    UntagDb {
        /// ARN.
        arn: String,
        /// Tag keys to remove.
        keys: Vec<String>,
    },
}

impl Step {
    /// The AWS API operation it calls.
    pub fn operation(&self) -> &'static str {
        match self {
            Step::TagService { .. } => "TagResource",
            Step::UntagService { .. } => "UntagResource",
            Step::SetBounds { .. } => "RegisterScalableTarget",
            Step::SetDesiredCount { .. } => "UpdateService",
            Step::StopDb {
                kind: DbKind::Instance,
                ..
            } => "StopDBInstance",
            Step::StopDb {
                kind: DbKind::Cluster,
                ..
            } => "StopDBCluster",
            Step::StartDb {
                kind: DbKind::Instance,
                ..
            } => "StartDBInstance",
            Step::StartDb {
                kind: DbKind::Cluster,
                ..
            } => "StartDBCluster",
            Step::TagDb { .. } => "AddTagsToResource",
            Step::UntagDb { .. } => "RemoveTagsFromResource",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = |k: &DbKind| match k {
            DbKind::Instance => "DBInstance",
            DbKind::Cluster => "DBCluster",
        };
        match self {
            Step::TagService { tags, .. } | Step::TagDb { tags, .. } => {
                let list: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(f, "tag {}", list.join(", "))
            }
            Step::UntagService { keys, .. } | Step::UntagDb { keys, .. } => {
                write!(f, "untag {}", keys.join(", "))
            }
            Step::SetBounds { bounds, .. } => write!(f, "set autoscaling {bounds}"),
            Step::SetDesiredCount { count, .. } => write!(f, "set desired count {count}"),
            Step::StopDb { kind: k, .. } => write!(f, "Stop{}", kind(k)),
            Step::StartDb { kind: k, .. } => write!(f, "Start{}", kind(k)),
        }
    }
}
