//! Every figure of the digest, computed from a [`DigestInput`] and a [`PriceTable`]: pure, no
//! I/O, no clock. Money stays exact ([`Money`], nano-dollars; [`Rate`] for hourly prices);
//! percentages are `f64` and only for display. A section that cannot be computed says why
//! instead of showing a number.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::input::{Budget, DigestInput, Health, MachineHealth, Money, Size};
use super::prices::{PriceTable, Rate, RateBasis};
use crate::model::{Action, AuditEvent, Effect};
use crate::schedule::scheduled;

/// How many services are named before the rest is summed as "Other".
pub const TOP_SERVICES: usize = 5;
/// How many days the digest's own projection averages.
pub const PROJECTION_DAYS: u32 = 7;

/// Everything the digest says about one environment and one day.
#[derive(Debug, Clone, Serialize)]
pub struct Digest {
    /// What lightsout itself cost to run this month, or why it cannot be said.
    pub running: Result<RunCost, String>,
    /// A transition still under way (a sleep that continues in the next run).
    pub progress: Option<crate::model::Progress>,
    /// The environment.
    pub env: String,
    /// The day reported on (local).
    pub day: NaiveDate,
    /// The environment's time zone.
    #[serde(serialize_with = "tz_name")]
    pub timezone: Tz,
    /// When the digest was made.
    pub generated_at: DateTime<Utc>,
    /// Actions that failed since the previous digest: shown first.
    pub failures: Vec<AuditEvent>,
    /// Channels that could not deliver the previous digest.
    pub delivery_problems: Vec<String>,
    /// Spend, or why it is unknown.
    pub spend: Result<SpendFigures, String>,
    /// The budget against the spend.
    pub budget: BudgetFigures,
    /// What sleeping saved.
    pub savings: Savings,
    /// Wake requests on `day`.
    pub wakes: Vec<WakeUse>,
    /// What keeps costing while it sleeps (resources lightsout cannot stop).
    pub always_on: AlwaysOn,
    /// Health at `generated_at`.
    pub health: HealthFigures,
    /// The month's days, for the chart and the sparkline.
    pub chart: ChartData,
}

/// The spend section. Days are UTC billing days.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpendFigures {
    /// How Cost Explorer's figures were filtered.
    pub filter: String,
    /// What the filter leaves out (untagged shared costs), when it leaves something out.
    pub filter_note: Option<String>,
    /// `day`'s cost, `None` when Cost Explorer has no figure for it.
    pub day_total: Option<Money>,
    /// AWS still marks `day`'s figure as estimated.
    pub day_estimated: bool,
    /// The same weekday a week before `day`, what the day is compared with.
    pub week_before: NaiveDate,
    /// Its cost, `None` when missing.
    pub week_before_total: Option<Money>,
    /// `day_total - week_before_total`, when both are known.
    pub change: Option<Money>,
    /// The same in percent of the week before, when that was not zero.
    pub change_pct: Option<f64>,
    /// `day`'s top services, largest first.
    pub day_by_service: Vec<(String, Money)>,
    /// The rest of `day`'s services, and how many.
    pub day_other: Option<(usize, Money)>,
    /// The services whose cost moved most against the same weekday a week before.
    pub movers: Vec<Mover>,
    /// Month to date: the days of `day`'s billing month up to `day` that have figures.
    pub month_to_date: Money,
    /// Days of the month up to `day` with no figure.
    pub month_missing: Vec<NaiveDate>,
    /// Some day in the month's figures is still estimated.
    pub month_estimated: bool,
    /// The same weekdays as the month to date, whole weeks before: first day...
    pub compare_from: NaiveDate,
    /// ...last day...
    pub compare_to: NaiveDate,
    /// ...and how many weeks before.
    pub compare_weeks: u32,
    /// Their total, over the days present.
    pub compare_total: Money,
    /// Days of that range with no figure.
    pub compare_missing: Vec<NaiveDate>,
    /// Month to date against those days, in percent, when both are complete.
    pub vs_compare_pct: Option<f64>,
    /// Last billing month, whole.
    pub last_month: LastMonth,
    /// The top services by month-to-date cost, largest first.
    pub top_services: Vec<(String, Money)>,
    /// Everything else, and how many services that is.
    pub other: Option<(usize, Money)>,
    /// How fresh the figures are.
    pub freshness: Freshness,
}

