//! Out-of-hours use: each wake of the day, who, why, and what its hours outside the schedule cost.

use super::*;

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

/// The wakes asked for in `[day_start, day_end)` (the UTC billing day).
pub(super) fn wakes(
    input: &DigestInput,
    rates: &[(String, Result<Rate, String>)],
    day_start: DateTime<Utc>,
    day_end: DateTime<Utc>,
) -> Vec<WakeUse> {
    wakes_between(input, rates, day_start, day_end)
}

/// The wakes asked for in `[day_start, day_end)`, each counted once (time an earlier request
/// covered is not counted again).
pub(super) fn wakes_between(
    input: &DigestInput,
    rates: &[(String, Result<Rate, String>)],
    day_start: DateTime<Utc>,
    day_end: DateTime<Utc>,
) -> Vec<WakeUse> {
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
