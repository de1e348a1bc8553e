//! What sleeping saved: hours each resource slept, from the audit trail, times its price.

use super::*;

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

/// What keeps costing while the environment sleeps: each resource lightsout cannot stop, at its
/// hourly price, over the hours of `day` the environment was asleep (outside its windows, less
/// the out-of-hours wakes).
pub(super) fn always_on(input: &DigestInput, prices: &PriceTable, wakes: &[WakeUse]) -> AlwaysOn {
    let (day_start, day_end) = local_day(input.config.timezone, input.day);
    let woken: i64 = wakes.iter().map(|w| w.outside_secs).sum();
    let asleep = (outside_schedule_secs(&input.config, day_start, day_end) - woken).max(0);
    let mut out = AlwaysOn {
        asleep_secs: asleep,
        ..AlwaysOn::default()
    };
    for r in input.resources.iter().filter(|r| !r.sleeps) {
        match prices.rate(&r.size) {
            Ok(rate) => out.resources.push(AlwaysOnCost {
                resource: r.resource.clone(),
                hourly: rate.hourly(),
                while_asleep: rate.cost(asleep),
            }),
            Err(why) => out.unpriced.push((r.resource.clone(), why)),
        }
    }
    out.day = out.resources.iter().map(|r| r.while_asleep).sum();
    out
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

pub(super) fn savings(
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
