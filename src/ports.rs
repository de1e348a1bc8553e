//! The ports: what the core needs of the outside world, as traits, and the answer types that
//! cross them. The AWS adapters (`crate::aws`) implement every one; tests may implement them in
//! memory, so the engine and the digest's gathering can be tested without an emulator.
//!
//! - [`Cloud`]: observe an environment, make one write call (the engine's).
//! - [`Billing`]: what an environment costs — Cost Explorer's daily costs and forecast, a
//!   budget's limit.
//! - [`Inspect`]: what an environment is made of and how healthy it is, beyond what the planner
//!   needs — task and instance sizes for pricing, deployments, failed tasks, target groups,
//!   alarms.
//! - [`Outbox`]: where a digest goes — email, SNS, a Slack webhook.
//! - [`Pricing`]: list prices from AWS's Price List, for what the environment is made of.
//!
//! Port errors that reach people (a digest section that could not be gathered) are said in
//! words: `Err(String)` is that reason.

use std::collections::BTreeMap;
use std::future::Future;

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::kinds::{Observation, ServiceName, Step};
use crate::model::{Environment, Money};

/// An AWS call that failed: the operation, the AWS error code when there is one, and what AWS
/// (or the transport: a timeout, a refused connection) said, in one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed: {}{message}", code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default())]
pub struct CloudError {
    /// The API operation, like `UpdateService`.
    pub operation: &'static str,
    /// The AWS error code, like `ThrottlingException`, when there is one.
    pub code: Option<String>,
    /// What AWS (or the transport) said.
    pub message: String,
}

/// What the engine needs of a cloud.
pub trait Cloud: Send + Sync {
    /// Observes every resource the environment selects. Never fails as a whole: what cannot be
    /// observed is listed, by kind, in [`Observation::errors`].
    fn observe(&self, env: &Environment) -> impl Future<Output = Observation> + Send;

    /// Requests made so far, by operation (retries included), where the cloud counts them.
    fn requests(&self) -> std::collections::BTreeMap<String, u64> {
        std::collections::BTreeMap::new()
    }

    /// Throttling answers the cloud gave so far, by operation (each retried), where it counts
    /// them.
    fn throttled(&self) -> std::collections::BTreeMap<String, u64> {
        std::collections::BTreeMap::new()
    }

    /// Makes one write call in the environment's account and region.
    fn execute(
        &self,
        env: &Environment,
        step: &Step,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;

    /// Requests through the environment's front door (the app target groups of its `[alb]`
    /// rules) per minute from `from` to `to`, as `(minute start, requests)`, in one call; a
    /// minute left out had none. A cloud without a front door answers none.
    fn request_counts(
        &self,
        _env: &Environment,
        _from: DateTime<Utc>,
        _to: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<(DateTime<Utc>, f64)>, CloudError>> + Send {
        async { Ok(Vec::new()) }
    }

    /// Turns the actions of the environment's `mute_alarms` alarms off (`enabled = false`,
    /// going to sleep) or back on (awake) — of `only` these names, when given — where they are
    /// not so already; the names of the alarms it switched.
    fn alarm_actions(
        &self,
        _env: &Environment,
        _enabled: bool,
        _only: Option<&[String]>,
    ) -> impl Future<Output = Result<Vec<String>, CloudError>> + Send {
        async { Ok(Vec::new()) }
    }

    /// Publishes a transition wherever the environment's `[events]` says; what failed, each
    /// in one line (never the webhook's secret). Never fails the pass.
    fn publish(
        &self,
        _env: &Environment,
        _t: &crate::model::Transition,
    ) -> impl Future<Output = Vec<String>> + Send {
        async { Vec::new() }
    }
}

/// What an environment costs, from AWS's billing.
pub trait Billing: Send + Sync {
    /// Daily cost by AWS service from `start` to `end` (exclusive), in Cost Explorer's days
    /// (UTC billing days), filtered by the environment's `[digest]` cost filter, in at most
    /// `max_pages` requests (`Err` when the answer runs longer: no partial figures).
    fn daily_cost<'a>(
        &'a self,
        env: &'a Environment,
        start: NaiveDate,
        end: NaiveDate,
        max_pages: usize,
    ) -> BoxFuture<'a, Result<DailyCost, String>>;

    /// One UTC billing day's cost by AWS service and usage type (`APS2-NatGateway-Hours`), in
    /// one request (`Err` when the answer would need more).
    fn usage<'a>(
        &'a self,
        env: &'a Environment,
        day: NaiveDate,
    ) -> BoxFuture<'a, Result<Vec<UsageCost>, String>>;