/// One service's cost on the day against the same weekday a week before.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mover {
    /// The AWS service.
    pub service: String,
    /// Its cost on the day.
    pub day: Money,
    /// On the same weekday a week before.
    pub week_before: Money,
    /// The change.
    pub change: Money,
}

/// Last billing month's total.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LastMonth {
    /// Its first day.
    pub first: NaiveDate,
    /// The total over the days with figures.
    pub total: Money,
    /// Its days without figures.
    pub missing: Vec<NaiveDate>,
    /// Some of its days are still estimated (the bill is not final).
    pub estimated: bool,
}

/// How fresh Cost Explorer's figures are.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Freshness {
    /// The newest day with figures.
    pub newest: Option<NaiveDate>,
    /// Ended UTC days after it that Cost Explorer has no figures for yet (they usually come
    /// within 24 hours).
    pub no_data_yet: Vec<NaiveDate>,
    /// When Cost Explorer was asked (earlier than the digest when the answer came from the
    /// store's cache).
    pub asked_at: DateTime<Utc>,
    /// Cost Explorer requests this digest made.
    pub requests: usize,
}

/// The projected month end.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Projection {
    /// Spend at the end of the month.
    pub month_end: Money,
    /// How it was made: `Cost Explorer forecast`, or lightsout's own method in words.
    pub method: String,
    /// Why Cost Explorer's forecast was not used, when it was not.
    pub forecast_unavailable: Option<String>,
}

/// The budget section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetFigures {
    /// The monthly budget and where it comes from (`schedule file`, `AWS Budgets "name"`), or
    /// why there is none.
    pub budget: Result<(Money, String), String>,
    /// Share of the budget spent to date, percent (needs a budget and the spend).
    pub spent_pct: Option<f64>,
    /// Share of the month elapsed through `day`, percent.
    pub month_pct: f64,
    /// Days elapsed through `day` and days in the month.
    pub days: (u32, u32),
    /// The projected month end, or why there is none.
    pub projection: Result<Projection, String>,
    /// How much the projection exceeds the budget, when it does.
    pub over_by: Option<Money>,
    /// Where the budget's pace is at the end of `day`: budget × day / days in the month.
    pub pace_to_date: Option<Money>,
}

/// The savings section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Savings {
    /// Saved on `day`, over the priced resources.
    pub day: Money,
    /// Saved from the start of the month through `day`.
    pub month: Money,
    /// Each priced resource.
    pub resources: Vec<ResourceSaving>,
    /// Resources that could not be priced, and why; not in the totals.
    pub unpriced: Vec<(String, String)>,
    /// The method, in one line: list price estimates, and where the prices come from.
    pub method: String,
}

/// What keeps costing while the environment sleeps.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlwaysOn {
    /// Seconds of `day` (UTC) the environment was asleep (outside its windows, less the
    /// out-of-hours wakes).
    pub asleep_secs: i64,
    /// Seconds asleep from the start of the billing month through `day`.
    pub asleep_month_secs: i64,
    /// From Cost Explorer's usage types of `day`: what does not sleep, by kind, largest first;
    /// or why that is not known.
    pub kinds: Result<Vec<AsleepCost>, String>,
    /// What kept costing over the asleep hours of `day` (from the usage types; from the priced
    /// `resources` when those are not known).
    pub day: Money,
    /// About what it cost over the month's asleep hours, at `day`'s hourly cost.
    pub month: Money,
    /// `month` in percent of the month to date.
    pub month_pct: Option<f64>,
    /// Resources lightsout knows it cannot stop (ElastiCache, read replicas), priced.
    pub resources: Vec<AlwaysOnCost>,
    /// Such resources that could not be priced, and why.
    pub unpriced: Vec<(String, String)>,
}

/// One kind of cost that does not stop while asleep, on `day`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AsleepCost {
    /// `NAT gateway`, `Load balancer`, `Public IPv4 addresses`, `ElastiCache`, `Database
    /// storage`, `EBS volumes`, `Other services`.
    pub kind: String,
    /// The usage types it is made of.
    pub usage_types: Vec<String>,
    /// Its cost over the whole day.
    pub day_cost: Money,
    /// Its share over the asleep hours of the day.
    pub while_asleep: Money,
}

