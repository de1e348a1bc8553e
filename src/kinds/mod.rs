//! Resource kinds: what lightsout sees of each kind of resource, the write calls it makes, and
//! the rules that put one to sleep and wake it — one file per kind, and this module, the one
//! place that dispatches over them (an enum with an arm per kind, like mini-redis's `Command`:
//! the compiler lists every place a new kind must be handled, and they are all here).
//!
//! - [`alb`]: ALB listener rules switched between the app and the wake page (tier: door).
//! - [`ecs`]: ECS services and their Application Auto Scaling bounds (tier: apps).
//! - [`asg`]: EC2 Auto Scaling groups, such as an ECS capacity provider's (tier: capacity).
//! - [`ec2`]: EC2 instances, such as a bastion (tier: compute).
//! - [`rds`]: RDS DB instances and Aurora DB clusters (tier: data).
//! - [`docdb`]: DocumentDB and Neptune clusters, two kinds on the RDS API (tier: data).
//! - [`redshift`]: Redshift provisioned clusters, paused and resumed (tier: data).
//! - [`elasticache`]: ElastiCache caches, reported only: AWS cannot stop them (tier: data).
//!
//! Shared by every kind: [`ResourceId`], the [`tags`] lightsout keeps on resources, the
//! production [`Guard`], [`Tier`] (the order of a whole environment: the door and then the apps
//! sleep first and wake last), and [`Observation`] (one pass's view of an environment).
//!
//! Pure: no I/O. The AWS side of each kind is in `crate::aws`, its table is read from the
//! schedule file with [`crate::diag::Reader`].
//!
//! Adding a kind: see "Adding a resource kind" in the README.

pub mod alb;
pub mod asg;
pub mod docdb;
pub mod ec2;
pub mod ecs;
pub mod elasticache;
pub mod rds;
pub mod redshift;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use toml::de::DeTable;

use crate::diag::{Reader, lookup};

pub use alb::ObservedRule;
pub use ecs::{Bounds, ObservedService, Scalable, ServiceName};
pub use rds::{DbKind, DbStatus, ObservedDb};

/// Tag names lightsout reads and writes on resources (each kind's own are in its file).
pub mod tags {
    pub use super::ecs::{AUTOSCALING, DESIRED_COUNT};
    /// On a sleeping resource: when lightsout put it to sleep (RFC 3339).
    pub const SLEPT_AT: &str = "lightsout:slept-at";
    /// On any resource: leave it alone until this instant (RFC 3339).
    pub const SKIP_UNTIL: &str = "lightsout:skip-until";

    /// Tags as a plan shows a tag step: `k1=v1, k2=v2`.
    pub fn list(tags: &std::collections::BTreeMap<String, String>) -> String {
        let parts: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        parts.join(", ")
    }
}

/// Tags that must all be present, with these exact values.
pub type TagSelector = BTreeMap<String, String>;

/// Whether every tag of `sel` is on a resource with these tags.
pub fn matches(tags: &BTreeMap<String, String>, sel: &TagSelector) -> bool {
    sel.iter().all(|(k, v)| tags.get(k) == Some(v))
}

/// A tag that marks a resource as production: its key (compared without regard to case) and
/// the values that count (likewise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductionTag {
    /// Tag key.
    pub key: String,
    /// Values that mark production.
    pub values: Vec<String>,
}

/// The production guard: resources it matches are never acted on.
///
/// The built-in rule (`Environment` or `env` equal to `production` or `prod`) is always in force;
/// configuration can only add to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guard {
    /// Tags that mark production: the built-in ones and any the configuration adds.
    pub production_tags: Vec<ProductionTag>,
    /// Tags every resource must carry to be acted on (empty: no such requirement).
    pub require_tags: TagSelector,
}

impl Default for Guard {
    fn default() -> Self {
        let values = vec!["production".to_string(), "prod".to_string()];
        Guard {
            production_tags: vec![
                ProductionTag {
                    key: "Environment".into(),
                    values: values.clone(),
                },
                ProductionTag {
                    key: "env".into(),
                    values,
                },
            ],
            require_tags: TagSelector::new(),
        }
    }
}

impl Guard {
    /// Why the guard refuses a resource with these tags, if it does.
    pub fn refusal(&self, tags: &BTreeMap<String, String>) -> Option<String> {
        for rule in &self.production_tags {
            for (k, v) in tags {
                if k.eq_ignore_ascii_case(&rule.key)
                    && rule.values.iter().any(|p| p.eq_ignore_ascii_case(v.trim()))
                {
                    return Some(format!("tagged {k}={v}: production is never touched"));
                }
            }
        }
        for (k, v) in &self.require_tags {
            if tags.get(k) != Some(v) {
                return Some(format!(
                    "lacks the required tag {k}={v} (guard.require_tags)"
                ));
            }
        }
        None
    }
}

