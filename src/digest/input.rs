//! What the digest is made from: everything gathered from AWS, the store and the probes for one
//! environment and one day. Gathering fills these types ([`super::collect`]); everything after
//! is pure ([`super::figures`], [`super::render`]).
//!
//! A section that could not be gathered is an `Err(reason)`: the digest says plainly what is
//! missing and why, and never makes a number up.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Environment;
use crate::store::AuditEvent;

/// An amount of US dollars, exact to the micro-dollar (1e-6 USD). Sums are exact; rounding
/// happens once, when an amount is shown.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Money(pub i64);

impl Money {
    /// Zero dollars.
    pub const ZERO: Money = Money(0);

    /// Parses a decimal amount as Cost Explorer writes it (`"12.3456789012"`, `"-0.01"`,
    /// `"3E-7"` is refused). Digits past the sixth decimal are rounded half away from zero.
    pub fn parse(s: &str) -> Option<Money> {
        let s = s.trim();
        let (neg, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if int.is_empty() && frac.is_empty()
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let int: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let mut micros: i64 = 0;
        for b in frac.bytes().chain(std::iter::repeat(b'0')).take(6) {
            micros = micros * 10 + i64::from(b - b'0');
        }
        let round_up = frac.as_bytes().get(6).is_some_and(|b| *b >= b'5');
        let total = int
            .checked_mul(1_000_000)?
            .checked_add(micros + i64::from(round_up))?;
        Some(Money(if neg { -total } else { total }))
    }

    /// Whole cents, rounded half away from zero.
    pub fn cents(self) -> i64 {
        let c = self.0.abs().saturating_add(5_000) / 10_000;
        if self.0 < 0 { -c } else { c }
    }
}

impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, o: Money) -> Money {
        Money(self.0 + o.0)
    }
}

impl std::ops::Sub for Money {
    type Output = Money;
    fn sub(self, o: Money) -> Money {
        Money(self.0 - o.0)
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(it: I) -> Money {
        Money(it.map(|m| m.0).sum())
    }
}

impl fmt::Display for Money {
    /// `$1,234.56`, `-$0.05`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.cents();
        let (sign, c) = if c < 0 { ("-", -c) } else { ("", c) };
        let dollars = (c / 100).to_string();
        let mut grouped = String::new();
        for (i, ch) in dollars.chars().enumerate() {
            if i > 0 && (dollars.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        write!(f, "{sign}${grouped}.{:02}", c % 100)
    }
}

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

/// One resource of the environment and what an hour of it running costs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceCost {
    /// As in the audit trail: `ecs:cluster/service`, `rds:id`, `aurora:id`.
    pub resource: String,
    /// What it is priced as.
    pub size: Size,
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
        /// Tasks running when awake.
        tasks: u32,
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

/// One HTTP health check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Probe {
    /// The URL probed.
    pub url: String,
    /// HTTP status and latency in milliseconds, or why there was no answer.
    pub result: Result<(u16, u64), String>,
}