    /// Cost Explorer's forecast of the spend from `start` to `end` (exclusive).
    fn forecast<'a>(
        &'a self,
        env: &'a Environment,
        start: NaiveDate,
        end: NaiveDate,
    ) -> BoxFuture<'a, Result<Money, String>>;

    /// The monthly limit of an AWS Budgets budget.
    fn budget<'a>(
        &'a self,
        env: &'a Environment,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Money, String>>;
}

/// What an environment is made of and how healthy it is.
pub trait Inspect: Send + Sync {
    /// Everything the environment selects, as the planner sees it.
    fn observe<'a>(&'a self, env: &'a Environment) -> BoxFuture<'a, Observation>;

    /// Deployments, task definitions, launch types and target groups of services.
    fn services<'a>(
        &'a self,
        env: &'a Environment,
        services: &'a [ServiceName],
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<ServiceDetail>, String>>;

    /// What each observed resource is priced as (or why it cannot be), in observation order.
    fn priced<'a>(
        &'a self,
        env: &'a Environment,
        observed: &'a Observation,
    ) -> BoxFuture<'a, Vec<ResourceCost>>;

    /// Tasks of a service that stopped with a failure since `since`, newest first.
    fn failed_tasks<'a>(
        &'a self,
        env: &'a Environment,
        service: &'a ServiceName,
        since: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<FailedTask>, String>>;

    /// Health of target groups.
    fn target_groups<'a>(
        &'a self,
        env: &'a Environment,
        arns: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<TargetGroupHealth>, String>>;

    /// CloudWatch alarms in ALARM whose names start with `prefix`.
    fn alarms<'a>(
        &'a self,
        env: &'a Environment,
        prefix: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Alarm>, String>>;

    /// Requests made so far, by operation (retries included), where the adapter counts them.
    fn requests(&self) -> BTreeMap<String, u64>;
}

/// Where a digest goes.
pub trait Outbox: Send + Sync {
    /// Sends a raw MIME message by email.
    fn email<'a>(
        &'a self,
        from: &'a str,
        to: &'a [String],
        raw: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), String>>;

    /// Publishes a message to an SNS topic.
    fn publish<'a>(
        &'a self,
        topic_arn: &'a str,
        subject: &'a str,
        message: &'a str,
    ) -> BoxFuture<'a, Result<(), String>>;

    /// Posts a JSON message to the configured Slack incoming webhook.
    fn slack(&self, body: String) -> BoxFuture<'_, Result<(), String>>;
}

/// List prices from AWS's Price List (`pricing:GetProducts`).
pub trait Pricing: Send + Sync {
    /// The on-demand list price of each of `wanted`, or why the Price List has none for it.
    /// Never fails as a whole: what could not be asked (the API unreachable, refused) is left
    /// out of [`PriceAnswer::prices`] and [`PriceAnswer::failed`] says why, in one line.
    fn price_list<'a>(
        &'a self,
        env: &'a Environment,
        wanted: &'a [PriceItem],
    ) -> BoxFuture<'a, PriceAnswer>;
}

/// One price the digest may need, in the terms of AWS's Price List: what one unit (a vCPU-hour,
/// a GB-hour, an instance-hour) of something costs in a region.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PriceItem {
    /// A Fargate vCPU for an hour.
    FargateVcpu {
        /// Region.
        region: String,
        /// Operating system and CPU architecture.
        platform: Platform,
        /// On Fargate Spot rather than on demand.
        spot: bool,
    },
    /// A GB of Fargate memory for an hour.
    FargateGb {
        /// Region.
        region: String,
        /// Operating system and CPU architecture.
        platform: Platform,
        /// On Fargate Spot rather than on demand.
        spot: bool,
    },
    /// The Windows Server licence of a Fargate task, per vCPU-hour, on top of its vCPU price.
    FargateWindowsLicence {
        /// Region.
        region: String,
    },
    /// A database instance for an hour.
    DbInstance {
        /// Region.
        region: String,
        /// Engine as RDS names it (`postgres`, `mysql`, `aurora-postgresql`, `aurora-mysql`).
        engine: String,
        /// Instance class (`db.t4g.medium`).
        class: String,
        /// Multi-AZ (a non-Aurora instance with a standby: its own price).
        multi_az: bool,
    },
}

impl PriceItem {
    /// Its region.
    pub fn region(&self) -> &str {
        match self {
            PriceItem::FargateVcpu { region, .. }
            | PriceItem::FargateGb { region, .. }
            | PriceItem::FargateWindowsLicence { region }
            | PriceItem::DbInstance { region, .. } => region,
        }
    }
}