/// The kinds of resource lightsout manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// ALB listener rules (the front door).
    Alb,
    /// ECS services.
    Ecs,
    /// EC2 Auto Scaling groups.
    Asg,
    /// EC2 instances.
    Ec2,
    /// RDS instances and Aurora clusters.
    Rds,
    /// ElastiCache caches.
    ElastiCache,
    /// Redshift provisioned clusters.
    Redshift,
    /// DocumentDB clusters.
    DocDb,
    /// Neptune clusters.
    Neptune,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 9] = [
        Kind::Alb,
        Kind::Ecs,
        Kind::Asg,
        Kind::Ec2,
        Kind::Rds,
        Kind::ElastiCache,
        Kind::Redshift,
        Kind::DocDb,
        Kind::Neptune,
    ];

    /// Where a whole environment's order puts this kind.
    pub fn tier(self) -> Tier {
        match self {
            Kind::Alb => Tier::Door,
            Kind::Ecs => Tier::App,
            Kind::Asg => Tier::Capacity,
            Kind::Ec2 => Tier::Compute,
            Kind::Rds | Kind::ElastiCache | Kind::Redshift | Kind::DocDb | Kind::Neptune => {
                Tier::Data
            }
        }
    }

    /// What its resources are called, plural: `services`, `databases`.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Alb => "listener rules",
            Kind::Ecs => "services",
            Kind::Asg => "Auto Scaling groups",
            Kind::Ec2 => "instances",
            Kind::Rds => "databases",
            Kind::ElastiCache => "caches",
            Kind::Redshift => "Redshift clusters",
            Kind::DocDb => "DocumentDB clusters",
            Kind::Neptune => "Neptune clusters",
        }
    }

    /// Whether lightsout can put its resources to sleep (those it cannot are reported: they
    /// keep costing while the environment sleeps).
    pub fn can_sleep(self) -> bool {
        match self {
            Kind::Alb
            | Kind::Ecs
            | Kind::Asg
            | Kind::Ec2
            | Kind::Rds
            | Kind::Redshift
            | Kind::DocDb
            | Kind::Neptune => true,
            Kind::ElastiCache => false,
        }
    }

    /// Fallback prices this kind ships (in the price table's format), beside the table the
    /// digest ships; empty when the shipped table covers it.
    pub fn prices(self) -> &'static str {
        match self {
            Kind::Alb | Kind::Ecs | Kind::Asg | Kind::Ec2 | Kind::Rds => "",
            Kind::ElastiCache => elasticache::PRICES,
            Kind::Redshift => redshift::PRICES,
            // One fragment for both engines (merged twice: the same tables).
            Kind::DocDb | Kind::Neptune => docdb::PRICES,
        }
    }

    /// About how long one of its resources takes, once started, to be ready for what depends on
    /// it: the upper end of the usual time, since AWS publishes no figure for most of these
    /// (estimates for a wake's "ready about", never a deadline).
    ///
    /// - ECS services: tasks placed and passing their health check, about 2 minutes.
    /// - Auto Scaling groups: instances launched, booted and `InService`, 2–5 minutes (the
    ///   group's health check grace period, 300 s by default in the console, comes on top for
    ///   ELB health checks: <https://docs.aws.amazon.com/autoscaling/ec2/userguide/health-check-grace-period.html>).
    /// - EC2 instances: `pending` to `running`, 1–2 minutes.
    /// - RDS instances and Aurora clusters: about 10 minutes.
    /// - DocumentDB and Neptune clusters: started like Aurora, every instance at once, 5–15
    ///   minutes (<https://docs.aws.amazon.com/documentdb/latest/developerguide/db-cluster-stop-start.html>).
    /// - Redshift: resuming restores the cluster from the snapshot taken when it paused, 10–15
    ///   minutes (<https://docs.aws.amazon.com/redshift/latest/mgmt/rs-mgmt-pause-resume-cluster.html>).
    /// - The door's rule flips at once; a cache never stops.
    pub fn start_time(self) -> TimeDelta {
        TimeDelta::minutes(match self {
            Kind::Alb | Kind::ElastiCache => 0,
            Kind::Ecs | Kind::Ec2 => 2,
            Kind::Asg => 5,
            Kind::Rds | Kind::DocDb | Kind::Neptune => 10,
            Kind::Redshift => 15,
        })
    }

    /// Its table in schedule files.
    pub fn table(self) -> &'static str {
        match self {
            Kind::Alb => "alb",
            Kind::Ecs => "ecs",
            Kind::Asg => "asg",
            Kind::Ec2 => "ec2",
            Kind::Rds => "rds",
            Kind::ElastiCache => "elasticache",
            Kind::Redshift => "redshift",
            Kind::DocDb => "docdb",
            Kind::Neptune => "neptune",
        }
    }
}

/// The order of a whole environment: going to sleep, a tier sleeps only after the tiers before it
/// (the apps that use the data) have; waking, the reverse, each tier waiting until the ones after
/// it are ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// The front door: ALB rules, switched to the wake page before the apps sleep and back only
    /// once they are healthy.
    Door,
    /// Applications: ECS services.
    App,
    /// What the applications run on: Auto Scaling groups (an ECS capacity provider's).
    Capacity,
    /// Instances on their own: EC2 (a bastion, a build box).
    Compute,
    /// Data: databases.
    Data,
}

/// A resource lightsout manages.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum ResourceId {
    /// An ALB listener rule, by ARN.
    AlbRule(String),
    /// An ECS service.
    EcsService(ServiceName),
    /// An EC2 Auto Scaling group.
    AutoScalingGroup(String),
    /// An EC2 instance.
    Ec2Instance(String),
    /// An RDS DB instance.
    DbInstance(String),
    /// An Aurora DB cluster.
    DbCluster(String),
    /// An ElastiCache replication group or cache cluster.
    CacheCluster(String),
    /// A Redshift provisioned cluster.
    RedshiftCluster(String),
    /// A DocumentDB cluster.
    DocDbCluster(String),
    /// A Neptune cluster.
    NeptuneCluster(String),
}

