//! Every figure of the digest, computed from a [`DigestInput`] and a [`PriceTable`]: pure, no
//! I/O, no clock. Money stays exact ([`Money`], micro-dollars; [`Rate`] for hourly prices);
//! percentages are `f64` and only for display. A section that cannot be computed says why
//! instead of showing a number.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::input::{Budget, DigestInput, Health, Money, Size};
use super::prices::{PriceTable, Rate};
use crate::model::{Action, AuditEvent, Effect};
use crate::schedule::scheduled;

/// How many services are named before the rest is summed as "Other".
pub const TOP_SERVICES: usize = 5;
/// How many days the digest's own projection averages.
pub const PROJECTION_DAYS: u32 = 7;

/// Everything the digest says about one environment and one day.
#[derive(Debug, Clone, Serialize)]
pub struct Digest {
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
    /// Health at `generated_at`.
    pub health: HealthFigures,
    /// The month's days, for the chart and the sparkline.
    pub chart: ChartData,
}

/// The spend section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpendFigures {
    /// How Cost Explorer's figures were filtered.
    pub filter: String,
    /// `day`'s cost, `None` when Cost Explorer has no figure for it.
    pub day_total: Option<Money>,
    /// AWS still marks `day`'s figure as estimated.
    pub day_estimated: bool,
    /// The day before `day`.
    pub previous_day: NaiveDate,
    /// Its cost, `None` when missing.
    pub previous_total: Option<Money>,
    /// Day over day: `day_total - previous_total`, when both are known.
    pub change: Option<Money>,
    /// The same in percent of the day before, when that was not zero.
    pub change_pct: Option<f64>,
    /// Month to date: the days of `day`'s month up to `day` that Cost Explorer answered for.
    pub month_to_date: Money,
    /// Days of the month up to `day` with no figure.
    pub month_missing: Vec<NaiveDate>,
    /// Some day in the month's figures is still estimated.
    pub month_estimated: bool,
    /// The same days of last month: first day.
    pub last_month_from: NaiveDate,
    /// ...last day (the last month may be shorter).
    pub last_month_to: NaiveDate,
    /// Their total, over the days present.
    pub last_month: Money,
    /// Days of that range with no figure.
    pub last_month_missing: Vec<NaiveDate>,
    /// Month to date against the same days of last month, in percent, when comparable.
    pub vs_last_month_pct: Option<f64>,
    /// The top services by month-to-date cost, largest first.
    pub top_services: Vec<(String, Money)>,
    /// Everything else, and how many services that is.
    pub other: Option<(usize, Money)>,
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
    /// The budget per day (budget / days in the month): the chart's pace line.
    pub daily_pace: Option<Money>,
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
    /// The method, in one line.
    pub method: String,
}

/// What one resource's sleeping saved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceSaving {
    /// `ecs:cluster/service`, `rds:id`, `aurora:id`.
    pub resource: String,
    /// What an hour of it costs (rounded for display; the savings use the exact rate).
    pub hourly: Money,
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

/// The month's daily spend, for the chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChartData {
    /// Every day of `day`'s month: its spend, `None` when missing or after `day`.
    pub days: Vec<(NaiveDate, Option<Money>)>,
    /// `day`'s day of the month (days after it are the future).
    pub through: u32,
    /// The budget per day, when there is a budget.
    pub daily_pace: Option<Money>,
}

fn tz_name<S: serde::Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tz.name())
}

impl ChartData {
    /// Whether there is any spend to draw.
    pub fn has_data(&self) -> bool {
        self.days.iter().any(|(_, m)| m.is_some())
    }
}

/// Computes every figure of the digest.
pub fn compute(input: &DigestInput, prices: &PriceTable) -> Digest {
    let spend = spend(input);
    let budget = budget(input, spend.as_ref().ok());
    let rates = rates(input, prices);
    let savings = savings(input, prices, &rates);
    let wakes = wakes(input, &rates);
    let health = health(&input.health, input.config.timezone);
    let chart = ChartData {
        days: month_days(input.day)
            .map(|d| {
                let v = (d <= input.day).then(|| day_total(input, d)).flatten();
                (d, v)
            })
            .collect(),
        through: input.day.day(),
        daily_pace: budget.daily_pace,
    };
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
        health,
        chart,
    }
}