impl std::fmt::Display for PriceItem {
    /// `Fargate Linux/ARM vCPU-hour (Spot) in eu-west-1`, `db.t4g.micro postgres Multi-AZ
    /// instance-hour in eu-west-1`: what a price is for, in words.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let spot = |s: &bool| if *s { " (Spot)" } else { "" };
        match self {
            PriceItem::FargateVcpu {
                region,
                platform,
                spot: s,
            } => write!(f, "Fargate {platform} vCPU-hour{} in {region}", spot(s)),
            PriceItem::FargateGb {
                region,
                platform,
                spot: s,
            } => write!(f, "Fargate {platform} GB-hour{} in {region}", spot(s)),
            PriceItem::FargateWindowsLicence { region } => {
                write!(f, "Fargate Windows licence per vCPU-hour in {region}")
            }
            PriceItem::DbInstance {
                region,
                engine,
                class,
                multi_az,
            } => write!(
                f,
                "{class} {engine}{} instance-hour in {region}",
                if *multi_az { " Multi-AZ" } else { "" }
            ),
        }
    }
}

/// A Fargate task's operating system and CPU architecture, as Fargate prices them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Platform {
    /// Linux on x86-64.
    LinuxX86,
    /// Linux on ARM64 (Graviton).
    LinuxArm,
    /// Windows Server (x86-64 only on Fargate).
    Windows,
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Platform::LinuxX86 => "Linux/x86",
            Platform::LinuxArm => "Linux/ARM",
            Platform::Windows => "Windows/x86",
        })
    }
}

/// What AWS's Price List answered for the prices asked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceAnswer {
    /// Each item the Price List answered for: its price per unit, or why it has none (no such
    /// product, several, an unreadable price). Items left out were not asked: see `failed`.
    pub prices: Vec<(PriceItem, Result<Money, String>)>,
    /// Why the items left out could not be asked (the API unreachable, refused), if any.
    pub failed: Option<String>,
}

/// `AWS requests: 16 (DescribeServices 2, ListServices 2, ...)`.
pub fn describe_requests(counts: &std::collections::BTreeMap<String, u64>) -> String {
    let total: u64 = counts.values().sum();
    let list: Vec<String> = counts.iter().map(|(op, n)| format!("{op} {n}")).collect();
    format!("AWS requests: {total} ({})", list.join(", "))
}

/// `AWS throttled: 3 (UpdateService 3)`, or `AWS throttled: 0`.
pub fn describe_throttled(counts: &std::collections::BTreeMap<String, u64>) -> String {
    let total: u64 = counts.values().sum();
    if total == 0 {
        return "AWS throttled: 0".to_string();
    }
    let list: Vec<String> = counts.iter().map(|(op, n)| format!("{op} {n}")).collect();
    format!("AWS throttled: {total} ({})", list.join(", "))
}

/// What a digest is gathered from and sent through.
#[derive(Clone)]
pub struct Ports {
    /// Costs, forecasts and budgets.
    pub billing: std::sync::Arc<dyn Billing>,
    /// The environment's resources, their sizes and health.
    pub inspect: std::sync::Arc<dyn Inspect>,
    /// Email, SNS and Slack.
    pub outbox: std::sync::Arc<dyn Outbox>,
    /// List prices from AWS's Price List.
    pub pricing: std::sync::Arc<dyn Pricing>,
}

/// What DescribeServices says of a service beyond what the planner reads.
#[derive(Debug, Clone)]
pub struct ServiceDetail {
    /// Its health (failed tasks filled in separately).
    pub health: ServiceHealth,
    /// Its task definition ARN.
    pub task_definition: Option<String>,
    /// Its launch type (`FARGATE`, `EC2`), when it has one rather than a capacity provider
    /// strategy.
    pub launch_type: Option<String>,
    /// Its capacity provider strategy, in order (`FARGATE`, `FARGATE_SPOT`, or an Auto Scaling
    /// group's provider); empty when it has a launch type.
    pub capacity_providers: Vec<CapacityShare>,
    /// Its load balancers' target groups.
    pub target_groups: Vec<String>,
}

/// Cost Explorer's daily costs, and how many requests they took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DailyCost {
    /// One entry per day Cost Explorer answered for, in date order; a day with no cost data
    /// (no groups at all) is `has_data: false`, never a day of $0.00.
    pub days: Vec<DaySpend>,
    /// Requests (pages) it took.
    pub requests: usize,
}

/// One usage type's cost on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageCost {
    /// The AWS service, as Cost Explorer names it (`Amazon ElastiCache`, `EC2 - Other`).
    pub service: String,
    /// The usage type (`APS2-NatGateway-Hours`, `APS2-PublicIPv4:InUseAddress`).
    pub usage_type: String,
    /// Its cost that day.
    pub amount: Money,
}

/// One entry of a capacity provider strategy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CapacityShare {
    /// The capacity provider (`FARGATE`, `FARGATE_SPOT`, `my-asg-provider`).
    pub provider: String,
    /// Tasks placed on it first, before the weights apply.
    pub base: u32,
    /// Its share of the tasks beyond the base, relative to the other weights.
    pub weight: u32,
}