impl ResourceId {
    /// Its kind.
    pub fn kind(&self) -> Kind {
        match self {
            ResourceId::AlbRule(_) => Kind::Alb,
            ResourceId::EcsService(_) => Kind::Ecs,
            ResourceId::AutoScalingGroup(_) => Kind::Asg,
            ResourceId::Ec2Instance(_) => Kind::Ec2,
            ResourceId::DbInstance(_) | ResourceId::DbCluster(_) => Kind::Rds,
            ResourceId::CacheCluster(_) => Kind::ElastiCache,
            ResourceId::RedshiftCluster(_) => Kind::Redshift,
            ResourceId::DocDbCluster(_) => Kind::DocDb,
            ResourceId::NeptuneCluster(_) => Kind::Neptune,
        }
    }

    /// What it is, for people: `ECS service backend in cluster app`, `RDS DB instance db`.
    pub fn describe(&self) -> String {
        match self {
            ResourceId::AlbRule(arn) => format!("ALB listener rule {}", alb::short(arn)),
            ResourceId::EcsService(n) => {
                format!("ECS service {} in cluster {}", n.service, n.cluster)
            }
            ResourceId::AutoScalingGroup(x) => format!("Auto Scaling group {x}"),
            ResourceId::Ec2Instance(x) => format!("EC2 instance {x}"),
            ResourceId::DbInstance(x) => format!("RDS DB instance {x}"),
            ResourceId::DbCluster(x) => format!("Aurora DB cluster {x}"),
            ResourceId::CacheCluster(x) => format!("ElastiCache cluster {x}"),
            ResourceId::RedshiftCluster(x) => format!("Redshift cluster {x}"),
            ResourceId::DocDbCluster(x) => format!("DocumentDB cluster {x}"),
            ResourceId::NeptuneCluster(x) => format!("Neptune cluster {x}"),
        }
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResourceId::AlbRule(arn) => write!(f, "alb:{}", alb::short(arn)),
            ResourceId::EcsService(n) => write!(f, "ecs:{n}"),
            ResourceId::AutoScalingGroup(id) => write!(f, "asg:{id}"),
            ResourceId::Ec2Instance(id) => write!(f, "ec2:{id}"),
            ResourceId::DbInstance(id) => write!(f, "rds:{id}"),
            ResourceId::DbCluster(id) => write!(f, "aurora:{id}"),
            ResourceId::CacheCluster(id) => write!(f, "elasticache:{id}"),
            ResourceId::RedshiftCluster(id) => write!(f, "redshift:{id}"),
            ResourceId::DocDbCluster(id) => write!(f, "docdb:{id}"),
            ResourceId::NeptuneCluster(id) => write!(f, "neptune:{id}"),
        }
    }
}

/// The resource tables of a schedule file (`[ecs]`, `[rds]`): which resources an environment is
/// made of, and their settings.
#[derive(Debug, Clone, Default)]
pub struct Tables {
    /// `[alb]`.
    pub alb: alb::Selection,
    /// `[ecs]`.
    pub ecs: ecs::Selection,
    /// `[asg]`.
    pub asg: asg::Selection,
    /// `[ec2]`.
    pub ec2: ec2::Selection,
    /// `[rds]`.
    pub rds: rds::Selection,
    /// `[elasticache]`.
    pub elasticache: elasticache::Selection,
    /// `[redshift]`.
    pub redshift: redshift::Selection,
    /// `[docdb]`.
    pub docdb: docdb::Selection,
    /// `[neptune]`.
    pub neptune: docdb::Selection,
}

impl Tables {
    /// The top-level keys of the resource tables.
    pub const KEYS: [&'static str; 9] = [
        "ecs",
        "asg",
        "ec2",
        "rds",
        "elasticache",
        "redshift",
        "docdb",
        "neptune",
        "alb",
    ];

    /// Reads the resource tables of a schedule file's root table. Data-tier tables are read
    /// first, so the apps' `depends_on` can name what they depend on.
    pub fn parse(rd: &mut Reader<'_, '_>, root: &DeTable<'_>) -> Tables {
        let mut tables = Tables::default();
        if let Some(v) = lookup(root, "rds")
            && let Some(t) = rd.table(v, "rds")
        {
            tables.rds = rds::Selection::parse(rd, t);
        }
        if let Some(v) = lookup(root, "elasticache")
            && let Some(t) = rd.table(v, "elasticache")
        {
            tables.elasticache = elasticache::Selection::parse(rd, t);
        }
        if let Some(v) = lookup(root, "redshift")
            && let Some(t) = rd.table(v, "redshift")
        {
            tables.redshift = redshift::Selection::parse(rd, t);
        }
        for engine in [docdb::Engine::DocDb, docdb::Engine::Neptune] {
            if let Some(v) = lookup(root, engine.name())
                && let Some(t) = rd.table(v, engine.name())
            {
                *tables.engine_mut(engine) = docdb::Selection::parse(rd, t, engine);
            }
        }
        if let Some(v) = lookup(root, "asg")
            && let Some(t) = rd.table(v, "asg")
        {
            tables.asg = asg::Selection::parse(rd, t);
        }
        if let Some(v) = lookup(root, "ec2")
            && let Some(t) = rd.table(v, "ec2")
        {
            tables.ec2 = ec2::Selection::parse(rd, t);
        }
        let data: BTreeSet<&str> = tables
            .rds
            .named()
            .chain(tables.redshift.clusters.iter().map(String::as_str))
            .chain(tables.docdb.clusters.iter().map(String::as_str))
            .chain(tables.neptune.clusters.iter().map(String::as_str))
            .collect();
        if let Some(v) = lookup(root, "ecs")
            && let Some(t) = rd.table(v, "ecs")
        {
            tables.ecs = ecs::Selection::parse(rd, t, &data);
        }
        if let Some(v) = lookup(root, "alb")
            && let Some(t) = rd.table(v, "alb")
        {
            tables.alb = alb::Selection::parse(rd, t);
        }
        tables
    }
}