// ---------------------------------------------------------------------------------------------
// Dates

use crate::calendar::month_days;
pub use crate::calendar::{days_in_month, local_day, local_midnight, month_start};

// ---------------------------------------------------------------------------------------------
// Spend

fn day_total(input: &DigestInput, d: NaiveDate) -> Option<Money> {
    let days = &input.spend.as_ref().ok()?.days;
    days.iter().find(|s| s.date == d).map(|s| s.total)
}

fn pct(part: Money, whole: Money) -> Option<f64> {
    (whole.0 != 0).then(|| part.0 as f64 * 100.0 / whole.0 as f64)
}

fn spend(input: &DigestInput) -> Result<SpendFigures, String> {
    let spend = input.spend.as_ref().map_err(Clone::clone)?;
    if spend.days.is_empty() {
        // Nothing at all is no figure, not $0.00: the usual cause is a filter that matches nothing.
        return Err(format!(
            "Cost Explorer has no figures for the {} since the start of last month; if that is a tag, is it activated as a cost-allocation tag in the Billing console (new tags take up to 24 hours to appear)?",
            spend.filter
        ));
    }
    let by_date: BTreeMap<NaiveDate, &super::input::DaySpend> =
        spend.days.iter().map(|d| (d.date, d)).collect();
    let day = input.day;
    let previous_day = day.pred_opt().unwrap_or(day);
    let today = by_date.get(&day);
    let prev = by_date.get(&previous_day);
    let change = match (today, prev) {
        (Some(t), Some(p)) => Some(t.total - p.total),
        _ => None,
    };
    let change_pct = match (change, prev) {
        (Some(c), Some(p)) => pct(c, p.total),
        _ => None,
    };
    let sum_range = |from: NaiveDate, to: NaiveDate| {
        let mut total = Money::ZERO;
        let mut missing = Vec::new();
        let mut estimated = false;
        let mut d = from;
        while d <= to {
            match by_date.get(&d) {
                Some(s) => {
                    total = total + s.total;
                    estimated |= s.estimated;
                }
                None => missing.push(d),
            }
            d = match d.succ_opt() {
                Some(n) => n,
                None => break,
            };
        }
        (total, missing, estimated)
    };
    let first = month_start(day);
    let (month_to_date, month_missing, month_estimated) = sum_range(first, day);
    let last_first = first
        .checked_sub_months(chrono::Months::new(1))
        .unwrap_or(first);
    let last_to = last_first
        .with_day(day.day().min(days_in_month(last_first)))
        .unwrap_or(last_first);
    let (last_month, last_month_missing, _) = sum_range(last_first, last_to);
    let vs_last_month_pct = if month_missing.is_empty() && last_month_missing.is_empty() {
        pct(month_to_date - last_month, last_month)
    } else {
        None
    };
    let mut services: BTreeMap<&str, Money> = BTreeMap::new();
    for d in spend
        .days
        .iter()
        .filter(|d| first <= d.date && d.date <= day)
    {
        for (name, m) in &d.by_service {
            let e = services.entry(name.as_str()).or_default();
            *e = *e + *m;
        }
    }
    let mut ranked: Vec<(String, Money)> = services
        .into_iter()
        .map(|(n, m)| (n.to_string(), m))
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let rest: Vec<(String, Money)> = ranked.split_off(ranked.len().min(TOP_SERVICES));
    let other = (!rest.is_empty()).then(|| (rest.len(), rest.iter().map(|r| r.1).sum()));
    Ok(SpendFigures {
        filter: spend.filter.clone(),
        day_total: today.map(|t| t.total),
        day_estimated: today.is_some_and(|t| t.estimated),
        previous_day,
        previous_total: prev.map(|p| p.total),
        change,
        change_pct,
        month_to_date,
        month_missing,
        month_estimated,
        last_month_from: last_first,
        last_month_to: last_to,
        last_month,
        last_month_missing,
        vs_last_month_pct,
        top_services: ranked,
        other,
    })
}