/// One day's spend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DaySpend {
    /// The day (Cost Explorer days are UTC days).
    pub date: NaiveDate,
    /// Total for the day.
    pub total: Money,
    /// AWS still marks the day's figures as estimated.
    pub estimated: bool,
    /// Cost by AWS service name (`Amazon Elastic Container Service`), as reported.
    pub by_service: Vec<(String, Money)>,
    /// Cost Explorer had cost data for the day (at least one service). A day without is no
    /// figure, not $0.00: the usual cause is a filter that matches nothing, or a day AWS has
    /// not processed yet.
    #[serde(default = "yes")]
    pub has_data: bool,
}

fn yes() -> bool {
    true
}

/// One resource of the environment and what an hour of it running costs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceCost {
    /// As in the audit trail: `ecs:cluster/service`, `rds:id`, `aurora:id`.
    pub resource: String,
    /// What it is priced as.
    pub size: Size,
    /// Whether lightsout can put it to sleep (an ElastiCache cluster keeps costing).
    pub sleeps: bool,
}

/// What a resource is priced as.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Size {
    /// A Fargate service: its task size and the task count it runs when awake.
    Fargate {
        /// Region.
        region: String,
        /// Task CPU in vCPU units of 1/1024.
        cpu_units: u32,
        /// Task memory in MiB.
        memory_mib: u32,
        /// ARM64 (Graviton) tasks.
        arm: bool,
        /// The operating system of its task definition.
        os: TaskOs,
        /// Tasks running when awake.
        tasks: u32,
        /// Of those, how many run on Fargate Spot (as its capacity provider strategy places
        /// them); the rest run on demand.
        spot_tasks: u32,
    },
    /// An RDS instance, or the instances of an Aurora cluster (one entry per member).
    Database {
        /// Region.
        region: String,
        /// Instance classes (`db.t4g.medium`), one per instance billed.
        classes: Vec<String>,
        /// Engine (`postgres`, `aurora-postgresql`).
        engine: String,
        /// Multi-AZ (billed twice for a non-Aurora instance).
        multi_az: bool,
    },
    /// Cannot be priced, and why (no task size, not Fargate, ...).
    Unknown(String),
}

/// The operating system of a Fargate task, from its task definition's
/// `runtimePlatform.operatingSystemFamily`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskOs {
    /// Linux (also when the task definition names no platform).
    Linux,
    /// A Windows Server edition, as ECS names it (`WINDOWS_SERVER_2022_CORE`): billed at
    /// Windows rates plus a licence fee per vCPU.
    Windows(String),
}

impl TaskOs {
    /// From `operatingSystemFamily` (`LINUX`, `WINDOWS_SERVER_2019_FULL`, ...); none is Linux.
    pub fn from_family(family: Option<&str>) -> TaskOs {
        match family {
            Some(f) if f.starts_with("WINDOWS") => TaskOs::Windows(f.to_string()),
            _ => TaskOs::Linux,
        }
    }

    /// As ECS names it: `LINUX`, `WINDOWS_SERVER_2022_CORE`.
    pub fn family(&self) -> &str {
        match self {
            TaskOs::Linux => "LINUX",
            TaskOs::Windows(f) => f,
        }
    }
}

impl Serialize for TaskOs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.family())
    }
}

/// One ECS service's health.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceHealth {
    /// `cluster/service`.
    pub name: String,
    /// Desired tasks.
    pub desired: i32,
    /// Running tasks.
    pub running: i32,
    /// Put to sleep by lightsout (desired 0 with its tags).
    pub asleep: bool,
    /// A deployment that is failing or not finishing, in words, if any.
    pub stuck_deployment: Option<String>,
    /// Tasks that stopped with a failure since the previous digest, newest first (of those ECS
    /// still lists: it keeps stopped tasks for about an hour).
    pub failed_tasks: Vec<FailedTask>,
}

/// A task that stopped with a failure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedTask {
    /// Task id (the last part of its ARN).
    pub task: String,
    /// When it stopped.
    pub stopped_at: Option<DateTime<Utc>>,
    /// ECS's stopped reason, with the container's exit code when there is one.
    pub reason: String,
}

/// One target group's health.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetGroupHealth {
    /// Target group name.
    pub name: String,
    /// Healthy targets.
    pub healthy: u32,
    /// Targets not healthy: target id and state/reason (`i-0ab… unhealthy: Target.Timeout`).
    pub unhealthy: Vec<String>,
}

/// A CloudWatch alarm in ALARM.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alarm {
    /// Alarm name.
    pub name: String,
    /// Its state reason.
    pub reason: String,
    /// Since when it is in ALARM.
    pub since: Option<DateTime<Utc>>,
}