impl Tables {
    /// Whether the schedule file selects any resource of `kind` (its table names some, or has a
    /// tag selector).
    pub fn selects(&self, kind: Kind) -> bool {
        !match kind {
            Kind::Alb => self.alb.is_empty(),
            Kind::Ecs => self.ecs.is_empty(),
            Kind::Asg => self.asg.is_empty(),
            Kind::Ec2 => self.ec2.is_empty(),
            Kind::Rds => self.rds.is_empty(),
            Kind::ElastiCache => self.elasticache.is_empty(),
            Kind::Redshift => self.redshift.is_empty(),
            Kind::DocDb => self.docdb.is_empty(),
            Kind::Neptune => self.neptune.is_empty(),
        }
    }

    /// The `[docdb]` or `[neptune]` table.
    pub fn engine(&self, engine: docdb::Engine) -> &docdb::Selection {
        match engine {
            docdb::Engine::DocDb => &self.docdb,
            docdb::Engine::Neptune => &self.neptune,
        }
    }

    fn engine_mut(&mut self, engine: docdb::Engine) -> &mut docdb::Selection {
        match engine {
            docdb::Engine::DocDb => &mut self.docdb,
            docdb::Engine::Neptune => &mut self.neptune,
        }
    }
}

/// Everything observed of one environment in one pass.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    /// Listed ALB listener rules.
    pub rules: Vec<ObservedRule>,
    /// Selected ECS services.
    pub services: Vec<ObservedService>,
    /// Selected Auto Scaling groups.
    pub groups: Vec<asg::ObservedGroup>,
    /// Selected EC2 instances.
    pub instances: Vec<ec2::ObservedInstance>,
    /// Selected databases.
    pub databases: Vec<ObservedDb>,
    /// Selected caches.
    pub caches: Vec<elasticache::ObservedCache>,
    /// Selected Redshift clusters.
    pub warehouses: Vec<redshift::ObservedWarehouse>,
    /// Selected DocumentDB and Neptune clusters.
    pub engine_clusters: Vec<docdb::ObservedCluster>,
    /// Resources named in the configuration that do not exist.
    pub missing: Vec<ResourceId>,
    /// What could not be observed, by kind, and why. The planner acts on nothing whose state
    /// depends on it: no database stops while the services that may use it are unknown, no
    /// service wakes while the databases it needs are.
    pub errors: Vec<(Kind, String)>,
}

impl Observation {
    /// Everything that could not be observed.
    pub fn problems(&self) -> Vec<String> {
        self.errors.iter().map(|(_, e)| e.clone()).collect()
    }

    /// Whether some of `kind` could not be observed.
    pub fn failed(&self, kind: Kind) -> bool {
        self.errors.iter().any(|(k, _)| *k == kind)
    }

    /// Every observed resource, in kind order and then as observed.
    pub fn each(&self) -> impl Iterator<Item = Observed<'_>> {
        self.rules
            .iter()
            .map(Observed::Rule)
            .chain(self.services.iter().map(Observed::Service))
            .chain(self.groups.iter().map(Observed::Group))
            .chain(self.instances.iter().map(Observed::Instance))
            .chain(self.databases.iter().map(Observed::Database))
            .chain(self.caches.iter().map(Observed::Cache))
            .chain(self.warehouses.iter().map(Observed::Warehouse))
            .chain(self.engine_clusters.iter().map(Observed::EngineCluster))
    }

    /// Adds what another part of the observation saw (one kind's adapter, say).
    pub fn merge(&mut self, other: Observation) {
        self.rules.extend(other.rules);
        self.services.extend(other.services);
        self.groups.extend(other.groups);
        self.instances.extend(other.instances);
        self.databases.extend(other.databases);
        self.caches.extend(other.caches);
        self.warehouses.extend(other.warehouses);
        self.engine_clusters.extend(other.engine_clusters);
        self.missing.extend(other.missing);
        self.errors.extend(other.errors);
    }

    /// Keeps only what lightsout manages and what is billed on its own: never what the guard
    /// refuses (production), and Aurora members only through their cluster. What the digest
    /// prices and reports on.
    pub fn retain_managed(&mut self, guard: &Guard) {
        self.rules.retain(|r| guard.refusal(&r.tags).is_none());
        self.services.retain(|s| guard.refusal(&s.tags).is_none());
        self.groups.retain(|g| guard.refusal(&g.tags).is_none());
        self.instances.retain(|i| guard.refusal(&i.tags).is_none());
        self.databases
            .retain(|d| guard.refusal(&d.tags).is_none() && d.member_of.is_none());
        self.caches.retain(|c| guard.refusal(&c.tags).is_none());
        self.warehouses.retain(|w| guard.refusal(&w.tags).is_none());
        self.engine_clusters
            .retain(|c| guard.refusal(&c.db.tags).is_none());
    }

    /// About how long until everything observed is ready, if woken now: the tiers in waking
    /// order (data, compute, capacity, apps, the door), each waiting for the one before and
    /// taking as long as its slowest resource that is not ready yet ([`Kind::start_time`]).
    /// What nothing waits for (a cache, an Aurora member, an instance left alone) does not count.
    pub fn time_to_wake(&self) -> TimeDelta {
        let mut tiers: BTreeMap<Tier, TimeDelta> = BTreeMap::new();
        for o in self
            .each()
            .filter(|o| o.is_dependency() && o.not_ready().is_some())
        {
            let t = tiers.entry(o.kind().tier()).or_insert(TimeDelta::zero());
            *t = (*t).max(o.kind().start_time());
        }
        tiers
            .into_values()
            .fold(TimeDelta::zero(), |sum, t| sum + t)
    }

    /// What `id` looks like now, in a few words (for status tables).
    pub fn describe(&self, id: &ResourceId) -> String {
        self.each()
            .find(|o| &o.id() == id)
            .map_or_else(|| "not found".into(), |o| o.describe())
    }
}

