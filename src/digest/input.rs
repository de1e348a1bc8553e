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
    Alarm, DaySpend, FailedTask, ResourceCost, ServiceHealth, Size, TargetGroupHealth,
};

/// Everything one digest is made from.
#[derive(Debug, Clone)]
pub struct DigestInput {
    /// The environment: its name, its time zone (days, "yesterday" and the month are local
    /// days), and its windows and holidays (which hours a wake kept it up outside them).
    pub config: Environment,
    /// The day reported on ("yesterday" when the digest is sent in the morning), local.
    pub day: NaiveDate,
    /// When the digest was made.
    pub generated_at: DateTime<Utc>,
    /// Daily spend from the first day of the previous month to `day` inclusive.
    pub spend: Result<Spend, String>,
    /// The monthly budget, and where it came from.
    pub budget: Budget,
    /// Cost Explorer's forecast of the spend from the day after `day` to the end of its month;
    /// `Err(why)` when Cost Explorer could not forecast (the digest then projects itself).
    pub forecast: Result<Money, String>,
    /// The environment's resources and what one hour of each costs.
    pub resources: Vec<ResourceCost>,
    /// The audit trail of the environment from the start of the month of `day` (or earlier) to
    /// `generated_at`, oldest first: sleeps, wakes and wake requests.
    pub events: Vec<AuditEvent>,
    /// Health, observed at `generated_at`.
    pub health: Health,
    /// Actions that failed since the previous digest (audit events whose outcome is not `ok`).
    pub failures: Vec<AuditEvent>,
    /// Channels that failed to deliver the previous digest, and why.
    pub delivery_problems: Vec<String>,
}

/// Daily spend as Cost Explorer reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Spend {
    /// One entry per day that Cost Explorer answered for, in date order. A day missing from
    /// the series is a day Cost Explorer did not answer for (not a day of zero spend).
    pub days: Vec<DaySpend>,
    /// How the costs were filtered, for the method line: `tag Environment=staging`,
    /// `linked account 123456789012`.
    pub filter: String,
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

/// One HTTP health check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Probe {
    /// The URL probed.
    pub url: String,
    /// HTTP status and latency in milliseconds, or why there was no answer.
    pub result: Result<(u16, u64), String>,
}
