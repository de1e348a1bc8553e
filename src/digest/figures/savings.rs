//! What sleeping saved: hours each resource slept, from the audit trail, times its price.

use super::*;
use crate::digest::prices::Quote;

/// Each resource's exact hourly rate, or why it has none.
pub(super) fn rates(
    input: &DigestInput,
    prices: &PriceTable,
) -> Vec<(String, Result<Rate, String>)> {
    input
        .resources
        .iter()
        .filter(|r| r.sleeps)
        .map(|r| (r.resource.clone(), prices.rate(&r.size)))
        .collect()
}

/// The intervals `resource` slept, from the audit trail read since `trail_from` (every event,
/// oldest first). A resource whose first event in it is a wake had slept since at least
/// `trail_from` (lightsout wakes only what it put to sleep); one still asleep sleeps until
/// `until`.
pub fn sleep_intervals(
    events: &[AuditEvent],
    resource: &str,
    trail_from: DateTime<Utc>,
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
                    None if !seen => Some(trail_from),
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
pub(super) fn regions(input: &DigestInput) -> String {
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

pub(super) fn savings(input: &DigestInput, prices: &PriceTable) -> Savings {
    // The UTC billing day and month, as the spend beside it.
    let (day_start, day_end) = utc_day(input.day);
    let (month_from, _) = utc_day(month_start(input.day));
    let mut resources = Vec::new();
    let mut unpriced = Vec::new();
    for r in input.resources.iter().filter(|r| r.sleeps) {
        let resource = &r.resource;
        match prices.quote(&r.size) {
            Err(why) => unpriced.push((resource.clone(), why)),
            Ok(Quote { rate, basis }) => {
                let slept = sleep_intervals(
                    &input.events,
                    resource,
                    input.trail_from,
                    input.generated_at,
                );
                let day_secs = overlap_secs(&slept, day_start, day_end);
                let month_secs = overlap_secs(&slept, month_from, day_end);
                resources.push(ResourceSaving {
                    resource: resource.clone(),
                    hourly: rate.hourly(),
                    rate: basis,
                    asleep_day_secs: day_secs,
                    asleep_month_secs: month_secs,
                    saved_day: rate.cost(day_secs),
                    saved_month: rate.cost(month_secs),
                });
            }
        }
    }
    let method = format!(
        "Savings are list-price estimates: hours asleep × hourly price (Fargate vCPU- and GB-hours for the task size × tasks on demand and on Fargate Spot, by CPU architecture and operating system, and the Windows licence per vCPU; RDS instance-class price by deployment), {}, {}; not billed spend (discounts, Savings Plans and credits are not applied).",
        prices.sources(resources.iter().map(|r| &r.rate)),
        regions(input)
    );
    Savings {
        day: resources.iter().map(|r| r.saved_day).sum(),
        month: resources.iter().map(|r| r.saved_month).sum(),
        resources,
        unpriced,
        method,
    }
}