/// One observed resource, of whatever kind.
#[derive(Debug, Clone, Copy)]
pub enum Observed<'a> {
    /// An ALB listener rule.
    Rule(&'a ObservedRule),
    /// An ECS service.
    Service(&'a ObservedService),
    /// An Auto Scaling group.
    Group(&'a asg::ObservedGroup),
    /// An EC2 instance.
    Instance(&'a ec2::ObservedInstance),
    /// An RDS instance or Aurora cluster.
    Database(&'a ObservedDb),
    /// An ElastiCache cache.
    Cache(&'a elasticache::ObservedCache),
    /// A Redshift cluster.
    Warehouse(&'a redshift::ObservedWarehouse),
    /// A DocumentDB or Neptune cluster.
    EngineCluster(&'a docdb::ObservedCluster),
}

/// Where a resource is on its way up or down, as the status page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Progress {
    /// A service: tasks running of desired, and the count recorded on it while it sleeps.
    Tasks {
        /// Tasks running.
        running: i32,
        /// Tasks desired.
        desired: i32,
        /// The desired count recorded before it was scaled to zero, while it sleeps.
        recorded: Option<i32>,
    },
    /// An Auto Scaling group: instances in service of desired, and the capacity recorded on it
    /// while it sleeps.
    Instances {
        /// Instances in service.
        running: i32,
        /// Desired capacity.
        desired: i32,
        /// The desired capacity recorded before it went to 0, while it sleeps.
        recorded: Option<i32>,
    },
    /// A database or cache: its status as AWS says it.
    Status {
        /// `available`, `starting`, `stopped`, ...
        status: String,
        /// Stopped by lightsout.
        asleep: bool,
    },
}

/// What a waking resource depends on (the next tier's resources it needs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deps {
    /// All ready.
    Ready,
    /// Not ready yet: each as `rds:db (starting)`.
    Pending(Vec<String>),
    /// One it names explicitly was not found.
    Missing(String),
    /// They could not be observed.
    Unknown,
}

/// What a kind's rules are told about the pass.
#[derive(Debug, Clone)]
pub struct Ctx<'a> {
    /// The instant planned for.
    pub now: DateTime<Utc>,
    /// The environment's time zone, for the times in reasons.
    pub tz: Tz,
    /// Whether the environment should be awake.
    pub awake: bool,
    /// `asleep until Mon 07:00 CET (outside the awake windows)`: the start of most reasons.
    pub state_reason: &'a str,
    /// Where the schedule file names this resource one by one (`file:line:col`), or `None`
    /// when a tag selector picked it up.
    pub named: Option<String>,
    /// The environment's resource tables.
    pub tables: &'a Tables,
    /// The whole observation (a kind may look at others of its own, like a cluster's members).
    pub obs: &'a Observation,
}

/// What a kind's rule decides for one resource; the reason is the whole line people read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Make these calls, in order.
    Act(Vec<Step>, String),
    /// Already as it should be.
    InSync(String),
    /// Not now: it is changing, or waits for another resource.
    Wait(String),
    /// Left alone on purpose.
    Skip(String),
    /// Needs a person: acting could lose something, or the schedule file is wrong.
    Blocked(String),
}

impl Observed<'_> {
    /// Its id.
    pub fn id(&self) -> ResourceId {
        match self {
            Observed::Rule(r) => ResourceId::AlbRule(r.arn.clone()),
            Observed::Service(s) => ResourceId::EcsService(s.name.clone()),
            Observed::Group(g) => ResourceId::AutoScalingGroup(g.name.clone()),
            Observed::Instance(i) => ResourceId::Ec2Instance(i.id.clone()),
            Observed::Database(d) => d.resource_id(),
            Observed::Cache(c) => ResourceId::CacheCluster(c.id.clone()),
            Observed::Warehouse(w) => ResourceId::RedshiftCluster(w.id.clone()),
            Observed::EngineCluster(c) => c.resource_id(),
        }
    }

    /// Its kind.
    pub fn kind(&self) -> Kind {
        match self {
            Observed::Rule(_) => Kind::Alb,
            Observed::Service(_) => Kind::Ecs,
            Observed::Group(_) => Kind::Asg,
            Observed::Instance(_) => Kind::Ec2,
            Observed::Database(_) => Kind::Rds,
            Observed::Cache(_) => Kind::ElastiCache,
            Observed::Warehouse(_) => Kind::Redshift,
            Observed::EngineCluster(c) => c.engine.kind(),
        }
    }

    /// Its tags.
    pub fn tags(&self) -> &BTreeMap<String, String> {
        match self {
            Observed::Rule(r) => &r.tags,
            Observed::Service(s) => &s.tags,
            Observed::Group(g) => &g.tags,
            Observed::Instance(i) => &i.tags,
            Observed::Database(d) => &d.tags,
            Observed::Cache(c) => &c.tags,
            Observed::Warehouse(w) => &w.tags,
            Observed::EngineCluster(c) => &c.db.tags,
        }
    }

    /// In a few words: `2/2 tasks, autoscaling 1-4`, `available (postgres)`.
    pub fn describe(&self) -> String {
        match self {
            Observed::Rule(r) => r.describe(),
            Observed::Service(s) => s.describe(),
            Observed::Group(g) => g.describe(),
            Observed::Instance(i) => i.describe(),
            Observed::Database(d) => d.describe(),
            Observed::Cache(c) => c.describe(),
            Observed::Warehouse(w) => w.describe(),
            Observed::EngineCluster(c) => c.db.describe(),
        }
    }

    /// Its status in a word or two, as AWS says it (`available`, `ACTIVE`), for health lines.
    pub fn status(&self) -> String {
        match self {
            Observed::Rule(r) => r.status(),
            Observed::Service(s) => s.status.to_string(),
            Observed::Group(g) => g.status_word(),
            Observed::Instance(i) => i.state.to_string(),
            Observed::Database(d) => d.status.to_string(),
            Observed::Cache(c) => c.status.clone(),
            Observed::Warehouse(w) => w.status.to_string(),
            Observed::EngineCluster(c) => c.db.status.to_string(),
        }
    }

    /// Put to sleep by lightsout (stopped, or at 0 tasks, with its tags on it).
    pub fn slept(&self) -> bool {
        match self {
            Observed::Rule(r) => r.slept(),
            Observed::Service(s) => s.slept(),
            Observed::Group(g) => g.slept(),
            Observed::Instance(i) => i.slept(),
            Observed::Database(d) => d.slept(),
            Observed::Cache(_) => false,
            Observed::Warehouse(w) => w.slept(),
            Observed::EngineCluster(c) => c.db.slept(),
        }
    }

    /// Whether lightsout can put this one to sleep: its kind can, and AWS lets it stop this
    /// one (a read replica, a replica's source, an Aurora member or Serverless v1 cannot be
    /// stopped). What cannot keeps costing while the environment sleeps.
    pub fn can_sleep(&self) -> bool {
        match self {
            Observed::Rule(_) | Observed::Service(_) | Observed::Group(_) => true,
            Observed::Instance(i) => i.cannot_stop().is_none(),
            Observed::Database(d) => d.can_stop(),
            Observed::Cache(_) => false,
            Observed::Warehouse(_) => true,
            Observed::EngineCluster(c) => c.db.can_stop(),
        }
    }

    /// Where it is on its way up or down, for the status page: tasks running of desired (and
    /// the count recorded while asleep), or the status AWS reports.
    pub fn progress(&self) -> Progress {
        match self {
            Observed::Rule(r) => Progress::Status {
                status: r.status(),
                asleep: r.slept(),
            },
            Observed::Service(s) => Progress::Tasks {
                running: s.running,
                desired: s.desired,
                recorded: s.tags.get(tags::DESIRED_COUNT).and_then(|c| c.parse().ok()),
            },
            Observed::Group(g) => Progress::Instances {
                running: g.in_service,
                desired: g.desired,
                recorded: g.tags.get(asg::DESIRED_COUNT).and_then(|c| c.parse().ok()),
            },
            Observed::Instance(i) => Progress::Status {
                status: i.state.to_string(),
                asleep: i.slept(),
            },
            Observed::Database(d) => Progress::Status {
                status: d.status.to_string(),
                asleep: d.slept(),
            },
            Observed::Cache(c) => Progress::Status {
                status: c.status.clone(),
                asleep: false,
            },
            Observed::Warehouse(w) => Progress::Status {
                status: w.status.to_string(),
                asleep: w.slept(),
            },
            Observed::EngineCluster(c) => Progress::Status {
                status: c.db.status.to_string(),
                asleep: c.db.slept(),
            },
        }
    }

    /// Units in service of those desired, for a kind that runs several (an Auto Scaling
    /// group's instances); `None` for one that is a single machine or cluster.
    pub fn in_service(&self) -> Option<(i32, i32)> {
        match self {
            Observed::Service(s) => Some((s.running, s.desired)),
            Observed::Group(g) => Some((g.in_service, g.desired)),
            Observed::Rule(_)
            | Observed::Instance(_)
            | Observed::Database(_)
            | Observed::Cache(_)
            | Observed::Warehouse(_)
            | Observed::EngineCluster(_) => None,
        }
    }

    /// What keeps it running (and costing) although it is set to sleep, if anything: an Auto
    /// Scaling group at 0 desired whose instances are protected from scale-in (an ECS capacity
    /// provider's managed termination protection, or set by hand). Reported, never fought.
    pub fn held_up(&self) -> Option<String> {
        match self {
            Observed::Group(g) if g.desired == 0 && g.instances > 0 && g.protected > 0 => {
                Some(format!(
                    "{} instance{} protected from scale-in still running",
                    g.protected,
                    if g.protected == 1 { "" } else { "s" }
                ))
            }
            _ => None,
        }
    }

    /// Whether another resource that needs it counts it (an Aurora member does not: its
    /// cluster does).
    pub fn is_dependency(&self) -> bool {
        match self {
            // Nothing waits for the door: it waits for everything.
            Observed::Rule(_) => false,
            Observed::Service(_) | Observed::Group(_) => true,
            // One lightsout leaves alone (an Auto Scaling group's, a spot one) is not waited for.
            Observed::Instance(i) => i.cannot_stop().is_none(),
            Observed::Database(d) => d.member_of.is_none(),
            // Always on: nothing waits for it.
            Observed::Cache(_) => false,
            Observed::Warehouse(_) | Observed::EngineCluster(_) => true,
        }
    }

    /// The ids a resource that needs this one may name it by in `depends_on`.
    pub fn answers_to(&self, name: &str) -> bool {
        match self {
            Observed::Rule(r) => r.arn == name,
            Observed::Service(s) => s.name.to_string() == name,
            Observed::Group(g) => g.name == name,
            Observed::Instance(i) => i.id == name,
            Observed::Database(d) => d.id == name,
            Observed::Cache(c) => c.id == name,
            Observed::Warehouse(w) => w.id == name,
            Observed::EngineCluster(c) => c.db.id == name,
        }
    }

    /// Why it is not ready for what depends on it (`rds:db (starting)`), or `None` when it is.
    pub fn not_ready(&self) -> Option<String> {
        match self {
            Observed::Rule(_) => None,
            // Asleep is not ready either: the door waits for a sleeping service to be scaled up.
            Observed::Service(s) if s.slept() => Some(format!("{} (asleep)", self.id())),
            Observed::Service(s) => (s.running < s.desired)
                .then(|| format!("{} ({}/{} tasks)", self.id(), s.running, s.desired)),
            Observed::Group(g) if g.tags.contains_key(asg::DESIRED_COUNT) => {
                Some(format!("{} (asleep)", self.id()))
            }
            Observed::Group(g) => (g.in_service < g.desired).then(|| {
                format!(
                    "{} ({}/{} instances in service)",
                    self.id(),
                    g.in_service,
                    g.desired
                )
            }),
            Observed::Instance(i) => (i.state != ec2::InstanceState::Running)
                .then(|| format!("{} ({})", self.id(), i.state)),
            Observed::Database(d) => {
                (d.status != DbStatus::Available).then(|| format!("{} ({})", self.id(), d.status))
            }
            Observed::Cache(_) => None,
            Observed::Warehouse(w) => (w.status != redshift::ClusterStatus::Available)
                .then(|| format!("{} ({})", self.id(), w.status)),
            Observed::EngineCluster(c) => (c.db.status != DbStatus::Available)
                .then(|| format!("{} ({})", self.id(), c.db.status)),
        }
    }

    /// Which resources of the next tier it needs, by the names `depends_on` uses; `None`: all.
    pub fn depends_on(&self, tables: &Tables) -> Option<Vec<String>> {
        match self {
            Observed::Service(s) => tables.ecs.settings_of(&s.name).depends_on,
            Observed::Rule(_)
            | Observed::Group(_)
            | Observed::Instance(_)
            | Observed::Database(_)
            | Observed::Cache(_)
            | Observed::Warehouse(_)
            | Observed::EngineCluster(_) => None,
        }
    }

    /// What should be done with it, by its kind's rules (the guard and `skip-until` are the
    /// planner's, before this).
    pub fn rule(&self, ctx: &Ctx<'_>, deps: &Deps) -> Rule {
        match self {
            Observed::Rule(r) => alb::rule(r, ctx, deps),
            Observed::Service(s) => ecs::rule(s, ctx, deps),
            Observed::Group(g) => asg::rule(g, ctx, deps),
            Observed::Instance(i) => ec2::rule(i, ctx, deps),
            Observed::Database(d) => rds::rule(d, ctx),
            Observed::Cache(c) => elasticache::rule(c, ctx),
            Observed::Warehouse(w) => redshift::rule(w, ctx),
            Observed::EngineCluster(c) => docdb::rule(c, ctx),
        }
    }
}

/// What a write call does to its resource's sleep: the audit trail keeps it as a type, so the
/// digest's savings never depend on how a step is worded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// It stopped running (scaled to 0, stopped).
    Sleep,
    /// It runs again (scaled up, started).
    Wake,
}

/// One write call to AWS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Step {
    /// An ELB call (an ALB listener rule).
    Alb(alb::Step),
    /// An ECS or Application Auto Scaling call.
    Ecs(ecs::Step),
    /// An EC2 Auto Scaling call.
    Asg(asg::Step),
    /// An EC2 call.
    Ec2(ec2::Step),
    /// An RDS call.
    Rds(rds::Step),
    /// A Redshift call.
    Redshift(redshift::Step),
}