/// One resource that keeps costing while asleep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlwaysOnCost {
    /// `elasticache:id`.
    pub resource: String,
    /// What an hour of it costs.
    pub hourly: Money,
    /// What it cost over the asleep hours of `day`.
    pub while_asleep: Money,
}

/// What one resource's sleeping saved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceSaving {
    /// `ecs:cluster/service`, `rds:id`, `aurora:id`.
    pub resource: String,
    /// What an hour of it costs (rounded for display; the savings use the exact rate).
    pub hourly: Money,
    /// What that hourly price is made of: the unit prices (and where each comes from), the
    /// task size and tasks on demand and on Fargate Spot, the operating system, the instances.
    pub rate: RateBasis,
    /// Seconds asleep during `day`.
    pub asleep_day_secs: i64,
    /// Seconds asleep from the start of the month through `day`.
    pub asleep_month_secs: i64,
    /// Saved on `day`.
    pub saved_day: Money,
    /// Saved this month.
    pub saved_month: Money,
}

/// One wake request on `day`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WakeUse {
    /// When it was asked.
    pub at: DateTime<Utc>,
    /// Who asked.
    pub actor: String,
    /// Why.
    pub reason: String,
    /// What was asked: `wake for 2h`.
    pub asked: String,
    /// Until when it kept the environment awake; `None` when the trail does not say.
    pub until: Option<DateTime<Utc>>,
    /// A sleep request that ended it before `until`.
    pub ended_early: Option<DateTime<Utc>>,
    /// Seconds it kept the environment awake (not counting time an earlier request already
    /// covered).
    pub awake_secs: i64,
    /// Of these, seconds outside the schedule's awake windows.
    pub outside_secs: i64,
    /// What the time outside the schedule cost, or why it is unknown.
    pub cost: Result<Money, String>,
    /// Notes: overlaps, resources not priced.
    pub notes: Vec<String>,
}

/// How one thing checked is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Fine.
    Ok,
    /// Asleep, as meant.
    Asleep,
    /// Something is wrong.
    Problem,
}

/// One line of the health section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthLine {
    /// What it is about.
    pub subject: String,
    /// Fine, asleep or a problem.
    pub status: Status,
    /// What was seen.
    pub text: String,
}

/// One part of the health section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthSection {
    /// `Services`, `Databases`, `Target groups`, `Alarms`, `Health checks`.
    pub title: String,
    /// Its lines, or why it could not be read.
    pub lines: Result<Vec<HealthLine>, String>,
}

/// The overall verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Nothing wrong seen.
    Healthy,
    /// Asleep, as meant, and nothing wrong seen.
    Asleep,
    /// Something is wrong.
    Problems,
}

/// The health section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthFigures {
    /// Overall.
    pub verdict: Verdict,
    /// Problem lines, over every section.
    pub problems: usize,
    /// Sections that could not be read.
    pub unknown: usize,
    /// The sections.
    pub sections: Vec<HealthSection>,
}

/// The billing month's spend, for the chart (the month to date against the budget's pace) and
/// the sparkline (the daily figures).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChartData {
    /// Every day of `day`'s month, in order.
    pub days: Vec<ChartDay>,
    /// `day`'s day of the month: days after it are still to come.
    pub through: u32,
    /// The monthly budget, when there is one: its pace runs from nothing before the 1st to
    /// all of it at the end of the last day (budget × d / days in the month after day d).
    pub budget: Option<Money>,
    /// The projected month end, when there is one.
    pub projection: Option<Money>,
}

/// One day of the chart.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ChartDay {
    /// The (UTC billing) day.
    pub date: NaiveDate,
    /// Its spend; `None` when Cost Explorer has no figure for it, or it is still to come.
    pub spend: Option<Money>,
    /// The month to date through this day (days without a figure count as nothing); `None`
    /// for the days still to come.
    pub to_date: Option<Money>,
    /// Cost Explorer still marks the figure as estimated.
    pub estimated: bool,
}

fn tz_name<S: serde::Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tz.name())
}

impl ChartData {
    /// Whether there is any spend to draw.
    pub fn has_data(&self) -> bool {
        self.days.iter().any(|d| d.spend.is_some())
    }

    /// The budget's pace at the end of day `d` of the month (1-based), when there is a budget.
    pub fn pace_through(&self, d: u32) -> Option<Money> {
        let dim = i128::try_from(self.days.len()).ok().filter(|n| *n > 0)?;
        self.budget
            .map(|b| div_round(i128::from(b.0) * i128::from(d), dim))
    }
}