// ---------------------------------------------------------------------------------------------
// Budget

fn budget(input: &DigestInput, spend: Option<&SpendFigures>) -> BudgetFigures {
    let dim = days_in_month(input.day);
    let elapsed = input.day.day();
    let month_pct = f64::from(elapsed) * 100.0 / f64::from(dim);
    let budget = match &input.budget {
        Budget::Config(m) if m.0 > 0 => Ok((*m, "schedule file".to_string())),
        Budget::Aws { name, amount } if amount.0 > 0 => {
            Ok((*amount, format!("AWS Budgets \"{name}\"")))
        }
        Budget::Config(_) => Err("the budget in the schedule file is zero".to_string()),
        Budget::Aws { name, .. } => Err(format!("the AWS budget \"{name}\" is zero")),
        Budget::Missing(why) => Err(why.clone()),
    };
    let projection = match spend {
        None => Err(match &input.spend {
            Err(why) => format!("no spend figures: {why}"),
            Ok(_) => "no spend figures".to_string(),
        }),
        Some(s) => projection(input, s, dim),
    };
    let amount = budget.as_ref().ok().map(|b| b.0);
    let spent_pct = match (amount, spend) {
        (Some(b), Some(s)) => pct(s.month_to_date, b),
        _ => None,
    };
    let over_by = match (amount, &projection) {
        (Some(b), Ok(p)) if p.month_end > b => Some(p.month_end - b),
        _ => None,
    };
    let daily_pace = amount.map(|b| div_round(i128::from(b.0), i128::from(dim)));
    BudgetFigures {
        budget,
        spent_pct,
        month_pct,
        days: (elapsed, dim),
        projection,
        over_by,
        daily_pace,
    }
}

/// `num / den` in micro-dollars, rounded half away from zero.
fn div_round(num: i128, den: i128) -> Money {
    if den == 0 {
        return Money::ZERO;
    }
    let q = (num.abs() + den.abs() / 2) / den.abs();
    let q = if (num < 0) != (den < 0) { -q } else { q };
    Money(i64::try_from(q).unwrap_or(i64::MAX))
}