impl Step {
    /// The AWS API operation it calls.
    pub fn operation(&self) -> &'static str {
        match self {
            Step::Alb(s) => s.operation(),
            Step::Ecs(s) => s.operation(),
            Step::Asg(s) => s.operation(),
            Step::Ec2(s) => s.operation(),
            Step::Rds(s) => s.operation(),
            Step::Redshift(s) => s.operation(),
        }
    }

    /// A word or two for plan tables: `record`, `count 0`, `stop`.
    pub fn label(&self) -> String {
        match self {
            Step::Alb(s) => s.label(),
            Step::Ecs(s) => s.label(),
            Step::Asg(s) => s.label(),
            Step::Ec2(s) => s.label(),
            Step::Rds(s) => s.label(),
            Step::Redshift(s) => s.label(),
        }
    }

    /// Whether it puts its resource to sleep or wakes it (or neither: tags).
    pub fn effect(&self) -> Option<Effect> {
        match self {
            Step::Alb(s) => s.effect(),
            Step::Ecs(s) => s.effect(),
            Step::Asg(s) => s.effect(),
            Step::Ec2(s) => s.effect(),
            Step::Rds(s) => s.effect(),
            Step::Redshift(s) => s.effect(),
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Alb(s) => s.fmt(f),
            Step::Ecs(s) => s.fmt(f),
            Step::Asg(s) => s.fmt(f),
            Step::Ec2(s) => s.fmt(f),
            Step::Rds(s) => s.fmt(f),
            Step::Redshift(s) => s.fmt(f),
        }
    }
}