/// Computes every figure of the digest.
pub fn compute(input: &DigestInput, prices: &PriceTable) -> Digest {
    let spend = spend(input);
    let budget = budget(input, spend.as_ref().ok());
    let rates = rates(input, prices);
    let savings = savings(input, prices);
    let (day_start, day_end) = utc_day(input.day);
    let (month_from, _) = utc_day(month_start(input.day));
    let wakes = wakes(input, &rates, day_start, day_end);
    let woken_month: i64 = wakes_between(input, &rates, month_from, day_end)
        .iter()
        .map(|w| w.outside_secs)
        .sum();
    let always_on = always_on(
        input,
        prices,
        &wakes,
        woken_month,
        spend.as_ref().ok().map(|s| s.month_to_date),
    );
    let health = health(&input.health, input.config.timezone);
    let chart = chart(input, &budget);
    let running = running(input, prices, month_from, day_end);
    Digest {
        env: input.config.name.clone(),
        day: input.day,
        timezone: input.config.timezone,
        generated_at: input.generated_at,
        failures: input.failures.clone(),
        delivery_problems: input.delivery_problems.clone(),
        spend,
        budget,
        savings,
        wakes,
        always_on,
        health,
        chart,
        running,
        progress: input
            .running
            .progress
            .clone()
            .filter(crate::model::Progress::in_progress),
    }
}

/// What lightsout itself cost from `from` to `to` (the month to the day reported on): recorded
/// invocations where there are, the audit trail's actions, and the model for the rest.
fn running(
    input: &DigestInput,
    prices: &PriceTable,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<RunCost, String> {
    let r = &input.running;
    let region = if r.region.is_empty() {
        input.config.region.as_str()
    } else {
        r.region.as_str()
    };
    let run_prices = prices.run_prices(region)?;
    let acted: Vec<&AuditEvent> = input
        .events
        .iter()
        .filter(|e| e.at >= from && e.at < to && matches!(e.action, Action::Steps { .. }))
        .collect();
    let mut minutes: Vec<i64> = acted.iter().map(|e| e.at.timestamp() / 60).collect();
    minutes.dedup();
    let activity = Activity {
        actions: acted.len() as u64,
        acting_passes: minutes.len() as u64,
        audit_rows_read: input.events.len() as u64,
        recorded: true,
    };
    let secs = (to - from).num_seconds().max(0) as u64;
    Ok(run_cost(
        &RunProfile::deployed(region, r.environments),
        r.tally.as_ref(),
        activity,
        secs,
        &run_prices,
    ))
}

/// The month's days for the chart: each day's figure and the month to date through it.
fn chart(input: &DigestInput, budget: &BudgetFigures) -> ChartData {
    let mut to_date = Money::ZERO;
    let days = month_days(input.day)
        .map(|d| {
            let past = d <= input.day;
            let figure = past.then(|| day_figure(input, d)).flatten();
            if let Some(f) = figure {
                to_date = to_date + f.total;
            }
            ChartDay {
                date: d,
                spend: figure.map(|f| f.total),
                to_date: past.then_some(to_date),
                estimated: figure.is_some_and(|f| f.estimated),
            }
        })
        .collect();
    ChartData {
        days,
        through: input.day.day(),
        budget: budget.budget.as_ref().ok().map(|(b, _)| *b),
        projection: budget.projection.as_ref().ok().map(|p| p.month_end),
    }
}

use crate::calendar::month_days;
pub use crate::calendar::{days_in_month, local_day, local_midnight, month_start, utc_day};

mod asleep;
mod budget;
pub mod combined;
mod health;
mod runcost;
mod savings;
mod spend;
mod wakes;

use asleep::*;
use budget::*;
use health::*;
use savings::*;
use spend::*;
use wakes::*;

pub use asleep::asleep_kind;
pub use combined::{Combined, EnvLine, Totals, combine};
pub use runcost::{Activity, RunCost, RunCostLine, RunProfile, RunTally, run_cost};
pub use savings::{overlap_secs, sleep_intervals};
pub use spend::{filter_note, no_cost_data, same_weekdays_before};
pub use wakes::{local_hm, outside_schedule_secs};

#[cfg(test)]
#[path = "../figures_tests.rs"]
mod tests;
