//! What the digest is made from: everything gathered from AWS, the store and the probes for one
//! environment and one day. Gathering fills these types ([`super::collect`]); everything after
//! is pure ([`super::figures`], [`super::render`]).
//!
//! A section that could not be gathered is an `Err(reason)`: the digest says plainly what is
//! missing and why, and never makes a number up.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

pub use crate::model::Money;
use crate::model::{AuditEvent, Environment};
pub use crate::ports::{
    Alarm, DaySpend, FailedTask, Platform, PriceItem, ResourceCost, ServiceHealth, Size,
    TargetGroupHealth, TaskOs, UsageCost,
};

/// Everything one digest is made from.
#[derive(Debug, Clone)]
pub struct DigestInput {
    /// The environment: its name, its time zone (times are shown in it), and its windows and
    /// holidays (which hours a wake kept it up outside them).
    pub config: Environment,
    /// The day reported on: a UTC billing day, as Cost Explorer and AWS Budgets count days
    /// (the most recent one with cost data, unless one was asked for). Its month is the
    /// billing month; savings, wakes and what kept costing are counted over the same UTC day.
    pub day: NaiveDate,
    /// The local date the digest was made on (its morning, in the environment's time zone).
    pub edition: NaiveDate,
    /// When the digest was made.
    pub generated_at: DateTime<Utc>,
    /// Daily spend from the first day of the previous month to `day` inclusive.
    pub spend: Result<Spend, String>,
    /// `day`'s cost by service and usage type (what kept costing while asleep), or why there
    /// is none.
    pub usage: Result<Vec<UsageCost>, String>,
    /// The monthly budget, and where it came from.
    pub budget: Budget,
    /// Cost Explorer's forecast of the spend from `from` (the day after `day`, or today in UTC
    /// when that is later: Cost Explorer forecasts only from today) to the end of `day`'s
    /// month; `Err(why)` when Cost Explorer could not forecast (the digest then projects
    /// itself).
    pub forecast: Result<Forecast, String>,
    /// The environment's resources and what one hour of each costs.
    pub resources: Vec<ResourceCost>,
    /// The prices they are priced at: AWS's Price List over the shipped table.
    pub prices: super::prices::PriceTable,
    /// The audit trail of the environment from `trail_from` to `generated_at`, every event,
    /// oldest first: sleeps, wakes and wake requests.
    pub events: Vec<AuditEvent>,
    /// Where the audit trail read begins (40 days before the billing month): a resource whose
    /// first event is a wake had slept since at least then.
    pub trail_from: DateTime<Utc>,
    /// Health, observed at `generated_at`.
    pub health: Health,
    /// Actions that failed since the previous digest (audit events whose outcome is not `ok`).
    pub failures: Vec<AuditEvent>,
    /// Channels that failed to deliver the previous digest, and why.
    pub delivery_problems: Vec<String>,
    /// Cost Explorer requests made to gather it (at most 3; 0 when all came from the cache).
    pub cost_explorer_requests: usize,
    /// lightsout itself: what it recorded running this month, and how far a transition under
    /// way has come.
    pub running: Running,
}

/// lightsout itself, as the store has it.
#[derive(Debug, Clone, Default)]
pub struct Running {
    /// What the Lambda recorded running this month (`None`: nothing recorded: a daemon, or a
    /// Lambda before its first pass of the month).
    pub tally: Option<super::figures::RunTally>,
    /// The region lightsout runs in (its prices).
    pub region: String,
    /// How many environments it reconciles.
    pub environments: u64,
    /// How far the environment's transition came, as the last pass that acted recorded it.
    pub progress: Option<crate::model::Progress>,
}

/// Daily spend as Cost Explorer reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Spend {
    /// One entry per day that Cost Explorer answered for, in date order. A day missing from
    /// the series, or `has_data: false`, is a day with no figure (not a day of zero spend).
    pub days: Vec<DaySpend>,
    /// How the costs were filtered.
    pub filter: crate::model::CostFilter,
    /// When Cost Explorer was asked for the newest of these figures (earlier than the digest
    /// when they came from the store's cache).
    pub asked_at: DateTime<Utc>,
    /// Requests this digest made to Cost Explorer for them (0: all from the cache).
    pub requests: usize,
}

/// Cost Explorer's forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize)]
pub struct Forecast {
    /// The first day forecast.
    pub from: NaiveDate,
    /// The spend forecast from `from` to the end of the month.
    pub amount: Money,
}

/// The monthly budget.
#[derive(Debug, Clone, PartialEq)]
pub enum Budget {
    /// `monthly_budget` in the schedule file.
    Config(Money),
    /// An AWS Budgets budget, by name.
    Aws {
        /// Its name.
        name: String,
        /// Its monthly limit.
        amount: Money,
    },
    /// No budget: why (not configured, zero, or the AWS budget could not be read).
    Missing(String),
}

/// Health of the environment at `generated_at`.
#[derive(Debug, Clone)]
pub struct Health {
    /// Asleep by schedule (or held asleep) now: sleeping resources are "asleep", not unhealthy.
    pub asleep: bool,
    /// ECS services, or why they could not be read.
    pub services: Result<Vec<ServiceHealth>, String>,
    /// Auto Scaling groups and EC2 instances (the capacity and compute tiers, whatever the
    /// kind), or why they could not be read; `None` when the schedule file selects none.
    pub instances: Option<Result<Vec<MachineHealth>, String>>,
    /// Databases, or why they could not be read.
    pub databases: Result<Vec<DbHealth>, String>,
    /// Target groups of the services' load balancers, or why they could not be read.
    pub target_groups: Result<Vec<TargetGroupHealth>, String>,
    /// CloudWatch alarms in ALARM, or why they could not be read.
    pub alarms: Result<Vec<Alarm>, String>,
    /// The configured HTTP health checks.
    pub probes: Vec<Probe>,
}

/// One database's health.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DbHealth {
    /// `rds:id` or `aurora:id`.
    pub resource: String,
    /// RDS status: `available`, `stopped`, ...
    pub status: String,
    /// Stopped by lightsout.
    pub asleep: bool,
}

/// One Auto Scaling group's or EC2 instance's health (any kind of the capacity and compute
/// tiers).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MachineHealth {
    /// `asg:name` or `ec2:i-0123`.
    pub resource: String,
    /// Its status as AWS says it: `running`, `stopped`, `InService`, `scaling`.
    pub status: String,
    /// Instances in service of those desired, for a kind that runs several (a group).
    pub in_service: Option<(i32, i32)>,
    /// Ready for what runs on it (all its instances in service; running).
    pub ready: bool,
    /// Put to sleep by lightsout.
    pub asleep: bool,
    /// What keeps it running although it is set to sleep (instances protected from scale-in).
    pub held_up: Option<String>,
}

/// One HTTP health check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Probe {
    /// The URL probed.
    pub url: String,
    /// HTTP status and latency in milliseconds, or why there was no answer.
    pub result: Result<(u16, u64), String>,
}