impl From<alb::Step> for Step {
    fn from(s: alb::Step) -> Step {
        Step::Alb(s)
    }
}

impl From<ecs::Step> for Step {
    fn from(s: ecs::Step) -> Step {
        Step::Ecs(s)
    }
}

impl From<asg::Step> for Step {
    fn from(s: asg::Step) -> Step {
        Step::Asg(s)
    }
}

impl From<ec2::Step> for Step {
    fn from(s: ec2::Step) -> Step {
        Step::Ec2(s)
    }
}

impl From<rds::Step> for Step {
    fn from(s: rds::Step) -> Step {
        Step::Rds(s)
    }
}

/// `1 task`, `2 tasks`.
pub(crate) fn tasks(n: i32) -> String {
    format!("{n} task{}", if n == 1 { "" } else { "s" })
}

/// `skip-until`: whether a resource's own tag excludes it now, and why (the production guard is
/// checked before this).
pub fn skipped(tags: &BTreeMap<String, String>, now: DateTime<Utc>, tz: Tz) -> Option<String> {
    let raw = tags.get(tags::SKIP_UNTIL)?;
    match DateTime::parse_from_rfc3339(raw.trim()) {
        Ok(t) if now < t => Some(format!(
            "skipped until {} ({} tag)",
            crate::calendar::local_label(t.with_timezone(&Utc), tz, now),
            tags::SKIP_UNTIL
        )),
        Ok(_) => None,
        Err(_) => Some(format!(
            "skipped: {} tag \"{raw}\" is not an RFC 3339 instant (like 2026-12-01T07:00:00Z); left alone until it is fixed or removed",
            tags::SKIP_UNTIL
        )),
    }
}