fn projection(input: &DigestInput, s: &SpendFigures, dim: u32) -> Result<Projection, String> {
    let left = dim - input.day.day();
    match &input.forecast {
        Ok(f) => Ok(Projection {
            month_end: s.month_to_date + *f,
            method: "Cost Explorer forecast".to_string(),
            forecast_unavailable: None,
        }),
        Err(why) => {
            let recent: Vec<Money> = (0..PROJECTION_DAYS)
                .filter_map(|back| input.day.checked_sub_days(Days::new(u64::from(back))))
                .filter_map(|d| day_total(input, d))
                .collect();
            if recent.is_empty() {
                return Err(format!(
                    "Cost Explorer could not forecast ({why}) and there is no spend in the last {PROJECTION_DAYS} days to project from"
                ));
            }
            let n = recent.len();
            let sum: Money = recent.iter().copied().sum();
            // mean × days left, one rounding: sum × left / n.
            let rest = div_round(i128::from(sum.0) * i128::from(left), n as i128);
            let days = if n == PROJECTION_DAYS as usize {
                format!("the last {PROJECTION_DAYS} days")
            } else {
                format!("the {n} days with figures of the last {PROJECTION_DAYS}")
            };
            Ok(Projection {
                month_end: s.month_to_date + rest,
                method: format!(
                    "lightsout projection: mean of {days} × {left} day{} left",
                    if left == 1 { "" } else { "s" }
                ),
                forecast_unavailable: Some(why.clone()),
            })
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Savings

/// Each resource's exact hourly rate, or why it has none.
fn rates(input: &DigestInput, prices: &PriceTable) -> Vec<(String, Result<Rate, String>)> {
    input
        .resources
        .iter()
        .map(|r| (r.resource.clone(), prices.rate(&r.size)))
        .collect()
}

/// The intervals `resource` slept, from the audit trail. A resource whose first recorded
/// action is a wake slept since before the trail begins (the trail covers the month, so its
/// sleep is counted from the month's start); one still asleep sleeps until `until`.
pub fn sleep_intervals(
    events: &[AuditEvent],
    resource: &str,
    until: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut out = Vec::new();
    let mut asleep_since: Option<DateTime<Utc>> = None;
    let mut seen = false;
    for e in events
        .iter()
        .filter(|e| e.resource == resource && e.outcome.is_ok())
    {
        match e.action.effect() {
            Some(Effect::Sleep) => {
                seen = true;
                if asleep_since.is_none() {
                    asleep_since = Some(e.at);
                }
            }
            Some(Effect::Wake) => {
                let since = match asleep_since.take() {
                    Some(s) => Some(s),
                    None if !seen => Some(DateTime::<Utc>::MIN_UTC),
                    None => None,
                };
                seen = true;
                if let Some(s) = since {
                    out.push((s, e.at));
                }
            }
            None => {}
        }
    }
    if let Some(s) = asleep_since {
        out.push((s, until));
    }
    out
}

/// Seconds of `intervals` inside `[from, to)`.
pub fn overlap_secs(
    intervals: &[(DateTime<Utc>, DateTime<Utc>)],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> i64 {
    intervals
        .iter()
        .map(|(a, b)| {
            let a = (*a).max(from);
            let b = (*b).min(to);
            if b > a { (b - a).num_seconds() } else { 0 }
        })
        .sum()
}

/// The regions of the environment's resources (or its configured region), for the method line.
fn regions(input: &DigestInput) -> String {
    let mut rs: Vec<&str> = input
        .resources
        .iter()
        .filter_map(|r| match &r.size {
            Size::Fargate { region, .. } | Size::Database { region, .. } => Some(region.as_str()),
            Size::Unknown(_) => None,
        })
        .collect();
    rs.sort_unstable();
    rs.dedup();
    if rs.is_empty() {
        input.config.region.clone()
    } else {
        rs.join(", ")
    }
}

fn savings(
    input: &DigestInput,
    prices: &PriceTable,
    rates: &[(String, Result<Rate, String>)],
) -> Savings {
    let tz = input.config.timezone;
    let (day_start, day_end) = local_day(tz, input.day);
    let month_from = local_midnight(tz, month_start(input.day));
    let mut resources = Vec::new();
    let mut unpriced = Vec::new();
    for (resource, rate) in rates {
        match rate {
            Err(why) => unpriced.push((resource.clone(), why.clone())),
            Ok(rate) => {
                let slept = sleep_intervals(&input.events, resource, input.generated_at);
                let day_secs = overlap_secs(&slept, day_start, day_end);
                let month_secs = overlap_secs(&slept, month_from, day_end);
                resources.push(ResourceSaving {
                    resource: resource.clone(),
                    hourly: rate.hourly(),
                    asleep_day_secs: day_secs,
                    asleep_month_secs: month_secs,
                    saved_day: rate.cost(day_secs),
                    saved_month: rate.cost(month_secs),
                });
            }
        }
    }
    Savings {
        day: resources.iter().map(|r| r.saved_day).sum(),
        month: resources.iter().map(|r| r.saved_month).sum(),
        resources,
        unpriced,
        method: format!(
            "Savings = hours asleep × hourly price (Fargate vCPU- and GB-hours for the task size × tasks; RDS instance-class price, ×2 for Multi-AZ), on-demand prices from lightsout's table taken {}, {}.",
            prices.taken(),
            regions(input)
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Out-of-hours use

/// Seconds of `[from, to)` outside the schedule's awake windows, stepping from one schedule
/// change to the next.
pub fn outside_schedule_secs(
    env: &crate::model::Environment,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> i64 {
    let mut t = from;
    let mut secs = 0;
    while t < to {
        let d = scheduled(env, t);
        let next = match d.next_change {
            Some(n) if n > t => n.min(to),
            _ => to,
        };
        if !d.awake {
            secs += (next - t).num_seconds();
        }
        t = next;
    }
    secs
}

fn wakes(input: &DigestInput, rates: &[(String, Result<Rate, String>)]) -> Vec<WakeUse> {
    let (day_start, day_end) = local_day(input.config.timezone, input.day);
    let env_level = |e: &&AuditEvent| e.resource.is_empty() && e.outcome.is_ok();
    let sleeps: Vec<DateTime<Utc>> = input
        .events
        .iter()
        .filter(env_level)
        .filter(|e| matches!(e.action, Action::Sleep { .. }))
        .map(|e| e.at)
        .collect();
    let priced: Rate = rates
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .copied()
        .sum();
    let n_priced = rates.iter().filter(|(_, r)| r.is_ok()).count();
    let n_unpriced = rates.len() - n_priced;
    let mut covered_until: Option<DateTime<Utc>> = None;
    let mut out = Vec::new();
    for e in input.events.iter().filter(env_level) {
        let Action::Wake { until, .. } = &e.action else {
            continue;
        };
        let until = *until;
        let end_by_sleep = sleeps.iter().copied().find(|s| *s >= e.at && *s < until);
        let in_day = day_start <= e.at && e.at < day_end;
        let end = end_by_sleep.unwrap_or(until);
        if !in_day {
            // Earlier requests still matter: time they covered is not counted again.
            covered_until = covered_until.max(Some(end));
            continue;
        }
        let mut notes = Vec::new();
        // Only time that has passed is counted.
        let end = if end > input.generated_at {
            notes.push(format!(
                "still awake when the digest was made; counted to {}",
                local_hm(input.generated_at, input.config.timezone)
            ));
            input.generated_at
        } else {
            end
        };
        let start = match covered_until {
            Some(c) if c > e.at => {
                notes.push(format!(
                    "already awake until {} by an earlier request, counted there",
                    local_hm(c, input.config.timezone)
                ));
                c
            }
            _ => e.at,
        };
        let start = start.min(end);
        covered_until = covered_until.max(Some(end));
        let outside = outside_schedule_secs(&input.config, start, end);
        let cost = if n_priced == 0 {
            Err("none of the environment's resources could be priced".to_string())
        } else {
            if n_unpriced > 0 {
                notes.push(format!(
                    "{n_unpriced} resource{} not priced",
                    if n_unpriced == 1 { "" } else { "s" }
                ));
            }
            Ok(priced.cost(outside))
        };
        let (awake_secs, outside_secs) = ((end - start).num_seconds(), outside);
        out.push(WakeUse {
            at: e.at,
            actor: e.actor.clone(),
            reason: e.reason.clone(),
            asked: e.action.to_string(),
            until: Some(until),
            ended_early: end_by_sleep,
            awake_secs,
            outside_secs,
            cost,
            notes,
        });
    }
    out
}

/// `19:30 CET`.
pub fn local_hm(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%H:%M %Z").to_string()
}

// ---------------------------------------------------------------------------------------------
// Health

fn health(h: &Health, tz: Tz) -> HealthFigures {
    let line = |subject: &str, status: Status, text: String| HealthLine {
        subject: subject.to_string(),
        status,
        text,
    };
    let services = h.services.as_ref().map_err(Clone::clone).map(|list| {
        list.iter()
            .map(|s| {
                let asleep = s.asleep || (h.asleep && s.desired == 0);
                let mut problems = Vec::new();
                if !asleep && s.running < s.desired {
                    problems.push(format!(
                        "degraded: {} of {} tasks running",
                        s.running, s.desired
                    ));
                }
                if let Some(d) = &s.stuck_deployment {
                    problems.push(format!("deployment stuck: {d}"));
                }
                if !s.failed_tasks.is_empty() {
                    let t = &s.failed_tasks[0];
                    let more = s.failed_tasks.len() - 1;
                    problems.push(format!(
                        "{} failed task{}: {} ({}){}",
                        s.failed_tasks.len(),
                        if s.failed_tasks.len() == 1 { "" } else { "s" },
                        t.reason,
                        t.task,
                        if more > 0 {
                            format!(" and {more} more")
                        } else {
                            String::new()
                        }
                    ));
                }
                if !problems.is_empty() {
                    let asleep = if asleep { "asleep; " } else { "" };
                    line(
                        &s.name,
                        Status::Problem,
                        format!("{asleep}{}", problems.join("; ")),
                    )
                } else if asleep {
                    line(&s.name, Status::Asleep, "asleep".to_string())
                } else {
                    line(
                        &s.name,
                        Status::Ok,
                        format!("{}/{} tasks running", s.running, s.desired),
                    )
                }
            })
            .collect()
    });
    let databases = h.databases.as_ref().map_err(Clone::clone).map(|list| {
        list.iter()
            .map(|d| {
                if d.status == "available" {
                    line(&d.resource, Status::Ok, "available".to_string())
                } else if d.asleep {
                    // Stopped by lightsout: asleep, whatever step of stopping it is at.
                    line(
                        &d.resource,
                        Status::Asleep,
                        format!("asleep ({})", d.status),
                    )
                } else {
                    line(&d.resource, Status::Problem, d.status.clone())
                }
            })
            .collect()
    });
    let target_groups = h.target_groups.as_ref().map_err(Clone::clone).map(|list| {
        list.iter()
            .map(|t| {
                if !t.unhealthy.is_empty() {
                    line(
                        &t.name,
                        Status::Problem,
                        format!(
                            "{} healthy, {} not: {}",
                            t.healthy,
                            t.unhealthy.len(),
                            t.unhealthy.join("; ")
                        ),
                    )
                } else if t.healthy == 0 && h.asleep {
                    line(&t.name, Status::Asleep, "no targets (asleep)".to_string())
                } else if t.healthy == 0 {
                    line(&t.name, Status::Problem, "no healthy targets".to_string())
                } else {
                    line(&t.name, Status::Ok, format!("{} healthy", t.healthy))
                }
            })
            .collect()
    });
    let alarms = h.alarms.as_ref().map_err(Clone::clone).map(|list| {
        list.iter()
            .map(|a| {
                let since = a
                    .since
                    .map(|s| {
                        format!(
                            " (since {})",
                            s.with_timezone(&tz).format("%a %-d %b %H:%M %Z")
                        )
                    })
                    .unwrap_or_default();
                line(
                    &a.name,
                    Status::Problem,
                    format!("in ALARM{since}: {}", a.reason),
                )
            })
            .collect()
    });
    let probes = Ok(h
        .probes
        .iter()
        .map(|p| match &p.result {
            Ok((code, ms)) if (200..400).contains(code) => {
                line(&p.url, Status::Ok, format!("{code} in {ms} ms"))
            }
            Ok((code, ms)) if h.asleep => line(
                &p.url,
                Status::Asleep,
                format!("{code} in {ms} ms (asleep)"),
            ),
            Ok((code, ms)) => line(&p.url, Status::Problem, format!("{code} in {ms} ms")),
            Err(why) if h.asleep => {
                line(&p.url, Status::Asleep, format!("no answer (asleep): {why}"))
            }
            Err(why) => line(&p.url, Status::Problem, format!("no answer: {why}")),
        })
        .collect());
    let mut sections = vec![
        HealthSection {
            title: "Services".into(),
            lines: services,
        },
        HealthSection {
            title: "Databases".into(),
            lines: databases,
        },
        HealthSection {
            title: "Target groups".into(),
            lines: target_groups,
        },
        HealthSection {
            title: "Alarms".into(),
            lines: alarms,
        },
    ];
    if !h.probes.is_empty() {
        sections.push(HealthSection {
            title: "Health checks".into(),
            lines: probes,
        });
    }
    let problems = sections
        .iter()
        .filter_map(|s| s.lines.as_ref().ok())
        .flatten()
        .filter(|l| l.status == Status::Problem)
        .count();
    let unknown = sections.iter().filter(|s| s.lines.is_err()).count();
    let verdict = if problems > 0 {
        Verdict::Problems
    } else if h.asleep {
        Verdict::Asleep
    } else {
        Verdict::Healthy
    };
    HealthFigures {
        verdict,
        problems,
        unknown,
        sections,
    }
}

#[cfg(test)]
#[path = "figures_tests.rs"]
mod tests;