/// The shape most kinds' tables share: a list of identifiers under `key` (each checked by
/// `invalid`, which says what is wrong and how to fix it) and `[[TABLE.select]]` tag selectors.
/// Each identifier is recorded as named (`PREFIX:id`, with its place) for `plan`'s file:line
/// reasons. The table's own keys are checked by the caller (a kind may have more).
pub(crate) fn ids_and_selectors(
    rd: &mut Reader<'_, '_>,
    t: &DeTable<'_>,
    table: &str,
    key: &str,
    prefix: &str,
    invalid: impl Fn(&str) -> Option<(String, String)>,
) -> (Vec<String>, Vec<TagSelector>) {
    let mut ids: Vec<String> = Vec::new();
    let mut select = Vec::new();
    if let Some(v) = lookup(t, key) {
        for (id, span) in rd.strings(v, &format!("{table}.{key}")) {
            if let Some((why, fix)) = invalid(id) {
                rd.err(span, why, Some(fix));
            } else if ids.iter().any(|x| x == id) {
                rd.err(
                    span,
                    format!("\"{id}\" is listed twice"),
                    Some("remove one of them".to_string()),
                );
            } else {
                ids.push(id.to_string());
                rd.named.push((format!("{prefix}:{id}"), span));
            }
        }
    }
    if let Some(v) = lookup(t, "select") {
        for item in rd.array(v, &format!("{table}.select")).unwrap_or_default() {
            let Some(st) = rd.table(item, &format!("{table}.select")) else {
                continue;
            };
            rd.check_keys(st, &["tags"], &format!("[[{table}.select]]"));
            match lookup(st, "tags") {
                Some(tv) => {
                    if let Some(tags) = rd.tags(tv, "tags") {
                        rd.selectors
                            .push((format!("{table} {tags:?}"), item.span()));
                        select.push(tags);
                    }
                }
                None => rd.err(
                    item.span(),
                    format!("[[{table}.select]] needs `tags`"),
                    Some("add tags = { Environment = \"staging\" }".to_string()),
                ),
            }
        }
    }
    (ids, select)
}
